/**
 * Write transactions that two hwstash processes (two agents, or an agent and an operator's
 * `set`) can run against the same instances. Instance locks are taken by the callers
 * (`lockInstances`); on SQLite, which has no row locks, the
 * transaction is IMMEDIATE: it holds the database's write lock from its first statement, so the
 * reads inside it see every committed write and no other writer can slip in between.
 * A deadlock or a busy database makes the whole transaction run again, a bounded number of times.
 */
import { Transaction } from 'sequelize';
import type { Database } from './database.js';
import { errorChain } from './errors.js';
import type { SysmetaRow } from './sysmeta.js';
import { sysmetaRowsOf } from './system-metadata.js';

/** What claimInstances throws when a writer on another Galera node got in between (see there). */
export const STALE_READ = 'HWSTASH_STALE_READ';

const RETRYABLE_CODES = new Set([
  'ER_LOCK_DEADLOCK', // MySQL 1213; also Galera's certification failure and brute-force abort
  STALE_READ,
  'ER_LOCK_WAIT_TIMEOUT', // MySQL 1205
  '40P01', // PostgreSQL deadlock_detected
  '40001', // PostgreSQL serialization_failure
  'SQLITE_BUSY',
]);

/** The code of a deadlock or a busy database, anywhere in the driver's error chain; else null. */
export function retryableCode(err: unknown): string | null {
  for (const e of errorChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return code;
  }
  return null;
}

/** A deadlock or a busy database, anywhere in the driver's error chain. */
export function isRetryable(err: unknown): boolean {
  return retryableCode(err) !== null;
}

export interface WriteTransactionOptions {
  attempts?: number;
}

export async function writeTransaction<T>(
  db: Database,
  fn: (transaction: Transaction) => Promise<T>,
  options: WriteTransactionOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  const type = db.dialect === 'sqlite' ? Transaction.TYPES.IMMEDIATE : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.sequelize.transaction({ type }, fn);
    } catch (err) {
      const code = retryableCode(err);
      if (attempt >= attempts || code === null) throw err;
      db.queries.recordRetry(code);
      // Jitter so two retrying writers do not collide again in lockstep.
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.floor(Math.random() * 30)));
    }
  }
}

/**
 * Lock instances for a write transaction, until it ends; returns the suffix for the SELECT that
 * reads them. MySQL/MariaDB: `FOR UPDATE` on the rows (MariaDB needs only SELECT on `instances`
 * for it). PostgreSQL: a row lock would need UPDATE on `instances`, which hwstash's
 * least-privilege account must not have, so a transaction-scoped advisory lock per instance
 * instead, taken in one statement in a fixed order (no two lockers deadlock). It serialises
 * hwstash's writers as the row lock does; Nova never locks these rows either way. SQLite: its
 * IMMEDIATE transaction already holds the database's write lock.
 */
export async function lockInstances(db: Database, uuids: readonly string[], transaction: Transaction): Promise<string> {
  if (db.dialect === 'mysql') return ' FOR UPDATE';
  if (db.dialect === 'postgres' && uuids.length > 0) {
    await db.sequelize.query(
      "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended('hwstash:instance:' || u, 0) AS k FROM unnest(ARRAY[:uuids]::text[]) AS u ORDER BY k) AS locks",
      { replacements: { uuids: [...uuids] }, transaction },
    );
  }
  return '';
}

/** Rows as compared by claimInstances: what a writer decided from. */
function fingerprint(rows: readonly SysmetaRow[]): string {
  return rows
    .map((r) => `${r.id}\u0000${r.key}\u0000${r.value === null ? '\u0001' : r.value}\u0000${r.deleted}`)
    .sort()
    .join('\u0002');
}

/**
 * Before a write transaction writes instances' rows, on MySQL/MariaDB: bump each instance's row
 * in `hwstash_instance_claims`, then check that the instances' system_metadata is still what the
 * transaction read and decided from.
 *
 * On a Galera cluster the `FOR UPDATE` of lockInstances holds only on the writer's own node: an
 * operator's `set` through one node and an agent's stash through another both pass it, both
 * insert the same key, and rows of different ids never conflict, so both would commit (a
 * duplicate key, or the stash over the operator's value). The claim row is the same key in both
 * write sets: Galera's certification aborts the later of two overlapping writers at COMMIT, or the
 * earlier one's replication aborts the local one holding the row, both as ER_LOCK_DEADLOCK, and
 * writeTransaction runs it again, reading what the other committed. A writer whose snapshot
 * predates a commit that replicated before its claim is caught by the check (a locking read sees
 * the newest rows) and runs again too (HWSTASH_STALE_READ). On a single server the instance lock
 * already excludes the other writer and the check always passes. In uuid order, so two writers
 * of the same instances on one node take the claims in the same order.
 */
export async function claimInstances(
  db: Database,
  read: ReadonlyMap<string, readonly SysmetaRow[]>,
  transaction: Transaction,
  /** The keys the writer read, when it read only some. */
  o: { keys?: readonly string[] } = {},
): Promise<void> {
  if (db.dialect !== 'mysql' || read.size === 0) return;
  const uuids = [...read.keys()].sort();
  await db.sequelize.query(
    `INSERT INTO ${db.own.table('hwstash_instance_claims')} (instance_uuid, writes) VALUES ${uuids.map(() => '(?, 1)').join(', ')} ON DUPLICATE KEY UPDATE writes = writes + 1`,
    { replacements: uuids, transaction },
  );
  const now = await sysmetaRowsOf(db, uuids, transaction, { locking: true });
  const keys = o.keys ? new Set(o.keys) : null;
  for (const uuid of uuids) {
    const current = (now.get(uuid) ?? []).filter((r) => keys === null || keys.has(r.key));
    if (fingerprint(current) !== fingerprint(read.get(uuid) ?? [])) {
      throw Object.assign(new Error(`the system_metadata of instance ${uuid} changed since it was read (a writer on another database node)`), { code: STALE_READ });
    }
  }
}
