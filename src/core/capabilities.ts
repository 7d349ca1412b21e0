/**
 * What this host's QEMU can run. An enum value says what Nova knows; libvirt's domain
 * capabilities (`virConnectGetDomainCapabilities`, per emulator, arch, machine type and virt
 * type) say what this QEMU can actually run, and the host capabilities (`virConnectGetCapabilities`)
 * which machine types exist. Where the domain capabilities say nothing about a property (libvirt
 * 9.0 lists no NIC or SCSI controller models), the answer is "not checked", never a silent pass.
 */
import { busPropertyOf, diskDeviceOf, isDiskBusProperty, type DiskBusProperty, type PropertyName } from './properties.js';
import { describeDevice, devicesNamed, diskDevice, parseDomain } from './domain-xml/domain.js';
import { machineSatisfies } from './domain-xml/machine-type.js';
import { DomainXmlError } from './domain-xml/errors.js';
import { attr, children, findPath, firstChild, parseXml, rootElement, tagOf, text, type XmlNode } from './domain-xml/xml-tree.js';

// ---------------------------------------------------------------------------------------------
// Parsing, once per document

/**
 * The latest parses, by XML text. Capabilities change only when libvirt or QEMU does, yet the
 * agent reads them for every follow and the CLI for every instance: tens of KB of XML, parsed
 * again each time for the same answer. A bounded number of documents (a host has a few
 * emulator, arch and machine combinations) are kept, least recently used first out. The
 * results are shared, so they are frozen.
 */
class ParseCache<T extends object> {
  private readonly entries = new Map<string, T>();

  constructor(
    private readonly parse: (xml: string) => T,
    private readonly size = 16,
  ) {}

  get(xml: string): T {
    let value = this.entries.get(xml);
    if (value !== undefined) this.entries.delete(xml);
    else value = deepFreeze(this.parse(xml));
    this.entries.set(xml, value);
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v);
  return Object.freeze(value);
}

// ---------------------------------------------------------------------------------------------
// Domain capabilities

/** One `<devices>` child of the domain capabilities: `<disk supported='yes'><enum name='bus'>…`. */
export interface DeviceCapability<E extends string = string> {
  readonly supported: boolean;
  /** Each `<enum>` by name with its values; an enum that is absent is not listed. */
  readonly enums: Readonly<Partial<Record<E, readonly string[]>>>;
}

export interface DomainCapabilities {
  readonly path: string | null;
  /** `kvm` or `qemu`. */
  readonly domainType: string | null;
  /** The canonical machine type these capabilities describe, e.g. `pc-q35-7.2`. */
  readonly machine: string;
  readonly arch: string;
  readonly maxVcpus: number | null;
  readonly devices: {
    readonly disk?: DeviceCapability<'diskDevice' | 'bus' | 'model'>;
    readonly graphics?: DeviceCapability<'type'>;
    readonly video?: DeviceCapability<'modelType'>;
    readonly hostdev?: DeviceCapability<'mode' | 'startupPolicy' | 'subsysType' | 'capsType' | 'pciBackend'>;
    readonly rng?: DeviceCapability<'model' | 'backendModel'>;
    readonly input?: DeviceCapability<'type' | 'bus'>;
    readonly [device: string]: DeviceCapability | undefined;
  };
}

function enums(el: XmlNode): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of children(el, 'enum')) {
    const name = attr(e, 'name');
    if (name !== undefined) out[name] = children(e, 'value').map((v) => text(v).trim());
  }
  return out;
}

function optionalInt(value: string | undefined): number | null {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) ? n : null;
}

const domainCapabilitiesCache = new ParseCache(readDomainCapabilities);

/** Parse `virConnectGetDomainCapabilities` output. The result is shared and frozen. */
export function parseDomainCapabilities(xml: string): DomainCapabilities {
  return domainCapabilitiesCache.get(xml);
}

