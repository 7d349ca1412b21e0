/**
 * rabbit_quorum_queue on the machine's RabbitMQ (one node: quorum queues work there too): the
 * consumer declares both of its queues as quorum queues, and an existing classic queue of the
 * same name (an upgrade) is migrated while Nova keeps publishing, with no event lost or applied
 * twice. Each test has its own exchange and queues, deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { ConnectionManager } from '../../src/bus/connection.js';
import { NotificationConsumer } from '../../src/bus/consumer.js';
import { encodeNotification, instancePayload } from '../../src/bus/envelope.js';
import { migratingQueueName } from '../../src/bus/queues.js';
import { FAST_BACKOFF, TestBroker, manager, testNames, waitFor } from './helpers/rabbit.js';
import type { TestNames } from './helpers/rabbit.js';

const KEY = 'versioned_notifications.info';
const QUORUM = { quorum: true, deliveryLimit: 0, maxMemoryLength: 0, maxMemoryBytes: 0 };

function event(): { body: Buffer; messageId: string } {
  const e = encodeNotification({
    eventType: 'instance.power_on.start',
    publisherId: 'nova-compute:compute-0',
    payload: instancePayload({ uuid: randomUUID(), host: 'compute-0', state: 'stopped', powerState: 'shutdown', taskState: 'powering-on' }),
  });
  return { body: e.body, messageId: e.messageId };
}

/** name → type, from the broker itself. */
function queueTypes(): Map<string, string> {
  const out = execFileSync('rabbitmqctl', ['-q', 'list_queues', '--no-table-headers', 'name', 'type'], { encoding: 'utf8' });
  return new Map(out.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/) as [string, string]));
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
  await broker.cleanup({ ...names, queue: names.queue });
  await broker.cleanup({ queue: migratingQueueName(names.queue) });
});

function start(applied: Map<string, number>, notices: Array<{ level: string; message: string }>, spec = QUORUM): NotificationConsumer {
  consumer = new NotificationConsumer({
    connection: conn,
    handler: async (n) => {
      applied.set(n.messageId, (applied.get(n.messageId) ?? 0) + 1);
      return 'done';
    },
    exchange: names.exchange,
    queue: names.queue,
    deadLetterQueue: names.deadLetterQueue,
    setupBackoff: FAST_BACKOFF,
    prefetch: 20,
    queueSpec: spec,
  });
  consumer.on('queue-notice', (n: { level: string; message: string }) => notices.push(n));
  return consumer.start();
}

test('rabbit_quorum_queue: the queue and its dead-letter queue are quorum queues', async () => {
  const applied = new Map<string, number>();
  const c = start(applied, []);
  await c.whenReady(15_000);
  const types = queueTypes();
  expect(types.get(names.queue)).toBe('quorum');
  expect(types.get(names.deadLetterQueue)).toBe('quorum');
  const e = event();
  broker.publish(names.exchange, KEY, e.body);
  await waitFor(() => applied.has(e.messageId), 10_000, 'the event');
});

test('a classic queue from before is migrated to quorum while events keep coming: none lost, none applied twice', async () => {
  // The queue as an older hwstash left it: classic, bound, holding 300 events.
  await broker.declareClassicQueue(names.queue);
  await broker.bind(names.queue, names.exchange, KEY);
  const sent: string[] = [];
  for (let i = 0; i < 300; i++) {
    const e = event();
    sent.push(e.messageId);
    broker.publish(names.exchange, KEY, e.body);
  }
  await waitFor(async () => (await broker.ready(names.queue)) === 300, 10_000, 'the 300 events in the classic queue');

  const applied = new Map<string, number>();
  const notices: Array<{ level: string; message: string }> = [];
  let publishing = true;
  const publisher = (async () => {
    // Nova keeps publishing during the migration.
    while (publishing && sent.length < 700) {
      const e = event();
      sent.push(e.messageId);
      broker.publish(names.exchange, KEY, e.body);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const c = start(applied, notices);
  await c.whenReady(30_000);
  publishing = false;
  await publisher;
  await waitFor(() => sent.every((id) => applied.has(id)), 30_000, 'every event applied');
  await new Promise((r) => setTimeout(r, 300)); // a late duplicate would show now

  expect(queueTypes().get(names.queue)).toBe('quorum');
  expect(queueTypes().has(migratingQueueName(names.queue))).toBe(false);
  const twice = [...applied.values()].filter((n) => n > 1).length;
  expect({ lost: sent.filter((id) => !applied.has(id)).length, twice, deadLettered: c.stats().deadLettered }).toEqual({ lost: 0, twice: 0, deadLettered: 0 });
  expect(notices.map((n) => n.message).join('\n')).toMatch(/is a classic queue and rabbit_quorum_queue = true: migrating it to a quorum queue/);
  expect(notices.map((n) => n.message).join('\n')).toMatch(/moved (\d+) messages from the classic queue/);
}, 60_000);

test('a quorum queue where a classic one is asked for is kept and used; the notice gives the command', async () => {
  await broker.declareQueue(names.queue, { 'x-queue-type': 'quorum' });
  const applied = new Map<string, number>();
  const notices: Array<{ level: string; message: string }> = [];
  const c = start(applied, notices, { quorum: false, deliveryLimit: 0, maxMemoryLength: 0, maxMemoryBytes: 0 });
  await c.whenReady(15_000);
  const e = event();
  broker.publish(names.exchange, KEY, e.body);
  await waitFor(() => applied.has(e.messageId), 10_000, 'the event');
  const text = notices.map((n) => n.message).join('\n');
  expect(text).toContain(`queue ${names.queue} exists with other arguments (its x-queue-type is quorum, [oslo_messaging_rabbit] asks for classic)`);
  expect(text).toContain(`rabbitmqctl delete_queue --vhost '/' --if-empty ${names.queue}`);
  expect(queueTypes().get(names.queue)).toBe('quorum');
});

test('a queue that could lose events (not durable) is refused, not used: setup fails with the command that fixes it', async () => {
  await broker.declareQueueWith(names.queue, { durable: false });
  const reasons: string[] = [];
  const c = start(new Map(), [], { quorum: false, deliveryLimit: 0, maxMemoryLength: 0, maxMemoryBytes: 0 });
  c.on('setup-failed', (e: { reason: string }) => reasons.push(e.reason));
  await waitFor(() => reasons.length > 0, 10_000, 'the setup failure');
  expect(reasons[0]).toContain(`queue ${names.queue} exists with other arguments (its durable is false, [oslo_messaging_rabbit] asks for true); hwstash does not consume from it.`);
  expect(reasons[0]).toContain(`rabbitmqctl delete_queue --vhost '/' --if-empty ${names.queue}`);
  expect(c.consuming).toBe(false);
});
