/**
 * The test's own side of the real RabbitMQ (guest/guest@127.0.0.1:5672 unless
 * HWSTASH_TEST_TRANSPORT_URL says otherwise): unique names per test, publishing raw bodies,
 * reading queues, and cleaning up.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import type { Channel, ChannelModel, GetMessage, Options } from 'amqplib';
import { ConnectionManager } from '../../../src/bus/connection.js';
import type { ConnectionManagerOptions } from '../../../src/bus/connection.js';
import { parseTransportUrl, toConnectOptions } from '../../../src/bus/transport-url.js';

export const TRANSPORT_URL = process.env['HWSTASH_TEST_TRANSPORT_URL'] ?? 'rabbit://guest:guest@127.0.0.1:5672/';
export const FAST_BACKOFF = { initialMs: 50, maxMs: 400, factor: 2, jitter: 0.2 };

export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface TestNames {
  exchange: string;
  queue: string;
  deadLetterQueue: string;
}

export function testNames(): TestNames {
  const id = randomBytes(5).toString('hex');
  return { exchange: `nova-test-${id}`, queue: `hwstash-test-${id}`, deadLetterQueue: `hwstash-test-${id}.dead` };
}

export function manager(options: Partial<ConnectionManagerOptions> = {}): ConnectionManager {
  return new ConnectionManager({
    endpoints: parseTransportUrl(TRANSPORT_URL),
    backoff: FAST_BACKOFF,
    connectTimeoutMs: 3000,
    heartbeatSeconds: 5,
    connectionName: 'hwstash-test',
    ...options,
  });
}

/**
 * Fault injection: cuts the TCP connection under amqplib without an AMQP close, as a network
 * failure or a killed broker would. The real broker cannot be asked to do this per connection.
 */
export function cutConnection(model: ChannelModel): void {
  // With an error, as the kernel reports a reset link (ECONNRESET); a bare destroy() is
  // noticed only by the heartbeat.
  (model.connection as unknown as { stream: { destroy(err?: Error): void } }).stream.destroy(
    Object.assign(new Error('fault injection: connection reset'), { code: 'ECONNRESET' }),
  );
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class TestBroker {
  private constructor(private readonly model: ChannelModel, private readonly ch: Channel) {}

  /** The test's own connection; `url` (a rabbit:// URL) for a broker other than the machine's. */
  static async open(url: string = TRANSPORT_URL): Promise<TestBroker> {
    const model = await connect(toConnectOptions(parseTransportUrl(url)[0]!));
    model.on('error', () => undefined);
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    return new TestBroker(model, ch);
  }

  /** Declares the exchange exactly as Nova does by default. */
  async declareNovaExchange(name: string, durable = false): Promise<void> {
    await this.ch.assertExchange(name, 'topic', { durable, autoDelete: false });
  }

  /** Declares the exchange on a throwaway channel; resolves with the AMQP error code, if any. */
  async tryDeclareExchange(name: string, options: Options.AssertExchange): Promise<number | null> {
    const ch = await this.model.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.assertExchange(name, 'topic', options);
      await ch.close();
      return null;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  }

  async exchangeExists(name: string): Promise<boolean> {
    const ch = await this.model.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.checkExchange(name);
      await ch.close();
      return true;
    } catch {
      return false;
    }
  }

  async declareClassicQueue(queue: string): Promise<void> {
    await this.ch.assertQueue(queue, { durable: true, autoDelete: false });
  }

  async declareQueue(queue: string, args: Record<string, unknown>): Promise<void> {
    await this.ch.assertQueue(queue, { durable: true, autoDelete: false, arguments: args });
  }

  async declareQueueWith(queue: string, options: Options.AssertQueue): Promise<void> {
    await this.ch.assertQueue(queue, options);
  }

  async bind(queue: string, exchange: string, key: string): Promise<void> {
    await this.ch.bindQueue(queue, exchange, key);
  }

  /** Ready (not unacknowledged) messages, or null when the queue does not exist. */
  async ready(queue: string): Promise<number | null> {
    const ch = await this.model.createChannel();
    ch.on('error', () => undefined);
    try {
      const ok = await ch.checkQueue(queue);
      await ch.close();
      return ok.messageCount;
    } catch {
      return null;
    }
  }

  publish(exchange: string, routingKey: string, body: Buffer | string, options: Options.Publish = {}): void {
    this.ch.publish(exchange, routingKey, typeof body === 'string' ? Buffer.from(body) : body, {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      ...options,
    });
  }

  /** Takes every message now in the queue (acknowledging them). */
  async drain(queue: string): Promise<GetMessage[]> {
    const out: GetMessage[] = [];
    for (;;) {
      const m = await this.ch.get(queue, { noAck: true });
      if (m === false) return out;
      out.push(m);
    }
  }

  /** A queue of the test's own bound to the exchange, to look at what was published. */
  async tap(exchange: string, routingKey: string): Promise<string> {
    const q = await this.ch.assertQueue('', { exclusive: true, autoDelete: true });
    await this.ch.bindQueue(q.queue, exchange, routingKey);
    return q.queue;
  }

  async cleanup(names: Partial<TestNames>): Promise<void> {
    for (const q of [names.queue, names.deadLetterQueue]) if (q) await this.ch.deleteQueue(q).catch(() => undefined);
    if (names.exchange) await this.ch.deleteExchange(names.exchange).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}

const run = promisify(execFile);

/** Runs rabbitmqctl (the reliability suite restarts the broker with it). */
export async function rabbitmqctl(...args: string[]): Promise<void> {
  await run('rabbitmqctl', args, { timeout: 120_000 });
}
