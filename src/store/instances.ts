/**
 * Reading Nova's `instances` rows. Nova soft-deletes an instance by setting `deleted` to its id;
 * only rows with `deleted = 0` exist for hwstash (Nova's own read_deleted='no' filter).
 */
import type { Transaction } from 'sequelize';
import { select } from './sql.js';
import type { Database } from './database.js';
import { INSTANCE_ATTRIBUTES, toInstanceRow, type InstanceRow, type NovaModels } from './nova-models.js';
import { textOrNull } from './row.js';
import { lockInstances } from './transaction.js';

export async function findLiveInstance(models: NovaModels, uuid: string, transaction?: Transaction): Promise<InstanceRow | null> {
  const row = await models.Instance.findOne({
    attributes: [...INSTANCE_ATTRIBUTES],
    where: { uuid, deleted: 0 },
    raw: true,
    transaction,
  });
  return row ? toInstanceRow(row as unknown as Record<string, unknown>) : null;
}

/** The live instances of a host, id and uuid only, in id order: one query for the whole host. */
export async function liveInstanceIdsOnHost(db: Database, host: string): Promise<Array<{ id: number; uuid: string }>> {
  const rows = await select(db, 'SELECT id, uuid FROM instances WHERE host = :host AND deleted = 0 ORDER BY id', { host });
  return rows.map((r) => ({ id: Number(r['id']), uuid: String(r['uuid']) }));
}

/**
 * The live instances among `uuids` (optionally only those still on `host`), in id order. With a
 * transaction they stay locked until it ends; id order means two lockers of overlapping sets
 * cannot deadlock.
 */
export async function liveInstancesByUuid(
  db: Database,
  uuids: readonly string[],
  options: { transaction?: Transaction; host?: string } = {},
): Promise<InstanceRow[]> {
  return (await selectLive(db, INSTANCE_ATTRIBUTES, uuids, options)).map(toInstanceRow);
}

/** What the stash needs of an instance. */
export interface InstanceRef {
  id: number;
  uuid: string;
  host: string | null;
  vmMode: string | null;
  /** Nova's task in progress (shelving, resize_migrating …), null when none. */
  taskState: string | null;
}

/** As liveInstancesByUuid, with only the columns the stash reads. */
export async function liveInstanceRefsByUuid(
  db: Database,
  uuids: readonly string[],
  options: { transaction?: Transaction; host?: string } = {},
): Promise<InstanceRef[]> {
  const rows = await selectLive(db, ['id', 'uuid', 'host', 'vm_mode', 'task_state'], uuids, options);
  return rows.map((r) => ({
    id: Number(r['id']),
    uuid: String(r['uuid']),
    host: textOrNull(r['host']),
    vmMode: textOrNull(r['vm_mode']),
    taskState: textOrNull(r['task_state']),
  }));
}

async function selectLive(
  db: Database,
  columns: readonly string[],
  uuids: readonly string[],
  options: { transaction?: Transaction; host?: string },
): Promise<Array<Record<string, unknown>>> {
  if (uuids.length === 0) return [];
  const { transaction, host } = options;
  const lock = transaction ? await lockInstances(db, uuids, transaction) : '';
  const cols = host === undefined || columns.includes('host') ? columns : [...columns, 'host'];
  // The host is checked here rather than in SQL: with it in the WHERE clause SQLite walks the
  // host's whole index range instead of looking the uuids up.
  const rows = await select(
    db,
    `SELECT ${cols.join(', ')} FROM instances WHERE uuid IN (:uuids) AND deleted = 0 ORDER BY id${lock}`,
    { uuids: [...uuids] },
    transaction,
  );
  return host === undefined ? rows : rows.filter((r) => r['host'] === host);
}
