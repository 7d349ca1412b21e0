/** The osinfo-db directory is missing or holds no OS database (osinfo-db not installed). */
export class OsInfoUnavailableError extends Error {
  override readonly name = 'OsInfoUnavailableError';

  constructor(
    message: string,
    readonly dir: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The database is there but libosinfo would refuse it (a file that is not well-formed, an entity
 * without id). Nova's own lookups fail on such a db, so no answer is better than a guess.
 */
export class OsInfoDbError extends Error {
  override readonly name = 'OsInfoDbError';

  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
