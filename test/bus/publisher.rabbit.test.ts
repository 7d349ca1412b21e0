/** The publisher against the real RabbitMQ: what it sends is what the consumer and Nova's tools read. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectionManager } from '../../src/bus/connection.js';
import { NotificationConsumer } from '../../src/bus/consumer.js';
import { decodeNotification } from '../../src/bus/envelope.js';
import type { Notification } from '../../src/bus/envelope.js';
import { BusUnavailableError } from '../../src/bus/errors.js';
import { NotificationPublisher } from '../../src/bus/publisher.js';
import { notificationFixturesDir } from './helpers/fixtures.js';
import { FAST_BACKOFF, TestBroker, manager, testNames, waitFor } from './helpers/rabbit.js';
import type { TestNames } from './helpers/rabbit.js';

let broker: TestBroker;
let names: TestNames;
let conn: ConnectionManager;
let publisher: NotificationPublisher;

beforeAll(async () => {
  broker = await TestBroker.open();
});
afterAll(async () => {
  await broker.close();
});
beforeEach(async () => {
  names = testNames();
  conn = manager().start();
  await broker.declareNovaExchange(names.exchange);
  publisher = new NotificationPublisher({ connection: conn, host: 'compute-0', exchange: names.exchange });
  await conn.whenConnected(5000);
});
afterEach(async () => {
  await publisher.close();
  await conn.close(2000);
  await broker.cleanup(names);
});

test("hwstash's own notification: Nova's envelope, routing key and AMQP properties", async () => {
  const tap = await broker.tap(names.exchange, 'versioned_notifications.info');
  const id = await publisher.publishEvent({
    eventType: 'hwstash.drift',
    payloadName: 'HwstashDriftPayload',
    data: { instance_uuid: '0a538123-7143-4461-b258-dc394b17a536', property: 'hw_video_model', stashed: 'cirrus', actual: 'virtio' },
  });
  const [m, ...rest] = await broker.drain(tap);
  expect(rest).toHaveLength(0);
  expect(m!.fields.routingKey).toBe('versioned_notifications.info');
  expect(m!.properties.contentType).toBe('application/json');
  expect(m!.properties.contentEncoding).toBe('utf-8');
  expect(m!.properties.deliveryMode).toBe(2);
  const n = decodeNotification(m!.content);
  expect(n.format).toBe('v2');
  expect(n.messageId).toBe(id);
  expect(n.publisherId).toBe('hwstash:compute-0');
  expect(n.publisherHost).toBe('compute-0');
  expect(n.eventType).toBe('hwstash.drift');
  expect(n.priority).toBe('INFO');
  expect(n.payloadName).toBe('HwstashDriftPayload');
  expect(n.payloadNamespace).toBe('hwstash');
  expect(n.payloadVersion).toBe('1.0');
  expect(n.data).toEqual({
    instance_uuid: '0a538123-7143-4461-b258-dc394b17a536', property: 'hw_video_model', stashed: 'cirrus', actual: 'virtio',
  });
});

test('an ERROR notification goes to the .error key, as Nova routes failures', async () => {
  const tap = await broker.tap(names.exchange, 'versioned_notifications.*');
  await publisher.publishEvent({ eventType: 'hwstash.stash.error', payloadName: 'HwstashStashPayload', data: {}, priority: 'ERROR' });
  const [m] = await broker.drain(tap);
  expect(m!.fields.routingKey).toBe('versioned_notifications.error');
  expect(decodeNotification(m!.content).priority).toBe('ERROR');
});

test('raw publish of a recorded Nova body reaches the consumer unchanged', async () => {
  const seen: Notification[] = [];
  const consumer = new NotificationConsumer({
    connection: conn,
    exchange: names.exchange,
    queue: names.queue,
    deadLetterQueue: names.deadLetterQueue,
    setupBackoff: FAST_BACKOFF,
    handler: async (n) => {
      seen.push(n);
      return 'done';
    },
  }).start();
  await consumer.whenReady(5000);
  const file = readFileSync(join(notificationFixturesDir(), 'instance-shelve_offload-end.json'));
  await publisher.publish('versioned_notifications.info', file);
  await waitFor(() => seen.length === 1, 5000, 'the notification');
  expect(seen[0]).toEqual(decodeNotification(file));
  await consumer.stop(2000);
});

test('publishing while disconnected fails fast with a clear error', async () => {
  const down = ConnectionManager.fromTransportUrl('rabbit://guest:guest@127.0.0.1:1/', { backoff: FAST_BACKOFF }).start();
  const p = new NotificationPublisher({ connection: down, host: 'compute-0', exchange: names.exchange });
  const t0 = Date.now();
  await expect(
    p.publishEvent({ eventType: 'hwstash.stash.end', payloadName: 'HwstashStashPayload', data: {} }),
  ).rejects.toThrow(BusUnavailableError);
  await expect(p.publish('versioned_notifications.info', Buffer.from('{}'))).rejects.toThrow(/not connected to the message bus/);
  expect(Date.now() - t0).toBeLessThan(200);
  await down.close(1000);
});

test('names are checked before anything is sent', () => {
  expect(() => new NotificationPublisher({ connection: conn, host: 'compute 0' })).toThrow(/host: "compute 0" is not a host name/);
  expect(() => new NotificationPublisher({ connection: conn, host: 'h', routingKey: '#' })).toThrow(/routing key/);
  return expect(
    publisher.publishEvent({ eventType: 'instance.create.end', payloadName: 'X', data: {} }),
  ).rejects.toThrow(/hwstash's own events are named hwstash\.<name>/);
});
