/**
 * hw_disk_bus, hw_cdrom_bus, hw_floppy_bus: every `<disk>` of that device type gets the stashed
 * `<target bus>`, and names (`<target dev>`) are made to match the bus prefix again.
 */
import { DISK_BUSES, busPropertyOf, type DiskBusProperty, type PropertyName } from '../properties.js';
import { busPrefix, indexToSuffix, parseDeviceName } from './device-names.js';
import { describeDevice, devicesNamed, diskDevice } from './domain.js';
import { DomainXmlError } from './errors.js';
import { dropAddress, record, type RewriteContext } from './rewrite-context.js';
import { attr, children, firstChild, removeAttr, removeChild, setAttr, type XmlNode } from './xml-tree.js';

/** `<target>` attributes libvirt accepts only on some buses. */
const TARGET_ATTR_BUSES: Readonly<Record<string, readonly string[]>> = {
  removable: ['usb', 'scsi'],
  rotation_rate: ['scsi', 'ide', 'sata'],
};

/** `<driver>` attributes that only a virtio disk has (as has `<disk model>`). */
const VIRTIO_DRIVER_ATTRS = ['queues', 'queue_size', 'iothread', 'iommu', 'ats', 'packed', 'page_per_vq'];

interface DiskEntry {
  disk: XmlNode;
  target: XmlNode;
  label: string;
  property: DiskBusProperty | null;
  bus: string | undefined;
  dev: string | undefined;
  moved: boolean;
}

export function rewriteDisks(ctx: RewriteContext): void {
  const entries: DiskEntry[] = [];
  devicesNamed(ctx.domain, 'disk').forEach((disk, position) => {
    const target = firstChild(disk, 'target');
    if (!target) return;
    const property = busPropertyOf(diskDevice(disk)) ?? null;
    entries.push({
      disk,
      target,
      label: describeDevice(disk, position),
      property,
      bus: attr(target, 'bus'),
      dev: attr(target, 'dev'),
      moved: false,
    });
  });

  for (const entry of entries) {
    const want = entry.property ? ctx.stash[entry.property] : undefined;
    // null is no decision for a bus: the disk exists because of its block device mapping.
    if (want === undefined || want === null || want === entry.bus) continue;
    if (busPrefix(want) === null) {
      const usable = DISK_BUSES.filter((b) => busPrefix(b) !== null).join(', ');
      throw new DomainXmlError(`${entry.property}=${want} cannot be applied to ${entry.label}: ${want} is not a bus libvirt attaches disks to; allowed: ${usable}`);
    }
    moveToBus(ctx, entry, want);
  }

  renumber(ctx, entries);
}

function moveToBus(ctx: RewriteContext, entry: DiskEntry, bus: string): void {
  const property = entry.property!;
  const from = entry.bus ?? null;
  setAttr(entry.target, 'bus', bus);
  record(ctx, { property, element: entry.label, aspect: 'bus', from, to: bus });
  entry.bus = bus;
  entry.moved = true;
  if (bus === 'usb') ctx.usbNeededBy ??= property;

  dropAddress(ctx, entry.disk, property, entry.label);
  for (const [name, buses] of Object.entries(TARGET_ATTR_BUSES)) {
    const value = attr(entry.target, name);
    if (value !== undefined && !buses.includes(bus)) {
      removeAttr(entry.target, name);
      record(ctx, { property, element: entry.label, aspect: `target ${name}`, from: value, to: null });
    }
  }
  if (from === 'virtio' && bus !== 'virtio') dropVirtioOnly(ctx, entry, property);
}

function dropVirtioOnly(ctx: RewriteContext, entry: DiskEntry, property: PropertyName): void {
  const model = attr(entry.disk, 'model');
  if (model !== undefined) {
    removeAttr(entry.disk, 'model');
    record(ctx, { property, element: entry.label, aspect: 'model', from: model, to: null });
  }
  for (const driver of children(entry.disk, 'driver')) {
    for (const name of VIRTIO_DRIVER_ATTRS) {
      const value = attr(driver, name);
      if (value !== undefined) {
        removeAttr(driver, name);
        record(ctx, { property, element: entry.label, aspect: `driver ${name}`, from: value, to: null });
      }
    }
    for (const iothreads of children(driver, 'iothreads')) removeChild(driver, iothreads);
  }
}

/**
 * Every prefix that gained a disk is renumbered a, b, c… in document order, skipping names
 * other disks hold. Nova writes a fresh guest's disks root first, so there the root disk gets
 * the first name again; in a domain changed since (libvirt files an attached disk by bus and
 * name), another disk may come first, and it is that disk that gets it. Prefixes that only
 * lost a disk keep their names: a gap (hdd without hda) is valid, a rename would be a needless
 * change.
 */
function renumber(ctx: RewriteContext, entries: DiskEntry[]): void {
  const gaining = new Map<string, PropertyName>();
  for (const e of entries) {
    if (!e.moved) continue;
    const prefix = busPrefix(e.bus!)!;
    if (parseDeviceName(e.dev ?? '')?.prefix !== prefix && !gaining.has(prefix)) gaining.set(prefix, e.property!);
  }
  for (const [prefix, cause] of gaining) {
    const members = entries.filter((e) => e.bus !== undefined && busPrefix(e.bus) === prefix);
    const taken = new Set(entries.filter((e) => !members.includes(e)).map((e) => e.dev));
    let index = 0;
    for (const m of members) {
      let name = prefix + indexToSuffix(index++);
      while (taken.has(name)) name = prefix + indexToSuffix(index++);
      if (name === m.dev) continue;
      setAttr(m.target, 'dev', name);
      const property = m.moved ? m.property! : cause;
      record(ctx, { property, element: m.label, aspect: 'dev', from: m.dev ?? null, to: name });
      m.dev = name;
      // A drive address is derived from the name; a stale one would clash with the new names.
      dropAddress(ctx, m.disk, property, m.label, 'drive');
    }
  }
}
