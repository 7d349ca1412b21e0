/**
 * Write transactions that two hwstash processes (two agents, or an agent and an operator's
 * `set`) can run against the same instances. Instance locks are taken by the callers
 * (`lockInstances`); on SQLite, which has no row locks, the
 * transaction is IMMEDIATE: it holds the database's write lock from its first statement, so the
 * reads inside it see every committed write and no other writer can slip in between.
 * A deadlock or a busy database makes the whole transaction run again, a bounded number of times.
 */
import { QueryTypes, Transaction } from 'sequelize';
import type { Database } from './database.js';
import { errorChain } from './errors.js';

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
  // Enough for a stash batch on a Galera node to outlast an operator's bulk set of the same
  // instances through another node (each of its commits aborts the batch at certification).
  const attempts = options.attempts ?? 10;
  const type = db.dialect === 'sqlite' ? Transaction.TYPES.IMMEDIATE : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.sequelize.transaction({ type }, fn);
    } catch (err) {
      const code = retryableCode(err);
      if (attempt >= attempts || code === null) throw err;
      db.queries.recordRetry(code);
      // Doubling, capped at 1 s, with jitter so two retrying writers do not collide again in lockstep.
      await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** (attempt - 1)) + Math.floor(Math.random() * 30)));
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

/** Each instance's claim version as the transaction's snapshot has it (null: never claimed); MySQL only. */
export type ClaimVersions = ReadonlyMap<string, number | null>;

/**
 * The claim versions of instances, read with the transaction's other reads (the same snapshot:
 * a consistent read, no lock). Empty on PostgreSQL and SQLite, where claimInstances does nothing.
 */
export async function readClaims(db: Database, uuids: readonly string[], transaction: Transaction): Promise<ClaimVersions> {
  const out = new Map<string, number | null>();
  if (db.dialect !== 'mysql' || uuids.length === 0) return out;
  for (const u of uuids) out.set(u, null);
  const found = await db.sequelize.query<{ instance_uuid: string; writes: number | string }>(
    `SELECT instance_uuid, writes FROM ${db.own.table('hwstash_instance_claims')} WHERE instance_uuid IN (:uuids)`,
    { type: QueryTypes.SELECT, replacements: { uuids: [...uuids] }, transaction },
  );
  for (const r of found) out.set(r.instance_uuid, Number(r.writes));
  return out;
}

function stale(uuids: readonly string[]): Error {
  return Object.assign(new Error(`instance(s) ${uuids.join(', ')} written by another hwstash since this transaction read them (a writer on another database node)`), {
    code: STALE_READ,
  });
}

/**
 * Before a write transaction writes instances' rows, on MySQL/MariaDB: move each instance's claim
 * in `hwstash_instance_claims` on from the version the transaction read (readClaims) to the next.
 *
 * On a Galera cluster the `FOR UPDATE` of lockInstances holds only on the writer's own node: an
 * operator's `set` through one node and an agent's stash through another both pass it, both
 * insert the same key, and rows of different ids never conflict, so both would commit (a
 * duplicate key, or the stash over the operator's value). Every hwstash writer moves the claim,
 * so two overlapping writers of an instance write the same row:
 * - the other's commit already applied here after this snapshot: the claim is not at the version
 *   read (no row updated, or a duplicate key for a first claim): HWSTASH_STALE_READ;
 * - not yet applied: Galera's certification aborts the later commit, or the replicated one aborts
 *   the local transaction holding the row, both as ER_LOCK_DEADLOCK;
 * and writeTransaction runs the loser again, reading what the other committed. Optimistic, so it
 * takes no gap locks: only the claim rows themselves, by primary key, in uuid order. On a single
 * server the instance lock already keeps such writers apart and the claim always moves.
 */
export async function claimInstances(db: Database, read: ClaimVersions, writing: readonly string[], transaction: Transaction): Promise<void> {
  if (db.dialect !== 'mysql' || writing.length === 0) return;
  const table = db.own.table('hwstash_instance_claims');
  const uuids = [...new Set(writing)].sort();
  const known = uuids.filter((u) => (read.get(u) ?? null) !== null);
  const fresh = uuids.filter((u) => (read.get(u) ?? null) === null);
  if (known.length > 0) {
    // By primary key (a row-constructor IN could scan, and lock, the whole table).
    const [, affected] = await db.sequelize.query(
      `UPDATE ${table} SET writes = writes + 1 WHERE instance_uuid IN (${known.map(() => '?').join(', ')}) AND writes = CASE instance_uuid ${known.map(() => 'WHEN ? THEN ?').join(' ')} END`,
      { type: QueryTypes.UPDATE, replacements: [...known, ...known.flatMap((u) => [u, read.get(u)])], transaction },
    );
    if (Number(affected) !== known.length) throw stale(known);
  }
  if (fresh.length > 0) {
    try {
      await db.sequelize.query(`INSERT INTO ${table} (instance_uuid, writes) VALUES ${fresh.map(() => '(?, 1)').join(', ')}`, {
        replacements: fresh,
        transaction,
      });
    } catch (err) {
      if ([...errorChain(err)].some((e) => (e as { code?: unknown }).code === 'ER_DUP_ENTRY')) throw stale(fresh);
      throw err;
    }
  }
}