function readDomainCapabilities(xml: string): DomainCapabilities {
  const root = rootElement(parseXml(xml, 'domain capabilities XML'), 'domainCapabilities', 'domain capabilities XML');
  const field = (name: string): string | null => {
    const el = firstChild(root, name);
    return el ? text(el).trim() : null;
  };
  const machine = field('machine');
  const arch = field('arch');
  if (!machine || !arch) throw new DomainXmlError('domain capabilities XML lacks <machine> or <arch>');
  const devices: Record<string, DeviceCapability> = {};
  const devicesEl = firstChild(root, 'devices');
  for (const d of devicesEl ? children(devicesEl) : []) {
    devices[tagOf(d)] = { supported: attr(d, 'supported') === 'yes', enums: enums(d) };
  }
  const vcpu = firstChild(root, 'vcpu');
  return {
    path: field('path'),
    domainType: field('domain'),
    machine,
    arch,
    maxVcpus: vcpu ? optionalInt(attr(vcpu, 'max')) : null,
    devices,
  };
}

// ---------------------------------------------------------------------------------------------
// Problems

export interface CapabilityProblem {
  /** `unsupported`: this QEMU cannot run it. `not-checked`: the capabilities say nothing about it. */
  readonly kind: 'unsupported' | 'not-checked';
  /** The property the value belongs to; null for devices no property decides (graphics, hostdev). */
  readonly property: PropertyName | null;
  readonly value: string;
  /** The domain element concerned (checkDomain only). */
  readonly element: string | null;
  /** What the capabilities allow here; null when they do not say. */
  readonly allowed: readonly string[] | null;
  readonly message: string;
}

function where(caps: DomainCapabilities): string {
  return `machine ${caps.machine}, arch ${caps.arch}`;
}

function subject(property: PropertyName | null, what: string, value: string): string {
  return property ? `${property}=${value}` : `${what} ${value}`;
}

function unsupported(
  caps: DomainCapabilities,
  property: PropertyName | null,
  what: string,
  value: string,
  allowed: readonly string[],
  element: string | null,
  plural: string,
): CapabilityProblem {
  const list = allowed.length ? allowed.join(', ') : 'none';
  return {
    kind: 'unsupported',
    property,
    value,
    element,
    allowed,
    message: `this host's QEMU (${where(caps)}) cannot run ${subject(property, what, value)}${element ? ` (${element})` : ''}: allowed ${plural} here: ${list}`,
  };
}

function notChecked(caps: DomainCapabilities, property: PropertyName | null, what: string, value: string, element: string | null, plural: string): CapabilityProblem {
  return {
    kind: 'not-checked',
    property,
    value,
    element,
    allowed: null,
    message: `this host's domain capabilities (${where(caps)}) do not list ${plural}: ${subject(property, what, value)}${element ? ` (${element})` : ''} not checked`,
  };
}

/**
 * Check one value against one enum of one device of the capabilities. `device` absent or the
 * enum absent → not checked; device not supported → unsupported with nothing allowed.
 */
function checkEnum(
  caps: DomainCapabilities,
  device: string,
  enumName: string,
  property: PropertyName | null,
  what: string,
  value: string,
  element: string | null,
  plural: string,
): CapabilityProblem | null {
  const dev = caps.devices[device];
  if (!dev) return notChecked(caps, property, what, value, element, plural);
  if (!dev.supported) return unsupported(caps, property, what, value, [], element, plural);
  const allowed = dev.enums[enumName];
  if (!allowed) return notChecked(caps, property, what, value, element, plural);
  return allowed.includes(value) ? null : unsupported(caps, property, what, value, allowed, element, plural);
}

/**
 * Can this QEMU run `property=value` (as `hwstash image-property set` asks)? null when it can
 * (or the value is null: no device); otherwise an unsupported or not-checked problem. A machine
 * type is not a device value: the host capabilities answer for it (checkMachineType).
 */
