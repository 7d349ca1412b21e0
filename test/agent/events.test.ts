/**
 * Every row of the event table, end to end: Nova-shaped notifications published on a real
 * RabbitMQ exchange, one agent consuming them, its effects read back from a real MariaDB
 * database and libvirt's test driver, its own notifications read from a queue the test binds.
 */
import { randomUUID } from 'node:crypto';
import type { Hypervisor } from '../../src/hypervisor/index.js';
import { decodeNotification, type Notification } from '../../src/bus/envelope.js';
import { insertInstances } from '../../src/store/seed.js';
import { AgentHarness, httpGet, queueCounts, waitFor } from './helpers/harness.js';
import { defineDomain, readDevices, testHypervisor } from './helpers/domains.js';
import { novaFixture } from './helpers/nova-fixtures.js';
import { parseExposition, valueOf } from './helpers/prometheus.js';

const ALL_KEYS = [
  'image_hw_machine_type', 'image_hw_cdrom_bus', 'image_hw_disk_bus', 'image_hw_floppy_bus', 'image_hw_rescue_bus',
  'image_hw_input_bus', 'image_hw_pointer_model', 'image_hw_rng_model', 'image_hw_scsi_model', 'image_hw_video_model',
  'image_hw_vif_model',
].sort();

/** A complete stash as an operator would have it (all 11 rows), as `image_*` system_metadata. */
const FULL_STASH: Record<string, string | null> = {
  image_hw_machine_type: 'pc',
  image_hw_cdrom_bus: 'ide',
  image_hw_disk_bus: 'virtio',
  image_hw_floppy_bus: 'fdc',
  image_hw_rescue_bus: 'virtio',
  image_hw_input_bus: 'usb',
  image_hw_pointer_model: 'usbtablet',
  image_hw_rng_model: 'virtio',
  image_hw_scsi_model: null,
  image_hw_video_model: 'virtio',
  image_hw_vif_model: 'virtio',
};

let h: AgentHarness;
let hv: Hypervisor;
let tap: string;
const published: Notification[] = [];

beforeAll(async () => {
  h = await AgentHarness.create();
  hv = await testHypervisor();
  tap = await h.broker!.tap(h.names.exchange, 'versioned_notifications.*');
  await h.startAgent();
}, 60_000);

afterAll(async () => {
  await h?.cleanup();
  await hv?.close();
});

/** The image_* rows of an instance, key → value (every row, so a duplicate would show). */
async function imageRows(uuid: string): Promise<Array<[string, string | null]>> {
  const rows = await h.store.systemMetadata(uuid);
  return rows.filter((r) => r.key.startsWith('image_hw_')).map((r) => [r.key, r.value] as [string, string | null]);
}

async function stashOf(uuid: string): Promise<Record<string, string | null>> {
  return Object.fromEntries(await imageRows(uuid));
}

/** hwstash's own notifications seen so far on the test's queue. */
async function hwstashNotifications(eventType: string, uuid: string): Promise<Notification[]> {
  for (const m of await h.broker!.drain(tap)) {
    const n = decodeNotification(m.content);
    if (n.eventType.startsWith('hwstash.')) published.push(n);
  }
  return published.filter((n) => n.eventType === eventType && n.data['instance_uuid'] === uuid);
}

async function metrics() {
  return parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
}

async function insert(uuid: string, o: { host?: string; image?: Record<string, string | null>; sysmeta?: Record<string, string | null>; vmState?: string } = {}) {
  await insertInstances(h.store, [
    { uuid, host: o.host ?? h.host, imageProperties: o.image ?? {}, systemMetadata: o.sysmeta ?? {}, vmState: o.vmState ?? 'active' },
  ]);
}

