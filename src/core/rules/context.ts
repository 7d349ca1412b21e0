/**
 * What every rule reads, and what it returns: a value with where it came from, or a RuleError
 * that names the property, the value, its origin and what is allowed.
 */
import { vifModelsOf, type NovaRelease } from '../releases.js';
import type { HostProfile, OsInfoAnswer, VirtType } from '../inputs.js';
import type { ImageProps } from '../image-meta.js';
import type { PropertyName } from '../properties.js';

/** Where an effective value comes from. */
export type Source = 'image' | 'domain' | 'osinfo' | 'driver' | 'config';

export interface Decided {
  /** null: decided that the guest has no such device (a value, not a gap). */
  value: string | null;
  source: Source;
}

/** Nova's exception names, so operators can match them with Nova's logs and docs. */
export type RuleErrorCode =
  | 'ValueError'
  | 'UnsupportedHardware'
  | 'UnsupportedRescueBus'
  | 'UnsupportedRescueDevice'
  | 'InstanceNotRescuable'
  | 'InvalidVirtualMachineMode';

export class RuleError extends Error {
  constructor(
    readonly code: RuleErrorCode,
    readonly property: PropertyName | string,
    readonly value: string | null,
    readonly source: Source | 'instance',
    readonly allowed: readonly string[],
    detail: string,
  ) {
    super(
      `${property}: ${JSON.stringify(value)} (from ${source}) ${detail}` +
        (allowed.length ? `; allowed: ${allowed.join(', ')}` : ''),
    );
    this.name = 'RuleError';
  }
}

export interface RuleContext {
  props: ImageProps;
  host: HostProfile;
  /** libosinfo's answer for `os_distro`, null when unset, empty or unknown. */
  osinfo: OsInfoAnswer | null;
  /** `libvirt_utils.get_arch`: the image's hw_architecture, else the host's. */
  arch: string;
  /** `_check_emulation_arch`: hw_emulation_architecture, else `arch`. */
  emuArch: string;
}

/** `blockinfo.is_disk_bus_valid_for_virt`. */
const BUSES_FOR_VIRT: Readonly<Record<VirtType, readonly string[]>> = {
  kvm: ['virtio', 'scsi', 'ide', 'usb', 'fdc', 'sata'],
  qemu: ['virtio', 'scsi', 'ide', 'usb', 'fdc', 'sata'],
  lxc: ['lxc'],
  parallels: ['ide', 'scsi'],
};

export function busesFor(vt: VirtType): readonly string[] {
  return BUSES_FOR_VIRT[vt];
}

export function busOk(vt: VirtType, bus: string): boolean {
  return BUSES_FOR_VIRT[vt].includes(bus);
}

/** `is_vif_model_valid_for_virt`: the models a libvirt guest interface may use per virt type. */
const VIF_MODELS_FOR_VIRT: Readonly<Record<VirtType, readonly string[]>> = {
  kvm: ['virtio', 'ne2k_pci', 'pcnet', 'rtl8139', 'e1000', 'e1000e', 'spapr-vlan', 'vmxnet3'],
  qemu: ['virtio', 'ne2k_pci', 'pcnet', 'rtl8139', 'e1000', 'e1000e', 'spapr-vlan', 'vmxnet3', 'lan9118'],
  parallels: ['virtio', 'rtl8139', 'e1000'],
  lxc: [],
};

/** The VIF models an interface may use on `vt`; releases add models for qemu and kvm (igb). */
export function vifModelsFor(vt: VirtType, release?: NovaRelease): readonly string[] {
  const base = VIF_MODELS_FOR_VIRT[vt];
  return release && (vt === 'kvm' || vt === 'qemu') ? vifModelsOf(base, release) : base;
}