export function checkValue(property: Exclude<PropertyName, 'hw_machine_type'>, value: string | null, caps: DomainCapabilities): CapabilityProblem | null {
  if (value === null) return null;
  if (isDiskBusProperty(property)) return checkDiskBus(property, value, caps);
  switch (property) {
    case 'hw_video_model':
      return checkEnum(caps, 'video', 'modelType', property, 'video model', value, null, 'video models');
    case 'hw_rng_model':
      return checkEnum(caps, 'rng', 'model', property, 'rng model', value, null, 'RNG models');
    case 'hw_input_bus':
      return checkEnum(caps, 'input', 'bus', property, 'input bus', value, null, 'input buses');
    case 'hw_pointer_model': {
      // usbtablet is an input of type tablet on the USB bus.
      const p =
        checkEnum(caps, 'input', 'type', property, 'input type', 'tablet', null, 'input types') ??
        checkEnum(caps, 'input', 'bus', property, 'input bus', 'usb', null, 'input buses');
      if (!p) return null;
      if (p.kind === 'not-checked') return notChecked(caps, property, 'pointer model', value, null, 'input devices');
      return { ...p, value, message: `this host's QEMU (${where(caps)}) cannot run ${property}=${value} (a USB tablet): allowed ${p.value === 'tablet' ? 'input types' : 'input buses'} here: ${p.allowed!.join(', ') || 'none'}` };
    }
    case 'hw_vif_model':
      return notChecked(caps, property, 'NIC model', value, null, 'NIC models');
    case 'hw_scsi_model':
      return notChecked(caps, property, 'SCSI model', value, null, 'SCSI controller models');
  }
}

/** A bus property: its device type must exist at all, then the bus. */
function checkDiskBus(property: DiskBusProperty, value: string, caps: DomainCapabilities): CapabilityProblem | null {
  const device = diskDeviceOf(property);
  const deviceProblem = checkEnum(caps, 'disk', 'diskDevice', property, 'disk device', device, null, 'disk device types');
  if (deviceProblem?.kind === 'unsupported') {
    return { ...deviceProblem, value, message: `this host's QEMU (${where(caps)}) cannot run ${property}=${value}: it has no ${device} devices at all` };
  }
  return checkEnum(caps, 'disk', 'bus', property, 'bus', value, null, 'buses');
}

/**
 * Every device value of a domain this QEMU cannot run, plus a not-checked entry for each
 * property the capabilities are silent about. Capabilities for another machine type or arch
 * check nothing, and say so.
 */
