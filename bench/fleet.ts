/**
 * A fleet-wide restart: HWSTASH_FLEET_HOSTS compute hosts (default 1,000) of
 * HWSTASH_FLEET_INSTANCES instances each (default 50) in one MariaDB cell database, every host
 * reconciling at once with its own connection (a pool of one, as a compute host's agent has),
 * through hwstash's own reconcile and stash (reconcileHost, the agent's start-up path; the rules
 * resolve each instance's properties from its image properties, osinfo-db and the driver's
 * defaults). Then the same fleet again, each host first waiting its [hwstash] startup_jitter
 * delay (startupDelayMs, the agent's own), over a window scaled down for the bench
 * (HWSTASH_FLEET_JITTER seconds, default 30; the shipped default is 60).
 *
 * Both runs start from the same seeded rows (the first run's writes are removed in between), in
 * the same process and database: the unjittered run is the jittered one's baseline. Every
 * instance must end complete, with no failed host; deadlocks and lock waits retried are counted
 * from the stores' own counters. Libvirt is out of the picture (no domains: every value comes from
 * the rules), so what is measured is the database's share.
 *
 * MariaDB: HWSTASH_BENCH_MYSQL_URL (default root over TCP at 127.0.0.1:3306); a database
 * hwstash_fleet_<random> is created and dropped. max_connections is raised for the run when the
 * fleet needs more and put back afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { QueryTypes, Sequelize } from 'sequelize';
import { startupDelayMs } from '../src/agent/agent.js';
import { reconcileHost, type ReconcileSummary } from '../src/agent/reconcile.js';
import { parseDatabaseUrl } from '../src/config/database-url.js';
import { NOVA_DEFAULT_PROFILE, type HostProfile, type OsInfoLookup } from '../src/core/inputs.js';
import { PROPERTIES } from '../src/core/properties.js';
import { OsInfoIndex, resolveOsinfoDir } from '../src/osinfo/index.js';
import { Store } from '../src/store/index.js';
import { openRetrying } from '../src/store/open-retrying.js';
import { naiveUtc } from '../src/store/timestamps.js';
import type { BenchResult } from './domain-xml.js';

const NOW = naiveUtc(new Date());

/** Images in rough cloud proportions (as bench/reconcile.ts), so the rules take several paths. */
const IMAGES: ReadonlyArray<Record<string, string>> = [
  { image_os_distro: 'win10', image_os_type: 'windows' },
  { image_os_distro: 'fedora36' },
  { image_os_distro: 'ubuntu20.04' },
  { image_hw_disk_bus: 'scsi', image_hw_scsi_model: 'virtio-scsi', image_hw_vif_model: 'virtio' },
  {},
  // Nova's own registration already stored 7 of the 11.
  {
    image_os_distro: 'centos7.0', image_hw_machine_type: 'pc', image_hw_cdrom_bus: 'ide', image_hw_disk_bus: 'virtio',
    image_hw_input_bus: 'usb', image_hw_pointer_model: 'usbtablet', image_hw_video_model: 'cirrus', image_hw_vif_model: 'e1000',
  },
];

const hostName = (h: number) => `fleet-compute-${String(h).padStart(4, '0')}`;

/** Every host's instances and their system_metadata, in multi-row INSERTs (not timed). */
async function seed(store: Store, hosts: number, perHost: number): Promise<void> {
  const qi = store.db.sequelize.getQueryInterface();
  const CHUNK = 1000;
  const total = hosts * perHost;
  for (let start = 0; start < total; start += CHUNK) {
    const instances: Array<Record<string, unknown>> = [];
    const sysmeta: Array<Record<string, unknown>> = [];
    for (let i = start; i < Math.min(total, start + CHUNK); i++) {
      const host = hostName(Math.floor(i / perHost));
      const uuid = randomUUID();
      const image = randomUUID();
      instances.push({ uuid, host, node: host, vm_state: 'active', power_state: 1, display_name: `vm-${i}`, image_ref: image, created_at: NOW, deleted: 0 });
      for (const [key, value] of Object.entries({ image_min_disk: '10', image_base_image_ref: image, ...IMAGES[i % IMAGES.length]! })) {
        sysmeta.push({ instance_uuid: uuid, key, value, created_at: NOW, deleted: 0 });
      }
    }
    await qi.bulkInsert('instances', instances);
    await qi.bulkInsert('instance_system_metadata', sysmeta);
  }
}

