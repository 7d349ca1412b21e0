/**
 * SQLAlchemy database URLs (what nova.conf's `[database] connection` holds) translated into
 * sequelize constructor options. The URL grammar is SQLAlchemy's own (sqlalchemy.engine.url
 * _parse_url): `dialect[+driver]://[user[:password]@][host|[v6host]][:port][/database][?query]`,
 * user and password percent-decoded, the password running to the next `@`.
 */
import { ConfigError } from './errors.js';
import { redactSecretValue } from './redact.js';

export type DatabaseDialect = 'mysql' | 'postgres' | 'sqlite';

export interface DatabaseOptions {
  dialect: DatabaseDialect;
  database: string | undefined;
  host: string | undefined;
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
  /** SQLite file, or ':memory:'. */
  storage: string | undefined;
  /** Passed to the driver (mysql2: socketPath, charset). */
  dialectOptions: Record<string, string>;
  /** Query parameters that have no equivalent here (SQLAlchemy plugins, SSL files …). */
  ignoredParameters: string[];
  /** The URL with its password replaced by ***, for logs. */
  redacted: string;
}

const SCHEMES: Readonly<Record<string, DatabaseDialect>> = {
  mysql: 'mysql',
  'mysql+pymysql': 'mysql',
  'mysql+mysqldb': 'mysql',
  postgresql: 'postgres',
  'postgresql+psycopg2': 'postgres',
  postgres: 'postgres',
  sqlite: 'sqlite',
};
export const SUPPORTED_DATABASE_SCHEMES: readonly string[] = Object.keys(SCHEMES);

const DEFAULT_PORTS: Readonly<Record<DatabaseDialect, number | undefined>> = { mysql: 3306, postgres: 5432, sqlite: undefined };

// SQLAlchemy 1.4's rfc1738 pattern.
const URL_PATTERN =
  /^(?<name>[\w+]+):\/\/(?:(?<username>[^:/]*)(?::(?<password>[^@]*))?@)?(?:(?:\[(?<ipv6host>[^/?]+)\]|(?<ipv4host>[^/:?]+))?(?::(?<port>[^/?]*))?)?(?:\/(?<database>[^?]*))?(?:\?(?<query>.*))?$/;

/** Python's urllib.parse.unquote: bad escapes stay as written. */
function unquote(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function parseQuery(query: string | undefined): Array<[string, string]> {
  if (!query) return [];
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const [k, v] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
      return [unquote(k.replace(/\+/g, ' ')), unquote(v.replace(/\+/g, ' '))] as [string, string];
    });
}

/** A URL hwstash cannot use; `reason` says why without repeating the URL. */
export class DatabaseUrlError extends ConfigError {
  constructor(
    readonly reason: string,
    readonly redacted: string,
  ) {
    super(`database URL ${redacted}: ${reason}`);
    this.name = 'DatabaseUrlError';
  }
}

/** Hide the password from anything that serialises or inspects the options. */
function guard(options: DatabaseOptions): DatabaseOptions {
  const visible = (): Omit<DatabaseOptions, 'password'> & { password?: string } => ({
    ...options,
    password: options.password === undefined ? undefined : '***',
  });
  Object.defineProperty(options, 'toJSON', { value: visible, enumerable: false });
  Object.defineProperty(options, Symbol.for('nodejs.util.inspect.custom'), { value: visible, enumerable: false });
  return options;
}

/**
 * Translate a SQLAlchemy URL. Throws DatabaseUrlError (a ConfigError) naming the scheme and the
 * supported ones, or what else is wrong; messages show the URL with its password redacted.
 */
export function parseDatabaseUrl(url: string): DatabaseOptions {
  const redacted = redactSecretValue(url);
  const m = URL_PATTERN.exec(url);
  if (!m?.groups) {
    throw new DatabaseUrlError('not a URL of the form dialect[+driver]://[user[:password]@]host[:port]/database[?parameters]', redacted);
  }
  const g = m.groups;
  // SQLAlchemy ends the password at the first '@': with a second one, the rest of the password
  // would be read as host and database (where Nova, too, would try to connect) and show in every
  // message naming them. Refused, with how to write it.
  if (g.password !== undefined && [g.ipv4host, g.ipv6host, g.port, g.database].some((part) => part?.includes('@'))) {
    throw new DatabaseUrlError("the password holds an unencoded '@' (SQLAlchemy reads the password only up to the first '@'); percent-encode it as %40", redacted);
  }
  const scheme = g.name!;
  const dialect = SCHEMES[scheme];
  if (!dialect) {
    throw new DatabaseUrlError(`unsupported scheme ${scheme}; supported: ${SUPPORTED_DATABASE_SCHEMES.join(', ')}`, redacted);
  }

  let port: number | undefined;
  if (g.port) {
    if (!/^\d+$/.test(g.port) || Number(g.port) > 65535) {
      throw new DatabaseUrlError(`port ${g.port} is not allowed; allowed: an integer from 0 to 65535`, redacted);
    }
    port = Number(g.port);
  }
  const host = g.ipv4host ?? g.ipv6host;
  const options: DatabaseOptions = {
    dialect,
    database: g.database,
    host: undefined,
    port: undefined,
    username: g.username === undefined ? undefined : unquote(g.username),
    password: g.password === undefined ? undefined : unquote(g.password),
    storage: undefined,
    dialectOptions: {},
    ignoredParameters: [],
    redacted,
  };

  const query = parseQuery(g.query);
  if (dialect === 'sqlite') {
    // pysqlite: no database part, or an empty one, is an in-memory database.
    options.storage = g.database ? g.database : ':memory:';
    options.database = undefined;
    options.ignoredParameters = query.map(([k]) => k);
    return guard(options);
  }

  options.host = host;
  options.port = port;
  for (const [key, value] of query) {
    if (dialect === 'mysql' && key === 'unix_socket') options.dialectOptions.socketPath = value;
    else if (dialect === 'mysql' && key === 'charset') options.dialectOptions.charset = value;
    else if (dialect === 'postgres' && key === 'host') options.host = value;
    else if (dialect === 'postgres' && key === 'port' && /^\d+$/.test(value)) options.port = Number(value);
    else options.ignoredParameters.push(key);
  }
  if (options.host === undefined || options.host === '') {
    // Without a host, PyMySQL connects to localhost and libpq to its socket directory.
    options.host = dialect === 'mysql' ? 'localhost' : '/var/run/postgresql';
  }
  if (options.port === undefined) options.port = DEFAULT_PORTS[dialect];
  return guard(options);
}
