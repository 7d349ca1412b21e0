/**
 * Consumes Nova's versioned notifications from hwstash's own queue and hands each to one
 * handler, acknowledging only once the handler's promise has resolved (the handler commits its
 * effect before resolving). Nothing is lost: what cannot be processed is published to the
 * dead-letter queue, with the reason, through a confirm channel before the original is acked.
 *
 * Delivery semantics are at-least-once. The handlers are idempotent (stashing never
 * overwrites, rewriting a domain to the stash twice gives the same domain), and on top of that
 * a bounded set of recently committed message ids acks a redelivery (an ack lost with the
 * connection) or a duplicate publish without running the handler again. Messages of one
 * instance are handled in delivery order; different instances overlap up to the prefetch.
 *
 * Events (for logs and metrics; the bus has no metrics dependency):
 *   ready          ({ queue, endpoint })                  consuming
 *   setup-failed   ({ reason, retryInMs })
 *   received       ({ messageId, eventType, redelivered })
 *   processed      ({ outcome: 'done'|'skipped'|'duplicate', messageId, eventType, attempts, durationMs })
 *   retried        ({ messageId, eventType, instanceUuid, attempt, delayMs, reason })
 *   dead-lettered  ({ messageId, eventType, instanceUuid, reason, attempts })
 *   dead-letter-failed ({ messageId, reason })             left for redelivery
 *   abandoned      ({ messageId, eventType, why })         left unacked: the broker redelivers
 *   cancelled      ()                                     the broker cancelled the consumer
 *   queue-notice   ({ level, message })                   an existing queue differed (migrated or kept)
 */
import { EventEmitter } from 'node:events';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { Settings } from '../config/settings.js';
import { backoffDelay, validateBackoff } from './backoff.js';
import type { BackoffPolicy } from './backoff.js';
import type { ConnectedEvent, ConnectionManager } from './connection.js';
import { decodeNotification, DEFAULT_MAX_BODY_BYTES } from './envelope.js';
import type { Notification } from './envelope.js';
import { MalformedMessageError, PermanentError, describeError, isAbandon, isPermanent } from './errors.js';
import { KeyedSerial } from './keyed-serial.js';
import { RecentIds } from './recent-ids.js';
import { settlesWithin, sleep } from './wait.js';
import { DEFAULT_ROUTING_KEY, ensureExchange, validateExchangeName, validateQueueName, validateRoutingKey } from './topology.js';
import { CLASSIC_QUEUE, declareOwnQueue } from './queues.js';
import type { QueueSpec } from './queues.js';

export type HandlerOutcome = 'done' | 'skipped';

export interface DeliveryContext {
  /** The broker's redelivered flag. */
  redelivered: boolean;
  /** 1 for the first call; retries count up. */
  attempt: number;
  routingKey: string;
  /** Aborted when the consumer stops or the channel closes: long waits in a handler end early. */
  signal: AbortSignal;
}

/** Resolves once the effect is committed; throws with `permanent: true` to skip retries. */
export type NotificationHandler = (n: Notification, ctx: DeliveryContext) => Promise<HandlerOutcome>;

export interface ConsumerOptions {
  connection: ConnectionManager;
  handler: NotificationHandler;
  /** Default `nova`. */
  exchange?: string;
  /** Nova's `amqp_durable_queues`, used only if the exchange must be declared. Default false. */
  exchangeDurable?: boolean;
  /** `[DEFAULT] host`: names the queues when they are not given. */
  host?: string;
  /** Default `hwstash.<host>`. */
  queue?: string;
  /** Default `<queue>.dead`. */
  deadLetterQueue?: string;
  /** Default `['versioned_notifications.info']`. */
  routingKeys?: readonly string[];
  /** Classic or quorum ([oslo_messaging_rabbit] rabbit_quorum_*), for both queues. Default classic. */
  queueSpec?: QueueSpec;
  /** The virtual host, for the commands in notices. Default '/'. */
  vhost?: string;
  /** Unacknowledged messages in flight. Default 10. */
  prefetch?: number;
  maxBodyBytes?: number;
  /** Handler calls per message, the first included. Default 5. */
  retryAttempts?: number;
  /** Waits between handler attempts. Default 500 ms doubling to 30 s. */
  retryBackoff?: BackoffPolicy;
  /** Waits between failed topology setups on an open connection. */
  setupBackoff?: BackoffPolicy;
  /** Committed message ids remembered for redeliveries. Default 10000. */
  recentIdsCapacity?: number;
  /** Headers longer than this are cut. Default 2000 characters. */
  maxReasonLength?: number;
  now?: () => Date;
  random?: () => number;
}