/**
 * Connects as the agent does at start (openRetrying with the default [database] max_retries 10
 * and retry_interval 10 s): a thousand hosts connecting at once overflow the server's accept
 * queue (back_log).
 */
async function openLikeTheAgent(url: string): Promise<{ store: Store; retries: number }> {
  const { opened, retries } = await openRetrying(() => Store.open(url, { poolMax: 1 }), { maxRetries: 10, retryInterval: 10 });
  return { store: opened, retries };
}

interface HostRun {
  connectRetries: number;
  summary: ReconcileSummary | null;
  error: string | null;
  /** From the host's start (after its jitter) to its reconcile's end, connecting included. */
  ms: number;
  retries: Record<string, number>;
}

interface FleetRun {
  wallMs: number;
  hosts: HostRun[];
  /** Most hosts holding a connection at once (counted here). */
  peakClientConnections: number;
  /** Highest Threads_connected / Threads_running sampled on the server. */
  peakThreadsConnected: number;
  peakThreadsRunning: number;
}

async function runFleet(url: string, hosts: number, jitterSeconds: number, profile: HostProfile, osinfo: OsInfoLookup | null, admin: Sequelize): Promise<FleetRun> {
  let open = 0;
  let peakOpen = 0;
  let peakConnected = 0;
  let peakRunning = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rows = await admin.query<{ Variable_name: string; Value: string }>("SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running')", { type: QueryTypes.SELECT });
      for (const r of rows) {
        if (r.Variable_name === 'Threads_connected') peakConnected = Math.max(peakConnected, Number(r.Value));
        else peakRunning = Math.max(peakRunning, Number(r.Value));
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();

  const one = async (h: number): Promise<HostRun> => {
    const delay = startupDelayMs(jitterSeconds);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const t0 = performance.now();
    let store: Store | null = null;
    let connectRetries = 0;
    try {
      ({ store, retries: connectRetries } = await openLikeTheAgent(url));
      open += 1;
      peakOpen = Math.max(peakOpen, open);
      const summary = await reconcileHost({ store, host: hostName(h), profile, osinfo, domainFacts: async () => null, batchSize: 200, actor: `hwstash-agent@${hostName(h)}` });
      return { connectRetries, summary, error: null, ms: performance.now() - t0, retries: { ...store.queries.retries } };
    } catch (err) {
      return { connectRetries, summary: null, error: (err as Error).message, ms: performance.now() - t0, retries: store ? { ...store.queries.retries } : {} };
    } finally {
      if (store) {
        await store.close();
        open -= 1;
      }
    }
  };

  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: hosts }, (_, h) => one(h)));
  const wallMs = performance.now() - t0;
  sampling = false;
  await sampler;
  return { wallMs, hosts: results, peakClientConnections: peakOpen, peakThreadsConnected: peakConnected, peakThreadsRunning: peakRunning };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

interface Outcome {
  wallMs: number;
  p50: number;
  p99: number;
  statementsPerInstance: number;
  peakClient: number;
  peakConnected: number;
  peakRunning: number;
  deadlocks: number;
  lockWaits: number;
  /** Connection attempts tried again (refused or timed out), and hosts that needed any. */
  connectRetries: number;
  hostsRetryingConnect: number;
}

