/**
 * Reconcile throughput: 10,000 instances with a realistic mix of image properties, stashed by
 * `reconcileHost` on SQLite and on MariaDB, against a plain multi-row INSERT
 * of the same resulting rows (system_metadata and history) through the same driver, in the same
 * batches and transactions, in the same run (goal: ratio ≤ 1.5).
 *
 * MariaDB: HWSTASH_BENCH_MYSQL_URL (default mysql+pymysql://root@127.0.0.1:3306/?charset=utf8);
 * a database hwstash_bench_<random> is created there and dropped afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Sequelize } from 'sequelize';
import { reconcileHost } from '../src/agent/reconcile.js';
import { NOVA_DEFAULT_PROFILE, type HostProfile, type OsInfoLookup } from '../src/core/inputs.js';
import { parseDatabaseUrl } from '../src/config/database-url.js';
import { OsInfoIndex, resolveOsinfoDir } from '../src/osinfo/index.js';
import { historyRow } from '../src/store/history.js';
import { Store, type StashRow } from '../src/store/index.js';
import { naiveUtc } from '../src/store/timestamps.js';
import type { BenchResult } from './domain-xml.js';

const HOST = 'bench-compute';
const BATCH = 200;
const NOW = naiveUtc(new Date());

/** Common keys Nova copies into every instance's system_metadata at boot. */
const COMMON: Record<string, string> = {
  image_min_ram: '0',
  image_min_disk: '10',
  image_disk_format: 'qcow2',
  image_container_format: 'bare',
  owner_user_name: 'alice',
  owner_project_name: 'demo',
  boot_roles: 'member,reader',
};

/** A few common images, in the proportions a cloud might have them. */
const IMAGES: ReadonlyArray<{ weight: number; props: Record<string, string> }> = [
  { weight: 25, props: { image_os_distro: 'win10', image_os_type: 'windows' } },
  { weight: 5, props: { image_os_distro: 'win10', image_hw_machine_type: 'q35', image_hw_disk_bus: 'sata' } },
  { weight: 25, props: { image_os_distro: 'fedora36' } },
  { weight: 10, props: { image_os_distro: 'ubuntu20.04', image_hw_qemu_guest_agent: 'yes' } },
  { weight: 10, props: { image_hw_disk_bus: 'scsi', image_hw_scsi_model: 'virtio-scsi', image_hw_vif_model: 'virtio', image_hw_video_model: 'qxl' } },
  { weight: 5, props: { image_hw_vif_model: 'VirtualE1000', image_vmware_adaptertype: 'lsiLogic', image_architecture: 'x86_64' } },
  { weight: 10, props: {} },
  // Already partially stashed (by Nova's own _register_undefined_instance_details: its 7).
  {
    weight: 10,
    props: {
      image_os_distro: 'centos7.0',
      image_hw_machine_type: 'pc',
      image_hw_cdrom_bus: 'ide',
      image_hw_disk_bus: 'virtio',
      image_hw_input_bus: 'usb',
      image_hw_pointer_model: 'usbtablet',
      image_hw_video_model: 'cirrus',
      image_hw_vif_model: 'e1000',
    },
  },
];

function imageFor(i: number): Record<string, string> {
  const total = IMAGES.reduce((a, b) => a + b.weight, 0);
  let slot = (i * 37) % total;
  for (const image of IMAGES) {
    if (slot < image.weight) return image.props;
    slot -= image.weight;
  }
  return {};
}

/** 10,000 instances with their system_metadata, inserted in bulk (not timed). */
export async function seed(store: Store, n: number): Promise<void> {
  const qi = store.db.sequelize.getQueryInterface();
  for (let start = 0; start < n; start += 500) {
    const instances: Array<Record<string, unknown>> = [];
    const sysmeta: Array<Record<string, unknown>> = [];
    for (let i = start; i < Math.min(n, start + 500); i++) {
      const uuid = randomUUID();
      const image = randomUUID();
      instances.push({ uuid, host: HOST, node: HOST, vm_state: i % 10 === 0 ? 'stopped' : 'active', power_state: 1, display_name: `vm-${i}`, image_ref: image, created_at: NOW, deleted: 0 });
      for (const [key, value] of Object.entries({ ...COMMON, image_base_image_ref: image, ...imageFor(i) })) {
        sysmeta.push({ instance_uuid: uuid, key, value, created_at: NOW, deleted: 0 });
      }
    }
    await qi.bulkInsert('instances', instances);
    await qi.bulkInsert('instance_system_metadata', sysmeta);
  }
}

/** The same rows, as plain multi-row INSERTs in the same batches and transactions, through the same driver. */
async function insertBaseline(store: Store, rows: readonly StashRow[], batches: ReadonlyArray<readonly string[]>): Promise<number> {
  const byInstance = new Map<string, StashRow[]>();
  for (const r of rows) {
    let list = byInstance.get(r.instanceUuid);
    if (!list) byInstance.set(r.instanceUuid, (list = []));
    list.push(r);
  }
  const qi = store.db.sequelize.getQueryInterface();
  const t0 = performance.now();
  for (const batch of batches) {
    const chunk = batch.flatMap((u) => byInstance.get(u) ?? []);
    if (chunk.length === 0) continue;
    await store.db.sequelize.transaction(async (transaction) => {
      const at = naiveUtc(new Date());
      await qi.bulkInsert(
        'instance_system_metadata',
        chunk.map((r) => ({ instance_uuid: r.instanceUuid, key: r.key, value: r.value, created_at: at, updated_at: null, deleted_at: null, deleted: 0 })),
        { transaction },
      );
      await qi.bulkInsert(
        'hwstash_property_history',
        chunk.map((r) =>
          historyRow(
            { instanceUuid: r.instanceUuid, property: r.key.slice(6), oldValue: null, oldPresent: false, newValue: r.value, newPresent: true, source: 'stash', valueSource: r.source, actor: 'bench' },
            new Date(),
          ),
        ),
        { transaction },
      );
    });
  }
  return performance.now() - t0;
}

