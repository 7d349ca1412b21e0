/**
 * Guest disk names (`<target dev>`), as Nova's blockinfo and block_device modules form them:
 * a prefix chosen by the bus, then a bijective base-26 suffix (a … z, aa … az, ba …).
 */

/** Nova's `get_dev_prefix_for_disk_bus`, plus xen and uml, which libvirt names xvd and ubd. */
const BUS_PREFIX: Readonly<Record<string, string>> = {
  ide: 'hd',
  virtio: 'vd',
  scsi: 'sd',
  usb: 'sd',
  sata: 'sd',
  fdc: 'fd',
  xen: 'xvd',
  uml: 'ubd',
};

/** The device-name prefix for a disk bus, or null where the bus has none (lxc). */
export function busPrefix(bus: string): string | null {
  return BUS_PREFIX[bus] ?? null;
}

/** `0 → a`, `25 → z`, `26 → aa`, `701 → zz`, `702 → aaa` (Nova's generate_device_letter). */
export function indexToSuffix(index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`disk index must be a non-negative integer, got ${index}`);
  let suffix = '';
  let i = index;
  while (i >= 0) {
    suffix = String.fromCharCode(97 + (i % 26)) + suffix;
    i = Math.floor(i / 26) - 1;
  }
  return suffix;
}

/** Inverse of indexToSuffix; null when `suffix` is not lower-case letters. */
export function suffixToIndex(suffix: string): number | null {
  if (!/^[a-z]+$/.test(suffix)) return null;
  let index = 0;
  for (const c of suffix) index = index * 26 + (c.charCodeAt(0) - 96);
  return index - 1;
}

/** The device name for the `index`-th disk (from 0) on `bus`, e.g. `('virtio', 0) → vda`. */
export function deviceName(bus: string, index: number): string {
  const prefix = busPrefix(bus);
  if (prefix === null) throw new RangeError(`disk bus ${bus} has no device-name prefix`);
  return prefix + indexToSuffix(index);
}

/** Split a device name such as `sdab` into its prefix and index; null when it has neither. */
export function parseDeviceName(dev: string): { prefix: string; index: number } | null {
  const m = /^(xvd|ubd|[hsvf]d)([a-z]+)$/.exec(dev);
  if (!m) return null;
  const index = suffixToIndex(m[2]!);
  return index === null ? null : { prefix: m[1]!, index };
}
