/**
 * The agent's link to RabbitMQ cut in the middle of a stream of events. The link goes through a
 * TCP proxy the test controls (fault injection of a network cut: the shared broker cannot drop
 * one client's connection on request); a whole broker restart is in test/reliability/.
 */
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { insertInstances } from '../../src/store/seed.js';
import { TRANSPORT_URL } from '../bus/helpers/rabbit.js';
import { AgentHarness, httpGet, queueCounts, sleep, waitFor } from './helpers/harness.js';
import { novaFixture } from './helpers/nova-fixtures.js';
import { parseExposition, valueOf } from './helpers/prometheus.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { mariadbHistory } from '../store/databases.js';

let proxy: TcpProxy;
let h: AgentHarness;
let side: mysql.Connection;

beforeEach(async () => {
  const broker = new URL(TRANSPORT_URL.replace(/^rabbit:/, 'http:'));
  proxy = await TcpProxy.start({ host: broker.hostname, port: Number(broker.port || 5672) });
  h = await AgentHarness.create({ transportUrl: TRANSPORT_URL.replace(/@[^/]+\//, `@127.0.0.1:${proxy.port}/`) });
  side = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: h.db.name });
  await h.startAgent();
});

afterEach(async () => {
  await side.end();
  await h.cleanup();
  await proxy.close();
});

async function count(sql: string, values: unknown[] = []): Promise<number> {
  const [rows] = await side.query(sql, values);
  return Number((rows as Array<{ n: number }>)[0]!.n);
}

test('a cut mid-stream: the agent reconnects and every event is applied exactly once', async () => {
  const N = 120;
  const uuids = Array.from({ length: N }, () => randomUUID());
  await insertInstances(h.store, uuids.map((uuid) => ({ uuid, host: h.host })));
  for (let i = 0; i < N; i++) {
    h.publishRaw(novaFixture('instance-create-end.json', { uuid: uuids[i]!, host: h.host }).body);
    if (i === N / 3) {
      proxy.cut();
      await waitFor(() => h.logs.find('RabbitMQ unreachable; retrying with backoff').length > 0, 10_000, 'the agent to notice');
    }
    if (i === (2 * N) / 3) proxy.restore();
    await sleep(10);
  }
  await waitFor(async () => (await count("SELECT COUNT(DISTINCT instance_uuid) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'")) === N, 60_000, 'every stash');
  await waitFor(async () => (await queueCounts(h.names.queue))?.unacked === 0, 30_000, 'every ack');

  // Exactly once: 11 rows and 11 history entries per instance, none twice.
  expect(await count("SELECT COUNT(*) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'")).toBe(11 * N);
  expect(await count(`SELECT COUNT(*) AS n FROM ${mariadbHistory(h.db.name)}`)).toBe(11 * N);
  expect(await count('SELECT COUNT(*) AS n FROM (SELECT 1 FROM instance_system_metadata GROUP BY instance_uuid, `key` HAVING COUNT(*) > 1) d')).toBe(0);
  expect(await h.broker!.ready(h.names.deadLetterQueue)).toBe(0);
  expect(proxy.connections).toBeGreaterThanOrEqual(2);
}, 120_000);

test('after a reconnect the agent reconciles the host: what was sent while it was away is stashed', async () => {
  const before = parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
  proxy.cut();
  await waitFor(async () => (await httpGet(`${h.metricsUrl}/healthz`)).status === 503, 10_000, 'bus down');
  // Created while the agent was cut off; its create.end never reached the agent (with Nova's
  // transient exchange gone in a broker restart, the broker drops it).
  const uuid = randomUUID();
  await insertInstances(h.store, [{ uuid, host: h.host }]);
  proxy.restore();
  await waitFor(async () => (await count("SELECT COUNT(*) AS n FROM instance_system_metadata WHERE instance_uuid = ? AND `key` LIKE 'image\\_hw\\_%'", [uuid])) === 11, 30_000, 'the stash');
  // The rows commit before the reconcile's duration is observed: wait for the figure.
  let after = parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
  await waitFor(async () => {
    after = parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
    return valueOf(after, 'hwstash_reconcile_duration_seconds_count') > valueOf(before, 'hwstash_reconcile_duration_seconds_count');
  }, 10_000, 'the reconcile to be counted');
  expect(valueOf(after, 'hwstash_reconcile_duration_seconds_count') - valueOf(before, 'hwstash_reconcile_duration_seconds_count')).toBe(1);
  expect(valueOf(after, 'hwstash_bus_connected')).toBe(1);
}, 60_000);