interface Trial {
  ms: number;
  rows: number;
  queries: number;
}

/**
 * One freshly seeded database, and one of the two contenders run on it: the reconcile, or the
 * plain INSERT of the rows a dry run says the reconcile writes, into the same tables in the
 * same state. One contender per database, so neither pays for the other's leftovers (caches,
 * background flushing, bigger indexes).
 */
async function trial(kind: 'reconcile' | 'insert', url: string, profile: HostProfile, osinfo: OsInfoLookup | null, n: number): Promise<Trial> {
  const store = await Store.open(url);
  try {
    await store.initNovaSchema();
    await store.migrate();
    await seed(store, n);
    const base = { store, host: HOST, profile, osinfo, domainFacts: async () => null, batchSize: BATCH };
    // Both contenders start after the same untimed dry run (it also warms the caches alike).
    const plan = await reconcileHost({ ...base, dryRun: true });
    if (kind === 'insert') {
      const ids = await store.instanceIdsOnHost(HOST);
      const batches: string[][] = [];
      for (let i = 0; i < ids.length; i += BATCH) batches.push(ids.slice(i, i + BATCH).map((x) => x.uuid));
      const before = store.queries.count;
      const ms = await insertBaseline(store, plan.rows!, batches);
      return { ms, rows: plan.rows!.length, queries: store.queries.count - before };
    }
    const t0 = performance.now();
    const summary = await reconcileHost({ ...base, actor: 'bench' });
    const ms = performance.now() - t0;
    if (summary.propertiesStashed !== plan.rows!.length) throw new Error(`wrote ${summary.propertiesStashed} rows, planned ${plan.rows!.length}`);
    return { ms, rows: summary.propertiesStashed, queries: summary.queries };
  } finally {
    await store.close();
  }
}

/** The best of a few alternating trials of each contender: these machines are shared and noisy. */
async function benchOne(label: string, withUrl: <T>(fn: (url: string) => Promise<T>) => Promise<T>, profile: HostProfile, osinfo: OsInfoLookup | null, n: number, trials: number): Promise<BenchResult[]> {
  const reconciles: Trial[] = [];
  const inserts: Trial[] = [];
  for (let i = 0; i < trials; i++) {
    reconciles.push(await withUrl((url) => trial('reconcile', url, profile, osinfo, n)));
    inserts.push(await withUrl((url) => trial('insert', url, profile, osinfo, n)));
  }
  const reconcileMs = Math.min(...reconciles.map((r) => r.ms));
  const insertMs = Math.min(...inserts.map((r) => r.ms));
  const { rows, queries } = reconciles[0]!;
  return [
    { name: `reconcile ${n} instances, ${rows} rows (${label})`, value: Math.round(reconcileMs), unit: `ms, best of ${trials} (baseline: plain INSERT of the same rows; goal ratio ≤ 1.5)`, baseline: Math.round(insertMs), ratio: reconcileMs / insertMs },
    { name: `reconcile throughput (${label})`, value: Math.round((n / reconcileMs) * 1000), unit: 'instances/s' },
    { name: `reconcile queries per instance (${label})`, value: queries / n, unit: `queries/instance (plain INSERT: ${(inserts[0]!.queries / n).toFixed(3)})` },
  ];
}

async function withSqlite<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-bench-'));
  try {
    return await fn(`sqlite:///${path.join(dir, 'bench.sqlite')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function withMariaDb<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const serverUrl = process.env['HWSTASH_BENCH_MYSQL_URL'] ?? 'mysql+pymysql://root@127.0.0.1:3306/?charset=utf8';
  const o = parseDatabaseUrl(serverUrl);
  const admin = new Sequelize({ dialect: 'mysql', host: o.host, port: o.port, username: o.username, password: o.password, dialectOptions: o.dialectOptions, logging: false });
  const name = `hwstash_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb3`);
  try {
    const [scheme, rest] = serverUrl.split('://') as [string, string];
    const slash = rest.indexOf('/');
    const q = rest.indexOf('?');
    const hostPart = rest.slice(0, slash < 0 ? (q < 0 ? rest.length : q) : slash);
    const query = q < 0 ? '' : rest.slice(q);
    return await fn(`${scheme}://${hostPart}/${name}${query}`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.query(`DROP DATABASE IF EXISTS \`${name}_hwstash\``);
    await admin.close();
  }
}

export async function benchReconcile(n = 10_000, trials = 2): Promise<BenchResult[]> {
  const profile: HostProfile = { ...NOVA_DEFAULT_PROFILE, arch: 'x86_64' };
  const osinfo = await OsInfoIndex.load(resolveOsinfoDir());
  return [
    ...(await benchOne('SQLite', withSqlite, profile, osinfo, n, trials)),
    ...(await benchOne('MariaDB', withMariaDb, profile, osinfo, n, trials)),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await benchReconcile(Number(process.argv[2] ?? 10_000), Number(process.argv[3] ?? 2))) {
    const extra = f.baseline === undefined ? '' : `  baseline ${f.baseline}  ratio ${f.ratio!.toFixed(2)}`;
    console.log(`${f.name}: ${Number.isInteger(f.value) ? f.value : f.value.toFixed(3)} ${f.unit}${extra}`);
  }
}
