/**
 * An instance's system_metadata read the way Nova reads it (nova/utils.py, Zed):
 *
 * - `metadata_to_dict(..., include_deleted=True)`: every row counts, soft-deleted or not, and for
 *   a key stored twice the later row (the highest id) wins;
 * - `get_image_from_system_metadata`: NULL values skipped, the `image_` prefix stripped,
 *   SM_SKIP_KEYS dropped, SM_INHERITABLE_KEYS kept out of the properties.
 *
 * Pure functions over rows; the store does the reading.
 */
import { PROPERTIES, coerceProperty, type PropertyName } from '../core/properties.js';

export const SM_IMAGE_PROP_PREFIX = 'image_';
export const SM_INHERITABLE_KEYS: readonly string[] = ['min_ram', 'min_disk', 'disk_format', 'container_format'];
export const SM_SKIP_KEYS: readonly string[] = ['mappings', 'block_device_mapping', 'img_mappings', 'img_block_device_mapping'];

export interface SysmetaRow {
  id: number;
  instanceUuid: string;
  key: string;
  value: string | null;
  deleted: number | null;
}

/** `metadata_to_dict(rows, include_deleted=True)` with rows in id order. */
export function sysmetaDict(rows: readonly SysmetaRow[]): Map<string, string | null> {
  const dict = new Map<string, string | null>();
  for (const row of [...rows].sort((a, b) => a.id - b.id)) dict.set(row.key, row.value);
  return dict;
}

export interface RawImageProperties {
  /** Raw property strings as Nova feeds them to ImageMetaProps.from_dict. */
  properties: Record<string, string>;
  /** For each property, the system_metadata key it came from (to name it in reports). */
  keys: Record<string, string>;
}

/** `get_image_from_system_metadata(...)['properties']`. */
export function imagePropertiesFromSysmeta(dict: ReadonlyMap<string, string | null>): RawImageProperties {
  const properties: Record<string, string> = {};
  const keys: Record<string, string> = {};
  for (const [sysKey, value] of dict) {
    if (value === null) continue;
    const key = sysKey.startsWith(SM_IMAGE_PROP_PREFIX) ? sysKey.slice(SM_IMAGE_PROP_PREFIX.length) : sysKey;
    if (SM_SKIP_KEYS.includes(key) || SM_INHERITABLE_KEYS.includes(key)) continue;
    properties[key] = value;
    keys[key] = sysKey;
  }
  return { properties, keys };
}

export interface StoredProperty {
  /** A row exists for `image_<property>` (even one holding NULL: "no such device"). */
  present: boolean;
  /** The stored value as written (Nova's raw string, such as `VirtualE1000`). */
  raw: string | null;
  /** The value as Nova coerces it (`e1000`); null for NULL or when it cannot be coerced. */
  value: string | null;
  /** Why Nova cannot coerce the stored value; absent when it can. */
  error?: string;
}

/** The stash state of the 11 properties. */
export function storedProperties(dict: ReadonlyMap<string, string | null>): Record<PropertyName, StoredProperty> {
  const out = {} as Record<PropertyName, StoredProperty>;
  for (const spec of PROPERTIES) {
    if (!dict.has(spec.key)) {
      out[spec.name] = { present: false, raw: null, value: null };
      continue;
    }
    const raw = dict.get(spec.key) ?? null;
    if (raw === null) {
      out[spec.name] = { present: true, raw: null, value: null };
      continue;
    }
    try {
      out[spec.name] = { present: true, raw, value: coerceProperty(spec.name, raw) };
    } catch (err) {
      out[spec.name] = { present: true, raw, value: null, error: (err as Error).message };
    }
  }
  return out;
}

/** A stored value Nova cannot coerce: it breaks `instance.image_meta` for the whole instance. */
export interface BadStoredValue {
  instanceUuid: string;
  key: string;
  value: string;
  message: string;
}