test('instance.create.end (Nova\'s own body) stashes all 11 properties of the new instance, once', async () => {
  const uuid = randomUUID();
  // An image with a SCSI disk and a legacy VMware NIC name; no os_distro, no domain yet.
  await insert(uuid, { image: { hw_disk_bus: 'scsi', hw_vif_model: 'VirtualE1000' } });
  const before = await metrics();
  const fixture = novaFixture('instance-create-end.json', { uuid, host: h.host });
  h.publishRaw(fixture.body);

  await waitFor(async () => (await imageRows(uuid)).length >= 11, 30_000, 'the stash');
  await waitFor(async () => (await queueCounts(h.names.queue))?.unacked === 0, 30_000, 'the ack');
  // Expected from RULES.md for kvm on x86_64 with nova.conf defaults (VNC on, pointer_model
  // usbtablet): §2 pc; §3 cdrom ide (no q35), floppy fdc, rescue = the disk bus (legacy
  // rescue); §4 usb tablet; §5 virtio; §7 rng virtio, no SCSI model asked for. The image's
  // own rows (Nova copied them at boot) are the stash of those two properties: kept as they are,
  // the raw VMware NIC name included (§0: never overwritten).
  expect(await stashOf(uuid)).toEqual({
    image_hw_machine_type: 'pc',
    image_hw_cdrom_bus: 'ide',
    image_hw_disk_bus: 'scsi',
    image_hw_floppy_bus: 'fdc',
    image_hw_rescue_bus: 'scsi',
    image_hw_input_bus: 'usb',
    image_hw_pointer_model: 'usbtablet',
    image_hw_rng_model: 'virtio',
    image_hw_scsi_model: null,
    image_hw_video_model: 'virtio',
    image_hw_vif_model: 'VirtualE1000',
  });
  // One row per key: nothing written twice.
  expect((await imageRows(uuid)).map(([k]) => k).sort()).toEqual(ALL_KEYS);
  await waitFor(async () => (await hwstashNotifications('hwstash.stash.end', uuid)).length === 1, 30_000, 'hwstash.stash.end');
  const after = await metrics();
  expect(valueOf(after, 'hwstash_events_total', { event_type: 'instance.create.end', outcome: 'done' }) - valueOf(before, 'hwstash_events_total', { event_type: 'instance.create.end', outcome: 'done' })).toBe(1);
}, 60_000);

