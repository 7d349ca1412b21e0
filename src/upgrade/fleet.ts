/**
 * The upgrade-survival fleet: guests whose images span the cases where an upgrade of Nova, of
 * osinfo-db and of QEMU moves hardware (issue #15). Shared by the survival test on the real
 * libvirtd and by `npm run demo:upgrade`, so the README's figure and the demo count the same
 * guests. Only inputs live here (what Glance would hold); every expected answer comes from Nova's
 * rules, libvirt or QEMU at run time.
 */

export type FleetKind =
  | 'no-os-distro'
  | 'osinfo-nic-changed'
  | 'linux-osinfo'
  | 'windows-ide'
  | 'windows-osinfo'
  | 'old-machine-type'
  | 'explicit';

export interface FleetGuest {
  /** A short stable name (`display_name`). */
  name: string;
  kind: FleetKind;
  /** The Glance image's properties, as Nova copies them into system_metadata at boot. */
  imageProperties: Record<string, string>;
}

const BASE = { disk_format: 'qcow2', container_format: 'bare' };

/** OSes whose first libosinfo NIC changed between osinfo-db 20221130 and 20250619 (RELEASES.md). */
const NIC_CHANGED = ['freenix14.2', 'slackware14.2', 'slackware-current'];
const LINUX = ['fedora36', 'rhel8.0', 'debian11', 'ubuntu20.04', 'centos7.0', 'opensuse15.3', 'alpinelinux3.16', 'freebsd13.1'];
const WINDOWS = ['win10', 'win2k12r2', 'win7', 'winxp'];
/** Versioned machine types an image pinned years ago; QEMU removes the oldest (2.x) ones. */
const OLD_MACHINES = ['pc-i440fx-2.11', 'pc-i440fx-2.6', 'pc-q35-2.12', 'pc-i440fx-4.2', 'pc-q35-5.2'];

/** Images with properties set on purpose: each keeps them through any upgrade. */
const EXPLICIT: ReadonlyArray<readonly [string, Record<string, string>]> = [
  ['scsi-virtio', { hw_disk_bus: 'scsi', hw_scsi_model: 'virtio-scsi', os_distro: 'ubuntu20.04' }],
  ['scsi-lsilogic', { hw_disk_bus: 'scsi', hw_scsi_model: 'lsilogic' }],
  ['vga', { hw_video_model: 'vga', os_distro: 'debian11' }],
  ['cirrus-rtl8139', { hw_video_model: 'cirrus', hw_vif_model: 'rtl8139' }],
  ['winxp-cirrus-ide', { hw_video_model: 'cirrus', os_distro: 'winxp', hw_disk_bus: 'ide' }],
  ['e1000-slackware', { hw_vif_model: 'e1000', os_distro: 'slackware14.2' }],
  ['q35-fedora', { hw_machine_type: 'q35', os_distro: 'fedora36' }],
  ['q35-sata', { hw_machine_type: 'q35', hw_cdrom_bus: 'sata', hw_disk_bus: 'sata' }],
  ['pc-virtio-freenix', { hw_machine_type: 'pc', hw_vif_model: 'virtio', os_distro: 'freenix14.2' }],
  ['virtio-input', { hw_input_bus: 'virtio', hw_pointer_model: 'usbtablet' }],
  ['win10-virtio-video', { hw_video_model: 'virtio', os_distro: 'win10' }],
  ['win2k12-e1000e', { hw_vif_model: 'e1000e', hw_disk_bus: 'virtio', os_distro: 'win2k12r2' }],
];

/** The fleet, in a fixed order (54 guests). */
export function upgradeFleet(): FleetGuest[] {
  const out: FleetGuest[] = [];
  const add = (kind: FleetKind, label: string, props: Record<string, string>): void => {
    out.push({ name: `${kind}-${out.filter((g) => g.kind === kind).length + 1}-${label}`, kind, imageProperties: { ...BASE, ...props } });
  };
  // No os_distro: only the driver's defaults decide (a very common Glance image).
  for (let i = 0; i < 8; i++) add('no-os-distro', 'plain', i % 2 ? { min_disk: '1' } : {});
  for (const os of NIC_CHANGED) for (let i = 0; i < 3; i++) add('osinfo-nic-changed', os, { os_distro: os });
  for (const os of LINUX) add('linux-osinfo', os, { os_distro: os });
  // Windows images commonly ask for IDE: Windows has no virtio driver out of the box.
  for (const os of WINDOWS) for (let i = 0; i < 2; i++) add('windows-ide', os, { os_distro: os, hw_disk_bus: 'ide' });
  for (const os of WINDOWS) add('windows-osinfo', os, { os_distro: os });
  for (const m of OLD_MACHINES) add('old-machine-type', m, { hw_machine_type: m });
  for (const [label, props] of EXPLICIT) add('explicit', label, props);
  return out;
}
