/**
 * Reading `instance_system_metadata` rows. No filter on `deleted`: Nova loads an instance's
 * system_metadata without one (DESIGN.md, "Nova's database"), so for a live instance every row
 * counts, soft-deleted or not — the "soft-deleted means absent" is about `instances`
 * rows, and following it here would write a second row Nova then reads as a duplicate.
 */
import type { Transaction } from 'sequelize';
import { PROPERTIES } from '../core/properties.js';
import type { Database } from './database.js';
import { numberOrNull, textOrNull } from './row.js';
import { quote, select } from './sql.js';
import type { SysmetaRow } from './sysmeta.js';

const PROPERTY_KEYS = PROPERTIES.map((p) => p.key);

function toRow(r: Record<string, unknown>): SysmetaRow {
  return {
    id: Number(r['id']),
    instanceUuid: String(r['instance_uuid']),
    key: String(r['key']),
    value: textOrNull(r['value']),
    deleted: numberOrNull(r['deleted']),
  };
}

/** Every system_metadata row of several instances with one query, grouped by instance, in id order. */
export async function sysmetaRowsOf(db: Database, uuids: readonly string[], transaction?: Transaction): Promise<Map<string, SysmetaRow[]>> {
  const out = new Map<string, SysmetaRow[]>(uuids.map((u) => [u, []]));
  if (uuids.length === 0) return out;
  const rows = await select(
    db,
    `SELECT id, instance_uuid, ${quote(db, 'key')}, value, deleted FROM instance_system_metadata WHERE instance_uuid IN (:uuids)`,
    { uuids: [...uuids] },
    transaction,
  );
  for (const r of rows) out.get(String(r['instance_uuid']))?.push(toRow(r));
  // Id order: for a key stored twice, Nova reads the later row.
  for (const list of out.values()) list.sort((a, b) => a.id - b.id);
  return out;
}

/** The rows of some keys of one instance, in id order. */
export async function sysmetaRowsForKeys(db: Database, uuid: string, keys: readonly string[], transaction?: Transaction): Promise<SysmetaRow[]> {
  if (keys.length === 0) return [];
  const k = quote(db, 'key');
  const rows = await select(
    db,
    `SELECT id, instance_uuid, ${k}, value, deleted FROM instance_system_metadata WHERE instance_uuid = :uuid AND ${k} IN (:keys) ORDER BY id`,
    { uuid, keys: [...keys] },
    transaction,
  );
  return rows.map(toRow);
}

/**
 * The instances among `uuids` that lack a row for at least one of the 11 properties, with one
 * query: a cheap look before fetching domain facts and locking anything.
 */
export async function instancesMissingProperties(db: Database, uuids: readonly string[]): Promise<Set<string>> {
  if (uuids.length === 0) return new Set();
  const k = quote(db, 'key');
  const rows = await select(
    db,
    `SELECT instance_uuid, ${k} FROM instance_system_metadata WHERE instance_uuid IN (:uuids) AND ${k} IN (:keys)`,
    { uuids: [...uuids], keys: PROPERTY_KEYS },
  );
  const present = new Map<string, Set<string>>();
  for (const r of rows) {
    const uuid = String(r['instance_uuid']);
    let keys = present.get(uuid);
    if (!keys) present.set(uuid, (keys = new Set()));
    keys.add(String(r['key']));
  }
  return new Set(uuids.filter((u) => (present.get(u)?.size ?? 0) < PROPERTY_KEYS.length));
}
