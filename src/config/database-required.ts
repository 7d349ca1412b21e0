/**
 * A compute host's nova.conf has no `[database] connection` (nova-compute reaches the database
 * only through nova-conductor), so hwstash needs an account of its own, configured in
 * `[hwstash] database_connection`. With configuration files given and neither option set,
 * everything that opens the database refuses with this error instead of falling back to an
 * SQLite file (the fallback is for the embedded defaults only).
 */
import { ConfigError } from './errors.js';
import type { Settings } from './settings.js';

export class NoDatabaseConfiguredError extends ConfigError {
  constructor(files: readonly string[]) {
    const read = files.length ? ` (files read: ${files.join(', ')})` : '';
    super(
      `no database configured${read}: set [hwstash] database_connection (or [database] connection) to the SQLAlchemy URL of Nova's cell database, ` +
        "with an account of hwstash's own: a compute host's nova.conf has none, and `hwstash db grants` prints the statements that create it",
      { section: 'hwstash', option: 'database_connection' },
    );
    this.name = 'NoDatabaseConfiguredError';
  }
}

/** The cell database URL, or NoDatabaseConfiguredError when configuration files give none. */
export function requireDatabaseConnection(settings: Pick<Settings, 'databaseConnection' | 'files'>): string {
  if (settings.databaseConnection === '') throw new NoDatabaseConfiguredError(settings.files);
  return settings.databaseConnection;
}
