/**
 * Rows for the tests, written the way Nova writes them (naive UTC times, deleted = 0 for live
 * rows, the instance's id in `deleted` once soft-deleted), through the store's own connection.
 */
import { randomUUID } from 'node:crypto';
import { PROPERTIES } from '../../src/core/properties.js';
import type { Store } from '../../src/store/index.js';

export interface SeedInstance {
  uuid?: string;
  host?: string | null;
  vmMode?: string | null;
  vmState?: string;
  /** Soft-delete the instance as Nova does. */
  deleted?: boolean;
  /** Live system_metadata rows, in order. */
  sysmeta?: Record<string, string | null>;
  /** Extra rows marked soft-deleted (deleted = their id), as after a destroy. */
  softDeletedSysmeta?: Record<string, string | null>;
  /** Rows appended after the others (duplicates of a key, say). */
  extraSysmeta?: Array<[string, string | null]>;
  blockDevices?: Array<Record<string, unknown>>;
}

const NOW = '2024-05-06 07:08:09.000000';

export async function seedInstance(store: Store, spec: SeedInstance): Promise<string> {
  const uuid = spec.uuid ?? randomUUID();
  const qi = store.db.sequelize.getQueryInterface();
  await qi.bulkInsert('instances', [
    {
      uuid,
      host: spec.host === undefined ? 'compute-1' : spec.host,
      node: spec.host === undefined ? 'compute-1' : spec.host,
      vm_state: spec.vmState ?? 'active',
      power_state: 1,
      vm_mode: spec.vmMode ?? null,
      display_name: `vm-${uuid.slice(0, 8)}`,
      created_at: NOW,
      deleted: 0,
    },
  ]);
  const rows: Array<Record<string, unknown>> = [];
  for (const [key, value] of Object.entries(spec.sysmeta ?? {})) rows.push({ instance_uuid: uuid, key, value, created_at: NOW, deleted: 0 });
  for (const [key, value] of Object.entries(spec.softDeletedSysmeta ?? {})) {
    rows.push({ instance_uuid: uuid, key, value, created_at: NOW, deleted_at: NOW, deleted: -1 });
  }
  for (const [key, value] of spec.extraSysmeta ?? []) rows.push({ instance_uuid: uuid, key, value, created_at: NOW, deleted: 0 });
  if (rows.length) await qi.bulkInsert('instance_system_metadata', rows);
  // Nova's soft delete stores the row's own id in `deleted`.
  await store.db.sequelize.query('UPDATE instance_system_metadata SET deleted = id WHERE deleted = -1');
  if (spec.blockDevices?.length) {
    await qi.bulkInsert(
      'block_device_mapping',
      spec.blockDevices.map((b) => ({ instance_uuid: uuid, created_at: NOW, deleted: 0, ...b })),
    );
  }
  if (spec.deleted) {
    await store.db.sequelize.query('UPDATE instances SET deleted = id, deleted_at = :now WHERE uuid = :uuid', { replacements: { now: NOW, uuid } });
  }
  return uuid;
}

/** Every system_metadata row of an instance for the 11 properties, as raw rows in id order. */
export async function propertyRows(store: Store, uuid: string): Promise<Array<{ id: number; key: string; value: string | null; deleted: number | null }>> {
  const rows = await store.systemMetadata(uuid);
  const keys = new Set<string>(PROPERTIES.map((p) => p.key));
  return rows.filter((r) => keys.has(r.key)).map((r) => ({ id: r.id, key: r.key, value: r.value, deleted: r.deleted }));
}
