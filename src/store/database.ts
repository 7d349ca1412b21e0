/**
 * Opening a sequelize connection from a SQLAlchemy URL (nova.conf's `[database] connection`),
 * with each dialect set up the way Nova's data needs: MySQL sessions in UTC, SQLite in WAL mode
 * with a busy timeout (several processes share the file), bounded pools, and every statement
 * counted. A database that cannot be reached becomes a one-line DatabaseUnavailableError.
 */
import fs from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Sequelize, type Options } from 'sequelize';
import { ConfigError } from '../config/errors.js';
import { parseDatabaseUrl, type DatabaseDialect, type DatabaseOptions, type DatabaseTls } from '../config/database-url.js';
import { passwordsInUrl, redactText } from '../config/redact.js';
import { DatabaseTlsError, DatabaseUnavailableError, InsufficientPrivilegeError, MissingTableError, errorChain, isPrivilegeError } from './errors.js';
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
  /** [database] connection_recycle_time: seconds after which a pooled connection is replaced; 0 = never. */
  connectionRecycleSeconds?: number;
  /** [database] mysql_sql_mode: set on every MySQL session; empty or unset = the server's. */
  mysqlSqlMode?: string;
}

/** oslo.db's [database] options as openDatabase takes them. */
export function databaseOpenOptions(d: { maxPoolSize: number; connectionRecycleTime: number; mysqlSqlMode: string }): OpenDatabaseOptions {
  return { poolMax: d.maxPoolSize, connectionRecycleSeconds: d.connectionRecycleTime, mysqlSqlMode: d.mysqlSqlMode };
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
  const text = (message || code || 'unknown error').replace(/^(?:[A-Za-z]*Error(?: \[[A-Z0-9_]+\])?: )+/, '');
  // AggregateError (several addresses tried) has an empty message but a code.
  return text.split('\n')[0]!.trim();
}

function sequelizeOptions(o: DatabaseOptions, opts: OpenDatabaseOptions, counter: QueryCounter, ssl: Record<string, unknown> | undefined, validate: (c: unknown) => boolean): Options {
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
  if (ssl) dialectOptions['ssl'] = ssl;
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
    pool: { max: opts.poolMax ?? 5, min: 0, idle: 10_000, acquire: 60_000, evict: 10_000, validate },
  };
}

const TLS_FILES = { ca: 'ssl_ca', cert: 'ssl_cert', key: 'ssl_key' } as const;
const PG_TLS_FILES = { ca: 'sslrootcert', cert: 'sslcert', key: 'sslkey' } as const;

/**
 * The driver's `ssl` option (mysql2 and pg take the same shape): the files read now, so a missing
 * or unreadable one is a ConfigError naming the parameter and the file (never its content).
 */
function tlsOptions(t: DatabaseTls, dialect: DatabaseDialect, where: string): Record<string, unknown> {
  const names = dialect === 'mysql' ? TLS_FILES : PG_TLS_FILES;
  const read = (part: 'ca' | 'cert' | 'key', file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      throw new ConfigError(`TLS to the database at ${where}: cannot read ${names[part]} file ${file}: ${why}`, { section: 'database', option: 'connection' });
    }
  };
  const ssl: Record<string, unknown> = { rejectUnauthorized: t.verifyCert };
  const ca = read('ca', t.ca);
  const cert = read('cert', t.cert);
  const key = read('key', t.key);
  if (ca) ssl['ca'] = ca;
  if (cert) ssl['cert'] = cert;
  if (key) ssl['key'] = key;
  if (dialect === 'mysql') ssl['verifyIdentity'] = t.verifyIdentity;
  else ssl['checkServerIdentity'] = t.verifyIdentity ? tls.checkServerIdentity : () => undefined;
  // Keys are Buffers: keep them out of anything that prints the options.
  Object.defineProperty(ssl, Symbol.for('nodejs.util.inspect.custom'), { value: () => '[TLS options]', enumerable: false });
  Object.defineProperty(ssl, 'toJSON', { value: () => '[TLS options]', enumerable: false });
  return ssl;
}

