/**
 * Overriding a host profile from loosely typed input: `hwstash defaults --host-arch/--virt-type/
 * --conf`, and the `host` and `conf` objects of a batch line. Validation names the key and the
 * allowed values; nothing here reads configuration files.
 */
import { POINTER_MODEL_OPTIONS, VIRT_TYPES, type HostProfile, type PointerModelOption, type VirtType } from './inputs.js';
import { CoercionError, FIELD_TYPES, coerceField } from './properties.js';

export class ProfileError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** The `conf` keys a caller may override, named `section.option` as in nova.conf. */
export const CONF_KEYS = [
  'libvirt.hw_machine_type',
  'spice.enabled',
  'spice.agent_enabled',
  'vnc.enabled',
  'pointer_model',
  'libvirt.use_virtio_for_bridges',
] as const;
export type ConfKey = (typeof CONF_KEYS)[number];

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

function bool(key: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE.has(s)) return true;
    if (FALSE.has(s)) return false;
  }
  throw new ProfileError(key, `${key}: ${JSON.stringify(v)} is not a boolean; allowed: true, false`);
}

function machineTypes(key: string, v: unknown): string[] {
  if (v === null || v === undefined) return [];
  // oslo.config's ListOpt: comma-separated, items stripped.
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return [...(v as string[])];
  throw new ProfileError(key, `${key}: ${JSON.stringify(v)} is not a list of arch=machine strings`);
}

function pointerModel(key: string, v: unknown): PointerModelOption | null {
  if (v === null || v === '') return null;
  if (typeof v === 'string' && (POINTER_MODEL_OPTIONS as readonly string[]).includes(v)) return v as PointerModelOption;
  throw new ProfileError(key, `${key}: ${JSON.stringify(v)} is not allowed; allowed: ${POINTER_MODEL_OPTIONS.join(', ')}, null`);
}

export function parseVirtType(key: string, v: unknown): VirtType {
  if (typeof v === 'string' && (VIRT_TYPES as readonly string[]).includes(v)) return v as VirtType;
  throw new ProfileError(key, `${key}: ${JSON.stringify(v)} is not allowed; allowed: ${VIRT_TYPES.join(', ')}`);
}

/** A machine architecture canonicalised as Nova does (`amd64` → x86_64; `arm64` is refused). */
export function parseArch(key: string, v: unknown): string {
  try {
    return coerceField(key, FIELD_TYPES.Architecture, v);
  } catch (err) {
    if (err instanceof CoercionError) throw new ProfileError(key, err.message);
    throw err;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A copy of `base` with the given host facts and options applied. Unknown keys are refused so a
 * typo does not silently resolve against the wrong profile.
 */
export function overrideProfile(base: HostProfile, host?: unknown, conf?: unknown): HostProfile {
  const out: HostProfile = { ...base, machineTypes: [...base.machineTypes] };
  if (host !== undefined && host !== null) {
    if (!isRecord(host)) throw new ProfileError('host', 'host: must be an object with arch and virt_type');
    for (const [k, v] of Object.entries(host)) {
      if (k === 'arch') out.arch = parseArch('host.arch', v);
      else if (k === 'virt_type') out.virtType = parseVirtType('host.virt_type', v);
      else throw new ProfileError(`host.${k}`, `host.${k}: unknown host fact; allowed: arch, virt_type`);
    }
  }
  if (conf !== undefined && conf !== null) {
    if (!isRecord(conf)) throw new ProfileError('conf', 'conf: must be an object of section.option values');
    for (const [k, v] of Object.entries(conf)) {
      const key = `conf.${k}`;
      switch (k as ConfKey) {
        case 'libvirt.hw_machine_type': out.machineTypes = machineTypes(key, v); break;
        case 'spice.enabled': out.spiceEnabled = bool(key, v); break;
        case 'spice.agent_enabled': out.spiceAgentEnabled = bool(key, v); break;
        case 'vnc.enabled': out.vncEnabled = bool(key, v); break;
        case 'pointer_model': out.pointerModel = pointerModel(key, v); break;
        case 'libvirt.use_virtio_for_bridges': out.useVirtioForBridges = bool(key, v); break;
        default:
          throw new ProfileError(key, `${key}: unknown option; allowed: ${CONF_KEYS.join(', ')}`);
      }
    }
  }
  return out;
}