export interface ConsumerStats {
  received: number;
  done: number;
  skipped: number;
  duplicate: number;
  retried: number;
  deadLettered: number;
  malformed: number;
  deadLetterFailed: number;
  abandoned: number;
}

export interface StopResult {
  /** Every in-flight message finished before the timeout. */
  drained: boolean;
  /** Messages still running at the timeout (left unacked: the broker redelivers them). */
  unfinished: number;
}

interface Session {
  model: ChannelModel;
  ch: ConfirmChannel;
  consumerTag: string | null;
  closed: boolean;
  abort: AbortController;
}

const DEFAULT_RETRY: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };
const DEFAULT_SETUP: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.3 };

/**
 * The consumer's names and limits from the validated settings: the queue names arrive with
 * `{host}` already replaced, and `[hwstash] routing_key` is one key, the one hwstash's own
 * publisher (and so `hwstash emit`) sends to.
 */
export function consumerSettings(s: Settings) {
  return {
    exchange: s.hwstash.exchange,
    exchangeDurable: s.amqpDurableQueues,
    queue: s.hwstash.queue,
    deadLetterQueue: s.hwstash.deadLetterQueue,
    routingKeys: [s.hwstash.routingKey],
    prefetch: s.hwstash.prefetch,
    queueSpec: {
      quorum: s.rabbit.quorumQueue,
      deliveryLimit: s.rabbit.quorumDeliveryLimit,
      maxMemoryLength: s.rabbit.quorumMaxMemoryLength,
      maxMemoryBytes: s.rabbit.quorumMaxMemoryBytes,
    },
  } satisfies Partial<ConsumerOptions>;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Original properties kept on the dead letter; userId and expiration would make the broker refuse or drop it. */
function keptProperties(msg: ConsumeMessage): Options.Publish {
  const p = msg.properties;
  const out: Options.Publish = {};
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.contentEncoding !== undefined) out.contentEncoding = p.contentEncoding;
  if (p.correlationId !== undefined) out.correlationId = p.correlationId;
  if (p.replyTo !== undefined) out.replyTo = p.replyTo;
  if (p.messageId !== undefined) out.messageId = p.messageId;
  if (p.timestamp !== undefined) out.timestamp = p.timestamp;
  if (p.type !== undefined) out.type = p.type;
  if (p.appId !== undefined) out.appId = p.appId;
  if (p.priority !== undefined) out.priority = p.priority;
  return out;
}

export interface NotificationConsumer {
  on(event: string, listener: (...args: any[]) => void): this;
}

export class NotificationConsumer extends EventEmitter {
  readonly exchange: string;
  readonly queue: string;
  readonly deadLetterQueue: string;
  readonly routingKeys: readonly string[];
  private readonly opts: ConsumerOptions;
  private readonly prefetch: number;
  private readonly retryAttempts: number;
  private readonly retryBackoff: BackoffPolicy;
  private readonly setupBackoff: BackoffPolicy;
  private readonly recent: RecentIds;
  private readonly serial = new KeyedSerial();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly stopCtl = new AbortController();
  private readonly counters: ConsumerStats = {
    received: 0, done: 0, skipped: 0, duplicate: 0, retried: 0,
    deadLettered: 0, malformed: 0, deadLetterFailed: 0, abandoned: 0,
  };
  private session: Session | null = null;
  private settingUp: ChannelModel | null = null;
  private setupFailures = 0;
  private started = false;
  private readonly onConnected = (e: ConnectedEvent) => void this.setup(e.model);

