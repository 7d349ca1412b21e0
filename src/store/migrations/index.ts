/**
 * Versioned migrations of hwstash's own tables, recorded in `hwstash_schema_migrations`.
 * Several agents may start at once, so the runner takes a database-wide lock first: an advisory
 * lock on PostgreSQL (with the DDL in the same transaction), GET_LOCK on MySQL (whose DDL commits
 * on its own, so each migration is recorded right after it ran), and an IMMEDIATE transaction on
 * SQLite. Running it again applies nothing.
 */
import { QueryTypes, Transaction } from 'sequelize';
import type { Database } from '../database.js';
import { naiveUtc } from '../timestamps.js';
import type { Migration } from './migration.js';
import { propertyHistory } from './001-property-history.js';

export type { Migration } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [propertyHistory];
export const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
export const MIGRATIONS_TABLE = 'hwstash_schema_migrations';

const BOOKKEEPING: Record<Database['dialect'], string> = {
  mysql:
    'CREATE TABLE IF NOT EXISTS `hwstash_schema_migrations` (`version` int(11) NOT NULL, `name` varchar(255) NOT NULL, ' +
    '`applied_at` datetime(6) NOT NULL, PRIMARY KEY (`version`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
  postgres:
    'CREATE TABLE IF NOT EXISTS "hwstash_schema_migrations" ("version" integer NOT NULL PRIMARY KEY, "name" varchar(255) NOT NULL, ' +
    '"applied_at" timestamp without time zone NOT NULL)',
  sqlite:
    'CREATE TABLE IF NOT EXISTS "hwstash_schema_migrations" ("version" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, ' +
    '"applied_at" DATETIME NOT NULL)',
};

const LOCK_NAME = 'hwstash_migrate';

export interface MigrateResult {
  /** Versions applied by this call, in order. */
  applied: number[];
  version: number;
}

async function appliedVersions(db: Database, transaction: Transaction): Promise<Set<number>> {
  const rows = await db.sequelize.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`, {
    type: QueryTypes.SELECT,
    transaction,
  });
  return new Set(rows.map((r) => Number(r.version)));
}

export async function migrate(db: Database, now: () => Date = () => new Date()): Promise<MigrateResult> {
  const { sequelize, dialect } = db;
  const type = dialect === 'sqlite' ? Transaction.TYPES.IMMEDIATE : undefined;
  return sequelize.transaction({ type }, async (transaction) => {
    const run = (sql: string, replacements?: Record<string, unknown>) => sequelize.query(sql, { transaction, replacements });
    if (dialect === 'postgres') await run("SELECT pg_advisory_xact_lock(hashtext('hwstash_migrate'))");
    if (dialect === 'mysql') {
      const [rows] = await run('SELECT GET_LOCK(:name, 120) AS got', { name: LOCK_NAME });
      if (Number((rows as Array<{ got: unknown }>)[0]?.got) !== 1) throw new Error('timed out waiting for another hwstash to finish migrating');
    }
    try {
      await run(BOOKKEEPING[dialect]);
      const done = await appliedVersions(db, transaction);
      const applied: number[] = [];
      for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        for (const sql of m.statements(dialect)) await run(sql);
        await run(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (:version, :name, :at)`, {
          version: m.version,
          name: m.name,
          at: naiveUtc(now()),
        });
        applied.push(m.version);
      }
      return { applied, version: Math.max(0, ...done, ...applied) };
    } finally {
      if (dialect === 'mysql') await run('SELECT RELEASE_LOCK(:name)', { name: LOCK_NAME });
    }
  });
}

/** The applied version, or null when hwstash's tables were never created. */
export async function schemaVersion(db: Database): Promise<number | null> {
  const exists = await db.sequelize.query<{ n: unknown }>(
    db.dialect === 'sqlite'
      ? `SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '${MIGRATIONS_TABLE}'`
      : `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = '${MIGRATIONS_TABLE}' AND table_schema = ${
          db.dialect === 'mysql' ? 'DATABASE()' : 'current_schema()'
        }`,
    { type: QueryTypes.SELECT },
  );
  if (Number(exists[0]?.n ?? 0) === 0) return null;
  const rows = await db.sequelize.query<{ v: unknown }>(`SELECT MAX(version) AS v FROM ${MIGRATIONS_TABLE}`, { type: QueryTypes.SELECT });
  const v = rows[0]?.v;
  return v === null || v === undefined ? 0 : Number(v);
}
