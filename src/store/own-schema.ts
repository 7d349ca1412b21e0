/**
 * Where hwstash's own tables live: never in Nova's schema. Nova's `nova-manage db
 * archive_deleted_rows` reflects every table of the cell database and looks each up in Nova's
 * models, so one table it does not know makes it crash (KeyError) and a cloud's housekeeping stops.
 *
 * - MySQL/MariaDB: a database of their own on the cell database's server (`<cell db>_hwstash`);
 * - PostgreSQL: a schema of their own in the cell database (`hwstash`);
 * - SQLite (embedded default, demos; Nova never runs on it in production): the same file.
 *
 * In all three one connection reaches both, so a history row is written in the same transaction
 * as the stash it records (MySQL and PostgreSQL run one transaction across databases/schemas).
 */
import type { DatabaseDialect } from '../config/database-url.js';
import { ConfigError } from '../config/errors.js';
import { SQL_IDENTIFIER } from '../config/options.js';

/** Every table hwstash has ever created; a migration that adds one adds it here. */
export const OWN_TABLES = ['hwstash_schema_migrations', 'hwstash_property_history', 'hwstash_instance_claims', 'hwstash_hosts'] as const;
export type OwnTable = (typeof OWN_TABLES)[number];

export const DEFAULT_POSTGRES_SCHEMA = 'hwstash';
const MYSQL_SUFFIX = '_hwstash';
const MYSQL_NAME_LIMIT = 64;

export interface OwnSchema {
  readonly dialect: DatabaseDialect;
  /** The MySQL database or PostgreSQL schema; null on SQLite (Nova's own file). */
  readonly name: string | null;
  /** A table of hwstash's, qualified and quoted for SQL. */
  table(name: OwnTable): string;
  /** For operators: where the tables are, to follow "in". */
  readonly description: string;
}

const quoteFor = (dialect: DatabaseDialect, id: string): string => (dialect === 'mysql' ? `\`${id}\`` : `"${id}"`);

/**
 * The name of hwstash's schema for a cell database: `configured` when set (already checked to be
 * a plain identifier), else the default. Throws ConfigError when the default cannot be formed.
 */
export function ownSchemaName(dialect: DatabaseDialect, cellDatabase: string | undefined, configured: string | undefined): string | null {
  if (dialect === 'sqlite') return null;
  if (configured) {
    if (!SQL_IDENTIFIER.test(configured)) {
      throw new ConfigError(`[hwstash] schema = ${JSON.stringify(configured)} is not allowed; allowed: letters, digits and _, up to 63, not starting with a digit`);
    }
    if (dialect === 'mysql' && configured === cellDatabase) {
      throw new ConfigError(`[hwstash] schema = ${configured} names Nova's own cell database; hwstash's tables must live outside it`);
    }
    return configured;
  }
  if (dialect === 'postgres') return DEFAULT_POSTGRES_SCHEMA;
  const derived = `${cellDatabase ?? ''}${MYSQL_SUFFIX}`;
  if (!cellDatabase || derived.length > MYSQL_NAME_LIMIT || /[`\u0000/\\.]/.test(derived)) {
    throw new ConfigError(
      `cannot derive the database for hwstash's own tables from the cell database name ${JSON.stringify(cellDatabase ?? '')}: set [hwstash] schema`,
    );
  }
  return derived;
}

export function ownSchema(dialect: DatabaseDialect, name: string | null): OwnSchema {
  const q = (id: string) => quoteFor(dialect, id);
  return {
    dialect,
    name,
    table: (t) => (name === null ? q(t) : `${q(name)}.${q(t)}`),
    description:
      name === null
        ? "the same SQLite file as Nova's tables"
        : dialect === 'mysql'
          ? `database ${name} on the cell database's server`
          : `schema ${name} of the cell database`,
  };
}

/** A quoted identifier of the dialect (database, schema or table name). */
export function quoteIdentifier(dialect: DatabaseDialect, id: string): string {
  return quoteFor(dialect, id);
}