export function checkDomain(xml: string, caps: DomainCapabilities): CapabilityProblem[] {
  const { domain } = parseDomain(xml);
  const problems: CapabilityProblem[] = [];
  const add = (p: CapabilityProblem | null): void => {
    if (p) problems.push(p);
  };

  const osType = findPath(domain, 'os/type');
  const machine = osType ? attr(osType, 'machine') : undefined;
  const arch = osType ? attr(osType, 'arch') : undefined;
  if ((machine !== undefined && !machineSatisfies(machine, caps.machine)) || (arch !== undefined && arch !== caps.arch)) {
    return [
      {
        kind: 'not-checked',
        property: 'hw_machine_type',
        value: machine ?? '',
        element: 'os/type',
        allowed: null,
        message: `these domain capabilities describe machine ${caps.machine} (arch ${caps.arch}) but the domain uses ${machine ?? 'no machine type'} (arch ${arch ?? 'unset'}): nothing checked`,
      },
    ];
  }

  devicesNamed(domain, 'disk').forEach((disk, i) => {
    const label = describeDevice(disk, i);
    const device = diskDevice(disk);
    const property = busPropertyOf(device) ?? null;
    add(checkEnum(caps, 'disk', 'diskDevice', null, 'disk device', device, label, 'disk device types'));
    const target = firstChild(disk, 'target');
    const bus = target ? attr(target, 'bus') : undefined;
    if (bus !== undefined) add(checkEnum(caps, 'disk', 'bus', property, 'disk bus', bus, label, 'buses'));
    const model = attr(disk, 'model');
    if (model !== undefined) add(checkEnum(caps, 'disk', 'model', null, 'disk model', model, label, 'disk models'));
  });

  devicesNamed(domain, 'video').forEach((video, i) => {
    const model = firstChild(video, 'model');
    const type = model ? attr(model, 'type') : undefined;
    if (type !== undefined) add(checkEnum(caps, 'video', 'modelType', i === 0 ? 'hw_video_model' : null, 'video model', type, describeDevice(video, i), 'video models'));
  });

  devicesNamed(domain, 'rng').forEach((rng, i) => {
    const label = describeDevice(rng, i);
    const model = attr(rng, 'model');
    if (model !== undefined) add(checkEnum(caps, 'rng', 'model', 'hw_rng_model', 'rng model', model, label, 'RNG models'));
    const backend = firstChild(rng, 'backend');
    const backendModel = backend ? attr(backend, 'model') : undefined;
    if (backendModel !== undefined) add(checkEnum(caps, 'rng', 'backendModel', null, 'rng backend', backendModel, label, 'RNG backends'));
  });

  devicesNamed(domain, 'graphics').forEach((g, i) => {
    const type = attr(g, 'type');
    if (type !== undefined) add(checkEnum(caps, 'graphics', 'type', null, 'graphics', type, describeDevice(g, i), 'graphics types'));
  });

  devicesNamed(domain, 'hostdev').forEach((h, i) => {
    const label = describeDevice(h, i);
    const mode = attr(h, 'mode') ?? 'subsystem';
    add(checkEnum(caps, 'hostdev', 'mode', null, 'hostdev mode', mode, label, 'hostdev modes'));
    const type = attr(h, 'type');
    if (mode === 'subsystem' && type !== undefined) add(checkEnum(caps, 'hostdev', 'subsysType', null, 'hostdev type', type, label, 'hostdev types'));
  });

  // Input devices: checked where libvirt lists them (newer releases), otherwise the tablet's bus
  // is reported as not checked. libvirt's implicit PS/2 devices need no check.
  devicesNamed(domain, 'input').forEach((input, i) => {
    const type = attr(input, 'type');
    const bus = attr(input, 'bus');
    if (bus === 'ps2' && !caps.devices.input) return;
    const label = describeDevice(input, i);
    if (caps.devices.input) {
      if (type !== undefined) add(checkEnum(caps, 'input', 'type', type === 'tablet' ? 'hw_pointer_model' : null, 'input type', type, label, 'input types'));
      if (bus !== undefined) add(checkEnum(caps, 'input', 'bus', type === 'tablet' ? 'hw_input_bus' : null, 'input bus', bus, label, 'input buses'));
    } else if (type === 'tablet' && bus !== undefined) {
      add(notChecked(caps, 'hw_input_bus', 'input bus', bus, label, 'input buses'));
    }
  });

  const nics = devicesNamed(domain, 'interface');
  nics.forEach((nic, i) => {
    const model = firstChild(nic, 'model');
    const type = model ? attr(model, 'type') : undefined;
    if (type !== undefined) add(notChecked(caps, 'hw_vif_model', 'NIC model', type, describeDevice(nic, i), 'NIC models'));
  });

  const controllers = devicesNamed(domain, 'controller');
  controllers.forEach((c, i) => {
    const model = attr(c, 'model');
    if (attr(c, 'type') === 'scsi' && model !== undefined) {
      add(notChecked(caps, 'hw_scsi_model', 'SCSI model', model, describeDevice(c, i), 'SCSI controller models'));
    }
  });

  return problems;
}

// ---------------------------------------------------------------------------------------------
// Host capabilities: which machine types exist

export interface MachineTypeInfo {
  readonly name: string;
  /** The versioned type an alias stands for (`pc` → `pc-i440fx-7.2`); the name itself otherwise. */
  readonly canonical: string;
  readonly alias: boolean;
  readonly maxCpus: number | null;
  readonly deprecated: boolean;
}

