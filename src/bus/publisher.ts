/**
 * Publishes hwstash's own notifications (`hwstash.stash.end`, `hwstash.property.update`,
 * `hwstash.drift`, …) on Nova's exchange in Nova's envelope, so any tool that reads Nova's
 * versioned notifications reads them too; and raw bodies for `hwstash emit` and tests.
 *
 * Every publish waits for the broker's confirm. While the bus is down a publish fails at once
 * with BusUnavailableError instead of queueing: the caller's database effect is already
 * committed, and a notification is a report of it, not the effect itself.
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import type { ConnectionManager } from './connection.js';
import { encodeNotification, versionedObject } from './envelope.js';
import type { Priority } from './envelope.js';
import { BusUnavailableError, describeError } from './errors.js';
import { DEFAULT_ROUTING_KEY, ensureExchange, validateExchangeName, validateRoutingKey } from './topology.js';

export interface PublisherOptions {
  connection: ConnectionManager;
  /** `[DEFAULT] host`; publisher_id is `hwstash:<host>`. */
  host: string;
  /** Default `nova`. */
  exchange?: string;
  /** Nova's `amqp_durable_queues`, used only if the exchange must be declared. Default false. */
  exchangeDurable?: boolean;
  /**
   * `[hwstash] routing_key`, the key hwstash's consumer binds (default
   * `versioned_notifications.info`). hwstash's events replace its last word with their priority.
   */
  routingKey?: string;
  /** How long to wait for the broker's confirm. Default 10 s. */
  confirmTimeoutMs?: number;
}

export interface HwstashEvent {
  /** `hwstash.<what>.<phase>`, e.g. `hwstash.drift`. */
  eventType: string;
  /** Payload object name, e.g. `HwstashDriftPayload`. */
  payloadName: string;
  data: Readonly<Record<string, unknown>>;
  /** Default `1.0`. */
  payloadVersion?: string;
  priority?: Priority | Lowercase<Priority>;
}

const PERSISTENT_JSON: Options.Publish = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  deliveryMode: 2,
};

export class NotificationPublisher {
  readonly exchange: string;
  readonly routingKey: string;
  readonly publisherId: string;
  private readonly opts: PublisherOptions;
  private channel: { model: ChannelModel; ch: Promise<ConfirmChannel> } | null = null;

  constructor(options: PublisherOptions) {
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(options.host)) {
      throw new RangeError(`host: ${JSON.stringify(options.host)} is not a host name (letters, digits, '.', '-', '_')`);
    }
    this.opts = options;
    this.exchange = validateExchangeName(options.exchange ?? 'nova');
    this.routingKey = validateRoutingKey(options.routingKey ?? DEFAULT_ROUTING_KEY);
    this.publisherId = `hwstash:${options.host}`;
  }

  /** Publishes one of hwstash's notifications; resolves with its message_id once confirmed. */
  async publishEvent(event: HwstashEvent): Promise<string> {
    if (!/^hwstash\.[a-z0-9_.-]+$/.test(event.eventType)) {
      throw new RangeError(`eventType: hwstash's own events are named hwstash.<name>, got ${JSON.stringify(event.eventType)}`);
    }
    const payload = versionedObject(event.payloadName, event.payloadVersion ?? '1.0', event.data, 'hwstash');
    const priority = event.priority ?? 'INFO';
    const encoded = encodeNotification({ eventType: event.eventType, publisherId: this.publisherId, payload, priority });
    await this.publish(`${this.routingKey.replace(/\.[^.]*$/, '')}.${priority.toLowerCase()}`, encoded.body);
    return encoded.messageId;
  }

  /**
   * Publishes a body as is with the configured routing key, so it reaches hwstash's own queue
   * (`hwstash emit`, `demo boot`); resolves once the broker has confirmed it.
   */
  publishRaw(body: Buffer): Promise<void> {
    return this.publish(this.routingKey, body);
  }

  /** Publishes a body as is on the exchange; resolves once the broker has confirmed it. */
  async publish(routingKey: string, body: Buffer, options: Options.Publish = {}): Promise<void> {
    const ch = await this.confirmChannel();
    const timeoutMs = this.opts.confirmTimeoutMs ?? 10_000;
    const confirmed = new Promise<void>((resolve, reject) => {
      try {
        ch.publish(this.exchange, routingKey, body, { ...PERSISTENT_JSON, ...options }, (err) =>
          err ? reject(new BusUnavailableError(`publish to ${this.exchange} (${routingKey}) not confirmed: ${describeError(err)}`)) : resolve(),
        );
      } catch (err) {
        reject(new BusUnavailableError(`publish to ${this.exchange} (${routingKey}) failed: ${describeError(err)}`));
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BusUnavailableError(`publish to ${this.exchange} (${routingKey}): no confirm within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([confirmed, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the publisher's channel (the connection stays with its owner). */
  async close(): Promise<void> {
    const current = this.channel;
    this.channel = null;
    if (current) await current.ch.then((ch) => ch.close()).catch(() => undefined);
  }

  private confirmChannel(): Promise<ConfirmChannel> {
    const model = this.opts.connection.model;
    if (!model) {
      return Promise.reject(
        new BusUnavailableError(`cannot publish: not connected to the message bus (${this.opts.connection.lastFailure})`),
      );
    }
    if (this.channel?.model === model) return this.channel.ch;
    const entry = { model, ch: this.openChannel(model) };
    this.channel = entry;
    entry.ch.catch(() => {
      if (this.channel === entry) this.channel = null;
    });
    return entry.ch;
  }

  private async openChannel(model: ChannelModel): Promise<ConfirmChannel> {
    try {
      await ensureExchange(model, { name: this.exchange, durable: this.opts.exchangeDurable ?? false });
      const ch = await model.createConfirmChannel();
      ch.on('error', () => undefined); // a failed publish is reported through its confirm callback
      ch.on('close', () => {
        if (this.channel?.model === model) this.channel = null;
      });
      return ch;
    } catch (err) {
      throw new BusUnavailableError(`cannot publish: no channel on the message bus (${describeError(err)})`);
    }
  }
}
