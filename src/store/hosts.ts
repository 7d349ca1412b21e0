/**
 * `hwstash_hosts`: each compute host's hardware profile and heartbeat (migration 3). A refresh
 * that finds the same profile moves only the heartbeat, so `updated_at` says when the host's
 * libvirt, QEMU or release last changed.
 */
import type { Transaction } from 'sequelize';
import { sameProfile, type HostProfileRecord, type StoredHostProfile } from '../core/fleet/profile.js';
import type { VirtType } from '../core/inputs.js';
import type { Database } from './database.js';
import { select } from './sql.js';
import { isoFromNaiveUtc, naiveUtc, naiveUtcText } from './timestamps.js';

export const HOSTS_TABLE = 'hwstash_hosts';

const COLUMNS = ['host', 'nova_release', 'libvirt_version', 'qemu_version', 'arch', 'virt_type', 'machine_types', 'devices', 'nova_tables'] as const;

function columnsOf(p: HostProfileRecord): Record<(typeof COLUMNS)[number], string | null> {
  return {
    host: p.host,
    nova_release: p.novaRelease,
    libvirt_version: p.libvirtVersion,
    qemu_version: p.qemuVersion,
    arch: p.arch,
    virt_type: p.virtType,
    machine_types: JSON.stringify(p.machines),
    devices: JSON.stringify(p.families),
    nova_tables: JSON.stringify(p.nova),
  };
}

function profileOf(r: Record<string, unknown>): StoredHostProfile {
  const str = (k: string) => (r[k] === null || r[k] === undefined ? null : String(r[k]));
  return {
    host: String(r['host']),
    novaRelease: str('nova_release'),
    libvirtVersion: str('libvirt_version'),
    qemuVersion: str('qemu_version'),
    arch: String(r['arch']),
    virtType: String(r['virt_type']) as VirtType,
    machines: JSON.parse(String(r['machine_types'])),
    families: JSON.parse(String(r['devices'])),
    nova: JSON.parse(String(r['nova_tables'])),
    heartbeatAt: isoFromNaiveUtc(r['heartbeat_at']) ?? '',
    updatedAt: isoFromNaiveUtc(r['updated_at']) ?? '',
  };
}

async function read(db: Database, where: string, replacements: Record<string, unknown>, transaction?: Transaction): Promise<StoredHostProfile[]> {
  const t = db.own.table(HOSTS_TABLE);
  const rows = await select(
    db,
    `SELECT ${COLUMNS.join(', ')}, ${naiveUtcText(db.dialect, 'heartbeat_at')} AS heartbeat_at, ${naiveUtcText(db.dialect, 'updated_at')} AS updated_at FROM ${t} ${where} ORDER BY host`,
    replacements,
    transaction,
  );
  return rows.map(profileOf);
}

/** Every recorded profile, or only those of `hosts`. */
export function hostProfiles(db: Database, hosts?: readonly string[]): Promise<StoredHostProfile[]> {
  if (hosts === undefined) return read(db, '', {});
  return hosts.length === 0 ? Promise.resolve([]) : read(db, 'WHERE host IN (:hosts)', { hosts: [...hosts] });
}

export interface HostProfileStamp {
  host: string;
  heartbeatAt: string;
  updatedAt: string;
}

/** Each host's heartbeat and last change, without its profile: what tells a cached profile is still current. */
export async function hostProfileStamps(db: Database): Promise<HostProfileStamp[]> {
  const rows = await select<Record<string, unknown>>(
    db,
    `SELECT host, ${naiveUtcText(db.dialect, 'heartbeat_at')} AS heartbeat_at, ${naiveUtcText(db.dialect, 'updated_at')} AS updated_at FROM ${db.own.table(HOSTS_TABLE)} ORDER BY host`,
    {},
  );
  return rows.map((r) => ({ host: String(r['host']), heartbeatAt: isoFromNaiveUtc(r['heartbeat_at']) ?? '', updatedAt: isoFromNaiveUtc(r['updated_at']) ?? '' }));
}

export async function hostProfile(db: Database, host: string): Promise<StoredHostProfile | null> {
  return (await read(db, 'WHERE host = :host', { host }))[0] ?? null;
}

export interface RecordResult {
  /** `created`: first profile of the host; `changed`: its facts differ; `heartbeat`: only the heartbeat moved. */
  outcome: 'created' | 'changed' | 'heartbeat';
  previous: StoredHostProfile | null;
}

/** Record a host's profile (and heartbeat) at `now`, in one transaction. */
export async function recordHostProfile(db: Database, profile: HostProfileRecord, now: Date): Promise<RecordResult> {
  const t = db.own.table(HOSTS_TABLE);
  const at = naiveUtc(now);
  return db.sequelize.transaction(async (transaction) => {
    const run = (sql: string, replacements: Record<string, unknown>) => db.sequelize.query(sql, { transaction, replacements });
    const previous = (await read(db, 'WHERE host = :host', { host: profile.host }, transaction))[0] ?? null;
    if (previous && sameProfile(previous, profile)) {
      await run(`UPDATE ${t} SET heartbeat_at = :at WHERE host = :host`, { at, host: profile.host });
      return { outcome: 'heartbeat', previous };
    }
    const cols = columnsOf(profile);
    if (previous) {
      const sets = COLUMNS.filter((c) => c !== 'host').map((c) => `${c} = :${c}`).join(', ');
      await run(`UPDATE ${t} SET ${sets}, heartbeat_at = :at, updated_at = :at WHERE host = :host`, { ...cols, at });
      return { outcome: 'changed', previous };
    }
    await run(`INSERT INTO ${t} (${COLUMNS.join(', ')}, heartbeat_at, updated_at) VALUES (${COLUMNS.map((c) => `:${c}`).join(', ')}, :at, :at)`, { ...cols, at });
    return { outcome: 'created', previous: null };
  });
}

/** Every host with at least one live instance in Nova's `instances`, and how many. */
export async function liveInstanceCountsByHost(db: Database): Promise<Map<string, number>> {
  const rows = await select<{ host: string; n: unknown }>(db, 'SELECT host, COUNT(*) AS n FROM instances WHERE deleted = 0 AND host IS NOT NULL GROUP BY host', {});
  return new Map(rows.map((r) => [String(r.host), Number(r.n)]));
}
