/**
 * The property table: the one place that says which properties hwstash stashes, how Nova
 * (Zed) coerces their values, which values it accepts and which guest device each governs.
 * Everything else — resolver, store, CLI, domain XML — reads this table.
 */

import { vifModelsOf, type NovaRelease } from './releases.js';

export const DISK_BUSES = ['fdc', 'ide', 'sata', 'scsi', 'usb', 'virtio', 'xen', 'lxc', 'uml'] as const;
export const INPUT_BUSES = ['usb', 'virtio'] as const;
export const POINTER_MODELS = ['usbtablet'] as const;
export const RNG_MODELS = ['virtio'] as const;
export const SCSI_MODELS = ['buslogic', 'ibmvscsi', 'lsilogic', 'lsisas1068', 'lsisas1078', 'virtio-scsi', 'vmpvscsi'] as const;
export const VIDEO_MODELS = ['cirrus', 'qxl', 'vga', 'vmvga', 'xen', 'virtio', 'gop', 'none', 'bochs'] as const;
/** Nova's VMMode: a guest's `<os><type>`. */
export const VM_MODES = ['hvm', 'xen', 'uml', 'exe'] as const;
export const VIF_MODELS = [
  'virtio', 'ne2k_pci', 'pcnet', 'rtl8139', 'e1000', 'e1000e', 'netfront', 'spapr-vlan', 'lan9118', 'sriov', 'vmxnet', 'vmxnet3',
] as const;

/** The guest device a property decides. */
export type DeviceKind = 'machine' | 'cdrom' | 'disk' | 'floppy' | 'rescue' | 'input' | 'pointer' | 'rng' | 'scsi' | 'video' | 'vif';

/** A Nova versioned-object field type, as far as coercion goes. */
export interface FieldType {
  /** Nova's field class, used in messages. */
  readonly nova: string;
  /** Accepted canonical values; null = any string. */
  readonly values: readonly string[] | null;
  /** Lower-case the input before checking (Nova's VIFModel, SCSIModel, Architecture, VMMode). */
  readonly foldCase: boolean;
  /** Legacy aliases applied after case folding. */
  readonly aliases: Readonly<Record<string, string>>;
  /** The accepted values on a given Nova release, where later releases added some (releases.ts). */
  readonly releaseValues?: (release: NovaRelease) => readonly string[];
}

const enumField = (nova: string, values: readonly string[], foldCase = false, aliases: Record<string, string> = {}): FieldType =>
  ({ nova, values, foldCase, aliases });

export const FIELD_TYPES = {
  String: { nova: 'String', values: null, foldCase: false, aliases: {} } as FieldType,
  DiskBus: enumField('DiskBus', DISK_BUSES),
  InputBus: enumField('InputBus', INPUT_BUSES),
  PointerModelType: enumField('PointerModelType', POINTER_MODELS),
  RNGModel: enumField('RNGModel', RNG_MODELS),
  VideoModel: enumField('VideoModel', VIDEO_MODELS),
  VIFModel: {
    ...enumField('VIFModel', VIF_MODELS, true, {
      virtuale1000: 'e1000',
      virtuale1000e: 'e1000e',
      virtualpcnet32: 'pcnet',
      virtualsriovethernetcard: 'sriov',
      virtualvmxnet: 'vmxnet',
      virtualvmxnet3: 'vmxnet3',
    }),
    releaseValues: (release: NovaRelease) => vifModelsOf(VIF_MODELS, release),
  },
  SCSIModel: enumField('SCSIModel', SCSI_MODELS, true, { lsilogicsas: 'lsisas1068', paravirtual: 'vmpvscsi' }),
  BlockDeviceType: enumField('BlockDeviceType', ['cdrom', 'disk', 'floppy', 'fs', 'lun']),
  Architecture: enumField(
    'Architecture',
    [
      'alpha', 'armv6', 'armv7l', 'armv7b', 'aarch64', 'cris', 'i686', 'ia64', 'lm32', 'm68k', 'microblaze', 'microblazeel',
      'mips', 'mipsel', 'mips64', 'mips64el', 'openrisc', 'parisc', 'parisc64', 'ppc', 'ppcle', 'ppc64', 'ppc64le', 'ppcemb',
      's390', 's390x', 'sh4', 'sh4eb', 'sparc', 'sparc64', 'unicore32', 'x86_64', 'xtensa', 'xtensaeb',
    ],
    true,
    { i386: 'i686', i486: 'i686', i586: 'i686', x86_32: 'i686', x86_32p: 'i686', amd64: 'x86_64' },
  ),
  VMMode: enumField('VMMode', VM_MODES, true, { pv: 'xen', hv: 'hvm', baremetal: 'hvm' }),
} as const;