/** The run's figures; throws unless every host succeeded and every instance is complete. */
async function outcome(run: FleetRun, store: Store, hosts: number, perHost: number, label: string): Promise<Outcome> {
  const failed = run.hosts.filter((h) => h.error !== null || h.summary === null || h.summary.errors.length > 0 || h.summary.instancesIncomplete > 0);
  if (failed.length > 0) throw new Error(`${label}: ${failed.length} host(s) failed, e.g. ${failed[0]!.error ?? JSON.stringify(failed[0]!.summary?.errors.slice(0, 2))}`);
  const [counts] = await store.db.sequelize.query<{ instances: number; complete: number; duplicates: number }>(
    `SELECT (SELECT COUNT(*) FROM instances WHERE deleted = 0) AS instances,
            (SELECT COUNT(*) FROM (SELECT instance_uuid FROM instance_system_metadata WHERE deleted = 0 AND \`key\` IN (:keys) GROUP BY instance_uuid HAVING COUNT(DISTINCT \`key\`) = :n) AS c) AS complete,
            (SELECT COUNT(*) FROM (SELECT 1 FROM instance_system_metadata WHERE deleted = 0 AND \`key\` IN (:keys) GROUP BY instance_uuid, \`key\` HAVING COUNT(*) > 1) AS d) AS duplicates`,
    { type: QueryTypes.SELECT, replacements: { keys: PROPERTIES.map((p) => p.key), n: PROPERTIES.length } },
  );
  if (Number(counts!.instances) !== hosts * perHost || Number(counts!.complete) !== hosts * perHost || Number(counts!.duplicates) !== 0) {
    throw new Error(`${label}: ${counts!.complete}/${counts!.instances} instances complete, ${counts!.duplicates} duplicate keys`);
  }
  const sum = (code: string) => run.hosts.reduce((a, h) => a + (h.retries[code] ?? 0), 0);
  const ms = run.hosts.map((h) => h.ms);
  return {
    wallMs: run.wallMs,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    statementsPerInstance: run.hosts.reduce((a, h) => a + h.summary!.queries, 0) / (hosts * perHost),
    peakClient: run.peakClientConnections,
    peakConnected: run.peakThreadsConnected,
    peakRunning: run.peakThreadsRunning,
    deadlocks: sum('ER_LOCK_DEADLOCK'),
    lockWaits: sum('ER_LOCK_WAIT_TIMEOUT'),
    connectRetries: run.hosts.reduce((a, h) => a + h.connectRetries, 0),
    hostsRetryingConnect: run.hosts.filter((h) => h.connectRetries > 0).length,
  };
}

/** Takes the first run's writes away: the second starts from the same rows. */
async function unstash(store: Store, seededMaxId: number): Promise<void> {
  await store.db.sequelize.query('DELETE FROM instance_system_metadata WHERE id > :id', { replacements: { id: seededMaxId } });
  await store.db.sequelize.query(`DELETE FROM ${store.db.own.table('hwstash_property_history')}`);
}

function serverUrl(): string {
  return process.env['HWSTASH_BENCH_MYSQL_URL'] ?? 'mysql+pymysql://root@127.0.0.1:3306/?charset=utf8';
}

function databaseUrl(server: string, name: string): string {
  const [scheme, rest] = server.split('://') as [string, string];
  const slash = rest.indexOf('/');
  const q = rest.indexOf('?');
  const hostPart = rest.slice(0, slash < 0 ? (q < 0 ? rest.length : q) : slash);
  return `${scheme}://${hostPart}/${name}${q < 0 ? '' : rest.slice(q)}`;
}

