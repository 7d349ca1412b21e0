/**
 * One line of `hwstash defaults --batch`: a JSON object in, a JSON object out. A line that cannot
 * be understood becomes an error line; it never stops the batch.
 */
import { ProfileError, overrideProfile } from './host-profile.js';
import type { HostProfile, OsInfoLookup } from './inputs.js';
import { resolve, type Resolution } from './resolve.js';

export interface DefaultsOutputLine {
  id: unknown;
  properties: Resolution['properties'];
  errors: Record<string, { code: string; message: string }>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function errorLine(id: unknown, key: string, code: string, message: string): DefaultsOutputLine {
  return { id, properties: {}, errors: { [key]: { code, message } } };
}

/** Resolve one parsed input object against `base` (the configured profile). */
export function defaultsForObject(obj: unknown, lineNo: number, base: HostProfile, osinfo: OsInfoLookup | null): DefaultsOutputLine {
  if (!isRecord(obj)) return errorLine(lineNo, 'input', 'InvalidInput', `line ${lineNo}: not a JSON object`);
  const id = obj['id'] ?? lineNo;
  let host: HostProfile;
  try {
    host = overrideProfile(base, obj['host'], obj['conf']);
  } catch (err) {
    if (err instanceof ProfileError) return errorLine(id, err.key, 'InvalidInput', err.message);
    throw err;
  }
  const props = obj['image_properties'] ?? {};
  if (!isRecord(props)) return errorLine(id, 'image_properties', 'InvalidInput', 'image_properties: must be an object of property names to values');
  const instance = obj['instance'] ?? {};
  if (!isRecord(instance)) return errorLine(id, 'instance', 'InvalidInput', 'instance: must be an object');
  const vmMode = instance['vm_mode'] ?? null;
  if (vmMode !== null && typeof vmMode !== 'string') {
    return errorLine(id, 'instance.vm_mode', 'InvalidInput', 'instance.vm_mode: must be a string or null');
  }
  const res = resolve({ imageProperties: props, instance: { vmMode }, host, osinfo });
  const errors: DefaultsOutputLine['errors'] = {};
  for (const [k, e] of Object.entries(res.errors)) errors[k] = { code: e.code, message: e.message };
  return { id, properties: res.properties, errors };
}

/** Resolve one raw input line; `lineNo` counts from 1 and stands in for a missing id. */
export function defaultsForLine(line: string, lineNo: number, base: HostProfile, osinfo: OsInfoLookup | null): DefaultsOutputLine {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    return errorLine(lineNo, 'input', 'InvalidInput', `line ${lineNo}: malformed JSON: ${(err as Error).message}`);
  }
  return defaultsForObject(obj, lineNo, base, osinfo);
}
