/**
 * The checks an operator's `image-property set` (and `revert`) passes before anything is
 * written, as pure functions: the vm_state rule, the `--property key=value` format, the property
 * names, each value (Nova's enum after coercion, no `=`, the host's virt type), nova-manage's
 * machine-type update guards, and what this host's libvirt capabilities say it can run.
 * Messages name the property, the value and what is allowed; the caller adds the instance.
 */
import type { NovaRelease } from './releases.js';
import {
  CoercionError,
  PROPERTY_NAMES,
  allowedText,
  coerceProperty,
  isDiskBusProperty,
  isPropertyName,
  type PropertyName,
} from './properties.js';
import type { VirtType } from './inputs.js';
import { busesFor, vifModelsFor } from './rules/context.js';
import { isMachineTypeName, isUnversioned, machineFamily, machineTypeNameMessage, machineTypeVersion } from './domain-xml/machine-type.js';
import {
  checkMachineType,
  checkValue,
  lookupMachineType,
  type CapabilityProblem,
  type DomainCapabilities,
  type HostCapabilities,
} from './capabilities.js';

// ---------------------------------------------------------------------------------------------
// vm_state

/** nova-manage's `image_property set` and `libvirt update_machine_type` allow only these. */
export const ALLOWED_VM_STATES = ['stopped', 'shelved', 'shelved_offloaded'] as const;

export function stateAllowsChange(vmState: string | null): boolean {
  return vmState !== null && (ALLOWED_VM_STATES as readonly string[]).includes(vmState);
}

