/**
 * Opening a sequelize connection from a SQLAlchemy URL (nova.conf's `[database] connection`),
 * with each dialect set up the way Nova's data needs: MySQL sessions in UTC, SQLite in WAL mode
 * with a busy timeout (several processes share the file), bounded pools, and every statement
 * counted. A database that cannot be reached becomes a one-line DatabaseUnavailableError.
 */
import type { Logger } from 'pino';
import { Sequelize, type Options } from 'sequelize';
import { parseDatabaseUrl, type DatabaseDialect, type DatabaseOptions } from '../config/database-url.js';
import { passwordsInUrl, redactText } from '../config/redact.js';
import { DatabaseUnavailableError, InsufficientPrivilegeError, MissingTableError, errorChain, isPrivilegeError } from './errors.js';
import { QueryCounter } from './query-counter.js';
import { ownSchema, ownSchemaName, type OwnSchema } from './own-schema.js';

export interface OpenDatabaseOptions {
  logger?: Logger;
  /** Connections per pool (MySQL, PostgreSQL). */
  poolMax?: number;
  /** How long a SQLite writer waits for another one before giving up. */
  busyTimeoutMs?: number;
  /** How long to wait for a TCP connection to the server. */
  connectTimeoutMs?: number;
  /** [hwstash] schema: where hwstash's own tables live; empty or unset = the default for the dialect. */
  ownSchema?: string;
}

export interface Database {
  readonly sequelize: Sequelize;
  readonly dialect: DatabaseDialect;
  /** Where the database is, for messages: `mysql://host:port/name`, `sqlite:///file`; no credentials. */
  readonly where: string;
  /** The configured URL with its password replaced by ***. */
  readonly redactedUrl: string;
  readonly queries: QueryCounter;
  /** Where hwstash's own tables live (outside Nova's schema). */
  readonly own: OwnSchema;
  /** A connection failure or a missing table as an operator's error; any other error unchanged. */
  translate(err: unknown): unknown;
  close(): Promise<void>;
}

const CONNECTION_ERRORS = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeAccessDeniedError',
  'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError',
  'SequelizeInvalidConnectionError',
  'SequelizeConnectionTimedOutError',
  'SequelizeConnectionAcquireTimeoutError',
]);

/** The table a "no such table" error names, for each dialect's wording; undefined for other errors. */
export function missingTable(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : '';
  const m =
    /no such table: (?:main\.)?(\w+)/.exec(message) ?? // SQLite
    /Table '(?:[^'.]*\.)?(\w+)' doesn't exist/.exec(message) ?? // MySQL ER_NO_SUCH_TABLE
    /relation "(?:\w+\.)?(\w+)" does not exist/.exec(message); // PostgreSQL 42P01, schema-qualified or not
  return m?.[1];
}

/** Driver codes of a connection lost under a statement (sequelize reports those as plain DatabaseErrors). */
const LOST_CONNECTION_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'PROTOCOL_CONNECTION_LOST', // mysql2: the server closed the connection
  '57P01', // PostgreSQL admin_shutdown
  '57P02', // PostgreSQL crash_shutdown
  '57P03', // PostgreSQL cannot_connect_now
]);

/** A failed connect, or a link that broke in the middle of a statement: the database is unavailable. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof Error && CONNECTION_ERRORS.has(err.name)) return true;
  for (const e of errorChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && LOST_CONNECTION_CODES.has(code)) return true;
    if (e instanceof Error && /connection is in closed state|Connection terminated/i.test(e.message)) return true;
  }
  return false;
}

function describeWhere(o: DatabaseOptions): string {
  if (o.dialect === 'sqlite') return `sqlite:///${o.storage ?? ':memory:'}`;
  const socket = o.dialectOptions['socketPath'];
  const at = socket ? `localhost (socket ${socket})` : `${o.host ?? 'localhost'}:${o.port ?? ''}`;
  return `${o.dialect}://${at}/${o.database ?? ''}`;
}

/** The innermost driver message of an error, which says why (refused, denied, unknown host). */
function causeText(err: unknown): string {
  let e: unknown = err;
  for (const inner of errorChain(err)) e = inner;
  const message = e instanceof Error ? e.message : String(e);
  const code = e && typeof e === 'object' && 'code' in e ? String((e as { code?: unknown }).code ?? '') : '';
  // Sequelize wraps driver errors and repeats their class name: keep the reason.
  const text = (message || code || 'unknown error').replace(/^(?:[A-Za-z]*Error: )+/, '');
  // AggregateError (several addresses tried) has an empty message but a code.
  return text.split('\n')[0]!.trim();
}

