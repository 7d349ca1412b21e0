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

const RETRYABLE_CODES = new Set([
  'ER_LOCK_DEADLOCK', // MySQL 1213
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
