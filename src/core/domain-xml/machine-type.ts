/**
 * QEMU machine-type names: which family (chipset layout) a name belongs to, and whether a
 * stashed name is satisfied by the name libvirt wrote. libvirt expands an alias such as `pc` or
 * `q35` to the versioned name current at define time (`pc-i440fx-7.2`); a guest defined then
 * must keep that version, so an alias in the stash is satisfied by any version of its family.
 */
import { DomainXmlError } from './errors.js';

const VERSION_SUFFIX = /-\d+(\.\d+)*$/;

/** Family of a machine type: `pc`, `pc-i440fx-7.2`, `pc-1.0` → `i440fx`; `q35`, `pc-q35-7.2` → `q35`. */
export function machineFamily(machine: string): string {
  if (machine === 'pc' || machine.startsWith('pc-i440fx-') || /^pc-\d/.test(machine)) return 'i440fx';
  if (machine === 'q35' || machine.startsWith('pc-q35-')) return 'q35';
  return machine.replace(VERSION_SUFFIX, '');
}

/** True for a name without a version (`pc`, `q35`, `virt`, `pseries`, `s390-ccw-virtio`). */
export function isUnversioned(machine: string): boolean {
  return !VERSION_SUFFIX.test(machine);
}

/** Whether the domain's `actual` machine type follows the `stashed` one. */
export function machineSatisfies(stashed: string, actual: string): boolean {
  if (stashed === actual) return true;
  return isUnversioned(stashed) && machineFamily(stashed) === machineFamily(actual);
}

const MACHINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Whether a string has the shape of a QEMU machine-type name (letters, digits, `.`, `_`, `-`). */
export function isMachineTypeName(value: string): boolean {
  return MACHINE_NAME.test(value);
}

/** Throws unless `value` has the shape of a machine-type name; `field` names it in the error. */
export function checkMachineTypeName(field: string, value: string): string {
  if (!isMachineTypeName(value)) {
    throw new DomainXmlError(
      `${field}: ${JSON.stringify(value)} is not a QEMU machine type name; allowed: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return value;
}
