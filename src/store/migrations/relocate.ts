/**
 * Tables that an earlier hwstash (before 0.2) created inside Nova's own schema, and their move
 * to hwstash's own (see own-schema.ts for why). A move is a rename — `RENAME TABLE` across
 * databases on MySQL, `ALTER TABLE … SET SCHEMA` on PostgreSQL — so every row, id and index goes
 * with it and nothing is copied; run again, it finds nothing to do.
 */
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database } from '../database.js';
import { OWN_TABLES, quoteIdentifier, type OwnTable } from '../own-schema.js';

export interface LegacyTable {
  table: OwnTable;
  /** The MySQL database or PostgreSQL schema it is in (Nova's). */
  schema: string;
}

export interface Relocation extends LegacyTable {
  to: string;
  /** Rows it held when moved. */
  rows: number;
  /** `moved`: renamed into hwstash's schema; `merged`: its rows added to a table already there, then dropped. */
  action: 'moved' | 'merged';
}

export { RelocationConflictError } from '../errors.js';
import { RelocationConflictError } from '../errors.js';

const q = (db: Database, id: string) => quoteIdentifier(db.dialect, id);

/** The schemas where unqualified names resolve for this connection: Nova's. */
async function novaSchemas(db: Database, transaction?: Transaction): Promise<string[]> {
  const sql = db.dialect === 'mysql' ? 'SELECT DATABASE() AS s' : 'SELECT unnest(current_schemas(false)) AS s';
  const rows = await db.sequelize.query<{ s: string | null }>(sql, { type: QueryTypes.SELECT, transaction });
  return rows.map((r) => r.s).filter((s): s is string => typeof s === 'string' && s !== db.own.name);
}

/** Which of hwstash's tables exist in `schema`. */
export async function tablesIn(db: Database, schema: string, transaction?: Transaction): Promise<Set<string>> {
  const rows = await db.sequelize.query<{ t: string }>(
    'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = :schema AND table_name IN (:tables)',
    { type: QueryTypes.SELECT, transaction, replacements: { schema, tables: [...OWN_TABLES] } },
  );
  return new Set(rows.map((r) => r.t));
}

/** hwstash's tables still in Nova's schema; always none on SQLite (one file, one place). */
export async function legacyTables(db: Database, transaction?: Transaction): Promise<LegacyTable[]> {
  if (db.own.name === null) return [];
  const found: LegacyTable[] = [];
  for (const schema of await novaSchemas(db, transaction)) {
    const present = await tablesIn(db, schema, transaction);
    for (const table of OWN_TABLES) if (present.has(table)) found.push({ table, schema });
  }
  return found;
}

async function count(db: Database, qualified: string, transaction: Transaction): Promise<number> {
  const rows = await db.sequelize.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${qualified}`, { type: QueryTypes.SELECT, transaction });
  return Number(rows[0]?.n ?? 0);
}

/**
 * Move every legacy table into hwstash's schema (which must exist). Called by the migration
 * runner under its lock, before any migration runs, so migrations see the moved tables.
 */
export async function relocateLegacyTables(db: Database, transaction: Transaction): Promise<Relocation[]> {
  const own = db.own.name;
  if (own === null) return [];
  const run = (sql: string) => db.sequelize.query(sql, { transaction });
  const done: Relocation[] = [];
  const present = await tablesIn(db, own, transaction);
  for (const legacy of await legacyTables(db, transaction)) {
    const from = `${q(db, legacy.schema)}.${q(db, legacy.table)}`;
    const to = db.own.table(legacy.table);
    const rows = await count(db, from, transaction);
    let action: Relocation['action'] = 'moved';
    if (present.has(legacy.table)) {
      if ((await count(db, to, transaction)) === 0) {
        await run(`DROP TABLE ${to}`);
      } else if (legacy.table === 'hwstash_schema_migrations') {
        // Bookkeeping only: the versions applied in either place were applied.
        await run(`INSERT INTO ${to} (version, name, applied_at) SELECT version, name, applied_at FROM ${from} WHERE version NOT IN (SELECT version FROM ${to})`);
        await run(`DROP TABLE ${from}`);
        action = 'merged';
      } else {
        throw new RelocationConflictError(`${legacy.schema}.${legacy.table}`, `${own}.${legacy.table}`);
      }
    }
    if (action === 'moved') {
      await run(db.dialect === 'mysql' ? `RENAME TABLE ${from} TO ${to}` : `ALTER TABLE ${from} SET SCHEMA ${q(db, own)}`);
    }
    done.push({ ...legacy, to: own, rows, action });
  }
  return done;
}

/** Create hwstash's database (MySQL) or schema (PostgreSQL) where missing; checked first, so an account granted only that schema never needs the right to create one. */
export async function ensureOwnSchema(db: Database, transaction: Transaction): Promise<boolean> {
  const own = db.own.name;
  if (own === null) return false;
  const exists = await db.sequelize.query<{ n: unknown }>(
    db.dialect === 'mysql'
      ? 'SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name = :own'
      : 'SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = :own',
    { type: QueryTypes.SELECT, transaction, replacements: { own } },
  );
  if (Number(exists[0]?.n ?? 0) > 0) return false;
  await db.sequelize.query(
    db.dialect === 'mysql' ? `CREATE DATABASE IF NOT EXISTS ${q(db, own)} CHARACTER SET utf8mb4` : `CREATE SCHEMA IF NOT EXISTS ${q(db, own)}`,
    { transaction },
  );
  return true;
}
