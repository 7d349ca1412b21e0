/**
 * QEMU machine-type names: which family (chipset layout) a name belongs to, its version, and
 * whether a stashed name is satisfied by the name libvirt wrote. libvirt expands an alias such as
 * `pc` or `q35` to the versioned name current at define time (`pc-i440fx-7.2` upstream,
 * `pc-q35-rhel9.2.0` on RHEL, `pc-q35-jammy` behind Ubuntu's `ubuntu-q35`); a guest defined then
 * must keep that version, so an alias in the stash is satisfied by any version of its family, and
 * any other name only by itself.
 */
import { DomainXmlError } from './errors.js';

/**
 * QEMU's aliases (`<machine canonical=…>` in libvirt's host capabilities), by family. Each
 * carries neither a version nor a distro or codename suffix, and stands for the newest type of
 * its family on that QEMU.
 */
const ALIAS_FAMILIES: ReadonlyMap<string, string> = new Map([
  ['pc', 'i440fx'],
  ['q35', 'q35'],
  ['virt', 'virt'],
  ['pseries', 'pseries'],
  ['s390-ccw-virtio', 's390-ccw-virtio'],
  ['ubuntu', 'i440fx'],
  ['ubuntu-q35', 'q35'],
]);

/**
 * The versioned types of each family start with its prefix, whatever follows: an upstream
 * version (`pc-q35-7.2`), a distro's (`pc-i440fx-rhel7.6.0`, `virt-rhel9.2.0`), a codename
 * (`pc-q35-jammy`) or a variant (`pseries-2.12-sxxm`).
 */
const FAMILY_PREFIXES: ReadonlyArray<readonly [prefix: string, family: string]> = [
  ['pc-i440fx-', 'i440fx'],
  ['pc-q35-', 'q35'],
  ['virt-', 'virt'],
  ['pseries-', 'pseries'],
  ['s390-ccw-virtio-', 's390-ccw-virtio'],
];

/** Nova's `\d+\.\d+$|\d+\.\d+\.\d+$` (machine_type_utils): the trailing x.y or x.y.z. */
const TRAILING_VERSION = /(\d+\.\d+\.\d+|\d+\.\d+)$/;

/** The trailing x.y or x.y.z version of a machine type, as Nova reads it, or null. */
export function machineTypeVersion(machine: string): number[] | null {
  const m = TRAILING_VERSION.exec(machine);
  return m ? m[1]!.split('.').map(Number) : null;
}

/**
 * Family of a machine type: `pc`, `pc-i440fx-7.2`, `pc-1.0` → `i440fx`; `q35`, `pc-q35-rhel9.2.0`
 * → `q35`; `virt-7.2` → `virt`. A name of no known family is its own, less a trailing version.
 */
export function machineFamily(machine: string): string {
  const aliasFamily = ALIAS_FAMILIES.get(machine);
  if (aliasFamily !== undefined) return aliasFamily;
  for (const [prefix, family] of FAMILY_PREFIXES) if (machine.startsWith(prefix)) return family;
  // QEMU's oldest i440fx types were named pc-0.10 … pc-1.3.
  if (/^pc-\d/.test(machine)) return 'i440fx';
  const version = TRAILING_VERSION.exec(machine);
  return version ? machine.slice(0, version.index).replace(/-$/, '') : machine;
}

/**
 * True for a name without a version: an alias (`pc`, `q35`, `virt`, `pseries`,
 * `s390-ccw-virtio`), or a type QEMU never versions (`isapc`, `microvm`, `none`). False for a
 * name with a version or with a distro or codename suffix (`pc-q35-rhel8.6.0`, `pc-q35-jammy`).
 */
export function isUnversioned(machine: string): boolean {
  return ALIAS_FAMILIES.has(machine) || (machineTypeVersion(machine) === null && machineFamily(machine) === machine);
}

/**
 * Whether the domain's `actual` machine type follows the `stashed` one. An unversioned name other
 * than an alias is its own family, with nothing else in it, so only the name itself satisfies it.
 */
export function machineSatisfies(stashed: string, actual: string): boolean {
  if (stashed === actual) return true;
  return isUnversioned(stashed) && machineFamily(stashed) === machineFamily(actual);
}

const MACHINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Whether a string has the shape of a QEMU machine-type name (letters, digits, `.`, `_`, `-`). */
export function isMachineTypeName(value: string): boolean {
  return MACHINE_NAME.test(value);
}

/** Why `value` is refused as a machine type; `subject` names it (`hw_machine_type: "x"`). */
export function machineTypeNameMessage(subject: string): string {
  return `${subject} is not a QEMU machine type name; allowed: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. q35, pc-q35-7.2)`;
}

/** Throws unless `value` has the shape of a machine-type name; `field` names it in the error. */
export function checkMachineTypeName(field: string, value: string): string {
  if (!isMachineTypeName(value)) throw new DomainXmlError(machineTypeNameMessage(`${field}: ${JSON.stringify(value)}`));
  return value;
}
