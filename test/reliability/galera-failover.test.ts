/**
 * A 3-node MariaDB Galera cluster behind HAProxy (one active node, two backups), all the test's
 * own: kill -9 the active node while the agent's start-up reconcile is writing through the proxy.
 * The reconcile waits the outage out and finishes on a backup node: every instance complete, no
 * duplicate (instance, key) row, no stashed value overwritten, the same rows on both surviving
 * nodes; the time from the kill to the end of the reconcile is printed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { Agent } from '../../src/agent/agent.js';
import { loadSettings } from '../../src/config/load.js';
import { hostProfileFromSettings } from '../../src/config/profile.js';
import { Store } from '../../src/store/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { LogCapture, osinfo, uniqueHost, writeConf } from '../agent/helpers/harness.js';
import { TestBroker, testNames } from '../bus/helpers/rabbit.js';
import { GALERA_DATABASE, startGalera, type GaleraCluster } from './helpers/galera.js';

const INSTANCES = 1200;
const HW_KEYS = 11;

let top: string;
let cluster: GaleraCluster | undefined;
beforeAll(async () => {
  top = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-galera-'));
  cluster = await startGalera(path.join(top, 'cluster'));
}, 300_000);
afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(top, { recursive: true, force: true });
});

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  return (await c.query(sql))[0] as T[];
}

test('kill -9 of the active node during the start-up reconcile: complete, no duplicates, nothing overwritten', async () => {
  const c = cluster!;
  const host = uniqueHost();
  const store = await Store.open(c.url);
  try {
    await store.initNovaSchema();
    await store.migrate();
    for (let i = 0; i < INSTANCES; i += 300) {
      await insertInstances(store, Array.from({ length: Math.min(300, INSTANCES - i) }, () => ({ host, vmState: 'active' })));
    }
  } finally {
    await store.close();
  }

  const names = testNames();
  const broker = await TestBroker.open();
  const side = await c.connect(c.nodes[1]!);
  const third = await c.connect(c.nodes[2]!);
  const logs = new LogCapture();
  let agent: Agent | null = null;
  try {
    await broker.declareNovaExchange(names.exchange);
    const confFile = writeConf(fs.mkdtempSync(path.join(top, 'agent-')), { host, names, databaseUrl: c.url, hwstash: { batch_size: 10, log_level: 'info' } });
    const settings = loadSettings({ configFiles: [confFile], env: {} }).settings;
    agent = new Agent({ settings, profile: hostProfileFromSettings(settings), osinfo: await osinfo(), logger: logs.logger('info') });
    const history = `\`${GALERA_DATABASE}_hwstash\`.hwstash_property_history`;
    const started = agent.start();
    // Kill once a fair part is written (read on a backup node: replication is synchronous).
    let before = 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [row] = await rows<{ n: number }>(side, `SELECT COUNT(DISTINCT instance_uuid) AS n FROM ${history}`).catch(() => [{ n: 0 }]);
      before = Number(row!.n);
      if (before >= INSTANCES / 4) break;
      if (Date.now() > deadline) throw new Error(`reconcile did not get going: ${before} instances after 120 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(before).toBeLessThan(INSTANCES);
    const killedAt = Date.now();
    await c.kill9(c.nodes[0]!);
    await started;
    const recoveredMs = Date.now() - killedAt;

    const counts = await rows<{ uuid: string; n: number }>(
      side,
      "SELECT i.uuid, COUNT(m.id) AS n FROM instances i LEFT JOIN instance_system_metadata m ON m.instance_uuid = i.uuid AND m.`key` LIKE 'image\\_hw\\_%' GROUP BY i.uuid",
    );
    expect(counts).toHaveLength(INSTANCES);
    expect(counts.filter((r) => Number(r.n) !== HW_KEYS)).toEqual([]);
    const duplicates = await rows(side, 'SELECT instance_uuid, `key`, COUNT(*) AS n FROM instance_system_metadata GROUP BY instance_uuid, `key` HAVING COUNT(*) > 1');
    expect(duplicates).toEqual([]);
    // Nothing overwritten: one history entry per stashed (instance, property), and the row holds its value.
    const twice = await rows(side, `SELECT instance_uuid, property, COUNT(*) AS n FROM ${history} GROUP BY instance_uuid, property HAVING COUNT(*) > 1`);
    expect(twice).toEqual([]);
    const differing = await rows(
      side,
      `SELECT h.instance_uuid, h.property FROM ${history} h JOIN instance_system_metadata m ON m.instance_uuid = h.instance_uuid AND m.\`key\` = CONCAT('image_', h.property) WHERE NOT (m.value <=> h.new_value)`,
    );
    expect(differing).toEqual([]);
    // Both surviving nodes hold the same rows.
    const digest = 'SELECT COUNT(*) AS n, SUM(CRC32(CONCAT(instance_uuid, `key`, COALESCE(value, \'\')))) AS s FROM instance_system_metadata';
    expect(await rows(third, digest)).toEqual(await rows(side, digest));

    const outage = logs.find('database unreachable: events wait until it answers').length;
    expect(outage).toBeGreaterThanOrEqual(1);
    process.stdout.write(
      `galera failover: ${INSTANCES} instances, batch 10; killed the active node after ${before} instances; ` +
        `reconcile complete ${recoveredMs} ms after the kill; 0 duplicates, 0 overwritten\n`,
    );
  } finally {
    await agent?.stop('test done').catch(() => undefined);
    await side.end().catch(() => undefined);
    await third.end().catch(() => undefined);
    await broker.cleanup(names).catch(() => undefined);
    await broker.close();
  }
}, 300_000);
