import type { Settings } from '../../src/config/settings.js';
import { ConnectionManager } from '../../src/bus/connection.js';
import { NotificationConsumer, consumerSettings } from '../../src/bus/consumer.js';
import { queueNameFor, validateQueueName, validateRoutingKey } from '../../src/bus/topology.js';

test('{host} in queue names becomes the host', () => {
  expect(queueNameFor('hwstash.{host}', 'compute-0')).toBe('hwstash.compute-0');
  expect(queueNameFor('hwstash.{host}.dead', 'c1')).toBe('hwstash.c1.dead');
});

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

test('consumer settings come from nova.conf and [hwstash]', () => {
  const s = {
    host: 'compute-7',
    amqpDurableQueues: true,
    hwstash: {
      exchange: 'nova',
      routingKey: 'versioned_notifications.info, versioned_notifications.error',
      queue: 'hwstash.{host}',
      deadLetterQueue: 'hwstash.{host}.dead',
      prefetch: 4,
    },
  } as unknown as Settings;
  expect(consumerSettings(s)).toEqual({
    exchange: 'nova',
    exchangeDurable: true,
    queue: 'hwstash.compute-7',
    deadLetterQueue: 'hwstash.compute-7.dead',
    routingKeys: ['versioned_notifications.info', 'versioned_notifications.error'],
    prefetch: 4,
  });
});

test('queue names default to hwstash.<host> and hwstash.<host>.dead', () => {
  const connection = ConnectionManager.fromTransportUrl('rabbit://guest:guest@127.0.0.1:1/');
  const c = new NotificationConsumer({ connection, host: 'compute-3', handler: async () => 'done' });
  expect([c.queue, c.deadLetterQueue, c.exchange, c.routingKeys]).toEqual([
    'hwstash.compute-3', 'hwstash.compute-3.dead', 'nova', ['versioned_notifications.info'],
  ]);
  expect(() => new NotificationConsumer({ connection, handler: async () => 'done' })).toThrow(/queue: give the queue name or the host/);
});
