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
import { isoFromNaiveUtc, naiveUtcText } from './timestamps.js';

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

/**
 * Make one key of an instance hold `value` (or no row, with `remove`), as Nova's own save leaves
 * it: the highest-id row is updated, lower duplicates hard-deleted (Nova reads soft-deleted
 * system_metadata rows too). Returns the row to insert when the key has none: the caller inserts
 * all of a transaction's new rows at once.
 */
export async function putPropertyRow(
  db: Database,
  uuid: string,
  key: string,
  rowsOfKey: readonly SysmetaRow[],
  next: { remove: true } | { remove: false; value: string | null },
  at: string,
  transaction: Transaction,
): Promise<Record<string, unknown> | null> {
  const ofKey = [...rowsOfKey].sort((a, b) => a.id - b.id);
  const top = ofKey[ofKey.length - 1];
  const hardDelete = async (ids: number[]) => {
    if (ids.length) await db.sequelize.query('DELETE FROM instance_system_metadata WHERE id IN (:ids)', { replacements: { ids }, transaction });
  };
  if (next.remove) {
    await hardDelete(ofKey.map((r) => r.id));
    return null;
  }
  if (!top) return { instance_uuid: uuid, key, value: next.value, created_at: at, updated_at: null, deleted_at: null, deleted: 0 };
  await db.sequelize.query(
    'UPDATE instance_system_metadata SET value = :value, updated_at = :at, deleted = 0, deleted_at = NULL WHERE id = :id',
    { replacements: { value: next.value, at, id: top.id }, transaction },
  );
  await hardDelete(ofKey.slice(0, -1).map((r) => r.id));
  return null;
}

/**
 * When Nova last rebuilt each of the instances (ISO, UTC), from its instance actions, with one
 * query. A rebuild replaces the image properties on purpose; nova-manage records no action.
 */
export async function lastRebuilds(db: Database, uuids: readonly string[], transaction?: Transaction): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (uuids.length === 0) return out;
  const time = naiveUtcText(db.dialect, 'MAX(start_time)');
  const rows = await select(
    db,
    `SELECT instance_uuid, ${time} AS at FROM instance_actions WHERE instance_uuid IN (:uuids) AND action = 'rebuild' GROUP BY instance_uuid`,
    { uuids: [...uuids] },
    transaction,
  );
  for (const r of rows) {
    const at = isoFromNaiveUtc(r['at']);
    if (at) out.set(String(r['instance_uuid']), at);
  }
  return out;
}
