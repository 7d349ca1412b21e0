/**
 * Writing instances the way Nova's compute API does (rows in `instances`, the image's properties
 * copied into `instance_system_metadata` as `image_*`, block devices), for the embedded demo,
 * benchmarks and the reliability suite. Never used against a real Nova database by the agent.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from './index.js';
import { naiveUtc } from './timestamps.js';

export interface NewInstance {
  uuid?: string;
  id?: number;
  host: string | null;
  displayName?: string;
  vmState?: string;
  vcpus?: number;
  memoryMb?: number;
  vmMode?: string | null;
  architecture?: string | null;
  /** Nova requires both on every instance (its Instance object refuses None). */
  projectId?: string;
  userId?: string;
  /** Image properties, written as `image_<key>` rows (what Nova copies at boot). */
  imageProperties?: Record<string, string | null>;
  /** Other system_metadata rows, written as given (e.g. already stashed `image_hw_*` rows). */
  systemMetadata?: Record<string, string | null>;
  blockDevices?: Array<Record<string, unknown>>;
}

/** Insert instances with their system_metadata and block devices; one INSERT per table. */
export async function insertInstances(store: Store, instances: readonly NewInstance[]): Promise<string[]> {
  if (instances.length === 0) return [];
  const now = naiveUtc(new Date());
  const qi = store.db.sequelize.getQueryInterface();
  const uuids = instances.map((i) => i.uuid ?? randomUUID());
  await qi.bulkInsert(
    'instances',
    instances.map((i, n) => ({
      ...(i.id !== undefined ? { id: i.id } : {}),
      uuid: uuids[n],
      host: i.host,
      node: i.host,
      display_name: i.displayName ?? `vm-${uuids[n]!.slice(0, 8)}`,
      hostname: i.displayName ?? `vm-${uuids[n]!.slice(0, 8)}`,
      vm_state: i.vmState ?? 'active',
      power_state: i.vmState === 'stopped' || i.vmState?.startsWith('shelved') ? 4 : 1,
      vcpus: i.vcpus ?? 1,
      memory_mb: i.memoryMb ?? 512,
      root_gb: 1,
      ephemeral_gb: 0,
      vm_mode: i.vmMode ?? null,
      architecture: i.architecture ?? null,
      project_id: i.projectId ?? 'seed-project',
      user_id: i.userId ?? 'seed-user',
      created_at: now,
      deleted: 0,
    })),
  );
  const sysmeta: Array<Record<string, unknown>> = [];
  const devices: Array<Record<string, unknown>> = [];
  instances.forEach((i, n) => {
    const uuid = uuids[n]!;
    for (const [k, value] of Object.entries(i.imageProperties ?? {})) sysmeta.push({ instance_uuid: uuid, key: `image_${k}`, value, created_at: now, deleted: 0 });
    for (const [key, value] of Object.entries(i.systemMetadata ?? {})) sysmeta.push({ instance_uuid: uuid, key, value, created_at: now, deleted: 0 });
    for (const b of i.blockDevices ?? []) devices.push({ instance_uuid: uuid, created_at: now, deleted: 0, ...b });
  });
  if (sysmeta.length) await qi.bulkInsert('instance_system_metadata', sysmeta);
  if (devices.length) await qi.bulkInsert('block_device_mapping', devices);
  return uuids;
}
