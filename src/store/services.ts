/**
 * Nova's `services` table, read for one fact: the `version` this host's nova-compute last wrote
 * (Nova's Service object writes its own SERVICE_VERSION on every save), which says which Nova
 * release runs here (core/releases.ts).
 */
import type { Database } from './database.js';
import { missingTable } from './database.js';
import { quote, select } from './sql.js';

/** The version of this host's live nova-compute row; null without one (or without the table). */
export async function novaComputeVersion(db: Database, host: string): Promise<number | null> {
  try {
    const rows = await select<{ version: unknown }>(
      db,
      `SELECT version FROM services WHERE host = :host AND ${quote(db, 'binary')} = 'nova-compute' AND deleted = 0 ORDER BY id DESC`,
      { host },
    );
    const v = rows[0]?.version;
    return v === null || v === undefined ? null : Number(v);
  } catch (err) {
    // A standalone or embedded database has no services table: no nova-compute row.
    if (missingTable(err) === 'services') return null;
    throw err;
  }
}