export type PropertyName =
  | 'hw_machine_type'
  | 'hw_cdrom_bus'
  | 'hw_disk_bus'
  | 'hw_floppy_bus'
  | 'hw_rescue_bus'
  | 'hw_input_bus'
  | 'hw_pointer_model'
  | 'hw_rng_model'
  | 'hw_scsi_model'
  | 'hw_video_model'
  | 'hw_vif_model';

export type SystemMetadataKey = `image_${PropertyName}`;

export interface PropertySpec {
  readonly name: PropertyName;
  /** The instance_system_metadata key Nova reads it from. */
  readonly key: SystemMetadataKey;
  readonly type: FieldType;
  readonly device: DeviceKind;
  /** Nova's own `_register_undefined_instance_details` stashes it (REGISTER_IMAGE_PROPERTY_DEFAULTS). */
  readonly novaStashes: boolean;
}

// Keeps each entry's name and device as literal types, so types below can be derived from the table.
const prop = <N extends PropertyName, D extends DeviceKind>(name: N, type: FieldType, device: D, novaStashes: boolean): PropertySpec & { name: N; device: D } =>
  ({ name, key: `image_${name}`, type, device, novaStashes });

const TABLE = [
  prop('hw_machine_type', FIELD_TYPES.String, 'machine', true),
  prop('hw_cdrom_bus', FIELD_TYPES.DiskBus, 'cdrom', true),
  prop('hw_disk_bus', FIELD_TYPES.DiskBus, 'disk', true),
  prop('hw_input_bus', FIELD_TYPES.InputBus, 'input', true),
  prop('hw_pointer_model', FIELD_TYPES.PointerModelType, 'pointer', true),
  prop('hw_video_model', FIELD_TYPES.VideoModel, 'video', true),
  prop('hw_vif_model', FIELD_TYPES.VIFModel, 'vif', true),
  prop('hw_floppy_bus', FIELD_TYPES.DiskBus, 'floppy', false),
  prop('hw_rescue_bus', FIELD_TYPES.DiskBus, 'rescue', false),
  prop('hw_scsi_model', FIELD_TYPES.SCSIModel, 'scsi', false),
  prop('hw_rng_model', FIELD_TYPES.RNGModel, 'rng', false),
] as const;

/** The 11 properties, in the order hwstash lists them (Nova's stash order first). */
export const PROPERTIES: readonly PropertySpec[] = TABLE;

/** libvirt's `<disk device>` types whose `<target bus>` a property decides. */
export type DiskDevice = 'disk' | 'cdrom' | 'floppy';

/**
 * The `<disk device>` each bus property's devices are. The rescue disk is checked as a disk:
 * hw_rescue_device, which may make it another type, is the rescue image's and is not stashed.
 */
const DISK_DEVICE_OF_KIND = { disk: 'disk', cdrom: 'cdrom', floppy: 'floppy', rescue: 'disk' } as const satisfies Partial<Record<DeviceKind, DiskDevice>>;

type BusSpec = Extract<(typeof TABLE)[number], { device: keyof typeof DISK_DEVICE_OF_KIND }>;

/** hw_disk_bus, hw_cdrom_bus, hw_floppy_bus and hw_rescue_bus: the properties that decide a disk bus. */
export type DiskBusProperty = BusSpec['name'];

const BUS_SPECS: readonly BusSpec[] = TABLE.filter((p): p is BusSpec => p.device in DISK_DEVICE_OF_KIND);

/** The bus properties, in the table's order. */
export const DISK_BUS_PROPERTIES: readonly DiskBusProperty[] = BUS_SPECS.map((p) => p.name);

