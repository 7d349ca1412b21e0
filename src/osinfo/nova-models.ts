/**
 * How Nova turns libosinfo's first device name into a VIF model or a disk bus (RULES.md §8,
 * "Nova's lookup"). Pure.
 */
import { DISK_BUSES, VIF_MODELS } from '../core/properties.js';

const VIRTIO_NET_NAMES: ReadonlySet<string> = new Set(['virtio-net', 'virtio1.0-net']);
const VIRTIO_BLOCK_NAMES: ReadonlySet<string> = new Set(['virtio-block', 'virtio1.0-block']);
const VIF_MODEL_SET: ReadonlySet<string> = new Set(VIF_MODELS);
const DISK_BUS_SET: ReadonlySet<string> = new Set(DISK_BUSES);

/** A net device name → Nova's VIFModel value, or null where Nova has none for it. */
export function novaNetworkModel(deviceName: string | null): string | null {
  if (deviceName === null) return null;
  if (VIRTIO_NET_NAMES.has(deviceName)) return 'virtio';
  return VIF_MODEL_SET.has(deviceName) ? deviceName : null;
}

/** A block device name → Nova's DiskBus value, or null (virtio-scsi, lsi and xen-vbd give null). */
export function novaDiskModel(deviceName: string | null): string | null {
  if (deviceName === null) return null;
  if (VIRTIO_BLOCK_NAMES.has(deviceName)) return 'virtio';
  return DISK_BUS_SET.has(deviceName) ? deviceName : null;
}