export async function benchFleet(
  hosts = Number(process.env['HWSTASH_FLEET_HOSTS'] ?? 1000),
  perHost = Number(process.env['HWSTASH_FLEET_INSTANCES'] ?? 50),
  jitterSeconds = Number(process.env['HWSTASH_FLEET_JITTER'] ?? 30),
): Promise<BenchResult[]> {
  const profile: HostProfile = { ...NOVA_DEFAULT_PROFILE, arch: 'x86_64' };
  const osinfo = await OsInfoIndex.load(resolveOsinfoDir());
  const o = parseDatabaseUrl(serverUrl());
  const admin = new Sequelize({ dialect: 'mysql', host: o.host, port: o.port, username: o.username, password: o.password, dialectOptions: o.dialectOptions, logging: false, pool: { max: 2 } });
  const name = `hwstash_fleet_${randomBytes(4).toString('hex')}`;
  const [{ max }] = (await admin.query<{ max: number }>('SELECT @@GLOBAL.max_connections AS max', { type: QueryTypes.SELECT })) as [{ max: number }];
  const needed = hosts + 50;
  const raised = Number(max) < needed;
  if (raised) await admin.query(`SET GLOBAL max_connections = ${needed}`);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb3`);
  let store: Store | null = null;
  try {
    const url = databaseUrl(serverUrl(), name);
    store = await Store.open(url);
    await store.initNovaSchema();
    await store.migrate();
    const s0 = performance.now();
    await seed(store, hosts, perHost);
    const seedMs = performance.now() - s0;
    const [{ id }] = (await store.db.sequelize.query<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM instance_system_metadata', { type: QueryTypes.SELECT })) as [{ id: number }];

    const base = await outcome(await runFleet(url, hosts, 0, profile, osinfo, admin), store, hosts, perHost, 'no jitter');
    await unstash(store, Number(id));
    const jit = await outcome(await runFleet(url, hosts, jitterSeconds, profile, osinfo, admin), store, hosts, perHost, `jitter ${jitterSeconds} s`);

    const n = hosts * perHost;
    const ratio = (a: number, b: number): number | undefined => (b === 0 ? undefined : a / b);
    const tag = `${hosts} hosts × ${perHost}`;
    return [
      { name: `fleet seed (${n} instances, multi-row INSERTs)`, value: Math.round(seedMs), unit: 'ms' },
      { name: `fleet wall time, all hosts at once (${tag})`, value: Math.round(base.wallMs), unit: 'ms; every instance complete, 0 failed hosts' },
      { name: `fleet wall time, startup_jitter ${jitterSeconds} s`, value: Math.round(jit.wallMs), unit: 'ms (baseline: all at once)', baseline: Math.round(base.wallMs), ratio: ratio(jit.wallMs, base.wallMs) },
      { name: 'fleet statements per instance, all at once', value: base.statementsPerInstance, unit: 'statements/instance' },
      { name: `fleet statements per instance, startup_jitter ${jitterSeconds} s`, value: jit.statementsPerInstance, unit: 'statements/instance', baseline: base.statementsPerInstance, ratio: ratio(jit.statementsPerInstance, base.statementsPerInstance) },
      { name: 'fleet p50 of one host\'s reconcile (connect included), all at once', value: Math.round(base.p50), unit: 'ms' },
      { name: 'fleet p99 of one host\'s reconcile (connect included), all at once', value: Math.round(base.p99), unit: 'ms' },
      { name: `fleet p50 of one host's reconcile, startup_jitter ${jitterSeconds} s`, value: Math.round(jit.p50), unit: 'ms', baseline: Math.round(base.p50), ratio: ratio(jit.p50, base.p50) },
      { name: `fleet p99 of one host's reconcile, startup_jitter ${jitterSeconds} s`, value: Math.round(jit.p99), unit: 'ms', baseline: Math.round(base.p99), ratio: ratio(jit.p99, base.p99) },
      { name: 'fleet peak hosts connected at once (client), all at once', value: base.peakClient, unit: 'connections' },
      { name: `fleet peak hosts connected at once (client), startup_jitter ${jitterSeconds} s`, value: jit.peakClient, unit: 'connections', baseline: base.peakClient, ratio: ratio(jit.peakClient, base.peakClient) },
      { name: 'fleet peak Threads_connected (server, sampled), all at once', value: base.peakConnected, unit: 'threads' },
      { name: `fleet peak Threads_connected (server, sampled), startup_jitter ${jitterSeconds} s`, value: jit.peakConnected, unit: 'threads', baseline: base.peakConnected, ratio: ratio(jit.peakConnected, base.peakConnected) },
      { name: 'fleet peak Threads_running (server, sampled), all at once', value: base.peakRunning, unit: 'threads' },
      { name: `fleet peak Threads_running (server, sampled), startup_jitter ${jitterSeconds} s`, value: jit.peakRunning, unit: 'threads', baseline: base.peakRunning, ratio: ratio(jit.peakRunning, base.peakRunning) },
      { name: 'fleet connection attempts retried (as the agent retries), all at once', value: base.connectRetries, unit: `(hosts that retried: ${base.hostsRetryingConnect})` },
      { name: `fleet connection attempts retried, startup_jitter ${jitterSeconds} s`, value: jit.connectRetries, unit: `(hosts that retried: ${jit.hostsRetryingConnect})`, baseline: base.connectRetries, ratio: ratio(jit.connectRetries, base.connectRetries) },
      { name: 'fleet deadlocks retried, all at once', value: base.deadlocks, unit: `(lock wait timeouts retried: ${base.lockWaits})` },
      { name: `fleet deadlocks retried, startup_jitter ${jitterSeconds} s`, value: jit.deadlocks, unit: `(lock wait timeouts retried: ${jit.lockWaits})`, baseline: base.deadlocks, ratio: ratio(jit.deadlocks, base.deadlocks) },
    ];
  } finally {
    await store?.close();
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.query(`DROP DATABASE IF EXISTS \`${name}_hwstash\``);
    if (raised) await admin.query(`SET GLOBAL max_connections = ${Number(max)}`);
    await admin.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await benchFleet()) {
    const extra = f.baseline === undefined ? '' : `  baseline ${f.baseline}  ratio ${f.ratio?.toFixed(3) ?? ''}`;
    console.log(`${f.name}: ${Number.isInteger(f.value) ? f.value : f.value.toFixed(3)} ${f.unit ?? ''}${extra}`);
  }
}
