/**
 * A complete domain for an instance that has none (unshelve of an offloaded instance on a
 * standalone host), laid out as Nova's `_get_guest_config` does: disks, SCSI controller, NICs,
 * graphics, video, pointer, keyboard, RNG, USB controller, balloon. Every value is validated or
 * escaped on its way in.
 */
import { DISK_BUSES, FIELD_TYPES, busPropertyOf, coerceField } from '../properties.js';
import { busPrefix, indexToSuffix } from './device-names.js';
import { DomainXmlError } from './errors.js';
import { DEFAULT_RNG_BACKEND, checkRngBackendPath } from './rng-backend.js';
import { canonicalStash, type Stash } from './stash.js';
import { element, indentDocument, serializeXml, type XmlNode } from './xml-tree.js';

export const BUILD_VIRT_TYPES = ['kvm', 'qemu'] as const;
export const DISK_DEVICE_TYPES = ['disk', 'cdrom', 'floppy'] as const;
export const DISK_FORMATS = ['raw', 'qcow2', 'vmdk', 'vdi', 'vpc', 'qed'] as const;
export const INTERFACE_TYPES = ['network', 'bridge'] as const;
export const GRAPHICS_TYPES = ['vnc', 'spice'] as const;

/** Where a disk's data lives on the host. */
export type DiskSource = { file: string } | { block: string };

export interface DiskSpec {
  deviceType: (typeof DISK_DEVICE_TYPES)[number];
  /** Host file; shorthand for `source: { file }`. */
  path?: string;
  source?: DiskSource;
  /** Overrides the stashed bus for this device type (a BDM's own disk_bus). */
  bus?: string;
  format?: (typeof DISK_FORMATS)[number];
  /** Nova's boot_index (0 boots first); any given switches to per-device boot order. */
  bootIndex?: number | null;
}

export interface InterfaceSpec {
  type: (typeof INTERFACE_TYPES)[number];
  /** Network name (type network) or bridge name (type bridge). */
  source: string;
  mac?: string;
}

