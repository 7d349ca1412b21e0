/** Reading an instance's live block device mappings (`deleted = 0`, as Nova's relationship joins them). */
import type { Transaction } from 'sequelize';
import type { BlockDevice } from '../core/inputs.js';
import type { Database } from './database.js';
import { BDM_ATTRIBUTES } from './nova-models.js';
import { select } from './sql.js';

const s = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toBlockDevice(r: Record<string, unknown>): BlockDevice {
  return {
    deviceName: s(r['device_name']),
    sourceType: s(r['source_type']),
    destinationType: s(r['destination_type']),
    deviceType: s(r['device_type']),
    diskBus: s(r['disk_bus']),
    bootIndex: n(r['boot_index']),
    volumeId: s(r['volume_id']),
    imageId: s(r['image_id']),
    volumeSize: n(r['volume_size']),
    guestFormat: s(r['guest_format']),
  };
}

/** The live BDMs of several instances with one query, grouped by instance uuid in id order. */
export async function blockDevicesOf(db: Database, uuids: readonly string[], transaction?: Transaction): Promise<Map<string, BlockDevice[]>> {
  const out = new Map<string, BlockDevice[]>(uuids.map((u) => [u, []]));
  if (uuids.length === 0) return out;
  const rows = await select(
    db,
    `SELECT ${BDM_ATTRIBUTES.join(', ')} FROM block_device_mapping WHERE instance_uuid IN (:uuids) AND deleted = 0 ORDER BY id`,
    { uuids: [...uuids] },
    transaction,
  );
  for (const row of rows) {
    // A no_device mapping suppresses a device (Nova's "NoDevice" entries): it is not a device.
    if (row['no_device'] === true || row['no_device'] === 1 || row['no_device'] === '1') continue;
    out.get(String(row['instance_uuid']))?.push(toBlockDevice(row));
  }
  return out;
}