/** Driver codes and messages of a TLS handshake that failed, with what they mean for an operator. */
const TLS_REASONS: ReadonlyArray<[RegExp, string]> = [
  [/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|self[- ]signed certificate|unable to (?:verify|get local issuer)/i, "the server's certificate is not signed by the trusted CA"],
  [/ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match|does not match certificate's altnames/i, "the server's certificate does not name this host"],
  [/CERT_HAS_EXPIRED|certificate has expired/i, "the server's certificate has expired"],
  [/CERT_NOT_YET_VALID/i, "the server's certificate is not yet valid"],
  [/HANDSHAKE_NO_SSL_SUPPORT|does not support secure connection|does not support SSL/i, 'the server does not offer TLS (hwstash never falls back to plain text)'],
  [/ERR_SSL|SSL routines|alert|wrong version number|handshake failure|EPROTO/i, 'the TLS handshake failed'],
];

function tlsReason(err: unknown): string | undefined {
  for (const e of errorChain(err)) {
    const text = `${(e as { code?: unknown }).code ?? ''} ${e instanceof Error ? e.message : String(e)}`;
    for (const [pattern, reason] of TLS_REASONS) if (pattern.test(text)) return reason;
  }
  return undefined;
}

/** Which CA a TLS failure was checked against, for the message. */
function trustedBy(t: DatabaseTls): string {
  if (!t.verifyCert) return 'not verifying the certificate';
  return t.ca ? `CA file ${t.ca}` : "the system's CAs";
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
  const ssl = parsed.tls ? tlsOptions(parsed.tls, parsed.dialect, where) : undefined;
  if (parsed.tls && !parsed.tls.verifyCert) {
    opts.logger?.warn({ database: where, tls: parsed.tls.source }, "TLS without verifying the server's certificate (give a CA to verify it)");
  }
  // connection_recycle_time: a connection older than this is dropped when next taken from the pool.
  const born = new WeakMap<object, number>();
  const recycleMs = (opts.connectionRecycleSeconds ?? 0) * 1000;
  let sequelize: Sequelize;
  const validate = (conn: unknown): boolean => {
    const cm = sequelize.connectionManager as unknown as { validate?: (c: unknown) => boolean };
    if (cm.validate && !cm.validate(conn)) return false;
    const at = conn && typeof conn === 'object' ? born.get(conn) : undefined;
    return !(recycleMs > 0 && at !== undefined && Date.now() - at >= recycleMs);
  };
  sequelize = new Sequelize(sequelizeOptions(parsed, opts, counter, ssl, validate));
  const sqlMode = opts.mysqlSqlMode ?? '';
  sequelize.addHook('afterConnect', async (conn: unknown) => {
    if (conn && typeof conn === 'object') born.set(conn, Date.now());
    if (parsed.dialect === 'mysql' && parsed.tls?.verifyIdentity && parsed.host && isIP(parsed.host)) {
      // mysql2 passes no servername for an IP address host; Node then checks the certificate
      // against the socket's host. Checked here once more against the address itself (a resumed
      // TLS session carries no certificate: its first handshake was checked).
      const socket = (conn as { stream?: tls.TLSSocket }).stream;
      const cert = socket?.isSessionReused?.() ? undefined : socket?.getPeerCertificate?.();
      const bad = cert && Object.keys(cert).length > 0 ? tls.checkServerIdentity(parsed.host, cert) : undefined;
      if (bad) {
        (conn as { destroy?: () => void }).destroy?.();
        throw Object.assign(new Error(bad.message), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      }
    }
    if (parsed.dialect === 'mysql' && sqlMode !== '') {
      const c = conn as { query: (sql: string, values: unknown[], cb: (err: Error | null) => void) => void };
      await new Promise<void>((resolve, reject) => c.query('SET SESSION sql_mode = ?', [sqlMode], (err) => (err ? reject(err) : resolve())));
    }
  });
  if (parsed.dialect === 'sqlite') setSqliteBusyTimeout(sequelize, opts.busyTimeoutMs ?? 10_000);

  const unavailable = (err: unknown) => {
    const reason = parsed.tls ? tlsReason(err) : undefined;
    if (reason && parsed.tls) {
      return new DatabaseTlsError(where, `${reason} (${trustedBy(parsed.tls)}; ${redactText(causeText(err), secrets)})`);
    }
    return new DatabaseUnavailableError(where, redactText(causeText(err), secrets));
  };
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