function sequelizeOptions(o: DatabaseOptions, opts: OpenDatabaseOptions, counter: QueryCounter): Options {
  const logger = opts.logger;
  const base: Options = {
    dialect: o.dialect,
    logging: (sql: string) => {
      counter.record();
      logger?.trace({ sql }, 'sql');
    },
    benchmark: false,
    define: { timestamps: false, freezeTableName: true },
  };
  if (o.dialect === 'sqlite') {
    return { ...base, storage: o.storage ?? ':memory:' };
  }
  const connectTimeout = opts.connectTimeoutMs ?? 10_000;
  const dialectOptions: Record<string, unknown> = { ...o.dialectOptions };
  if (o.dialect === 'mysql') {
    dialectOptions['connectTimeout'] = connectTimeout;
  } else {
    dialectOptions['connectionTimeoutMillis'] = connectTimeout;
  }
  return {
    ...base,
    database: o.database,
    username: o.username,
    password: o.password,
    host: o.host,
    port: o.port,
    dialectOptions,
    // Nova's datetimes are naive UTC: keep the MySQL session in UTC so NOW() and DATETIME agree.
    timezone: '+00:00',
    pool: { max: opts.poolMax ?? 5, min: 0, idle: 10_000, acquire: 60_000, evict: 10_000 },
  };
}

/**
 * node-sqlite3 opens one handle per transaction; each needs the busy timeout, or a second
 * writer gets SQLITE_BUSY at once instead of waiting for the first.
 */
function setSqliteBusyTimeout(sequelize: Sequelize, ms: number): void {
  const cm = (sequelize as unknown as { connectionManager: { getConnection: (o?: unknown) => Promise<unknown> } }).connectionManager;
  const original = cm.getConnection.bind(cm);
  const configured = new WeakSet<object>();
  cm.getConnection = async (options?: unknown) => {
    const conn = (await original(options)) as { configure?: (opt: string, v: number) => void };
    if (conn && typeof conn === 'object' && !configured.has(conn)) {
      conn.configure?.('busyTimeout', ms);
      configured.add(conn);
    }
    return conn;
  };
}

/**
 * Open and check a connection. Throws ConfigError for a URL that cannot be parsed and
 * DatabaseUnavailableError when the database cannot be reached.
 */
export async function openDatabase(url: string, opts: OpenDatabaseOptions = {}): Promise<Database> {
  const parsed = parseDatabaseUrl(url);
  const secrets = passwordsInUrl(url);
  if (parsed.password) secrets.push(parsed.password);
  const where = describeWhere(parsed);
  const own = ownSchema(parsed.dialect, ownSchemaName(parsed.dialect, parsed.database, opts.ownSchema));
  const counter = new QueryCounter();
  const sequelize = new Sequelize(sequelizeOptions(parsed, opts, counter));
  if (parsed.dialect === 'sqlite') setSqliteBusyTimeout(sequelize, opts.busyTimeoutMs ?? 10_000);

  const unavailable = (err: unknown) => new DatabaseUnavailableError(where, redactText(causeText(err), secrets));
  const db: Database = {
    sequelize,
    dialect: parsed.dialect,
    where,
    redactedUrl: parsed.redacted,
    queries: counter,
    own,
    translate: (err) => {
      if (isConnectionError(err)) return unavailable(err);
      if (isPrivilegeError(err)) return new InsufficientPrivilegeError(where, redactText(causeText(err), secrets));
      const table = missingTable(err);
      return table ? new MissingTableError(table, where) : err;
    },
    close: () => sequelize.close(),
  };
  try {
    await sequelize.authenticate({ logging: false });
    if (parsed.dialect === 'sqlite' && parsed.storage !== ':memory:') {
      // WAL lets readers (the CLI) run while the agent writes; it is a property of the file.
      await sequelize.query('PRAGMA journal_mode=WAL', { logging: false });
    }
  } catch (err) {
    await sequelize.close().catch(() => undefined);
    throw unavailable(err);
  }
  opts.logger?.debug({ database: parsed.redacted }, 'database connected');
  return db;
}
