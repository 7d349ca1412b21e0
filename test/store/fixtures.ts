/** Inputs shared by the store's tests: a host as Nova's defaults describe it, and libosinfo facts. */
import { NOVA_DEFAULT_PROFILE, type HostProfile, type OsInfoAnswer, type OsInfoLookup } from '../../src/core/inputs.js';

/** kvm on x86_64 with Nova's default options (VNC on, SPICE off, pointer_model usbtablet). */
export const KVM_X86: HostProfile = { arch: 'x86_64', ...NOVA_DEFAULT_PROFILE };

/**
 * Two answers of the real osinfo-db as RULES.md §8 states them (Windows: e1000 and no disk
 * model; fedora36: e1000e and virtio), so the store's tests do not depend on the index loader.
 */
const ANSWERS: Record<string, OsInfoAnswer> = {
  win10: { networkModel: 'e1000', diskModel: null },
  fedora36: { networkModel: 'e1000e', diskModel: 'virtio' },
};
export const OSINFO: OsInfoLookup = { lookup: (osDistro) => ANSWERS[osDistro] ?? null };

/** What RULES.md §2–7 give an image without properties on KVM_X86 with no domain. */
export const PLAIN_KVM_X86: Record<string, string | null> = {
  image_hw_machine_type: 'pc',
  image_hw_cdrom_bus: 'ide',
  image_hw_disk_bus: 'virtio',
  image_hw_floppy_bus: 'fdc',
  image_hw_rescue_bus: 'virtio',
  image_hw_input_bus: 'usb',
  image_hw_pointer_model: 'usbtablet',
  image_hw_rng_model: 'virtio',
  image_hw_scsi_model: null,
  image_hw_video_model: 'virtio',
  image_hw_vif_model: 'virtio',
};
