/**
 * A full RabbitMQ application restart (`rabbitmqctl stop_app; start_app`) under the bare
 * consumer. It disturbs every other user of the shared broker, so it lives in the reliability
 * suite (run alone, in band); the broker is started again even if the test fails.
 */
import { randomUUID } from 'node:crypto';
import { NotificationConsumer } from '../../src/bus/consumer.js';
import { encodeNotification, instancePayload } from '../../src/bus/envelope.js';
import { TestBroker, manager, rabbitmqctl, testNames, waitFor } from '../bus/helpers/rabbit.js';

function event() {
  return encodeNotification({
    eventType: 'instance.power_on.end',
    publisherId: 'nova-compute:compute-0',
    payload: instancePayload({ uuid: randomUUID(), host: 'compute-0', state: 'active', powerState: 'running' }),
  }).body;
}

test('after a broker restart the consumer reconnects, re-declares the transient exchange and re-binds', async () => {
  const names = testNames();
  const conn = manager({ backoff: { initialMs: 250, maxMs: 2000, factor: 2, jitter: 0.2 } });
  let handled = 0;
  const consumer = new NotificationConsumer({
    connection: conn,
    exchange: names.exchange,
    queue: names.queue,
    deadLetterQueue: names.deadLetterQueue,
    setupBackoff: { initialMs: 250, maxMs: 2000, factor: 2, jitter: 0.2 },
    handler: async () => {
      handled += 1;
      return 'done';
    },
  });
  let readies = 0;
  let disconnects = 0;
  consumer.on('ready', () => (readies += 1));
  conn.on('disconnected', () => (disconnects += 1));
  let broker = await TestBroker.open();
  try {
    await broker.declareNovaExchange(names.exchange); // non-durable, as Nova declares it
    consumer.start();
    await consumer.whenReady(10_000);
    broker.publish(names.exchange, 'versioned_notifications.info', event());
    await waitFor(() => handled === 1, 10_000, 'the first message');
    await broker.close();

    try {
      await rabbitmqctl('stop_app');
      await waitFor(() => disconnects >= 1, 30_000, 'the disconnect');
      expect(conn.model).toBeNull();
    } finally {
      await rabbitmqctl('start_app');
      await rabbitmqctl('await_startup');
    }

    await waitFor(() => readies >= 2, 60_000, 'the consumer to be ready again');
    broker = await TestBroker.open();
    // The restart removed the non-durable exchange; the consumer declared it again with
    // Nova's flags and bound its durable queue to it.
    expect(await broker.exchangeExists(names.exchange)).toBe(true);
    expect(await broker.tryDeclareExchange(names.exchange, { durable: false, autoDelete: false })).toBeNull();
    broker.publish(names.exchange, 'versioned_notifications.info', event());
    await waitFor(() => handled === 2, 10_000, 'the message after the restart');
  } finally {
    await consumer.stop(2000);
    await conn.close(2000);
    const cleaner = await TestBroker.open().catch(() => null);
    await cleaner?.cleanup(names);
    await cleaner?.close();
    await broker.close();
  }
}, 180_000);
