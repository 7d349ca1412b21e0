/**
 * The agent's periodic audit ([hwstash] audit_interval) on a real MariaDB and RabbitMQ: rows a
 * stale save of Nova's deleted or put back (done here with the same SQL Nova's
 * `_instance_metadata_update_in_place` issues: a hard DELETE, an UPDATE of the value) are
 * restored within one period, counted in /metrics, announced as hwstash.drift and recorded in
 * the history as restores; a shelve.end event repairs at once.
 */
import { randomUUID } from 'node:crypto';
import { decodeNotification, type Notification } from '../../src/bus/envelope.js';
import { insertInstances } from '../../src/store/seed.js';
import { AgentHarness, httpGet, waitFor } from './helpers/harness.js';
import { parseExposition, valueOf } from './helpers/prometheus.js';

let h: AgentHarness;
let tap: string;
const seen: Notification[] = [];

beforeAll(async () => {
  h = await AgentHarness.create({ hwstash: { audit_interval: 2 } });
  tap = await h.broker!.tap(h.names.exchange, 'versioned_notifications.*');
  await h.startAgent();
}, 60_000);

afterAll(async () => {
  await h?.cleanup();
});

async function driftOf(uuid: string): Promise<Notification[]> {
  for (const m of await h.broker!.drain(tap)) seen.push(decodeNotification(m.content));
  return seen.filter((n) => n.eventType === 'hwstash.drift' && n.data['instance_uuid'] === uuid);
}

const imageRows = async (uuid: string) =>
  Object.fromEntries((await h.store.systemMetadata(uuid)).filter((r) => r.key.startsWith('image_hw_')).map((r) => [r.key, r.value]));

async function stashedInstance(): Promise<string> {
  const uuid = randomUUID();
  await insertInstances(h.store, [{ uuid, host: h.host, imageProperties: {}, systemMetadata: {}, vmState: 'stopped' }]);
  h.publishInstance('instance.create.end', uuid, { state: 'stopped', power: 'shutdown' });
  await waitFor(async () => Object.keys(await imageRows(uuid)).length === 11, 30_000, 'the stash');
  return uuid;
}

test("rows erased and a value reverted by a stale save are restored by the next audit, counted and announced", async () => {
  const uuid = await stashedInstance();
  const stash = await imageRows(uuid);
  const set = await h.store.writeProperties(uuid, [{ property: 'hw_video_model', value: 'cirrus' }], { source: 'set', actor: 'operator' });
  expect(set.writes[0]!.changed).toBe(true);
  const metrics = async () => parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
  const before = await metrics();

  // Nova's save with a dict loaded before the set: the video model back, two rows gone.
  const q = h.store.db.sequelize;
  await q.query("UPDATE instance_system_metadata SET value = :v WHERE instance_uuid = :u AND `key` = 'image_hw_video_model'", { replacements: { v: stash['image_hw_video_model'], u: uuid } });
  await q.query("DELETE FROM instance_system_metadata WHERE instance_uuid = :u AND `key` IN ('image_hw_rng_model', 'image_hw_floppy_bus')", { replacements: { u: uuid } });

  await waitFor(async () => (await imageRows(uuid))['image_hw_video_model'] === 'cirrus', 15_000, 'the audit');
  expect(await imageRows(uuid)).toEqual({ ...stash, image_hw_video_model: 'cirrus' });
  await waitFor(async () => (await driftOf(uuid)).length === 1, 15_000, 'hwstash.drift');
  const [drift] = await driftOf(uuid);
  expect(drift!.data['compared']).toBe('history');
  expect((drift!.data['restored'] as Array<{ property: string; cause: string }>).map((r) => [r.property, r.cause]).sort()).toEqual([
    ['hw_floppy_bus', 'erased'],
    ['hw_rng_model', 'erased'],
    ['hw_video_model', 'reverted'],
  ]);
  const after = await metrics();
  const delta = (property: string, cause: string) =>
    valueOf(after, 'hwstash_properties_restored_total', { property, cause }) - valueOf(before, 'hwstash_properties_restored_total', { property, cause });
  expect([delta('hw_video_model', 'reverted'), delta('hw_rng_model', 'erased'), delta('hw_floppy_bus', 'erased')]).toEqual([1, 1, 1]);
  const restores = (await h.store.history(uuid)).filter((e) => e.source === 'restore');
  expect(restores.map((e) => e.actor)).toEqual(Array(3).fill(`hwstash-agent@${h.host}`));
}, 60_000);

test('a shelve.end event repairs its instance at once', async () => {
  // The same harness, a new agent without the periodic audit: only the event can repair.
  await h.agent!.stop();
  await h.startAgent({ settings: { ...h.settings(), hwstash: { ...h.settings().hwstash, auditInterval: 0 } } });
  const uuid = await stashedInstance();
  const stash = await imageRows(uuid);
  await h.store.db.sequelize.query("DELETE FROM instance_system_metadata WHERE instance_uuid = :u AND `key` LIKE 'image\\_hw\\_%'", { replacements: { u: uuid } });
  h.publishInstance('instance.shelve.end', uuid, { state: 'shelved', power: 'shutdown' });
  await waitFor(async () => Object.keys(await imageRows(uuid)).length === 11, 15_000, 'the repair');
  expect(await imageRows(uuid)).toEqual(stash);
  expect((await h.store.history(uuid)).filter((e) => e.source === 'restore')).toHaveLength(11);
}, 60_000);