export function stateProblem(vmState: string | null, command: string, taskState: string | null = null): string | null {
  if (!stateAllowsChange(vmState)) {
    return (
      `is in vm_state ${vmState ?? 'NULL'}: ${command} is allowed only in vm_state ${ALLOWED_VM_STATES.join(', ')}; ` +
      'stop or shelve the instance first'
    );
  }
  // Nova holds the instance for its operation and saves its whole system_metadata at the end,
  // which would revert a value written now.
  if (taskState !== null) return `has a Nova operation in progress (task_state ${taskState}): ${command} waits until it ends; run it again then`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// `--property key=value` items

export type InputProblemKind = 'format' | 'name';

/** A `--property` item that is not `key=value` (format) or names no stashed property (name). */
export class PropertyInputError extends Error {
  constructor(
    readonly kind: InputProblemKind,
    message: string,
  ) {
    super(message);
    this.name = 'PropertyInputError';
  }
}

export interface RequestedValue {
  property: PropertyName;
  /** As given: may still need coercion, may contain `=` (refused as a value). */
  raw: string;
}

const EXAMPLE = 'e.g. --property hw_disk_bus=virtio';

/**
 * Parse `key=value` items the way nova-manage orders its checks: every item's format first
 * (a missing `=`, or a property given twice), then every name. The first `=` splits, so a value
 * containing `=` reaches the value checks, which refuse it.
 */
export function parseAssignments(items: readonly string[], option = '--property'): RequestedValue[] {
  if (items.length === 0) throw new PropertyInputError('format', `no ${option} given: expected ${option} key=value (${EXAMPLE})`);
  const split = items.map((item) => {
    const eq = item.indexOf('=');
    if (eq < 0) throw new PropertyInputError('format', `${option} ${JSON.stringify(item)} should use the format key=value (${EXAMPLE})`);
    return { key: item.slice(0, eq), raw: item.slice(eq + 1) };
  });
  const seen = new Map<string, string>();
  for (const { key, raw } of split) {
    const before = seen.get(key);
    if (before !== undefined) {
      throw new PropertyInputError(
        'format',
        `${option} ${key} is given twice (${JSON.stringify(before)} and ${JSON.stringify(raw)}): give each property once`,
      );
    }
    seen.set(key, raw);
  }
  for (const { key } of split) {
    if (!isPropertyName(key)) {
      throw new PropertyInputError(
        'name',
        `${option}: invalid image property name ${JSON.stringify(key)}; allowed: ${PROPERTY_NAMES.join(', ')}`,
      );
    }
  }
  return split.map(({ key, raw }) => ({ property: key as PropertyName, raw }));
}

// ---------------------------------------------------------------------------------------------
// Values

export interface CheckedValue {
  property: PropertyName;
  /** The canonical value to store (`e1000` for `VirtualE1000`). */
  value: string;
}

export interface ValueProblem {
  property: PropertyName;
  value: string;
  message: string;
}

/** Enum after coercion, no `=`, a machine-type name's shape: the canonical value, or the problem. */
function enumProblem(property: PropertyName, raw: string, release?: NovaRelease): { value: string } | ValueProblem {
  const shown = `${property}=${JSON.stringify(raw)}`;
  if (raw.includes('=')) return { property, value: raw, message: `${shown}: a value must not contain '='; allowed: ${allowedText(property, release)}` };
  if (property === 'hw_machine_type') {
    return isMachineTypeName(raw) ? { value: raw } : { property, value: raw, message: machineTypeNameMessage(shown) };
  }
  try {
    return { value: coerceProperty(property, raw, release) };
  } catch (err) {
    if (!(err instanceof CoercionError)) throw err;
    return { property, value: raw, message: `${shown} is not a valid ${err.type.nova}; allowed: ${allowedText(property, release)}` };
  }
}

/** Whether the host's `[libvirt] virt_type` can use the value (RULES.md §3 `bus_ok`, §6's VIF table). */
export function virtTypeProblem(property: PropertyName, value: string, virtType: VirtType, release?: NovaRelease): ValueProblem | null {
  let allowed: readonly string[] | null = null;
  if (isDiskBusProperty(property)) allowed = busesFor(virtType);
  else if (property === 'hw_vif_model') allowed = vifModelsFor(virtType, release);
  if (allowed === null || allowed.includes(value)) return null;
  return {
    property,
    value,
    message: `${property}=${value} is not valid for [libvirt] virt_type ${virtType}; allowed for ${virtType}: ${allowed.length ? allowed.join(', ') : 'none'}`,
  };
}

/** Every value's enum check (after coercion, no `=`); canonical values for those that pass. */
export function coerceRequestedValues(requested: readonly RequestedValue[], release?: NovaRelease): { values: CheckedValue[]; problems: ValueProblem[] } {
  const values: CheckedValue[] = [];
  const problems: ValueProblem[] = [];
  for (const { property, raw } of requested) {
    const checked = enumProblem(property, raw, release);
    if ('message' in checked) problems.push(checked);
    else values.push({ property, value: checked.value });
  }
  return { values, problems };
}

/** Every value's enum and virt-type check, on the enums and tables of `release` (Zed by default); canonical values for those that pass. */
export function checkRequestedValues(
  requested: readonly RequestedValue[],
  virtType: VirtType,
  release?: NovaRelease,
): { values: CheckedValue[]; problems: ValueProblem[] } {
  const coerced = coerceRequestedValues(requested, release);
  const values: CheckedValue[] = [];
  const problems = [...coerced.problems];
  for (const v of coerced.values) {
    const vt = virtTypeProblem(v.property, v.value, virtType, release);
    if (vt) problems.push(vt);
    else values.push(v);
  }
  // In the order given, so messages follow the command line.
  const order = (p: { property: PropertyName }) => requested.findIndex((r) => r.property === p.property);
  problems.sort((a, b) => order(a) - order(b));
  return { values, problems };
}

// ---------------------------------------------------------------------------------------------
// nova-manage libvirt update_machine_type guards (nova/virt/libvirt/machine_type_utils.py)

/**
 * `SUPPORTED_TYPE_PATTERNS`, as Nova writes them: `re.match` anchors at the start only, and the
 * unescaped `.` matches any character.
 */
export const NOVA_MACHINE_TYPE_PATTERNS: readonly RegExp[] = [
  /^pc$/,
  /^q35$/,
  /^virt$/,
  /^s390-ccw-virtio$/,
  /^pc-\d+.\d+/,
  /^pc-i440fx-\d+.\d+/,
  /^pc-q35-\d+.\d+/,
  /^virt-\d+.\d+/,
  /^s390-ccw-virtio-\d+.\d+/,
  /^pc-i440fx-rhel\d.\d+.\d+/,
  /^pc-q35-rhel\d.\d+.\d+/,
];

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Why changing `existing` to `next` is refused without `--force`, or null. Against a stashed
 * value these are Nova's rules: not to another machine type family, not between an alias and a
 * versioned type, not to an older version. Against a domain's machine type (nothing stashed yet;
 * libvirt always shows versioned names) only the family and version rules apply.
 */
