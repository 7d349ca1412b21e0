/**
 * What an operator sees: /healthz and /metrics, the log lines, and how the agent behaves when
 * its database or its broker is unreachable. Outages are made with a TCP proxy the test puts in
 * front of the real server (fault injection of a network outage: the shared servers cannot be
 * stopped for one test).
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { connect } from 'amqplib';
import mysql from 'mysql2/promise';
import { describeEndpoint, parseTransportUrl, toConnectOptions } from '../../src/bus/transport-url.js';
import { insertInstances } from '../../src/store/seed.js';
import { TRANSPORT_URL } from '../bus/helpers/rabbit.js';
import { AgentHarness, httpGet, instanceLockWaiters, queueCounts, sleep, waitFor } from './helpers/harness.js';
import { defineDomain, testHypervisor } from './helpers/domains.js';
import { novaFixture } from './helpers/nova-fixtures.js';
import { parseExposition, valueOf } from './helpers/prometheus.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { mariadbHistory } from '../store/databases.js';
import { NEWEST_RELEASE } from '../../src/core/releases.js';

async function health(h: AgentHarness): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await httpGet(`${h.metricsUrl}/healthz`);
  return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
}

async function metrics(h: AgentHarness) {
  return parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
}

async function imageKeys(h: AgentHarness, uuid: string): Promise<number> {
  return (await h.store.systemMetadata(uuid)).filter((r) => r.key.startsWith('image_hw_')).length;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

test('/healthz is 503 while the database is unreachable and 200 again after; events wait, none is dead-lettered', async () => {
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
  const h = await AgentHarness.create({ databaseUrl: (url) => url.replace('127.0.0.1:3306', `127.0.0.1:${proxy.port}`) });
  try {
    await h.startAgent({ databaseProbeMs: 500 });
    expect(await health(h)).toEqual({ status: 200, body: { status: 'ok', database: true, bus: true, libvirt: true, reconciled: true, nova_release: NEWEST_RELEASE.name } });
    expect(valueOf(await metrics(h), 'hwstash_database_connected')).toBe(1);

    proxy.cut();
    // Nothing is asked of the agent: it notices the outage by itself.
    await waitFor(async () => (await health(h)).status === 503, 20_000, '/healthz to report the outage');
    expect((await health(h)).body).toMatchObject({ status: 'unhealthy', database: false, bus: true });
    expect(valueOf(await metrics(h), 'hwstash_database_connected')).toBe(0);

    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host }]);
    h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body);
    await sleep(3000);
    expect(await imageKeys(h, uuid)).toBe(0);
    expect(await queueCounts(h.names.queue)).toEqual({ ready: 0, unacked: 1 });

    proxy.restore();
    await waitFor(async () => (await health(h)).status === 200, 30_000, '/healthz to recover');
    await waitFor(async () => (await imageKeys(h, uuid)) === 11, 30_000, 'the stash after the outage');
    expect(await h.broker!.ready(h.names.deadLetterQueue)).toBe(0);
    expect(valueOf(await metrics(h), 'hwstash_database_connected')).toBe(1);
    // The outage was said once, with where and why, and never with a password.
    expect(h.logs.find('database unreachable: events wait until it answers').length).toBeGreaterThanOrEqual(1);
    expect(h.logs.find('database reachable again').length).toBeGreaterThanOrEqual(1);
  } finally {
    await h.cleanup();
    await proxy.close();
  }
}, 90_000);

test('a database link cut in the middle of a stash transaction is waited out: the event is applied once, not dead-lettered', async () => {
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
  const h = await AgentHarness.create({ databaseUrl: (url) => url.replace('127.0.0.1:3306', `127.0.0.1:${proxy.port}`) });
  const side = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: h.db.name });
  try {
    await h.startAgent({ databaseProbeMs: 500 });
    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host }]);
    // Hold the instance row so the agent's transaction is open and waiting when the link goes.
    await side.beginTransaction();
    await side.query('SELECT id FROM instances WHERE uuid = ? FOR UPDATE', [uuid]);
    h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body);
    await waitFor(async () => (await instanceLockWaiters(side, h.db.name)) === 1, 15_000, 'the agent to wait in its transaction');
    proxy.cut();
    await side.rollback();
    await sleep(3000);
    expect(await imageKeys(h, uuid)).toBe(0);
    proxy.restore();
    await waitFor(async () => (await imageKeys(h, uuid)) === 11, 30_000, 'the stash after the outage');
    await waitFor(async () => (await queueCounts(h.names.queue))?.unacked === 0, 15_000, 'the ack');
    expect(await h.broker!.ready(h.names.deadLetterQueue)).toBe(0);
    // Once: one history row per property.
    const [history] = await side.query(`SELECT COUNT(*) AS n FROM ${mariadbHistory(h.db.name)} WHERE instance_uuid = ?`, [uuid]);
    expect(Number((history as Array<{ n: number }>)[0]!.n)).toBe(11);
    // The broken link was an outage to wait out, not a failure of the event.
    expect(h.logs.find('event failed')).toEqual([]);
  } finally {
    await side.end();
    await h.cleanup();
    await proxy.close();
  }
}, 90_000);

test('/metrics speaks the Prometheus text format with the agent\'s families, and its counters move', async () => {
  const h = await AgentHarness.create();
  try {
    const seeded = randomUUID();
    await insertInstances(h.store, [{ uuid: seeded, host: h.host, imageProperties: { hw_video_model: 'cirrus' } }]);
    await h.startAgent();
    const m0 = await metrics(h);
    const families: Array<[string, string]> = [
      ['hwstash_events_total', 'counter'],
      ['hwstash_stashed_properties_total', 'counter'],
      ['hwstash_resolve_errors_total', 'counter'],
      ['hwstash_reconcile_duration_seconds', 'histogram'],
      ['hwstash_bus_connected', 'gauge'],
      ['hwstash_bus_node_info', 'gauge'],
      ['hwstash_database_connected', 'gauge'],
      ['hwstash_drift_total', 'counter'],
      ['hwstash_domains_redefined_total', 'counter'],
    ];
    for (const [name, type] of families) expect([name, m0.types.get(name)]).toEqual([name, type]);
    expect(valueOf(m0, 'hwstash_bus_connected')).toBe(1);
    // Which RabbitMQ node: the endpoint of transport_url it is connected to (no password), in
    // /metrics and in the log.
    const node = m0.samples.filter((s) => s.name === 'hwstash_bus_node_info');
    const endpoint = describeEndpoint(parseTransportUrl(TRANSPORT_URL)[0]!);
    expect(node.map((s) => [s.labels['endpoint'], s.value])).toEqual([[endpoint, 1]]);
    expect(node[0]!.labels['version']).toMatch(/^\d+\.\d+/);
    const connected = h.logs.find('RabbitMQ connected');
    expect(connected[connected.length - 1]).toMatchObject({ endpoint, tls: false });
    expect(valueOf(m0, 'hwstash_reconcile_duration_seconds_count')).toBe(1);
    // The start-up reconcile stashed the seeded instance's 10 missing properties: the image gave
    // the video model, so none of them has the source `image`.
    const bySource = m0.samples.filter((s) => s.name === 'hwstash_stashed_properties_total');
    expect(bySource.reduce((n, s) => n + s.value, 0)).toBe(10);
    expect(valueOf(m0, 'hwstash_stashed_properties_total', { source: 'image' })).toBe(0);
    expect(valueOf(m0, 'hwstash_stashed_properties_total', { source: 'driver' })).toBeGreaterThan(0);

    // An image disk bus this virt type cannot use: the legacy rescue bus, which is the image's
    // disk bus (RULES §3.4), fails bus_ok for kvm: an error by property.
    const bad = randomUUID();
    await insertInstances(h.store, [{ uuid: bad, host: h.host, imageProperties: { hw_disk_bus: 'xen' } }]);
    h.publishRaw(novaFixture('instance-create-end.json', { uuid: bad, host: h.host }).body);
    await waitFor(async () => valueOf(await metrics(h), 'hwstash_events_total', { event_type: 'instance.create.end', outcome: 'done' }) === 1, 15_000, 'the event');
    const m1 = await metrics(h);
    expect(valueOf(m1, 'hwstash_resolve_errors_total', { property: 'hw_rescue_bus', code: 'UnsupportedHardware' })).toBe(1);
  } finally {
    await h.cleanup();
  }
}, 60_000);

test('every log line about an instance carries its instance_uuid', async () => {
  const h = await AgentHarness.create();
  const hv = await testHypervisor();
  try {
    // One with a stored value Nova cannot load (reported at start), one stashed at start.
    const badStored = randomUUID();
    const atStart = randomUUID();
    await insertInstances(h.store, [
      { uuid: badStored, host: h.host, systemMetadata: { image_hw_video_model: 'bogus' } },
      { uuid: atStart, host: h.host },
    ]);
    await h.startAgent();
    // Events: a create, a power-on that redefines a domain and finds drift, an unknown instance.
    const created = randomUUID();
    const poweredOn = randomUUID();
    await insertInstances(h.store, [{ uuid: created, host: h.host }, { uuid: poweredOn, host: h.host, imageProperties: { hw_video_model: 'virtio' } }]);
    await defineDomain(hv, poweredOn, { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'virtio' }, { start: true });
    const missing = randomUUID();
    h.publishRaw(novaFixture('instance-create-end.json', { uuid: created, host: h.host }).body);
    h.publishRaw(novaFixture('instance-power_on-start.json', { uuid: poweredOn, host: h.host }).body);
    h.publishRaw(novaFixture('instance-power_on-end.json', { uuid: poweredOn, host: h.host }).body);
    h.publishRaw(novaFixture('instance-create-end.json', { uuid: missing, host: h.host }).body);
    await waitFor(async () => (await h.broker!.ready(h.names.deadLetterQueue)) === 1, 30_000, 'the unknown instance to be dead-lettered');
    await waitFor(async () => (await queueCounts(h.names.queue))?.unacked === 0, 15_000, 'every event');
    await hv.destroy(poweredOn);

    const uuids = [badStored, atStart, created, poweredOn, missing];
    /** The instances a line talks about, apart from its instance_uuid field. */
    const about = (line: Record<string, unknown>) => {
      const { instance_uuid: _ignored, ...rest } = line;
      const text = JSON.stringify(rest);
      return uuids.filter((u) => text.includes(u));
    };
    const offenders = h.logs.lines.filter((l) => about(l).length > 0 && (about(l).length !== 1 || l['instance_uuid'] !== about(l)[0]));
    expect(offenders).toEqual([]);
    // Lines about each (the start-up reconcile reports its totals, not each instance).
    for (const u of [badStored, created, poweredOn, missing]) {
      expect([u, h.logs.lines.filter((l) => l['instance_uuid'] === u).length > 0]).toEqual([u, true]);
    }
    expect(h.logs.find('event dead-lettered').map((l) => l['instance_uuid'])).toEqual([missing]);
    expect(h.logs.find(/^stored value Nova cannot load/).map((l) => l['instance_uuid'])).toContain(badStored);
  } finally {
    await h.cleanup();
    await hv.close();
  }
}, 60_000);

