/**
 * A 30-second database outage under the real `hwstash agent` process while Nova's events keep
 * coming. The agent reaches MariaDB through a TCP proxy the test cuts (fault injection of a
 * network outage: the shared server cannot be stopped for one test). The process must stay up,
 * say it is unhealthy (/healthz 503, `database: false`) for as long as it lasts, dead-letter
 * nothing, and once the database answers again apply every event, each exactly once.
 */
import { randomUUID } from 'node:crypto';
import { insertInstances } from '../../src/store/seed.js';
import { AgentProcess, ensureBuilt } from '../agent/helpers/cli.js';
import { AgentHarness, httpGet, queueCounts, sleep, waitFor } from '../agent/helpers/harness.js';
import { novaFixture } from '../agent/helpers/nova-fixtures.js';
import { TcpProxy } from '../agent/helpers/tcp-proxy.js';
import { figure } from './helpers/figures.js';
import { SideDb } from './helpers/side-db.js';

const OUTAGE_MS = 30_000;
const EVENT_EVERY_MS = 100;
const PROPERTIES = 11;

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

interface HealthSample {
  at: number;
  status: number;
  database: boolean | null;
}

test('a 30 s database outage: the agent stays up, reports unhealthy, dead-letters nothing, and applies every event once afterwards', async () => {
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
  const h = await AgentHarness.create({
    databaseUrl: (url) => url.replace('127.0.0.1:3306', `127.0.0.1:${proxy.port}`),
    hwstash: { publish_notifications: false, log_level: 'info' },
  });
  const db = await SideDb.open(h.db.name);
  let agent: AgentProcess | null = null;
  let stopSampling = false;
  try {
    agent = AgentProcess.spawn(['--config-file', h.confFile, 'agent']);
    await agent.waitForLog('consuming', 60_000);
    await agent.waitForLog('hwstash agent ready', 60_000);
    const healthUrl = `${agent.metricsUrl}/healthz`;

    const samples: HealthSample[] = [];
    const sampling = (async () => {
      while (!stopSampling) {
        const at = Date.now();
        try {
          const r = await httpGet(healthUrl);
          const body = JSON.parse(r.body) as { database?: boolean };
          samples.push({ at, status: r.status, database: body.database ?? null });
        } catch {
          samples.push({ at, status: 0, database: null });
        }
        await sleep(250);
      }
    })();

    // Events before, during and after the outage, each for an instance Nova has just created.
    const uuids: string[] = [];
    const sentAt: number[] = [];
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const uuid = randomUUID();
        await insertInstances(h.store, [{ uuid, host: h.host }]);
        uuids.push(uuid);
        h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body);
        sentAt.push(Date.now());
        await sleep(EVENT_EVERY_MS);
      }
    })();

    await sleep(3000);
    proxy.cut();
    const cutAt = Date.now();
    await sleep(OUTAGE_MS);
    proxy.restore();
    const restoredAt = Date.now();
    await sleep(3000);
    publishing = false;
    await publisher;
    const lastSentAt = Date.now();

    const imageRows = () => db.count("SELECT COUNT(*) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'");
    await waitFor(async () => (await imageRows()) === uuids.length * PROPERTIES, 120_000, 'every event applied');
    const caughtUpAt = Date.now();
    await waitFor(async () => (await queueCounts(h.names.queue))?.unacked === 0, 30_000, 'every ack');
    await waitFor(() => samples.some((s) => s.at > caughtUpAt && s.status === 200), 15_000, 'a healthy sample');
    stopSampling = true;
    await sampling;

    // The process never went away.
    expect(agent.child.exitCode).toBeNull();
    expect(agent.child.signalCode).toBeNull();
    expect(samples.filter((s) => s.status === 0)).toEqual([]);
    // Healthy before; unhealthy with database false from when it noticed until the link was back.
    expect(samples.filter((s) => s.at < cutAt).every((s) => s.status === 200)).toBe(true);
    const firstDown = samples.find((s) => s.at >= cutAt && s.status === 503);
    expect(firstDown).toBeDefined();
    const during = samples.filter((s) => s.at >= firstDown!.at && s.at < restoredAt);
    expect(during.length).toBeGreaterThan(50);
    expect(during.filter((s) => s.status !== 503 || s.database !== false)).toEqual([]);
    const firstUp = samples.find((s) => s.at >= restoredAt && s.status === 200);
    expect(firstUp).toBeDefined();
    expect(samples.filter((s) => s.at > caughtUpAt).every((s) => s.status === 200 && s.database === true)).toBe(true);

    // Every event once: 11 rows and 11 history rows per instance; nothing dead-lettered.
    expect(await db.duplicates()).toEqual([]);
    expect(await db.count(`SELECT COUNT(*) AS n FROM ${db.historyTable}`)).toBe(uuids.length * PROPERTIES);
    expect(await db.query(`SELECT instance_uuid FROM ${db.historyTable} GROUP BY instance_uuid HAVING COUNT(*) <> 11`)).toEqual([]);
    expect(await h.broker!.ready(h.names.deadLetterQueue)).toBe(0);
    expect(agent.find('event dead-lettered')).toEqual([]);
    expect(agent.find('database unreachable: events wait until it answers').length).toBeGreaterThanOrEqual(1);
    expect(agent.find('database reachable again').length).toBeGreaterThanOrEqual(1);
    const duringOutage = sentAt.filter((t) => t >= cutAt && t < restoredAt).length;

    figure(
      'database-outage',
      `outage ${(OUTAGE_MS / 1000).toFixed(0)} s, ${uuids.length} events (${duringOutage} sent during it); process up throughout; ` +
        `/healthz 503 with database false ${((firstDown!.at - cutAt) / 1000).toFixed(1)} s after the cut (${during.length} samples, all 503), ` +
        `200 again ${((firstUp!.at - restoredAt) / 1000).toFixed(1)} s after the link came back; caught up ${((caughtUpAt - restoredAt) / 1000).toFixed(1)} s after it ` +
        `(${((caughtUpAt - lastSentAt) / 1000).toFixed(1)} s after the last event); 0 dead-lettered, 0 applied twice`,
    );
  } finally {
    stopSampling = true;
    agent?.kill('SIGKILL');
    await agent?.exited;
    await db.close();
    await h.cleanup();
    await proxy.close();
  }
}, 180_000);
