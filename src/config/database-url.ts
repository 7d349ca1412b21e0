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
  /** TLS as the URL's query parameters ask for it (PyMySQL's ssl_*, libpq's sslmode …); undefined = plain. */
  tls: DatabaseTls | undefined;
  /** Query parameters that have no equivalent here (SQLAlchemy plugins …). */
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

/**
 * TLS to the database server. Files are paths (read when the database is opened, never logged);
 * a TLS connection that cannot be made is an error, never a fallback to plain text.
 */
export interface DatabaseTls {
  /** CA file to verify the server with; undefined = the system's CAs (when verifying). */
  ca: string | undefined;
  /** Client certificate and key files (for servers that require X509). */
  cert: string | undefined;
  key: string | undefined;
  /** Verify the server's certificate chain. */
  verifyCert: boolean;
  /** Also check that the certificate names the host connected to. */
  verifyIdentity: boolean;
  /** The parameters that asked for TLS, for messages: `ssl_ca=/etc/…/ca.pem` (paths only). */
  source: string;
}

const TRUE_TEXT = new Set(['true', '1', 'yes', 'on', 'required', '2']);
const FALSE_TEXT = new Set(['false', '0', 'no', 'off', 'none']);

/** PyMySQL's reading of ssl_verify_cert and friends: true/false words; other text counts as true. */
function pyBool(value: string): boolean {
  return !FALSE_TEXT.has(value.trim().toLowerCase());
}

export const MYSQL_SSL_MODES = ['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'] as const;
export const POSTGRES_SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

const MYSQL_TLS_KEYS = new Set([
  'ssl',
  'ssl_ca',
  'ssl_cert',
  'ssl_key',
  'ssl_verify_cert',
  'ssl_verify_identity',
  'ssl_check_hostname',
  'ssl_disabled',
  'ssl_mode',
]);
const POSTGRES_TLS_KEYS = new Set(['sslmode', 'sslrootcert', 'sslcert', 'sslkey']);

/**
 * PyMySQL (through SQLAlchemy's mysql+pymysql, which hands ssl_ca/ssl_cert/ssl_key/ssl_check_hostname
 * to it as its ssl dict and the other parameters as keywords): TLS when any of ssl_ca, ssl_cert,
 * ssl_key, ssl_verify_cert, ssl_verify_identity is set (or `ssl=true`, or mysqlclient's
 * ssl_mode=REQUIRED/VERIFY_CA/VERIFY_IDENTITY), unless ssl_disabled. With a CA the server's
 * certificate and host name are verified; without one, PyMySQL does not verify (CERT_NONE) unless
 * ssl_verify_cert is true, which then uses the system's CAs. PREFERRED is read as REQUIRED:
 * hwstash never falls back to plain text.
 */
function mysqlTls(params: ReadonlyMap<string, string>, redacted: string): DatabaseTls | undefined {
  const get = (k: string) => params.get(k);
  const source = [...params.entries()].map(([k, v]) => `${k}=${v}`).join('&');
  const mode = get('ssl_mode')?.toUpperCase();
  if (mode !== undefined && !(MYSQL_SSL_MODES as readonly string[]).includes(mode)) {
    throw new DatabaseUrlError(`ssl_mode=${get('ssl_mode')} is not allowed; allowed: ${MYSQL_SSL_MODES.join(', ')}`, redacted);
  }
  if ((get('ssl_disabled') !== undefined && pyBool(get('ssl_disabled')!)) || mode === 'DISABLED') return undefined;
  const ca = get('ssl_ca') || undefined;
  const cert = get('ssl_cert') || undefined;
  const key = get('ssl_key') || undefined;
  const verifyCertParam = get('ssl_verify_cert');
  const identityParam = get('ssl_verify_identity') ?? get('ssl_check_hostname');
  const wanted =
    ca !== undefined ||
    cert !== undefined ||
    key !== undefined ||
    (verifyCertParam !== undefined && pyBool(verifyCertParam)) ||
    (identityParam !== undefined && pyBool(identityParam)) ||
    (get('ssl') !== undefined && pyBool(get('ssl')!)) ||
    (mode !== undefined && mode !== 'DISABLED');
  if (!wanted) return undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new DatabaseUrlError('ssl_cert and ssl_key go together: give both or neither', redacted);
  }
  let verifyCert = verifyCertParam !== undefined ? pyBool(verifyCertParam) : ca !== undefined;
  let verifyIdentity = identityParam !== undefined ? pyBool(identityParam) : verifyCert && ca !== undefined;
  if (mode === 'VERIFY_CA') verifyCert = true;
  if (mode === 'VERIFY_IDENTITY') verifyCert = verifyIdentity = true;
  // Asking for the host name check asks for the chain too (a name on an unverified certificate proves nothing).
  if (verifyIdentity) verifyCert = true;
  return { ca, cert, key, verifyCert, verifyIdentity, source };
}

/**
 * libpq (through psycopg2): sslmode decides. disable: plain; require: encrypted, not verified (but
 * verified as verify-ca when sslrootcert is given, as libpq does); verify-ca: the chain; verify-full:
 * the chain and the host name. allow and prefer, which would fall back to plain text, are read as
 * require. The CA is sslrootcert (`system`: the system's CAs), else ~/.postgresql/root.crt as for
 * libpq. No sslmode but sslrootcert/sslcert: require.
 */
function postgresTls(params: ReadonlyMap<string, string>, redacted: string, home: string | undefined): DatabaseTls | undefined {
  const source = [...params.entries()].map(([k, v]) => `${k}=${v}`).join('&');
  let mode = params.get('sslmode');
  if (mode !== undefined && !(POSTGRES_SSL_MODES as readonly string[]).includes(mode)) {
    throw new DatabaseUrlError(`sslmode=${mode} is not allowed; allowed: ${POSTGRES_SSL_MODES.join(', ')}`, redacted);
  }
  if (mode === 'disable') return undefined;
  const rootcert = params.get('sslrootcert') || undefined;
  const cert = params.get('sslcert') || undefined;
  const key = params.get('sslkey') || undefined;
  if (mode === undefined) {
    if (rootcert === undefined && cert === undefined && key === undefined) return undefined;
    mode = 'require';
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new DatabaseUrlError('sslcert and sslkey go together: give both or neither', redacted);
  }
  const verifyCert = mode === 'verify-ca' || mode === 'verify-full' || (mode === 'require' && rootcert !== undefined);
  const verifyIdentity = mode === 'verify-full';
  let ca: string | undefined;
  if (verifyCert) {
    if (rootcert === 'system') ca = undefined;
    else if (rootcert !== undefined) ca = rootcert;
    else if (home) ca = `${home}/.postgresql/root.crt`;
    else throw new DatabaseUrlError(`sslmode=${mode} needs sslrootcert (a CA file, or system)`, redacted);
  }
  return { ca, cert, key, verifyCert, verifyIdentity, source };
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
export function parseDatabaseUrl(url: string, env: { HOME?: string | undefined } = process.env): DatabaseOptions {
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
    tls: undefined,
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
  const tlsKeys = dialect === 'mysql' ? MYSQL_TLS_KEYS : POSTGRES_TLS_KEYS;
  const tlsParams = new Map(query.filter(([k]) => tlsKeys.has(k)));
  options.tls = dialect === 'mysql' ? mysqlTls(tlsParams, redacted) : postgresTls(tlsParams, redacted, env.HOME);
  for (const [key, value] of query) {
    if (tlsKeys.has(key)) continue;
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
