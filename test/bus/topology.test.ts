import type { Settings } from '../../src/config/settings.js';
import { ConnectionManager } from '../../src/bus/connection.js';
import { NotificationConsumer, consumerSettings } from '../../src/bus/consumer.js';
import { validateQueueName, validateRoutingKey } from '../../src/bus/topology.js';

test('binding keys must start with a literal topic', () => {
  expect(validateRoutingKey('versioned_notifications.info')).toBe('versioned_notifications.info');
  expect(validateRoutingKey('versioned_notifications.#')).toBe('versioned_notifications.#');
  for (const bad of ['#', '*.info', '#.info', '', 'a b', '.info']) expect(() => validateRoutingKey(bad)).toThrow(/routing key/);
});

test("Nova's and RabbitMQ's queues are refused, ours are fine", () => {
  for (const bad of ['versioned_notifications.info', 'notifications.info', 'compute.compute-0', 'conductor', 'scheduler_fanout_x', 'reply_abc', 'amq.gen-x']) {
    expect(() => validateQueueName(bad)).toThrow(/queue of Nova or RabbitMQ/);
  }
  expect(validateQueueName('hwstash.compute-0')).toBe('hwstash.compute-0');
});

test('consumer settings come from nova.conf and [hwstash], as the configuration resolved them', () => {
  // The configuration has already put the host into the queue names: a name is used as given
  // (a literal "{host}" left in would fail the queue-name check, not be replaced twice).
  const s = {
    host: 'compute-7',
    amqpDurableQueues: true,
    rabbit: { quorumQueue: true, quorumDeliveryLimit: 0, quorumMaxMemoryLength: 1000, quorumMaxMemoryBytes: 0 },
    hwstash: {
      exchange: 'nova',
      routingKey: 'versioned_notifications.info',
      queue: 'hwstash.compute-7',
      deadLetterQueue: 'hwstash.compute-7.dead',
      prefetch: 4,
    },
  } as unknown as Settings;
  expect(consumerSettings(s)).toEqual({
    exchange: 'nova',
    exchangeDurable: true,
    queue: 'hwstash.compute-7',
    deadLetterQueue: 'hwstash.compute-7.dead',
    routingKeys: ['versioned_notifications.info'],
    prefetch: 4,
    queueSpec: { quorum: true, deliveryLimit: 0, maxMemoryLength: 1000, maxMemoryBytes: 0 },
  });
});

test('[hwstash] routing_key is one key, the one hwstash publishes to: a comma is not a list', () => {
  const s = {
    host: 'compute-7',
    amqpDurableQueues: false,
    rabbit: { quorumQueue: false, quorumDeliveryLimit: 0, quorumMaxMemoryLength: 0, quorumMaxMemoryBytes: 0 },
    hwstash: { exchange: 'nova', routingKey: 'a.info,b.info', queue: 'hwstash.compute-7', deadLetterQueue: 'hwstash.compute-7.dead', prefetch: 4 },
  } as unknown as Settings;
  // Bound as written, a key with a comma would route nothing emit sends to a queue; refused instead.
  expect(consumerSettings(s).routingKeys).toEqual(['a.info,b.info']);
  const connection = ConnectionManager.fromTransportUrl('rabbit://guest:guest@127.0.0.1:1/');
  expect(() => new NotificationConsumer({ connection, handler: async () => 'done', ...consumerSettings(s) })).toThrow(/routing key/);
});

test('queue names default to hwstash.<host> and hwstash.<host>.dead', () => {
  const connection = ConnectionManager.fromTransportUrl('rabbit://guest:guest@127.0.0.1:1/');
  const c = new NotificationConsumer({ connection, host: 'compute-3', handler: async () => 'done' });
  expect([c.queue, c.deadLetterQueue, c.exchange, c.routingKeys]).toEqual([
    'hwstash.compute-3', 'hwstash.compute-3.dead', 'nova', ['versioned_notifications.info'],
  ]);
  expect(() => new NotificationConsumer({ connection, handler: async () => 'done' })).toThrow(/queue: give the queue name or the host/);
});