test('instance.power_on.start redefines a domain that differs from the stash before it boots', async () => {
  const uuid = randomUUID();
  await insert(uuid, { sysmeta: FULL_STASH, vmState: 'stopped' });
  // The guest's definition still has yesterday's defaults.
  await defineDomain(hv, uuid, { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139' });
  expect(readDevices((await hv.persistentXml(uuid))!)).toMatchObject({ video: ['cirrus'], vif: ['rtl8139'], diskBus: ['ide'] });
  const rowsBefore = await h.store.systemMetadata(uuid);
  const before = await metrics();

  h.publishRaw(novaFixture('instance-power_on-start.json', { uuid, host: h.host }).body);
  await waitFor(async () => readDevices((await hv.persistentXml(uuid))!).video[0] === 'virtio', 30_000, 'the redefinition');

  expect(readDevices((await hv.persistentXml(uuid))!)).toMatchObject({ video: ['virtio'], vif: ['virtio'], diskBus: ['virtio'] });
  // Nova boots it, not hwstash (start_domains is off): still shut off.
  expect((await hv.domain(uuid))!.state).toBe('shutoff');
  // Following the stash reads it; it does not write it.
  expect(await h.store.systemMetadata(uuid)).toEqual(rowsBefore);
  await waitFor(async () => (await hwstashNotifications('hwstash.domain.update', uuid)).length === 1, 30_000, 'hwstash.domain.update');
  const after = await metrics();
  expect(valueOf(after, 'hwstash_domains_redefined_total', { outcome: 'redefined' }) - valueOf(before, 'hwstash_domains_redefined_total', { outcome: 'redefined' })).toBe(1);
}, 60_000);

test('instance.power_on.end verifies the running domain and reports drift (metric and hwstash.drift)', async () => {
  const uuid = randomUUID();
  await insert(uuid, { sysmeta: FULL_STASH });
  // Booted outside hwstash with another video model than the stash says.
  await defineDomain(hv, uuid, { hw_machine_type: 'pc', hw_disk_bus: 'virtio', hw_video_model: 'cirrus', hw_vif_model: 'virtio' }, { start: true });
  const xmlBefore = await hv.persistentXml(uuid);
  const before = await metrics();

  h.publishRaw(novaFixture('instance-power_on-end.json', { uuid, host: h.host }).body);
  await waitFor(async () => (await hwstashNotifications('hwstash.drift', uuid)).length === 1, 30_000, 'hwstash.drift');

  const [drift] = await hwstashNotifications('hwstash.drift', uuid);
  expect(drift!.publisherId).toBe(`hwstash:${h.host}`);
  expect(drift!.data['compared']).toBe('live');
  expect(drift!.data['drift']).toEqual([{ property: 'hw_video_model', stashed: 'virtio', domain: 'cirrus' }]);
  const after = await metrics();
  expect(valueOf(after, 'hwstash_drift_total', { property: 'hw_video_model' }) - valueOf(before, 'hwstash_drift_total', { property: 'hw_video_model' })).toBe(1);
  expect(valueOf(after, 'hwstash_drift_total', { property: 'hw_vif_model' }) - valueOf(before, 'hwstash_drift_total', { property: 'hw_vif_model' })).toBe(0);
  // Verifying only reports: the definition is left alone.
  expect(await hv.persistentXml(uuid)).toBe(xmlBefore);
  await hv.destroy(uuid);
}, 60_000);

test('instance.unshelve.end stashes from the domain, makes the definition follow the stash, and reports the running drift', async () => {
  const uuid = randomUUID();
  // Only the video model is stashed; the rest is missing.
  await insert(uuid, { sysmeta: { image_hw_video_model: 'virtio' } });
  // The guest runs with an old NIC and video; the NIC has no stash yet, so it is taken from the
  // domain (RULES §9.2), not from today's default (virtio).
  await defineDomain(hv, uuid, { hw_machine_type: 'pc', hw_disk_bus: 'virtio', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139' }, { start: true });

  h.publishRaw(novaFixture('instance-unshelve-end.json', { uuid, host: h.host }).body);
  await waitFor(async () => (await hwstashNotifications('hwstash.drift', uuid)).length === 1, 30_000, 'hwstash.drift');

  const stash = await stashOf(uuid);
  expect(Object.keys(stash).sort()).toEqual(ALL_KEYS);
  expect(stash['image_hw_vif_model']).toBe('rtl8139');
  expect(stash['image_hw_video_model']).toBe('virtio');
  // The next boot gets the stash; the running guest still shows the drift.
  expect(readDevices((await hv.persistentXml(uuid))!)).toMatchObject({ video: ['virtio'], vif: ['rtl8139'] });
  const [drift] = await hwstashNotifications('hwstash.drift', uuid);
  expect(drift!.data['drift']).toEqual([{ property: 'hw_video_model', stashed: 'virtio', domain: 'cirrus' }]);
  expect(await hwstashNotifications('hwstash.stash.end', uuid)).toHaveLength(1);
  expect(await hwstashNotifications('hwstash.domain.update', uuid)).toHaveLength(1);
  await hv.destroy(uuid);
}, 60_000);

test.each(['service.create', 'service.update'] as const)('%s of nova-compute on this host reconciles the host', async (eventType) => {
  const uuids = [randomUUID(), randomUUID(), randomUUID()];
  for (const uuid of uuids) await insert(uuid);
  const before = await metrics();
  const file = eventType === 'service.create' ? 'service-create.json' : 'service-update.json';

  h.publishRaw(novaFixture(file, { host: h.host }).body);
  await waitFor(async () => {
    for (const uuid of uuids) if ((await imageRows(uuid)).length < 11) return false;
    return true;
  }, 30_000, 'the reconcile');

  for (const uuid of uuids) expect((await imageRows(uuid)).map(([k]) => k).sort()).toEqual(ALL_KEYS);
  // The rows are committed before the reconcile's duration and the event's outcome are
  // counted; wait for the event to be finished before reading the figures.
  const delta = (m: Awaited<ReturnType<typeof metrics>>) =>
    valueOf(m, 'hwstash_events_total', { event_type: eventType, outcome: 'done' }) - valueOf(before, 'hwstash_events_total', { event_type: eventType, outcome: 'done' });
  await waitFor(async () => delta(await metrics()) >= 1, 30_000, 'the event counted as done');
  const after = await metrics();
  expect(valueOf(after, 'hwstash_reconcile_duration_seconds_count') - valueOf(before, 'hwstash_reconcile_duration_seconds_count')).toBe(1);
  expect(valueOf(after, 'hwstash_events_total', { event_type: eventType, outcome: 'done' }) - valueOf(before, 'hwstash_events_total', { event_type: eventType, outcome: 'done' })).toBe(1);
}, 60_000);

test("other hosts' events, other event types, other services and hwstash's own notifications are skipped and acked", async () => {
  const mine = randomUUID();
  await insert(mine, { vmState: 'stopped' });
  const before = await metrics();
  const skipped: Array<[string, Buffer]> = [
    // Another host's instance, even one this database places here.
    ['instance.create.end', novaFixture('instance-create-end-other-host.json', { uuid: mine, otherHost: `${h.host}-other` }).body],
    // Events of this host's instance that hwstash does not act on.
    ['instance.shelve_offload.end', novaFixture('instance-shelve_offload-end.json', { uuid: mine, host: h.host }).body],
    ['instance.unshelve.start', novaFixture('instance-unshelve-start.json', { uuid: mine, host: h.host }).body],
    ['instance.delete.end', novaFixture('instance-delete-end.json', { uuid: mine, host: h.host }).body],
    // nova-compute of another host.
    ['service.update', novaFixture('service-update.json', { host: `${h.host}-other` }).body],
  ];
  for (const [, body] of skipped) h.publishRaw(body);
  // Another service on this host, and a notification of hwstash itself.
  h.publishService('service.update', { binary: 'nova-conductor' });
  const { NotificationPublisher } = await import('../../src/bus/publisher.js');
  const { ConnectionManager } = await import('../../src/bus/connection.js');
  const conn = ConnectionManager.fromTransportUrl(h.settings().transportUrl);
  conn.start();
  await conn.whenConnected(10_000);
  const pub = new NotificationPublisher({ connection: conn, host: h.host, exchange: h.names.exchange });
  await pub.publishEvent({ eventType: 'hwstash.property.update', payloadName: 'HwstashPropertyPayload', data: { instance_uuid: mine, host: h.host } });
  await pub.close();
  await conn.close();

  const expectSkipped = (after: Awaited<ReturnType<typeof metrics>>, type: string) =>
    valueOf(after, 'hwstash_events_total', { event_type: type, outcome: 'skipped' }) - valueOf(before, 'hwstash_events_total', { event_type: type, outcome: 'skipped' });
  const perType = new Map<string, number>([['hwstash.property.update', 1]]);
  for (const [type] of skipped) perType.set(type, (perType.get(type) ?? 0) + 1);
  perType.set('service.update', (perType.get('service.update') ?? 0) + 1);
  const counts = async () => {
    const m = await metrics();
    return [...perType.keys()].map((type) => [type, expectSkipped(m, type)]);
  };
  await waitFor(async () => JSON.stringify(await counts()) === JSON.stringify([...perType]), 30_000, 'the skips').catch(async (e) => {
    expect(await counts()).toEqual([...perType]);
    throw e;
  });
  const after = await metrics();
  // Nothing was done for them, and nothing is left on the queue or unacked.
  expect(await imageRows(mine)).toEqual([]);
  expect(valueOf(after, 'hwstash_events_total', { outcome: 'done', event_type: 'instance.create.end' })).toBe(valueOf(before, 'hwstash_events_total', { outcome: 'done', event_type: 'instance.create.end' }));
  await waitFor(async () => {
    const c = await queueCounts(h.names.queue);
    return c?.ready === 0 && c.unacked === 0;
  }, 30_000, 'an empty queue');
  expect(await h.broker!.ready(h.names.deadLetterQueue)).toBe(0);
}, 60_000);

test("instance.rebuild.end stashes anew what Nova's rebuild reset, from the new domain", async () => {
  const uuid = randomUUID();
  // Nova's rebuild deleted every image_* row and wrote the new image's: no image_hw_* row left.
  await insert(uuid, { image: { os_distro: 'win10' } });
  await defineDomain(hv, uuid, { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_video_model: 'vga', hw_vif_model: 'e1000' }, { start: true });

  h.publishRaw(novaFixture('instance-rebuild-end.json', { uuid, host: h.host }).body);
  await waitFor(async () => (await imageRows(uuid)).length === 11, 30_000, 'the stash after the rebuild');
  const stash = await stashOf(uuid);
  // What the rebuilt guest was given, as its new domain shows it.
  expect(stash).toMatchObject({ image_hw_disk_bus: 'ide', image_hw_video_model: 'vga', image_hw_vif_model: 'e1000' });
  await waitFor(async () => (await hwstashNotifications('hwstash.stash.end', uuid)).length === 1, 30_000, 'hwstash.stash.end');
  // The history says why the stash was written again.
  const history = await h.store.history(uuid);
  expect(history).toHaveLength(11);
  expect(new Set(history.map((e) => e.reason))).toEqual(new Set(["after Nova's rebuild reset the previous values (instance.rebuild.end)"]));
  await hv.destroy(uuid);
}, 60_000);

test.each([
  ['instance.live_migration_post_dest.end', 'instance-live_migration_post_dest-end.json'],
  ['instance.resize_finish.end', 'instance-resize_finish-end.json'],
] as const)(
  '%s: the instance arrived; its new domain is verified against the stash, the stash untouched',
  async (_eventType, fixture) => {
    const uuid = randomUUID();
    await insert(uuid, { sysmeta: FULL_STASH });
    // The destination defined it with today's video model instead of the stashed one.
    await defineDomain(hv, uuid, { hw_machine_type: 'pc', hw_disk_bus: 'virtio', hw_video_model: 'cirrus', hw_vif_model: 'virtio' }, { start: true });
    const rows = await h.store.systemMetadata(uuid);

    h.publishRaw(novaFixture(fixture, { uuid, host: h.host }).body);
    await waitFor(async () => (await hwstashNotifications('hwstash.drift', uuid)).length === 1, 30_000, 'hwstash.drift');
    const [drift] = await hwstashNotifications('hwstash.drift', uuid);
    expect(drift!.data['drift']).toEqual([{ property: 'hw_video_model', stashed: FULL_STASH['image_hw_video_model'], domain: 'cirrus' }]);
    expect(await h.store.systemMetadata(uuid)).toEqual(rows);
    await hv.destroy(uuid);
  },
  60_000,
);

test("a stash while Nova's operation is in progress (task_state) is deferred, nothing written; the operation's .end event stashes it", async () => {
  const uuid = randomUUID();
  await insert(uuid, { vmState: 'active' });
  await h.store.db.sequelize.query("UPDATE instances SET task_state = 'powering-off' WHERE uuid = :uuid", { replacements: { uuid } });
  await defineDomain(hv, uuid, { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139' });

  const deferredBefore = h.logs.find('stash deferred: a Nova operation is in progress; its .end event stashes it').length;
  h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body);
  await waitFor(() => h.logs.find('stash deferred: a Nova operation is in progress; its .end event stashes it').length > deferredBefore, 30_000, 'the deferral');
  expect(await imageRows(uuid)).toEqual([]);

  // Nova ends its operation: task_state cleared, power_off.end sent.
  await h.store.db.sequelize.query("UPDATE instances SET task_state = NULL, vm_state = 'stopped' WHERE uuid = :uuid", { replacements: { uuid } });
  h.publishRaw(novaFixture('instance-power_off-end.json', { uuid, host: h.host }).body);
  await waitFor(async () => (await imageRows(uuid)).length === 11, 30_000, 'the stash at power_off.end');
  expect(await stashOf(uuid)).toMatchObject({ image_hw_disk_bus: 'ide', image_hw_video_model: 'cirrus', image_hw_vif_model: 'rtl8139' });
}, 60_000);