  constructor(options: ConsumerOptions) {
    super();
    this.opts = options;
    this.exchange = validateExchangeName(options.exchange ?? 'nova');
    if (options.queue === undefined && options.host === undefined) throw new RangeError('queue: give the queue name or the host');
    this.queue = validateQueueName(options.queue ?? `hwstash.${options.host}`, 'queue');
    this.deadLetterQueue = validateQueueName(options.deadLetterQueue ?? `${this.queue}.dead`, 'deadLetterQueue');
    if (this.queue === this.deadLetterQueue) throw new RangeError('deadLetterQueue: must differ from queue');
    this.routingKeys = (options.routingKeys ?? [DEFAULT_ROUTING_KEY]).map(validateRoutingKey);
    if (this.routingKeys.length === 0) throw new RangeError('routingKeys: at least one routing key is needed');
    this.prefetch = options.prefetch ?? 10;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1 || this.prefetch > 65535) {
      throw new RangeError(`prefetch: must be a whole number from 1 to 65535, got ${this.prefetch}`);
    }
    this.retryAttempts = options.retryAttempts ?? 5;
    if (!Number.isInteger(this.retryAttempts) || this.retryAttempts < 1) {
      throw new RangeError(`retryAttempts: must be a whole number ≥ 1, got ${this.retryAttempts}`);
    }
    this.retryBackoff = validateBackoff(options.retryBackoff ?? DEFAULT_RETRY, 'retryBackoff');
    this.setupBackoff = validateBackoff(options.setupBackoff ?? DEFAULT_SETUP, 'setupBackoff');
    this.recent = new RecentIds(options.recentIdsCapacity ?? 10_000);
  }

  stats(): Readonly<ConsumerStats> {
    return { ...this.counters };
  }

  /** Messages being handled or retried now. */
  get inFlight(): number {
    return this.inflight.size;
  }

  get consuming(): boolean {
    return this.session !== null && !this.session.closed && this.session.consumerTag !== null;
  }

  /** Starts the connection if needed and consumes on every (re)connect. */
  start(): this {
    if (this.stopCtl.signal.aborted) throw new Error('consumer: stopped; create a new one');
    if (this.started) return this;
    this.started = true;
    this.opts.connection.on('connected', this.onConnected);
    this.opts.connection.start();
    const model = this.opts.connection.model;
    if (model) void this.setup(model);
    return this;
  }

  /** Resolves when consuming (now or later); rejects after timeoutMs. */
  whenReady(timeoutMs?: number): Promise<void> {
    if (this.consuming) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onReady = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.once('ready', onReady);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.off('ready', onReady);
          reject(new Error(`consumer: not consuming from ${this.queue} after ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /**
   * Cancels the consumer (no new deliveries), waits up to timeoutMs for the messages being
   * handled, then closes the channel. Unfinished messages stay unacked and are redelivered.
   * The connection is left open: it belongs to whoever created it.
   */
  async stop(timeoutMs = 10_000): Promise<StopResult> {
    this.stopCtl.abort();
    this.opts.connection.off('connected', this.onConnected);
    const session = this.session;
    if (session && !session.closed && session.consumerTag !== null) {
      await settlesWithin(session.ch.cancel(session.consumerTag), timeoutMs);
    }
    const drained = await settlesWithin(Promise.allSettled([...this.inflight]), timeoutMs);
    const unfinished = this.inflight.size;
    if (session && !session.closed) {
      session.closed = true;
      session.abort.abort();
      await settlesWithin(session.ch.close(), Math.min(timeoutMs, 5000));
    }
    this.session = null;
    return { drained, unfinished };
  }

  private async setup(model: ChannelModel): Promise<void> {
    if (this.stopCtl.signal.aborted || this.settingUp === model) return;
    if (this.session && !this.session.closed && this.session.model === model) return;
    this.settingUp = model;
    let ch: ConfirmChannel | null = null;
    try {
      await ensureExchange(model, { name: this.exchange, durable: this.opts.exchangeDurable ?? false });
      const spec = this.opts.queueSpec ?? CLASSIC_QUEUE;
      const vhost = this.opts.vhost ?? '/';
      const notices = [
        ...(await declareOwnQueue(model, this.queue, spec, { exchange: this.exchange, routingKeys: this.routingKeys }, vhost)),
        ...(await declareOwnQueue(model, this.deadLetterQueue, spec, null, vhost)),
      ];
      for (const n of notices) this.emit('queue-notice', n);
      ch = await model.createConfirmChannel();
      const session: Session = { model, ch, consumerTag: null, closed: false, abort: new AbortController() };
      ch.on('error', () => undefined); // the reason arrives with 'close' handling; an unheard 'error' would crash
      ch.on('close', () => this.onChannelClosed(session));
      await ch.prefetch(this.prefetch);
      if (this.stopCtl.signal.aborted) {
        await ch.close().catch(() => undefined);
        return;
      }
      this.session = session;
      const { consumerTag } = await ch.consume(this.queue, (msg) => this.onDelivery(session, msg), { noAck: false });
      session.consumerTag = consumerTag;
      this.setupFailures = 0;
      if (session.closed) return;
      this.emit('ready', { queue: this.queue, endpoint: this.opts.connection.endpoint });
    } catch (err) {
      if (ch) await ch.close().catch(() => undefined);
      if (this.stopCtl.signal.aborted) return;
      this.setupFailures += 1;
      const retryInMs = backoffDelay(this.setupFailures, this.setupBackoff, this.opts.random);
      this.emit('setup-failed', { reason: describeError(err), retryInMs });
      void sleep(retryInMs, this.stopCtl.signal).then((ok) => {
        if (ok && this.opts.connection.model === model) void this.setup(model);
      });
    } finally {
      if (this.settingUp === model) this.settingUp = null;
    }
  }

  private onChannelClosed(session: Session): void {
    session.closed = true;
    session.abort.abort();
    if (this.session === session) this.session = null;
    if (this.stopCtl.signal.aborted) return;
    // Channel gone while the connection stays (consumer cancelled, channel error): set up again.
    // When the connection went too, its next 'connected' does that instead.
    const model = session.model;
    const delay = backoffDelay(1, this.setupBackoff, this.opts.random);
    void sleep(delay, this.stopCtl.signal).then((ok) => {
      if (ok && this.opts.connection.model === model) void this.setup(model);
    });
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private onDelivery(session: Session, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.emit('cancelled');
      void session.ch.close().catch(() => undefined);
      return;
    }
    // Delivered between cancel and its confirmation: left unacked, requeued when the channel closes.
    if (this.stopCtl.signal.aborted) return;
    this.counters.received += 1;
    let n: Notification;
    try {
      n = decodeNotification(msg.content, { maxBytes: this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
    } catch (err) {
      this.emit('received', { messageId: null, eventType: null, redelivered: msg.fields.redelivered });
      this.counters.malformed += 1;
      const reason = err instanceof MalformedMessageError ? err.reason : describeError(err);
      this.track(this.deadLetter(session, msg, reason, null, 0));
      return;
    }
    this.emit('received', { messageId: n.messageId, eventType: n.eventType, redelivered: msg.fields.redelivered });
    const key = n.instance?.instanceUuid ?? (n.service ? `service:${n.service.serviceHost}` : `message:${n.messageId}`);
    this.track(this.serial.run(key, () => this.process(session, msg, n)));
  }

  private ack(session: Session, msg: ConsumeMessage): boolean {
    if (session.closed) return false;
    try {
      session.ch.ack(msg);
      return true;
    } catch {
      return false;
    }
  }

  private abandon(n: Notification, why: string): void {
    this.counters.abandoned += 1;
    this.emit('abandoned', { messageId: n.messageId, eventType: n.eventType, why });
  }

  private async process(session: Session, msg: ConsumeMessage, n: Notification): Promise<void> {
    const started = Date.now();
    if (this.recent.has(n.messageId)) {
      // Its effect is committed; only the ack was lost (or the message was published twice).
      if (this.ack(session, msg)) {
        this.counters.duplicate += 1;
        this.emit('processed', { outcome: 'duplicate', messageId: n.messageId, eventType: n.eventType, attempts: 0, durationMs: 0 });
      }
      return;
    }
    const signal = AbortSignal.any([session.abort.signal, this.stopCtl.signal]);
    for (let attempt = 1; ; attempt++) {
      if (session.closed) return this.abandon(n, 'channel closed before the handler ran');
      try {
        const outcome: unknown = await this.opts.handler(n, {
          redelivered: msg.fields.redelivered,
          attempt,
          routingKey: msg.fields.routingKey,
          signal,
        });
        if (outcome !== 'done' && outcome !== 'skipped') {
          throw new PermanentError(`handler returned ${JSON.stringify(outcome)}; expected 'done' or 'skipped'`);
        }
        this.recent.add(n.messageId);
        if (!this.ack(session, msg)) return this.abandon(n, 'committed, but the channel closed before the ack');
        this.counters[outcome] += 1;
        this.emit('processed', { outcome, messageId: n.messageId, eventType: n.eventType, attempts: attempt, durationMs: Date.now() - started });
        return;
      } catch (err) {
        const reason = describeError(err);
        if (isAbandon(err)) return this.abandon(n, reason);
        if (isPermanent(err) || attempt >= this.retryAttempts) {
          await this.deadLetter(session, msg, reason, n, attempt);
          return;
        }
        const delayMs = backoffDelay(attempt, this.retryBackoff, this.opts.random);
        this.counters.retried += 1;
        this.emit('retried', { messageId: n.messageId, eventType: n.eventType, instanceUuid: n.instance?.instanceUuid ?? null, attempt, delayMs, reason });
        if (!(await sleep(delayMs, signal))) {
          return this.abandon(n, this.stopCtl.signal.aborted ? 'stopping during a retry wait' : 'channel closed during a retry wait');
        }
      }
    }
  }

  /** `n` is null for a body that could not be decoded. */
  private async deadLetter(session: Session, msg: ConsumeMessage, reason: string, n: Notification | null, attempts: number): Promise<void> {
    const eventType = n?.eventType ?? null;
    const messageId = n?.messageId ?? null;
    const instanceUuid = n?.instance?.instanceUuid ?? null;
    if (session.closed) return;
    const max = this.opts.maxReasonLength ?? 2000;
    const now = (this.opts.now ?? (() => new Date()))();
    const headers: Record<string, unknown> = {
      ...(msg.properties.headers ?? {}),
      'x-hwstash-reason': truncate(reason, max),
      'x-hwstash-event-type': eventType ?? 'unknown',
      'x-hwstash-failed-at': now.toISOString(),
      'x-hwstash-attempts': attempts,
      'x-hwstash-exchange': msg.fields.exchange,
      'x-hwstash-routing-key': msg.fields.routingKey,
    };
    try {
      await new Promise<void>((resolve, reject) => {
        session.ch.sendToQueue(
          this.deadLetterQueue,
          msg.content,
          { ...keptProperties(msg), headers, persistent: true },
          (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
        );
      });
    } catch (err) {
      this.counters.deadLetterFailed += 1;
      this.emit('dead-letter-failed', { messageId, reason: describeError(err) });
      // Not confirmed: keep the original. Requeue it after a pause if the channel still works,
      // else the broker redelivers it with the channel.
      if (await sleep(this.retryBackoff.initialMs, AbortSignal.any([session.abort.signal, this.stopCtl.signal]))) {
        if (!session.closed) {
          try {
            session.ch.nack(msg, false, true);
          } catch {
            /* channel went meanwhile: redelivered anyway */
          }
        }
      }
      return;
    }
    if (messageId !== null) this.recent.add(messageId);
    if (!this.ack(session, msg)) return;
    this.counters.deadLettered += 1;
    this.emit('dead-lettered', { messageId, eventType, instanceUuid, reason, attempts });
  }
}