test('with RabbitMQ unreachable at start the agent says so, still reconciles, reports bus false, and connects once it can', async () => {
  const port = await closedPort();
  const url = new URL(TRANSPORT_URL.replace(/^rabbit:/, 'http:'));
  const h = await AgentHarness.create({ transportUrl: `rabbit://${url.username}:${url.password}@127.0.0.1:${port}/` });
  let proxy: TcpProxy | null = null;
  try {
    const seeded = randomUUID();
    await insertInstances(h.store, [{ uuid: seeded, host: h.host }]);
    await h.startAgent({}, { waitConsuming: false });

    expect(await imageKeys(h, seeded)).toBe(11);
    await waitFor(() => h.logs.find('RabbitMQ unreachable; retrying with backoff').length > 0, 10_000, 'the log line');
    const said = h.logs.find('RabbitMQ unreachable; retrying with backoff')[0]!;
    expect(String(said['reason'])).toContain(`127.0.0.1:${port}`);
    expect(String(said['reason'])).toMatch(/ECONNREFUSED/);
    // The password is in the config file only.
    expect(h.logs.lines.filter((l) => JSON.stringify(l).includes(`:${url.password}@`))).toEqual([]);
    expect(await health(h)).toEqual({ status: 503, body: { status: 'unhealthy', database: true, bus: false, libvirt: true, reconciled: true, nova_release: NEWEST_RELEASE.name } });
    expect(valueOf(await metrics(h), 'hwstash_bus_connected')).toBe(0);

    // The broker becomes reachable at that address: the agent, still retrying, connects.
    await sleep(2000);
    const target = new URL(TRANSPORT_URL.replace(/^rabbit:/, 'http:'));
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5672) }, port);
    await waitFor(() => h.logs.find('consuming').length > 0, 60_000, 'the agent to consume');
    expect((await health(h)).status).toBe(200);
    expect(valueOf(await metrics(h), 'hwstash_bus_connected')).toBe(1);
    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host }]);
    h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body);
    await waitFor(async () => (await imageKeys(h, uuid)) === 11, 15_000, 'the stash');
  } finally {
    await h.cleanup();
    await proxy?.close();
  }
}, 120_000);

test('/healthz says bus false while the agent cannot set up its queue, though connected to the broker', async () => {
  const h = await AgentHarness.create();
  const other = await connect(toConnectOptions(parseTransportUrl(TRANSPORT_URL)[0]!));
  try {
    // Another client took hwstash's queue name with other flags: every setup is refused (406),
    // so nothing is consumed however long the connection stays up.
    const ch = await other.createChannel();
    await ch.assertQueue(h.names.queue, { durable: false });
    await h.startAgent({}, { waitConsuming: false });
    await waitFor(() => h.logs.find('could not set up the queue; retrying').length > 0, 15_000, 'the setup failure');
    expect(valueOf(await metrics(h), 'hwstash_bus_connected')).toBe(1);
    expect(await health(h)).toEqual({ status: 503, body: { status: 'unhealthy', database: true, bus: false, libvirt: true, reconciled: true, nova_release: NEWEST_RELEASE.name } });
  } finally {
    await h.cleanup();
    await other.close();
  }
}, 60_000);
