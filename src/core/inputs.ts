/**
 * What the pure core is given. Adapters (config, osinfo, store, hypervisor) produce these;
 * the core never reads a file, a socket or a clock.
 */
import type { NovaRelease } from './releases.js';
import type { PropertyName } from './properties.js';

export const VIRT_TYPES = ['kvm', 'qemu', 'lxc', 'parallels'] as const;
export type VirtType = (typeof VIRT_TYPES)[number];

export const POINTER_MODEL_OPTIONS = ['usbtablet', 'ps2mouse'] as const;
export type PointerModelOption = (typeof POINTER_MODEL_OPTIONS)[number];

/** The host facts and nova.conf options that the driver's defaults depend on. */
export interface HostProfile {
  /** Canonical architecture (Nova's Architecture enum), from uname or configuration. */
  arch: string;
  /** [libvirt] virt_type */
  virtType: VirtType;
  /** [libvirt] hw_machine_type: `arch=machine` entries, in order; empty when unset. */
  machineTypes: readonly string[];
  /** [spice] enabled */
  spiceEnabled: boolean;
  /** [spice] agent_enabled */
  spiceAgentEnabled: boolean;
  /** [vnc] enabled */
  vncEnabled: boolean;
  /** [DEFAULT] pointer_model; null when set to empty. */
  pointerModel: PointerModelOption | null;
  /** [libvirt] use_virtio_for_bridges */
  useVirtioForBridges: boolean;
  /** The Nova release whose rules apply (releases.ts); absent means Zed. */
  release?: NovaRelease;
}

/** Nova's defaults for every option of the profile except the architecture. */
export const NOVA_DEFAULT_PROFILE: Omit<HostProfile, 'arch'> = {
  virtType: 'kvm',
  machineTypes: [],
  spiceEnabled: false,
  spiceAgentEnabled: true,
  vncEnabled: true,
  pointerModel: 'usbtablet',
  useVirtioForBridges: true,
};

/** libosinfo's answer for one OS, as Nova's `nova.virt.osinfo.OsInfo` exposes it. */
export interface OsInfoAnswer {
  /** VIF model (Nova's VIFModel value) or null. */
  networkModel: string | null;
  /** Disk bus (Nova's DiskBus value) or null. */
  diskModel: string | null;
}

/** Looks an `os_distro` up in the OS database; null when unknown. Pure once loaded. */
export interface OsInfoLookup {
  lookup(osDistro: string): OsInfoAnswer | null;
}

/**
 * What an existing libvirt domain shows for the properties (RULES.md §9.2). A property is
 * present only when the domain has a device that decides it; `osType` is the domain's
 * `<os><type>` text.
 */
export interface DomainFacts {
  osType: string | null;
  values: Partial<Record<PropertyName, string>>;
}

/** The instance fields that take part in resolution. */
export interface InstanceFacts {
  /** instances.vm_mode, copied by Nova from the raw legacy image key `vm_mode`. */
  vmMode: string | null;
}
