/**
 * The embedded demo: on the embedded defaults (SQLite, libvirt's in-process test driver) the agent
 * seeds a few instances as Nova would have left them, with domains for those that have one, so a
 * first run shows the real job: a stash that takes what each guest actually uses.
 */
import type { Logger } from 'pino';
import { buildDomain, type Stash } from '../core/domain-xml/index.js';
import type { Hypervisor } from '../hypervisor/index.js';
import type { Store } from '../store/index.js';
import { insertInstances, type NewInstance } from '../store/seed.js';

export interface DemoInstance extends NewInstance {
  uuid: string;
  displayName: string;
  /** The guest's current hardware, when it has a domain (defined on each agent start). */
  domain?: Stash;
}

/** Fixed uuids so the README can name them. */
export const DEMO_INSTANCES: readonly DemoInstance[] = [
  {
    uuid: '3f0c2a91-6d1e-4b7a-9c55-2e8d1f4a7b01',
    displayName: 'legacy-win2012',
    vmState: 'stopped',
    vcpus: 2,
    memoryMb: 4096,
    host: null,
    imageProperties: { os_distro: 'win2k12r2' },
    // Booted years ago: Nova's defaults then, not today's.
    domain: { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_cdrom_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139', hw_input_bus: 'usb', hw_pointer_model: 'usbtablet' },
  },
  {
    uuid: '8b6f4c2e-1d3a-4e5f-a6b7-c8d9e0f1a2b3',
    displayName: 'web-fedora',
    vmState: 'active',
    host: null,
    imageProperties: { os_distro: 'fedora36', hw_machine_type: 'q35' },
  },
  {
    uuid: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f',
    displayName: 'db-scsi',
    vmState: 'stopped',
    host: null,
    imageProperties: { hw_disk_bus: 'scsi', hw_scsi_model: 'virtio-scsi', hw_vif_model: 'VirtualE1000' },
  },
];

/** Create Nova's tables and the demo instances on `host` if the database has none there yet. */
export async function seedDemo(store: Store, host: string, hypervisor: Hypervisor | null, logger: Logger): Promise<void> {
  const created = await store.initNovaSchema();
  if (created.length) logger.info({ tables: created }, 'demo: created Nova tables in the embedded database');
  const existing = await store.countInstancesOnHost(host);
  const missing: DemoInstance[] = [];
  for (const d of DEMO_INSTANCES) if (!(await store.instance(d.uuid))) missing.push(d);
  if (missing.length && existing === 0) {
    await insertInstances(store, missing.map((d) => ({ ...d, host })));
    logger.info({ instances: missing.map((d) => `${d.displayName} ${d.uuid}`) }, 'demo: seeded instances as Nova would have left them');
  }
  if (!hypervisor || !hypervisor.uri.startsWith('test:')) return;
  // The test driver keeps domains in this process only: define them on every start.
  for (const d of DEMO_INSTANCES) {
    if (!d.domain || (await hypervisor.domain(d.uuid))) continue;
    const row = await store.instance(d.uuid);
    if (!row) continue;
    await hypervisor.define(
      buildDomain({
        name: d.displayName,
        uuid: d.uuid,
        vcpus: d.vcpus ?? 1,
        memoryMb: d.memoryMb ?? 512,
        virtType: 'kvm',
        arch: 'x86_64',
        stash: d.domain,
        disks: [{ deviceType: 'disk', path: `/var/lib/nova/instances/${d.uuid}/disk`, format: 'qcow2', bootIndex: 0 }],
        interfaces: [{ type: 'network', source: 'default' }],
        graphics: 'vnc',
      }),
    );
    logger.info({ instance_uuid: d.uuid, hardware: d.domain }, `demo: defined ${d.displayName}'s domain with its old hardware`);
  }
}
