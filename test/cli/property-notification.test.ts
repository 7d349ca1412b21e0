/**
 * An operator's change is announced as `hwstash.property.update` on Nova's exchange, in Nova's
 * envelope, so existing notification consumers see it; with RabbitMQ away the change is still
 * written and the command says the notification was not sent.
 */
import amqp from 'amqplib';
import { decodeNotification } from '../../src/bus/envelope.js';
import { uniq } from '../bus/helpers/rabbit.js';
import { cliWorld, type CliWorld } from './helpers.js';

const exchange = uniq('nova-test');
let world: CliWorld;
let conn: amqp.ChannelModel;
let ch: amqp.Channel;
let queue: string;

beforeAll(async () => {
  world = await cliWorld('sqlite', { extra: `exchange = ${exchange}` });
  conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672/');
  ch = await conn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  queue = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(queue, exchange, 'versioned_notifications.info');
});

afterAll(async () => {
  await ch.deleteExchange(exchange).catch(() => undefined);
  await conn.close();
  await world.close();
});

test('set publishes hwstash.property.update with old and new values', async () => {
  const [uuid] = await world.seed([{ host: 'compute-1', vmState: 'stopped', systemMetadata: { image_hw_video_model: 'cirrus' } }]);
  const r = await world.cli(['image-property', 'set', uuid!, '--property', 'hw_video_model=virtio', '--property', 'hw_vif_model=VirtualE1000']);
  expect(r.code).toBe(0);
  const msg = await ch.get(queue, { noAck: true });
  expect(msg).not.toBe(false);
  const n = decodeNotification((msg as amqp.GetMessage).content);
  expect(n.eventType).toBe('hwstash.property.update');
  expect(n.publisherId).toBe('hwstash:compute-1');
  expect(n.data['instance_uuid']).toBe(uuid);
  expect(n.data['source']).toBe('set');
  expect(n.data['changes']).toEqual([
    { property: 'hw_video_model', old: 'cirrus', new: 'virtio', removed: false },
    { property: 'hw_vif_model', old: null, new: 'e1000', removed: false },
  ]);
});

test('with RabbitMQ unreachable the change is written and the command warns', async () => {
  const [uuid] = await world.seed([{ host: 'compute-1', vmState: 'stopped' }]);
  const config = world.writeConfig('no-bus.conf', { extra: `exchange = ${exchange}\ntransport_url = rabbit://guest:guest@127.0.0.1:1/` });
  const { run } = await import('./helpers.js');
  const r = await run(['--config-file', config, 'image-property', 'set', uuid!, '--property', 'hw_video_model=vga']);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain('hwstash.property.update not published');
  expect(r.stderr).not.toContain('guest:guest');
  const rows = await world.store.systemMetadata(uuid!);
  expect(rows.find((row) => row.key === 'image_hw_video_model')?.value).toBe('vga');
}, 20_000);
