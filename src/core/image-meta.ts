/**
 * Image properties as Nova Zed's `ImageMetaProps.from_dict` sees them: legacy names first, then
 * the current names in the field declaration order, each value coerced by its field type; the
 * first failure rejects the whole image metadata (Nova raises ValueError).
 */
import type { NovaRelease } from './releases.js';
import { FIELD_TYPES, coerceField, type FieldType } from './properties.js';

/** The coerced image properties that decide the 11 properties (unset fields are absent). */
export interface ImageProps {
  hw_architecture?: string;
  hw_emulation_architecture?: string;
  hw_cdrom_bus?: string;
  hw_disk_bus?: string;
  hw_floppy_bus?: string;
  hw_input_bus?: string;
  hw_machine_type?: string;
  hw_pointer_model?: string;
  hw_rescue_bus?: string;
  hw_rescue_device?: string;
  hw_rng_model?: string;
  hw_scsi_model?: string;
  hw_video_model?: string;
  hw_vif_model?: string;
  hw_vm_mode?: string;
  os_distro?: string;
}

type ImageField = keyof ImageProps;

/** ImageMetaProps.fields, in Zed's declaration order, restricted to the fields hwstash reads. */
const CURRENT_FIELDS: ReadonlyArray<readonly [ImageField, FieldType]> = [
  ['hw_architecture', FIELD_TYPES.Architecture],
  ['hw_emulation_architecture', FIELD_TYPES.Architecture],
  ['hw_cdrom_bus', FIELD_TYPES.DiskBus],
  ['hw_disk_bus', FIELD_TYPES.DiskBus],
  ['hw_floppy_bus', FIELD_TYPES.DiskBus],
  ['hw_input_bus', FIELD_TYPES.InputBus],
  ['hw_machine_type', FIELD_TYPES.String],
  ['hw_pointer_model', FIELD_TYPES.PointerModelType],
  ['hw_rescue_bus', FIELD_TYPES.DiskBus],
  ['hw_rescue_device', FIELD_TYPES.BlockDeviceType],
  ['hw_rng_model', FIELD_TYPES.RNGModel],
  ['hw_scsi_model', FIELD_TYPES.SCSIModel],
  ['hw_video_model', FIELD_TYPES.VideoModel],
  ['hw_vif_model', FIELD_TYPES.VIFModel],
  ['hw_vm_mode', FIELD_TYPES.VMMode],
  ['os_distro', FIELD_TYPES.String],
];

const FIELD_TYPE = new Map<string, FieldType>(CURRENT_FIELDS);

/** Legacy names `_legacy_property_map` maps, in its order (only those that matter here). */
const LEGACY_NAMES: ReadonlyArray<readonly [string, ImageField]> = [
  ['architecture', 'hw_architecture'],
  ['vmware_ostype', 'os_distro'],
  ['vm_mode', 'hw_vm_mode'],
];

/** The image metadata was rejected; `key` is the first input key whose value failed. */
export class ImageMetaError extends Error {
  constructor(
    readonly key: string,
    readonly value: unknown,
    message: string,
  ) {
    super(message);
    this.name = 'ImageMetaError';
  }
}

/**
 * Python's `str()` of a JSON scalar, which is what Nova's String coercion does with the
 * non-string values a Glance API client may send.
 */
function pythonStr(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' && Number.isFinite(value)) return pythonNumberStr(value);
  return value;
}

/**
 * Python's `str()` of a number read from JSON. JSON cannot tell 2 from 2.0, so integers print as
 * Python ints. Both languages print the shortest round-tripping digits; they differ only in when
 * they switch to exponent notation (Python below 1e-4, with at least two exponent digits;
 * JavaScript below 1e-6). Non-integers of 1e16 and above do not exist in binary64.
 */
function pythonNumberStr(n: number): string {
  if (Number.isInteger(n) || Math.abs(n) >= 1e-4) return String(n);
  const [mantissa, exp] = n.toExponential().split('e') as [string, string];
  const e = Number(exp);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** Python's truth value of a JSON value (`elif vmware_adaptertype:`). */
function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function coerceInto(props: ImageProps, inputKey: string, field: ImageField, raw: unknown, release?: NovaRelease): void {
  const type = FIELD_TYPE.get(field);
  if (!type) throw new Error(`no field type for ${field}`);
  if (raw === null || raw === undefined) {
    throw new ImageMetaError(inputKey, raw, `${inputKey}: Field \`${field}' cannot be None`);
  }
  try {
    props[field] = coerceField(inputKey, type, pythonStr(raw), release);
  } catch (err) {
    throw new ImageMetaError(inputKey, raw, (err as Error).message);
  }
}

/**
 * Coerce raw image properties (Glance-style strings; legacy names allowed; unknown keys
 * ignored), with the enums of `release` (Zed's by default). Throws ImageMetaError naming the
 * first bad input key in Nova's processing order.
 */
export function coerceImageProps(raw: Readonly<Record<string, unknown>>, release?: NovaRelease): ImageProps {
  const props: ImageProps = {};
  const has = (k: string) => Object.prototype.hasOwnProperty.call(raw, k);

  for (const [legacy, field] of LEGACY_NAMES) {
    if (has(legacy)) coerceInto(props, legacy, field, raw[legacy], release);
  }
  const adapter = raw['vmware_adaptertype'];
  if (adapter === 'ide') {
    props.hw_disk_bus = 'ide';
  } else if (pythonTruthy(adapter)) {
    props.hw_disk_bus = 'scsi';
    coerceInto(props, 'vmware_adaptertype', 'hw_scsi_model', adapter, release);
  }
  for (const [field] of CURRENT_FIELDS) {
    if (has(field)) coerceInto(props, field, field, raw[field], release);
  }
  return props;
}

/** `fields.VMMode.canonicalize`: null stays null; an unknown mode is an error. */
export function canonicalVmMode(mode: string | null): string | null {
  if (mode === null) return null;
  return coerceField('vm_mode', FIELD_TYPES.VMMode, mode);
}