export interface GuestCapability {
  readonly osType: string;
  readonly arch: string;
  readonly wordsize: number | null;
  readonly emulator: string | null;
  readonly machines: readonly MachineTypeInfo[];
  readonly domainTypes: readonly string[];
}

export interface HostCapabilities {
  readonly hostArch: string | null;
  readonly guests: readonly GuestCapability[];
}

function machinesOf(el: XmlNode): MachineTypeInfo[] {
  return children(el, 'machine').map((m) => {
    const name = text(m).trim();
    const canonical = attr(m, 'canonical');
    return {
      name,
      canonical: canonical ?? name,
      alias: canonical !== undefined && canonical !== name,
      maxCpus: optionalInt(attr(m, 'maxCpus')),
      deprecated: attr(m, 'deprecated') === 'yes',
    };
  });
}

const hostCapabilitiesCache = new ParseCache(readHostCapabilities);

/** Parse `virConnectGetCapabilities` output. The result is shared and frozen. */
export function parseHostCapabilities(xml: string): HostCapabilities {
  return hostCapabilitiesCache.get(xml);
}

function readHostCapabilities(xml: string): HostCapabilities {
  const root = rootElement(parseXml(xml, 'host capabilities XML'), 'capabilities', 'host capabilities XML');
  const hostArch = findPath(root, 'host/cpu/arch');
  const guests = children(root, 'guest').flatMap((g): GuestCapability[] => {
    const archEl = firstChild(g, 'arch');
    const osTypeEl = firstChild(g, 'os_type');
    if (!archEl || !osTypeEl) return [];
    const machines = machinesOf(archEl);
    // A virt type with its own emulator lists its own machine types under <domain>.
    const seen = new Set(machines.map((m) => m.name));
    for (const d of children(archEl, 'domain')) for (const m of machinesOf(d)) if (!seen.has(m.name)) (seen.add(m.name), machines.push(m));
    const wordsize = firstChild(archEl, 'wordsize');
    const emulator = firstChild(archEl, 'emulator');
    return [
      {
        osType: text(osTypeEl).trim(),
        arch: attr(archEl, 'name') ?? '',
        wordsize: wordsize ? optionalInt(text(wordsize).trim()) : null,
        emulator: emulator ? text(emulator).trim() : null,
        machines,
        domainTypes: children(archEl, 'domain').map((d) => attr(d, 'type') ?? '').filter(Boolean),
      },
    ];
  });
  return { hostArch: hostArch ? text(hostArch).trim() : null, guests };
}

/** The machine types this host's QEMU offers for `arch`. */
export function machineTypesFor(caps: HostCapabilities, arch: string, osType = 'hvm'): readonly MachineTypeInfo[] {
  return caps.guests.filter((g) => g.arch === arch && g.osType === osType).flatMap((g) => g.machines);
}

/** Is `machine` known for `arch`, and what does it stand for? null when unknown. */
export function lookupMachineType(caps: HostCapabilities, arch: string, machine: string, osType = 'hvm'): MachineTypeInfo | null {
  return machineTypesFor(caps, arch, osType).find((m) => m.name === machine) ?? null;
}

/** null when this host can run `machine` for `arch`; otherwise an unsupported problem listing the known types. */
export function checkMachineType(caps: HostCapabilities, arch: string, machine: string): CapabilityProblem | null {
  if (lookupMachineType(caps, arch, machine)) return null;
  const machines = [...machineTypesFor(caps, arch)].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const known = machines.map((m) => (m.alias ? `${m.name} (= ${m.canonical})` : m.name));
  const names = machines.map((m) => m.name);
  return {
    kind: 'unsupported',
    property: 'hw_machine_type',
    value: machine,
    element: null,
    allowed: names,
    message:
      known.length === 0
        ? `this host's QEMU has no guests of arch ${arch}, so it cannot run hw_machine_type=${machine}`
        : `this host's QEMU (arch ${arch}) has no machine type ${machine}: allowed machine types here: ${known.join(', ')}`,
  };
}