export function machineTypeUpdateProblem(existing: string | null, next: string, existingFrom: 'stash' | 'domain' = 'stash'): string | null {
  if (!existing || existing === next) return null;
  const from = existingFrom === 'stash' ? 'the stashed' : "the domain's";
  const had = machineTypeVersion(existing);
  const family = machineFamily(existing);
  const allowed = had
    ? `${existing.slice(0, existing.length - had.join('.').length)}<version> with a version of ${had.join('.')} or later`
    : existingFrom === 'stash'
      ? `${existing} only (an alias stays an alias)`
      : `machine types of the ${family} family`;
  const refuse = (why: string) =>
    `hw_machine_type=${next}: cannot update machine type ${existing} to ${next}: ${why}; allowed without --force: ${allowed} ` +
    '(nova-manage libvirt update_machine_type refuses it too)';
  if (family !== machineFamily(next)) {
    return refuse(`${from} type is of the ${family} family, ${next} of the ${machineFamily(next)} family, and a guest's chipset must not change under it`);
  }
  if (existingFrom === 'stash') {
    for (const pattern of NOVA_MACHINE_TYPE_PATTERNS) {
      if (pattern.test(existing) && !pattern.test(next)) {
        return refuse(
          isUnversioned(existing) !== isUnversioned(next)
            ? 'it would move between an alias and a versioned type'
            : `${next} is not the same kind of machine type as ${existing}`,
        );
      }
    }
  }
  if (had) {
    const has = machineTypeVersion(next);
    if (!has) return existingFrom === 'domain' ? null : refuse(`${from} type is versioned (${had.join('.')}), ${next} is not`);
    if (compareVersions(has, had) < 0) return refuse(`${next} is older than ${existing} (${has.join('.')} < ${had.join('.')})`);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// What this host's libvirt says it can run

/** One thing the host's capabilities say about a value. */
export interface HostFinding {
  property: PropertyName | null;
  message: string;
}

export interface HostFindings {
  /** Values this host's QEMU cannot run: refused. */
  unsupported: HostFinding[];
  /** What could not be checked, said so rather than passed silently. */
  notChecked: HostFinding[];
  /** Runs, but will not for long (deprecated machine types). */
  warnings: HostFinding[];
}

export function emptyFindings(): HostFindings {
  return { unsupported: [], notChecked: [], warnings: [] };
}

/** The host capabilities describe QEMU guests for this virt type (not libvirt's test driver). */
export function describesQemu(caps: HostCapabilities): boolean {
  return caps.guests.some((g) => g.domainTypes.includes('qemu') || g.domainTypes.includes('kvm'));
}

/** Whether this host's QEMU offers `machine` for `arch`, and whether it is deprecated. */
export function checkMachineOnHost(caps: HostCapabilities, arch: string, machine: string): HostFindings {
  const out = emptyFindings();
  if (!describesQemu(caps)) {
    out.notChecked.push({ property: 'hw_machine_type', message: `the host capabilities list no QEMU guests: hw_machine_type=${machine} not checked` });
    return out;
  }
  const problem = checkMachineType(caps, arch, machine);
  if (problem) {
    out.unsupported.push({ property: 'hw_machine_type', message: problem.message });
    return out;
  }
  const info = lookupMachineType(caps, arch, machine);
  if (info?.deprecated) out.warnings.push({ property: 'hw_machine_type', message: `hw_machine_type=${machine}: this host's QEMU marks machine type ${machine} as deprecated; a later QEMU removes it` });
  else if (info?.alias) {
    const target = lookupMachineType(caps, arch, info.canonical);
    if (target?.deprecated) out.warnings.push({ property: 'hw_machine_type', message: `hw_machine_type=${machine}: it stands for ${info.canonical}, which this host's QEMU marks as deprecated` });
  }
  return out;
}

export interface ValueToCheck {
  property: PropertyName;
  value: string | null;
  /** False for a stashed value that stays as it is (checked because the machine type changes). */
  changed: boolean;
}

/**
 * Each value against the domain capabilities of the machine type and arch it will run on. The
 * machine type itself is checked against the host capabilities (checkMachineOnHost).
 */
export function checkAgainstDomainCapabilities(values: readonly ValueToCheck[], caps: DomainCapabilities): HostFindings {
  const out = emptyFindings();
  for (const v of values) {
    if (v.property === 'hw_machine_type' || v.value === null) continue;
    const problem: CapabilityProblem | null = checkValue(v.property, v.value, caps);
    if (!problem) continue;
    const note = v.changed ? '' : ' (stashed, unchanged: change it in the same command)';
    if (problem.kind === 'unsupported') out.unsupported.push({ property: v.property, message: `${problem.message}${note}` });
    else out.notChecked.push({ property: v.property, message: problem.message });
  }
  return out;
}

export function mergeFindings(...all: HostFindings[]): HostFindings {
  return {
    unsupported: all.flatMap((f) => f.unsupported),
    notChecked: all.flatMap((f) => f.notChecked),
    warnings: all.flatMap((f) => f.warnings),
  };
}
