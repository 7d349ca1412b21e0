/**
 * The consumer against the real RabbitMQ. Each test has its own exchange (standing in for
 * Nova's `nova`) and queues, deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GetMessage } from 'amqplib';
import type { ConnectionManager } from '../../src/bus/connection.js';
import { NotificationConsumer } from '../../src/bus/consumer.js';
import type { ConsumerOptions, HandlerOutcome, NotificationHandler } from '../../src/bus/consumer.js';
import { encodeNotification, instancePayload } from '../../src/bus/envelope.js';
import type { Notification } from '../../src/bus/envelope.js';
import { PermanentError, TransientError } from '../../src/bus/errors.js';
import { notificationFixturesDir } from './helpers/fixtures.js';
import { FAST_BACKOFF, TestBroker, cutConnection, manager, testNames, waitFor } from './helpers/rabbit.js';
import type { TestNames } from './helpers/rabbit.js';

const KEY = 'versioned_notifications.info';

function instanceEvent(eventType = 'instance.power_on.start', uuid: string = randomUUID()) {
  return encodeNotification({
    eventType,
    publisherId: 'nova-compute:compute-0',
    payload: instancePayload({ uuid, host: 'compute-0', state: 'stopped', powerState: 'shutdown', taskState: 'powering-on' }),
  });
}

let broker: TestBroker;
let names: TestNames;
let conn: ConnectionManager;
let consumer: NotificationConsumer | null;

beforeAll(async () => {
  broker = await TestBroker.open();
});
afterAll(async () => {
  await broker.close();
});
beforeEach(async () => {
  names = testNames();
  conn = manager();
  consumer = null;
  await broker.declareNovaExchange(names.exchange);
});
afterEach(async () => {
  if (consumer) await consumer.stop(2000);
  await conn.close(2000);
  await broker.cleanup(names);
});

async function startConsumer(handler: NotificationHandler, extra: Partial<ConsumerOptions> = {}): Promise<NotificationConsumer> {
  consumer = new NotificationConsumer({
    connection: conn,
    handler,
    exchange: names.exchange,
    queue: names.queue,
    deadLetterQueue: names.deadLetterQueue,
    retryBackoff: { initialMs: 10, maxMs: 40, factor: 2, jitter: 0 },
    setupBackoff: FAST_BACKOFF,
    ...extra,
  });
  consumer.start();
  await consumer.whenReady(10_000);
  return consumer;
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

function header(m: GetMessage, name: string): unknown {
  return m.properties.headers?.[name];
}

test('the ack waits for the handler: a stop while it runs leaves the message for redelivery', async () => {
  const g = gate();
  const seen: Notification[] = [];
  const c = await startConsumer(async (n) => {
    seen.push(n);
    await g.opened;
    return 'done';
  });
  const abandoned: unknown[] = [];
  c.on('abandoned', (e) => abandoned.push(e));
  const ev = instanceEvent();
  broker.publish(names.exchange, KEY, ev.body);
  await waitFor(() => seen.length === 1, 5000, 'the handler to be called');
  expect(c.stats().done).toBe(0);

  // Not acked yet: when the consumer's channel goes, the broker makes the message ready again.
  const result = await c.stop(200);
  expect(result).toEqual({ drained: false, unfinished: 1 });
  await waitFor(async () => (await broker.ready(names.queue)) === 1, 5000, 'the message to be ready again');

  g.open(); // the late handler finishes, its ack has no channel any more
  await waitFor(() => abandoned.length === 1, 5000, 'the late result to be reported');

  // A new consumer gets it again, flagged redelivered, and acks it after its handler.
  const again: boolean[] = [];
  consumer = null;
  const c2 = await startConsumer(async (n, ctx) => {
    expect(n.messageId).toBe(ev.messageId);
    again.push(ctx.redelivered);
    return 'done';
  });
  await waitFor(() => c2.stats().done === 1, 5000, 'the redelivery to be processed');
  expect(again).toEqual([true]);
  await c2.stop(2000);
  consumer = null;
  expect(await broker.ready(names.queue)).toBe(0);
});

test('graceful stop waits for the work in flight, then acks it', async () => {
  let finished = 0;
  const c = await startConsumer(async () => {
    await new Promise((r) => setTimeout(r, 400));
    finished += 1;
    return 'done';
  });
  broker.publish(names.exchange, KEY, instanceEvent().body);
  await waitFor(() => c.inFlight === 1, 5000, 'the message to be in flight');
  const t0 = Date.now();
  const result = await c.stop(5000);
  expect(result).toEqual({ drained: true, unfinished: 0 });
  expect(finished).toBe(1);
  expect(Date.now() - t0).toBeLessThan(3000);
  consumer = null;
  expect(await broker.ready(names.queue)).toBe(0);
});

test('done and skipped events are acked, in order per instance, with the decoded fields', async () => {
  const fixtures = notificationFixturesDir();
  const files = ['instance-power_on-start.json', 'instance-power_on-end.json', 'instance-create-end-other-host.json'];
  const order: string[] = [];
  const processed: Array<{ outcome: string; eventType: string }> = [];
  const c = await startConsumer(async (n) => {
    order.push(n.eventType);
    await new Promise((r) => setTimeout(r, n.eventType === 'instance.power_on.start' ? 150 : 1));
    return (n.instance?.host === 'compute-0' ? 'done' : 'skipped') as HandlerOutcome;
  }, { prefetch: 5 });
  c.on('processed', (e) => processed.push({ outcome: e.outcome, eventType: e.eventType }));
  for (const f of files) broker.publish(names.exchange, KEY, readFileSync(join(fixtures, f)));
  await waitFor(() => processed.length === 3, 5000, 'three messages');
  // power_on.end waited for power_on.start (same instance) even though the start was slower.
  expect(order.indexOf('instance.power_on.end')).toBeGreaterThan(order.indexOf('instance.power_on.start'));
  expect(processed).toEqual(
    expect.arrayContaining([
      { outcome: 'done', eventType: 'instance.power_on.start' },
      { outcome: 'done', eventType: 'instance.power_on.end' },
      { outcome: 'skipped', eventType: 'instance.create.end' },
    ]),
  );
  expect(c.stats()).toMatchObject({ received: 3, done: 2, skipped: 1, deadLettered: 0 });
  await c.stop(2000);
  consumer = null;
  expect(await broker.ready(names.queue)).toBe(0);
});

test('a malformed body goes to the dead-letter queue with the reason and its properties', async () => {
  let calls = 0;
  const c = await startConsumer(async () => {
    calls += 1;
    return 'done';
  });
  const dead: unknown[] = [];
  c.on('dead-lettered', (e) => dead.push(e));
  broker.publish(names.exchange, KEY, '{"oslo.version": "2.0", "oslo.message": "{not json"}', {
    correlationId: 'corr-1',
    headers: { 'x-origin': 'test' },
  });
  await waitFor(() => dead.length === 1, 5000, 'the dead letter');
  expect(calls).toBe(0);
  const [m, ...rest] = await broker.drain(names.deadLetterQueue);
  expect(rest).toHaveLength(0);
  expect(m!.content.toString()).toBe('{"oslo.version": "2.0", "oslo.message": "{not json"}');
  expect(String(header(m!, 'x-hwstash-reason'))).toMatch(/^oslo\.message: not valid JSON/);
  expect(header(m!, 'x-hwstash-event-type')).toBe('unknown');
  expect(header(m!, 'x-hwstash-attempts')).toBe(0);
  expect(Date.now() - Date.parse(String(header(m!, 'x-hwstash-failed-at')))).toBeLessThan(60_000);
  expect(header(m!, 'x-origin')).toBe('test');
  expect(m!.properties.correlationId).toBe('corr-1');
  expect(m!.properties.contentType).toBe('application/json');
  expect(m!.properties.deliveryMode).toBe(2);
  expect(c.stats()).toMatchObject({ malformed: 1, deadLettered: 1 });
  expect(await broker.ready(names.queue)).toBe(0);
});

test('a body over the size limit is dead-lettered without being parsed', async () => {
  const c = await startConsumer(async () => 'done', { maxBodyBytes: 2048 });
  const ev = instanceEvent();
  const padded = Buffer.concat([ev.body, Buffer.alloc(4096, 0x20)]);
  broker.publish(names.exchange, KEY, padded);
  await waitFor(() => c.stats().deadLettered === 1, 5000, 'the dead letter');
  const [m] = await broker.drain(names.deadLetterQueue);
  expect(header(m!, 'x-hwstash-reason')).toBe(`body: ${padded.length} bytes exceeds the limit of 2048 bytes`);
});

test('a transient failure is retried without acking, then succeeds', async () => {
  let calls = 0;
  const c = await startConsumer(async () => {
    calls += 1;
    if (calls < 3) throw new TransientError('database is locked');
    return 'done';
  });
  const retried: Array<{ attempt: number; reason: string }> = [];
  c.on('retried', (e) => retried.push({ attempt: e.attempt, reason: e.reason }));
  broker.publish(names.exchange, KEY, instanceEvent().body);
  await waitFor(() => c.stats().done === 1, 5000, 'success');
  expect(calls).toBe(3);
  expect(retried).toEqual([
    { attempt: 1, reason: 'TransientError: database is locked' },
    { attempt: 2, reason: 'TransientError: database is locked' },
  ]);
  expect(await broker.ready(names.deadLetterQueue)).toBe(0);
});

test('an unmarked error is retried up to the attempt limit, then dead-lettered with the count', async () => {
  let calls = 0;
  const c = await startConsumer(
    async () => {
      calls += 1;
      throw new Error('libvirt: connection reset');
    },
    { retryAttempts: 4 },
  );
  const ev = instanceEvent('instance.unshelve.end');
  broker.publish(names.exchange, KEY, ev.body);
  await waitFor(() => c.stats().deadLettered === 1, 5000, 'the dead letter');
  expect(calls).toBe(4);
  const [m] = await broker.drain(names.deadLetterQueue);
  expect(header(m!, 'x-hwstash-attempts')).toBe(4);
  expect(header(m!, 'x-hwstash-reason')).toBe('Error: libvirt: connection reset');
  expect(header(m!, 'x-hwstash-event-type')).toBe('instance.unshelve.end');
  expect(header(m!, 'x-hwstash-routing-key')).toBe(KEY);
  expect(m!.content.equals(ev.body)).toBe(true);
  expect(c.stats()).toMatchObject({ retried: 3, deadLettered: 1, done: 0 });
});

test('a permanent failure is dead-lettered at once', async () => {
  let calls = 0;
  const c = await startConsumer(async () => {
    calls += 1;
    throw new PermanentError('instance 1 has a stashed value Nova cannot read');
  });
  broker.publish(names.exchange, KEY, instanceEvent('instance.create.end').body);
  await waitFor(() => c.stats().deadLettered === 1, 5000, 'the dead letter');
  expect(calls).toBe(1);
  const [m] = await broker.drain(names.deadLetterQueue);
  expect(header(m!, 'x-hwstash-attempts')).toBe(1);
  expect(header(m!, 'x-hwstash-reason')).toBe('PermanentError: instance 1 has a stashed value Nova cannot read');
  expect(c.stats().retried).toBe(0);
});

test('a cut connection loses nothing and applies nothing twice', async () => {
  const applied = new Map<string, number>();
  const total = 30;
  let cutDone = false;
  const c = await startConsumer(
    async (n) => {
      applied.set(n.messageId, (applied.get(n.messageId) ?? 0) + 1); // the "commit"
      const committed = applied.size;
      await new Promise((r) => setTimeout(r, 5));
      if (!cutDone && committed === 10) {
        cutDone = true;
        // Fault injection: the link drops after this commit and before its ack goes out.
        cutConnection(conn.model!);
      }
      return 'done';
    },
    { prefetch: 5 },
  );
  let reconnects = 0;
  conn.on('connected', () => (reconnects += 1));
  const ids: string[] = [];
  for (let i = 0; i < total; i++) {
    const ev = instanceEvent();
    ids.push(ev.messageId);
    broker.publish(names.exchange, KEY, ev.body);
  }
  await waitFor(() => ids.every((id) => applied.has(id)) && c.inFlight === 0, 20_000, 'every message to be applied');
  await waitFor(async () => (await broker.ready(names.queue)) === 0, 5000, 'an empty queue');
  expect(reconnects).toBeGreaterThanOrEqual(1);
  expect([...applied.values()].every((v) => v === 1)).toBe(true);
  expect(applied.size).toBe(total);
  // At least the message whose ack was cut came back and was acked without its handler.
  expect(c.stats().duplicate).toBeGreaterThanOrEqual(1);
  await c.stop(2000);
  consumer = null;
  // Nothing left unacked either: a fresh consumer receives nothing.
  let late = 0;
  const c2 = await startConsumer(async () => {
    late += 1;
    return 'done';
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(late).toBe(0);
  expect(c2.stats().received).toBe(0);
}, 30_000);

test("the passive check accepts Nova's non-durable exchange whatever our durable flag says", async () => {
  // Nova declared it durable=false (beforeEach). A redeclaration as durable would be a 406.
  expect(await broker.tryDeclareExchange(names.exchange, { durable: true, autoDelete: false })).toBe(406);
  const c = await startConsumer(async () => 'done', { exchangeDurable: true });
  broker.publish(names.exchange, KEY, instanceEvent().body);
  await waitFor(() => c.stats().done === 1, 5000, 'the message');
  expect(c.stats().deadLettered).toBe(0);
});

test("a missing exchange is declared with Nova's flags, and only our keys are bound", async () => {
  await broker.cleanup({ exchange: names.exchange });
  expect(await broker.exchangeExists(names.exchange)).toBe(false);
  const c = await startConsumer(async () => 'done');
  expect(await broker.exchangeExists(names.exchange)).toBe(true);
  // Same flags as Nova's default declaration: accepted; others: refused.
  expect(await broker.tryDeclareExchange(names.exchange, { durable: false, autoDelete: false })).toBeNull();
  expect(await broker.tryDeclareExchange(names.exchange, { durable: true, autoDelete: false })).toBe(406);
  // RPC traffic on the same exchange does not reach our queue.
  broker.publish(names.exchange, 'compute.compute-0', instanceEvent().body);
  broker.publish(names.exchange, 'versioned_notifications.error', instanceEvent().body);
  broker.publish(names.exchange, KEY, instanceEvent().body);
  await waitFor(() => c.stats().received >= 1, 5000, 'the notification');
  await new Promise((r) => setTimeout(r, 200));
  expect(c.stats().received).toBe(1);
});

test("Nova's queues and catch-all bindings are refused", () => {
  const base = { connection: conn, handler: async () => 'done' as const, deadLetterQueue: 'hwstash-x.dead' };
  expect(() => new NotificationConsumer({ ...base, queue: 'versioned_notifications.info' })).toThrow(/queue of Nova/);
  expect(() => new NotificationConsumer({ ...base, queue: 'compute.compute-0' })).toThrow(/queue of Nova/);
  expect(() => new NotificationConsumer({ ...base, queue: 'hwstash-x', routingKeys: ['#'] })).toThrow(/never '#'/);
  expect(() => new NotificationConsumer({ ...base, queue: 'hwstash-x', routingKeys: ['*.info'] })).toThrow(/literal topic/);
  expect(() => new NotificationConsumer({ ...base, queue: 'hwstash-x', prefetch: 0 })).toThrow(/prefetch: must be a whole number from 1 to 65535, got 0/);
  expect(() => new NotificationConsumer({ ...base, queue: 'hwstash x' })).toThrow(/queue: "hwstash x" is not a valid name/);
});
