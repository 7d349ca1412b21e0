/**
 * What hwstash declares on the broker, and the names it refuses.
 *
 * The exchange is Nova's (`nova`, topic). Nova declares it with `durable` =
 * `[oslo_messaging_rabbit] amqp_durable_queues` and `auto_delete=false`; declaring it with
 * any other flags is a 406 PRECONDITION_FAILED that kills the channel. So it is checked
 * passively first and declared only when missing (hwstash started before any Nova service),
 * with exactly Nova's flags. A non-durable exchange disappears with a broker restart, taking
 * the bindings with it, which is why the consumer runs all of this again on every reconnect.
 *
 * hwstash's own queue and its dead-letter queue are durable; Nova's queues are never used.
 */
import type { Channel, ChannelModel } from 'amqplib';

export interface ExchangeSpec {
  name: string;
  /** Nova's `amqp_durable_queues` (default false). */
  durable: boolean;
}

export const DEFAULT_ROUTING_KEY = 'versioned_notifications.info';

const NAME_RE = /^[A-Za-z0-9_.:-]{1,255}$/;
const ROUTING_KEY_RE = /^[A-Za-z0-9_.*#-]{1,255}$/;
/** Queues owned by Nova's services; reading them steals their messages. */
const NOVA_QUEUE_RE = /^(versioned_notifications|notifications|compute|conductor|scheduler|reply_|amq\.)/;

export function validateExchangeName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new RangeError(`exchange: ${JSON.stringify(name)} is not a valid name (1-255 of letters, digits, '_', '.', ':', '-')`);
  }
  return name;
}

export function validateQueueName(name: string, field = 'queue'): string {
  if (!NAME_RE.test(name)) {
    throw new RangeError(`${field}: ${JSON.stringify(name)} is not a valid name (1-255 of letters, digits, '_', '.', ':', '-')`);
  }
  if (NOVA_QUEUE_RE.test(name)) {
    throw new RangeError(
      `${field}: ${JSON.stringify(name)} is a queue of Nova or RabbitMQ; reading it steals their messages. Use a queue of hwstash's own, such as hwstash.<host>`,
    );
  }
  return name;
}

/**
 * A binding key must name a topic in its first word: `#` or `*.info` would also catch Nova's
 * RPC traffic (`compute.<host>`, `conductor`, ...) that shares the exchange.
 */
export function validateRoutingKey(key: string): string {
  const first = key.split('.')[0] ?? '';
  if (!ROUTING_KEY_RE.test(key) || first === '' || /[*#]/.test(first)) {
    throw new RangeError(
      `routing key: ${JSON.stringify(key)} must start with a literal topic, such as versioned_notifications.info (never '#' or '*.…')`,
    );
  }
  return key;
}

/** The AMQP reply code of a channel error (404 not found, 406 precondition failed), if any. */
export function amqpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A channel for one operation that may fail and close it (a passive check, a mismatched declare). */
export async function withThrowawayChannel<T>(model: ChannelModel, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await model.createChannel();
  let closed = false;
  ch.on('error', () => undefined); // the failed passive check closes the channel; that is expected
  ch.on('close', () => {
    closed = true;
  });
  try {
    return await fn(ch);
  } finally {
    if (!closed) await ch.close().catch(() => undefined);
  }
}

/**
 * Makes sure Nova's exchange exists without ever redeclaring it with other flags.
 * Returns whether it was already there.
 */
export async function ensureExchange(model: ChannelModel, spec: ExchangeSpec): Promise<'found' | 'declared'> {
  validateExchangeName(spec.name);
  const exists = async () =>
    withThrowawayChannel(model, async (ch) => {
      try {
        await ch.checkExchange(spec.name);
        return true;
      } catch (err) {
        if (amqpCode(err) === 404) return false;
        throw err;
      }
    });
  if (await exists()) return 'found';
  try {
    await withThrowawayChannel(model, (ch) => ch.assertExchange(spec.name, 'topic', { durable: spec.durable, autoDelete: false }));
    return 'declared';
  } catch (err) {
    // Nova may have declared it in between, with its own flags: then it is there.
    if (amqpCode(err) === 406 && (await exists())) return 'found';
    throw err;
  }
}
