/**
 * What an existing domain actually uses, per property (RULES.md §9.2: the live domain wins over
 * today's defaults). Only values Nova (Zed) can load become facts; anything else is returned as
 * an ignored reading with the reason, so callers can report it instead of stashing it.
 */
import type { DomainFacts } from '../inputs.js';
import { DISK_DEVICES, busPropertyOf, propertySpec, type PropertyName } from '../properties.js';
import { describeDevice, devicesNamed, diskDevice, parseDomain } from './domain.js';
import { isMachineTypeName } from './machine-type.js';
import { attr, children, findPath, firstChild, text, type XmlNode } from './xml-tree.js';

export interface IgnoredReading {
  property: PropertyName;
  /** The value the domain shows. */
  value: string;
  /** Which element showed it, e.g. `interface fa:16:3e:00:00:01`. */
  element: string;
  reason: string;
}

export interface DomainReading extends DomainFacts {
  ignored: IgnoredReading[];
}

/** Read the facts of a domain XML document (as `virDomainGetXMLDesc` returns it). */
export function readDomainFacts(xml: string): DomainReading {
  return readParsedDomain(parseDomain(xml).domain);
}

/** Same, for an already parsed `<domain>` element. */
export function readParsedDomain(domain: XmlNode): DomainReading {
  const values: DomainFacts['values'] = {};
  const ignored: IgnoredReading[] = [];

  const take = (property: PropertyName, value: string | undefined, element: string): void => {
    if (value === undefined) return;
    const { type } = propertySpec(property);
    if (type.values === null) {
      if (isMachineTypeName(value)) values[property] = value;
      else ignored.push({ property, value, element, reason: 'not a QEMU machine type name' });
    } else if (type.values.includes(value)) {
      values[property] = value;
    } else {
      ignored.push({
        property,
        value,
        element,
        reason: `not a Nova (Zed) ${type.nova} value, Nova could not load it; allowed: ${type.values.join(', ')}`,
      });
    }
  };

  const osTypeEl = findPath(domain, 'os/type');
  const osType = osTypeEl ? text(osTypeEl).trim() || null : null;
  if (osTypeEl) take('hw_machine_type', attr(osTypeEl, 'machine'), 'os/type');

  const disks = devicesNamed(domain, 'disk');
  const busOf = (disk: XmlNode): string | undefined => {
    const target = firstChild(disk, 'target');
    return target ? attr(target, 'bus') : undefined;
  };
  // The disk bus is the root disk's (the one the guest boots from); cdrom and floppy buses are
  // the first drive's.
  for (const device of DISK_DEVICES) {
    const ofDevice = disks.filter((d) => diskDevice(d) === device);
    const disk = device === 'disk' ? bootDisk(ofDevice) : ofDevice[0];
    if (disk) take(busPropertyOf(device), busOf(disk), describeDevice(disk, disks.indexOf(disk)));
  }

  const inputs = devicesNamed(domain, 'input');
  const tablet = inputs.find((i) => attr(i, 'type') === 'tablet');
  if (tablet) {
    values.hw_pointer_model = 'usbtablet';
    take('hw_input_bus', attr(tablet, 'bus'), describeDevice(tablet, inputs.indexOf(tablet)));
  }

  const video = devicesNamed(domain, 'video')[0];
  const videoModel = video ? firstChild(video, 'model') : undefined;
  if (video && videoModel) take('hw_video_model', attr(videoModel, 'type'), describeDevice(video, 0));

  const interfaces = devicesNamed(domain, 'interface');
  const nicIndex = interfaces.findIndex((i) => firstChild(i, 'model') !== undefined);
  if (nicIndex >= 0) {
    const nic = interfaces[nicIndex]!;
    take('hw_vif_model', attr(firstChild(nic, 'model')!, 'type'), describeDevice(nic, nicIndex));
  }

  // libvirt's SCSI controller model names coincide with Nova's SCSIModel values; `auto` (or no
  // model) means libvirt chose, which is no decision to keep.
  const scsi = devicesNamed(domain, 'controller').find((c) => attr(c, 'type') === 'scsi');
  const scsiModel = scsi ? attr(scsi, 'model') : undefined;
  if (scsi && scsiModel !== 'auto') take('hw_scsi_model', scsiModel, describeDevice(scsi, 0));

  const rng = devicesNamed(domain, 'rng')[0];
  if (rng) take('hw_rng_model', attr(rng, 'model'), describeDevice(rng, 0));

  return { osType, values, ignored };
}

/** The disk the guest boots from: the lowest `<boot order>`, else the first disk. */
function bootDisk(disks: XmlNode[]): XmlNode | undefined {
  let best: XmlNode | undefined;
  let bestOrder = Infinity;
  for (const d of disks) {
    const boot = children(d, 'boot')[0];
    const order = boot ? Number(attr(boot, 'order')) : NaN;
    if (Number.isFinite(order) && order < bestOrder) {
      best = d;
      bestOrder = order;
    }
  }
  return best ?? disks[0];
}