export interface DomainSpec {
  name: string;
  uuid: string;
  vcpus: number;
  memoryMb: number;
  virtType: (typeof BUILD_VIRT_TYPES)[number];
  /** Guest architecture, Nova's Architecture value (`x86_64`, `aarch64`…). */
  arch: string;
  /** The stashed values of the 11 properties. */
  stash: Stash;
  disks: DiskSpec[];
  interfaces: InterfaceSpec[];
  graphics: (typeof GRAPHICS_TYPES)[number] | null;
  /** `[libvirt] rng_dev_path`; default /dev/urandom. */
  rngBackendPath?: string;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const CONTROL = /[\u0000-\u001F\u007F]/;
const PPC_ARCHES = new Set(['ppc', 'ppc64', 'ppc64le']);

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new DomainXmlError(`${field}: ${JSON.stringify(value)} is not allowed; allowed: ${allowed.join(', ')}`);
  }
  return value as T;
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DomainXmlError(`${field}: ${JSON.stringify(value)} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** A domain name: Nova's `instance-%08x` or any other libvirt accepts (no `/`, no control characters). */
function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 255 || name.includes('/') || CONTROL.test(name)) {
    throw new DomainXmlError(
      `name: ${JSON.stringify(name)} is not a usable domain name; allowed: 1-255 characters without "/" or control characters, such as instance-0000002a`,
    );
  }
  return name;
}

function checkHostPath(field: string, path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/') || CONTROL.test(path)) {
    throw new DomainXmlError(`${field}: ${JSON.stringify(path)} must be an absolute host path without control characters`);
  }
  return path;
}

function checkSourceName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > 255 || CONTROL.test(value)) {
    throw new DomainXmlError(`${field}: ${JSON.stringify(value)} must be a name of 1-255 characters without control characters`);
  }
  return value;
}

function diskElement(disk: DiskSpec, position: number, dev: string, bus: string): XmlNode {
  const field = `disks[${position}]`;
  const source = disk.path !== undefined ? { file: disk.path } : disk.source;
  const body: XmlNode[] = [];
  let type = 'file';
  if (disk.format !== undefined) body.push(element('driver', { name: 'qemu', type: oneOf(`${field}.format`, disk.format, DISK_FORMATS) }));
  if (source !== undefined) {
    if ('file' in source) body.push(element('source', { file: checkHostPath(`${field}.path`, source.file) }));
    else if ('block' in source) {
      type = 'block';
      body.push(element('source', { dev: checkHostPath(`${field}.source.block`, source.block) }));
    } else throw new DomainXmlError(`${field}.source must be { file } or { block }`);
  } else if (disk.deviceType === 'disk') {
    throw new DomainXmlError(`${field}: a disk needs a path or source; only cdrom and floppy drives may be empty`);
  }
  body.push(element('target', { dev, bus }));
  if (disk.bootIndex !== undefined && disk.bootIndex !== null) {
    body.push(element('boot', { order: String(integer(`${field}.bootIndex`, disk.bootIndex, 0, 9998) + 1) }));
  }
  if (disk.deviceType !== 'disk') body.push(element('readonly'));
  return element('disk', { type, device: disk.deviceType }, body);
}

/** Disk bus for one disk: its own, else the stashed bus of its device type. */
function diskBus(disk: DiskSpec, position: number, stash: Stash): string {
  const property = busPropertyOf(disk.deviceType);
  const raw = disk.bus ?? stash[property];
  if (raw === undefined || raw === null) {
    throw new DomainXmlError(`disks[${position}]: no bus for a ${disk.deviceType}; give one or stash ${property}`);
  }
  const bus = coerceField(disk.bus !== undefined ? `disks[${position}].bus` : property, FIELD_TYPES.DiskBus, raw);
  if (busPrefix(bus) === null) {
    throw new DomainXmlError(`disks[${position}]: bus ${bus} cannot carry a ${disk.deviceType} in a kvm or qemu guest; allowed: ${DISK_BUSES.filter((b) => busPrefix(b) !== null).join(', ')}`);
  }
  return bus;
}

export function buildDomain(spec: DomainSpec): string {
  const stash = canonicalStash(spec.stash);
  const virtType = oneOf('virtType', spec.virtType, BUILD_VIRT_TYPES);
  const arch = coerceField('arch', FIELD_TYPES.Architecture, spec.arch);
  const graphics = spec.graphics === null ? null : oneOf('graphics', spec.graphics, GRAPHICS_TYPES);
  if (typeof spec.uuid !== 'string' || !UUID.test(spec.uuid)) {
    throw new DomainXmlError(`uuid: ${JSON.stringify(spec.uuid)} is not a UUID (8-4-4-4-12 hexadecimal digits)`);
  }
  const rngBackend = checkRngBackendPath(spec.rngBackendPath ?? DEFAULT_RNG_BACKEND);
  const disks = Array.isArray(spec.disks) ? spec.disks : [];
  const interfaces = Array.isArray(spec.interfaces) ? spec.interfaces : [];

  const devices: XmlNode[] = [];
  let usbUsed = false;

  // Disks, named per bus prefix in the given order (Nova's find_disk_dev_for_disk_bus).
  const nextIndex = new Map<string, number>();
  const perDeviceBoot = disks.some((d) => d.bootIndex !== undefined && d.bootIndex !== null);
  disks.forEach((disk, i) => {
    oneOf(`disks[${i}].deviceType`, disk.deviceType, DISK_DEVICE_TYPES);
    const bus = diskBus(disk, i, stash);
    const prefix = busPrefix(bus)!;
    const index = nextIndex.get(prefix) ?? 0;
    nextIndex.set(prefix, index + 1);
    if (bus === 'usb') usbUsed = true;
    devices.push(diskElement(disk, i, prefix + indexToSuffix(index), bus));
  });
  if (stash.hw_scsi_model) devices.push(element('controller', { type: 'scsi', index: '0', model: stash.hw_scsi_model }));

  interfaces.forEach((nic, i) => {
    const type = oneOf(`interfaces[${i}].type`, nic.type, INTERFACE_TYPES);
    const body: XmlNode[] = [];
    if (nic.mac !== undefined) {
      if (typeof nic.mac !== 'string' || !MAC.test(nic.mac)) throw new DomainXmlError(`interfaces[${i}].mac: ${JSON.stringify(nic.mac)} is not a MAC address like fa:16:3e:00:00:01`);
      body.push(element('mac', { address: nic.mac.toLowerCase() }));
    }
    const sourceName = checkSourceName(`interfaces[${i}].source`, nic.source);
    body.push(element('source', type === 'network' ? { network: sourceName } : { bridge: sourceName }));
    if (stash.hw_vif_model) body.push(element('model', { type: stash.hw_vif_model }));
    devices.push(element('interface', { type }, body));
  });

  // Video, pointer and keyboard come only with a graphical console (Nova's _guest_add_video_device).
  if (graphics !== null) {
    devices.push(element('graphics', { type: graphics, autoport: 'yes' }));
    devices.push(element('video', {}, [element('model', { type: stash.hw_video_model ?? 'virtio' })]));
    if (stash.hw_pointer_model === 'usbtablet') {
      const bus = stash.hw_input_bus ?? 'usb';
      if (bus === 'usb') usbUsed = true;
      devices.push(element('input', { type: 'tablet', bus }));
    }
    // Nova adds a keyboard only for an image-requested input bus or on AArch64; a virtio bus
    // can only have come from the image.
    const keyboardBus = stash.hw_input_bus === 'virtio' ? 'virtio' : arch === 'aarch64' ? (stash.hw_input_bus ?? 'usb') : null;
    if (keyboardBus !== null) {
      if (keyboardBus === 'usb') usbUsed = true;
      devices.push(element('input', { type: 'keyboard', bus: keyboardBus }));
    }
  }

  if (stash.hw_rng_model) {
    devices.push(element('rng', { model: stash.hw_rng_model }, [element('backend', { model: 'random' }, rngBackend)]));
  }

  // Nova disables USB where nothing uses it, except on POWER, where libvirt adds USB input.
  if (PPC_ARCHES.has(arch)) devices.push(element('controller', { type: 'usb', index: '0' }));
  else devices.push(element('controller', { type: 'usb', index: '0', model: usbUsed ? undefined : 'none' }));
  devices.push(element('memballoon', { model: 'virtio' }, [element('stats', { period: '10' })]));

  const os: XmlNode[] = [element('type', { arch, machine: stash.hw_machine_type ?? undefined }, 'hvm')];
  if (!perDeviceBoot) os.push(element('boot', { dev: 'hd' }));

  const domain = element('domain', { type: virtType }, [
    element('name', {}, checkName(spec.name)),
    element('uuid', {}, spec.uuid.toLowerCase()),
    element('memory', { unit: 'KiB' }, String(integer('memoryMb', spec.memoryMb, 1, 16 * 1024 * 1024) * 1024)),
    element('vcpu', {}, String(integer('vcpus', spec.vcpus, 1, 4096))),
    element('os', {}, os),
    element('features', {}, [element('acpi'), element('apic')]),
    element('clock', { offset: 'utc' }),
    element('devices', {}, devices),
  ]);
  indentDocument(domain);
  return `${serializeXml([domain])}\n`;
}
