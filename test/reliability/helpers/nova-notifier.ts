/**
 * Nova's side of the bus, as oslo.messaging's notifier behaves: persistent sends on a confirm
 * channel to the (non-durable) exchange it declares itself; on a lost connection or an
 * unconfirmed send it reconnects, declares the exchange again and sends again, until the broker
 * confirms. It does not know whether anyone is bound: what the broker confirms but cannot route
 * (the binding went with a broker restart) is dropped by the broker. The test publishes with
 * `mandatory` only to learn which messages those were; Nova does not.
 */
import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { parseTransportUrl, toConnectOptions } from '../../../src/bus/transport-url.js';
import { TRANSPORT_URL } from '../../bus/helpers/rabbit.js';
import { sleep } from '../../agent/helpers/harness.js';

export interface Outgoing {
  body: Buffer;
  /** Also set as the AMQP message-id property, so a returned message can be told apart. */
  messageId: string;
}

const CONFIRM_TIMEOUT_MS = 30_000;

export class NovaNotifier {
  private model: ChannelModel | null = null;
  private ch: ConfirmChannel | null = null;
  /** Confirmed, and routed to at least one queue by the send the broker confirmed. */
  readonly routed = new Set<string>();
  /** Confirmed but returned unroutable by the send the broker confirmed: dropped by the broker. */
  readonly unroutable = new Set<string>();
  /** Messages sent again after a failed attempt. */
  resends = 0;
  /** Attempts that failed (connection lost, broker down, confirm missing). */
  failures = 0;

  constructor(
    private readonly exchange: string,
    private readonly routingKey = 'versioned_notifications.info',
    private readonly url = TRANSPORT_URL,
  ) {}

  private async channel(): Promise<ConfirmChannel> {
    if (this.ch) return this.ch;
    const model = await connect(toConnectOptions(parseTransportUrl(this.url)[0]!));
    model.on('error', () => undefined);
    model.on('close', () => {
      if (this.model === model) {
        this.model = null;
        this.ch = null;
      }
    });
    const ch = await model.createConfirmChannel();
    ch.on('error', () => undefined);
    await ch.assertExchange(this.exchange, 'topic', { durable: false, autoDelete: false });
    this.model = model;
    this.ch = ch;
    return ch;
  }

  private async drop(): Promise<void> {
    const model = this.model;
    this.model = null;
    this.ch = null;
    await model?.close().catch(() => undefined);
  }

  /** Sends every message, retrying the whole batch until the broker confirms all of it. */
  async send(batch: readonly Outgoing[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) this.resends += batch.length;
      const returned = new Set<string>();
      let ch: ConfirmChannel | null = null;
      const onReturn = (msg: ConsumeMessage) => returned.add(String(msg.properties.messageId));
      try {
        ch = await this.channel();
        ch.on('return', onReturn);
        for (const m of batch) {
          ch.publish(this.exchange, this.routingKey, m.body, {
            contentType: 'application/json',
            contentEncoding: 'utf-8',
            deliveryMode: 2,
            mandatory: true,
            messageId: m.messageId,
          });
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          ch.waitForConfirms(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no confirms within ${CONFIRM_TIMEOUT_MS} ms`)), CONFIRM_TIMEOUT_MS);
          }),
        ]).finally(() => clearTimeout(timer));
        // The broker sends basic.return before the basic.ack of the same message.
        for (const m of batch) {
          if (returned.has(m.messageId)) {
            this.unroutable.add(m.messageId);
            this.routed.delete(m.messageId);
          } else {
            this.routed.add(m.messageId);
            this.unroutable.delete(m.messageId);
          }
        }
        return;
      } catch {
        this.failures += 1;
        await this.drop();
        await sleep(200);
      } finally {
        ch?.off('return', onReturn);
      }
    }
  }

  async close(): Promise<void> {
    await this.drop();
  }
}