export function isDiskBusProperty(name: PropertyName): name is DiskBusProperty {
  return (DISK_BUS_PROPERTIES as readonly PropertyName[]).includes(name);
}

/** The `<disk device>` type whose bus `name` decides (hw_rescue_bus: `disk`). */
export function diskDeviceOf(name: DiskBusProperty): DiskDevice {
  return DISK_DEVICE_OF_KIND[BUS_SPECS.find((p) => p.name === name)!.device];
}

/**
 * Which property decides the bus of a domain's `<disk device>` (`cdrom` → hw_cdrom_bus). A
 * domain's `disk` is hw_disk_bus's, never hw_rescue_bus's: a rescue disk exists only during a
 * rescue.
 */
const BUS_PROPERTY_OF_DEVICE: ReadonlyMap<DiskDevice, DiskBusProperty> = new Map(
  BUS_SPECS.filter((p) => p.device !== 'rescue').map((p) => [DISK_DEVICE_OF_KIND[p.device], p.name]),
);

/** The `<disk device>` types whose bus a property decides, in the table's order. */
export const DISK_DEVICES: readonly DiskDevice[] = [...BUS_PROPERTY_OF_DEVICE.keys()];

/** The property that decides the bus of a `<disk device>` type; undefined for one none decides (`lun`). */
export function busPropertyOf(device: DiskDevice): DiskBusProperty;
export function busPropertyOf(device: string): DiskBusProperty | undefined;
export function busPropertyOf(device: string): DiskBusProperty | undefined {
  return BUS_PROPERTY_OF_DEVICE.get(device as DiskDevice);
}

export const PROPERTY_NAMES: readonly PropertyName[] = PROPERTIES.map((p) => p.name);

const BY_NAME = new Map<string, PropertySpec>(PROPERTIES.map((p) => [p.name, p]));
const BY_KEY = new Map<string, PropertySpec>(PROPERTIES.map((p) => [p.key, p]));

export function isPropertyName(name: string): name is PropertyName {
  return BY_NAME.has(name);
}

export function propertySpec(name: PropertyName): PropertySpec {
  const spec = BY_NAME.get(name);
  if (!spec) throw new Error(`unknown property ${name}`);
  return spec;
}

/** The spec for a system_metadata key such as `image_hw_disk_bus`, or undefined. */
export function specForKey(key: string): PropertySpec | undefined {
  return BY_KEY.get(key);
}

/** Why a value was refused by a field type. */
export class CoercionError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly type: FieldType,
  ) {
    super(
      type.values
        ? `${field}: ${JSON.stringify(value)} is not a valid ${type.nova}; allowed: ${type.values.join(', ')}`
        : `${field}: ${JSON.stringify(value)} is not a valid ${type.nova}`,
    );
    this.name = 'CoercionError';
  }
}

/**
 * Coerce a raw value the way Nova's versioned-object field does. Throws CoercionError.
 * Non-strings are refused: Glance properties and system_metadata values are strings.
 */
/** The values a field accepts on a release (Zed's when none is given). */
export function fieldValues(type: FieldType, release?: NovaRelease): readonly string[] | null {
  return release && type.releaseValues ? type.releaseValues(release) : type.values;
}

export function coerceField(field: string, type: FieldType, raw: unknown, release?: NovaRelease): string {
  if (typeof raw !== 'string') throw new CoercionError(field, raw, type);
  const values = fieldValues(type, release);
  if (!values) return raw;
  let v = type.foldCase ? raw.toLowerCase() : raw;
  v = type.aliases[v] ?? v;
  if (!values.includes(v)) throw new CoercionError(field, raw, type);
  return v;
}

/** Coerce a value of one of the 11 properties, with the enums of `release` (Zed's by default). */
export function coerceProperty(name: PropertyName, raw: unknown, release?: NovaRelease): string {
  return coerceField(name, propertySpec(name).type, raw, release);
}

/** Human-readable allowed values of a property, for error messages. */
export function allowedText(name: PropertyName, release?: NovaRelease): string {
  const values = fieldValues(propertySpec(name).type, release);
  return values ? values.join(', ') : 'a QEMU machine type name or alias';
}
