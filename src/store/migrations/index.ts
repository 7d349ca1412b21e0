/**
 * Versioned migrations of hwstash's own tables, recorded in `hwstash_schema_migrations`, all in
 * hwstash's own schema (own-schema.ts), never in Nova's.
 * Several agents may start at once, so the runner takes a lock first: an advisory lock on
 * PostgreSQL (with the DDL in the same transaction), GET_LOCK on MySQL (whose DDL commits on its
 * own, so each migration is recorded right after it ran), and an IMMEDIATE transaction on SQLite.
 * Under the lock it creates the schema, moves tables an earlier hwstash left in Nova's schema,
 * then applies what is missing. Running it again does nothing.
 */
import { QueryTypes, Transaction } from 'sequelize';
import type { Database } from '../database.js';
import type { OwnSchema } from '../own-schema.js';
import { naiveUtc } from '../timestamps.js';
import type { Migration } from './migration.js';
import { propertyHistory } from './001-property-history.js';
import { instanceClaims } from './002-instance-claims.js';
import { hostProfiles } from './003-hosts.js';
import { ensureOwnSchema, legacyTables, relocateLegacyTables, tablesIn, type Relocation } from './relocate.js';

export type { Migration } from './migration.js';
export { legacyTables, RelocationConflictError, type LegacyTable, type Relocation } from './relocate.js';

export const MIGRATIONS: readonly Migration[] = [propertyHistory, instanceClaims, hostProfiles];
export const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
export const MIGRATIONS_TABLE = 'hwstash_schema_migrations';

function bookkeeping(own: OwnSchema): string {
  const t = own.table(MIGRATIONS_TABLE);
  switch (own.dialect) {
    case 'mysql':
      return `CREATE TABLE IF NOT EXISTS ${t} (\`version\` int(11) NOT NULL, \`name\` varchar(255) NOT NULL, \`applied_at\` datetime(6) NOT NULL, PRIMARY KEY (\`version\`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
    case 'postgres':
      return `CREATE TABLE IF NOT EXISTS ${t} ("version" integer NOT NULL PRIMARY KEY, "name" varchar(255) NOT NULL, "applied_at" timestamp without time zone NOT NULL)`;
    case 'sqlite':
      return `CREATE TABLE IF NOT EXISTS ${t} ("version" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, "applied_at" DATETIME NOT NULL)`;
  }
}

export interface MigrateResult {
  /** Versions applied by this call, in order. */
  applied: number[];
  version: number;
  /** Where the tables are. */
  location: string;
  /** Whether this call created hwstash's database or schema. */
  createdSchema: boolean;
  /** Tables moved out of Nova's schema by this call. */
  relocated: Relocation[];
}

async function appliedVersions(db: Database, transaction: Transaction): Promise<Set<number>> {
  const rows = await db.sequelize.query<{ version: number }>(`SELECT version FROM ${db.own.table(MIGRATIONS_TABLE)}`, {
    type: QueryTypes.SELECT,
    transaction,
  });
  return new Set(rows.map((r) => Number(r.version)));
}

export async function migrate(db: Database, now: () => Date = () => new Date()): Promise<MigrateResult> {
  const { sequelize, dialect } = db;
  const type = dialect === 'sqlite' ? Transaction.TYPES.IMMEDIATE : undefined;
  const lockName = `hwstash_migrate:${db.own.name ?? ''}`;
  return sequelize.transaction({ type }, async (transaction) => {
    const run = (sql: string, replacements?: Record<string, unknown>) => sequelize.query(sql, { transaction, replacements });
    if (dialect === 'postgres') await run('SELECT pg_advisory_xact_lock(hashtext(:name))', { name: lockName });
    if (dialect === 'mysql') {
      const [rows] = await run('SELECT GET_LOCK(:name, 120) AS got', { name: lockName });
      if (Number((rows as Array<{ got: unknown }>)[0]?.got) !== 1) throw new Error('timed out waiting for another hwstash to finish migrating');
    }
    try {
      const createdSchema = await ensureOwnSchema(db, transaction);
      const relocated = await relocateLegacyTables(db, transaction);
      await run(bookkeeping(db.own));
      const done = await appliedVersions(db, transaction);
      const applied: number[] = [];
      for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        for (const sql of m.statements(db.own)) await run(sql);
        await run(`INSERT INTO ${db.own.table(MIGRATIONS_TABLE)} (version, name, applied_at) VALUES (:version, :name, :at)`, {
          version: m.version,
          name: m.name,
          at: naiveUtc(now()),
        });
        applied.push(m.version);
      }
      return { applied, version: Math.max(0, ...done, ...applied), location: db.own.description, createdSchema, relocated };
    } finally {
      if (dialect === 'mysql') await run('SELECT RELEASE_LOCK(:name)', { name: lockName });
    }
  });
}

/** The applied version, or null when hwstash's tables were never created in its schema. */
export async function schemaVersion(db: Database): Promise<number | null> {
  const own = db.own.name;
  const exists =
    own === null
      ? Number(
          (
            await db.sequelize.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = :t`, {
              type: QueryTypes.SELECT,
              replacements: { t: MIGRATIONS_TABLE },
            })
          )[0]?.n ?? 0,
        ) > 0
      : (await tablesIn(db, own)).has(MIGRATIONS_TABLE);
  if (!exists) return null;
  const rows = await db.sequelize.query<{ v: unknown }>(`SELECT MAX(version) AS v FROM ${db.own.table(MIGRATIONS_TABLE)}`, { type: QueryTypes.SELECT });
  const v = rows[0]?.v;
  return v === null || v === undefined ? 0 : Number(v);
}

/** hwstash's tables still in Nova's schema (left by an earlier version), as `schema.table`. */
export async function misplacedTables(db: Database): Promise<string[]> {
  return (await legacyTables(db)).map((t) => `${t.schema}.${t.table}`);
}
