/**
 * The store's errors. Messages are for an operator: one line, naming the database by its
 * redacted URL and host, the instance, the key or the property; never a password.
 */

/** The database cannot be reached (refused, unknown host, access denied, unreadable file). */
export class DatabaseUnavailableError extends Error {
  constructor(
    /** Where: `host:port` (or the socket or SQLite file), credentials never included. */
    readonly where: string,
    /** The driver's reason, passwords removed. */
    readonly reason: string,
  ) {
    super(`cannot connect to the database at ${where}: ${reason}`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** The TLS connection to the database failed: which host, against which CA, why. Never retried in plain text. */
export class DatabaseTlsError extends DatabaseUnavailableError {
  constructor(where: string, reason: string) {
    super(where, reason);
    this.message = `TLS to the database at ${where} failed: ${reason}`;
    this.name = 'DatabaseTlsError';
  }
}

/** The database account lacks a privilege hwstash needs (MySQL 1044/1142/1227, PostgreSQL 42501). */
export class InsufficientPrivilegeError extends Error {
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(`the database account at ${where} lacks a privilege hwstash needs: ${reason}; \`hwstash db grants\` prints the grants it needs`);
    this.name = 'InsufficientPrivilegeError';
  }
}

const PRIVILEGE_CODES = new Set(['ER_DBACCESS_DENIED_ERROR', 'ER_TABLEACCESS_DENIED_ERROR', 'ER_COLUMNACCESS_DENIED_ERROR', 'ER_SPECIFIC_ACCESS_DENIED_ERROR', '42501']);

/** An error of a statement the account may not run, anywhere in the driver's chain. */
export function isPrivilegeError(err: unknown): boolean {
  for (const e of errorChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && PRIVILEGE_CODES.has(code)) return true;
  }
  return false;
}

/** No live instance (deleted = 0) with this uuid. */
export class InstanceNotFoundError extends Error {
  constructor(readonly uuid: string) {
    super(`instance ${uuid} not found`);
    this.name = 'InstanceNotFoundError';
  }
}

/** A value hwstash refuses to write: Nova could not load it back, or the column cannot hold it. */
export class UnstorableValueError extends Error {
  constructor(
    readonly property: string,
    readonly value: string,
    reason: string,
  ) {
    super(`${property}: ${JSON.stringify(value)} cannot be stored: ${reason}`);
    this.name = 'UnstorableValueError';
  }
}

/** A table hwstash needs is not there: hwstash's own (not migrated) or Nova's (wrong database). */
export class MissingTableError extends Error {
  constructor(
    readonly table: string,
    readonly where: string,
  ) {
    super(
      `table ${table} does not exist in the database at ${where}: ` +
        (table.startsWith('hwstash_')
          ? 'run `hwstash db migrate`'
          : "is [database] connection Nova's cell database? For a standalone setup, run `hwstash db init-nova-schema`"),
    );
    this.name = 'MissingTableError';
  }
}

/**
 * An error and the driver errors it wraps, outermost first: sequelize keeps the driver's error
 * in `parent` (and the same one in `original`). Bounded, as a chain could loop.
 */
export function* errorChain(err: unknown, depth = 5): Generator<object> {
  let e: unknown = err;
  for (let i = 0; i < depth && e !== null && typeof e === 'object'; i++) {
    yield e;
    e = (e as { parent?: unknown }).parent ?? (e as { original?: unknown }).original;
  }
}

/** Both places hold history: merging could reorder an instance's history, so a person decides. */
export class RelocationConflictError extends Error {
  constructor(
    readonly legacy: string,
    readonly target: string,
  ) {
    super(
      `both ${legacy} (left by an earlier hwstash in Nova's schema) and ${target} hold history rows; ` +
        `nothing was moved. Keep the one you want (e.g. drop ${target} if it holds only test rows) and run \`hwstash db migrate\` again`,
    );
    this.name = 'RelocationConflictError';
  }
}
