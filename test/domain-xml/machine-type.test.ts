/**
 * Machine-type names: families, versions, and which stashed name a domain's machine type
 * satisfies. The names are those libvirt lists in `<machine>` (this host's QEMU 7.2, see
 * test/fixtures/libvirt-9.0-qemu-7.2/capabilities-qemu-system.xml) and those distributions'
 * QEMUs use: RHEL's `pc-q35-rhel9.2.0`, Ubuntu's `pc-q35-jammy` behind its `ubuntu-q35` alias.
 */
import {
  checkMachineTypeName,
  isUnversioned,
  machineFamily,
  machineSatisfies,
  machineTypeVersion,
} from '../../src/core/domain-xml/machine-type.js';
import { lookupMachineType, machineTypesFor, parseHostCapabilities } from '../../src/core/capabilities.js';
import { libvirtFixture } from './helpers.js';

test('families: upstream, distro and codename types, and the aliases', () => {
  const families: Record<string, string[]> = {
    i440fx: ['pc', 'pc-i440fx-7.2', 'pc-1.0', 'pc-i440fx-rhel7.6.0', 'pc-i440fx-jammy', 'ubuntu'],
    q35: ['q35', 'pc-q35-7.2', 'pc-q35-4.0.1', 'pc-q35-rhel8.6.0', 'pc-q35-rhel9.2.0', 'pc-q35-jammy', 'pc-q35-jammy-hpb', 'ubuntu-q35'],
    virt: ['virt', 'virt-7.2', 'virt-rhel9.2.0'],
    pseries: ['pseries', 'pseries-7.0', 'pseries-rhel9.2.0', 'pseries-2.12-sxxm'],
    's390-ccw-virtio': ['s390-ccw-virtio', 's390-ccw-virtio-7.0', 's390-ccw-virtio-rhel9.2.0'],
    isapc: ['isapc'],
    microvm: ['microvm'],
    none: ['none'],
  };
  for (const [family, names] of Object.entries(families)) for (const name of names) expect([name, machineFamily(name)]).toEqual([name, family]);
});

test("versions as Nova reads them: the trailing x.y or x.y.z, a distro's included", () => {
  expect(machineTypeVersion('pc-i440fx-2.11')).toEqual([2, 11]);
  expect(machineTypeVersion('pc-q35-4.0.1')).toEqual([4, 0, 1]);
  expect(machineTypeVersion('pc-q35-rhel8.6.0')).toEqual([8, 6, 0]);
  expect(machineTypeVersion('virt-rhel9.2.0')).toEqual([9, 2, 0]);
  for (const none of ['pc', 'q35', 'pc-q35-jammy', 'pseries-2.12-sxxm']) expect(machineTypeVersion(none)).toBeNull();
});

test('unversioned: the aliases and the types QEMU never versions, nothing with a version, distro or codename', () => {
  for (const name of ['pc', 'q35', 'virt', 'pseries', 's390-ccw-virtio', 'ubuntu', 'ubuntu-q35', 'isapc', 'microvm', 'x-remote', 'none']) {
    expect([name, isUnversioned(name)]).toEqual([name, true]);
  }
  for (const name of [
    'pc-i440fx-7.2', 'pc-q35-4.0.1', 'pc-1.0', 'pc-q35-rhel8.6.0', 'pc-i440fx-rhel7.6.0', 'virt-rhel9.2.0', 'pc-q35-jammy', 'pc-i440fx-jammy-hpb',
    'pseries-2.12-sxxm',
  ]) {
    expect([name, isUnversioned(name)]).toEqual([name, false]);
  }
});

test("this host's aliases are exactly the names libvirt gives a canonical name", () => {
  const host = parseHostCapabilities(libvirtFixture('capabilities-qemu-system.xml'));
  for (const m of machineTypesFor(host, 'x86_64')) {
    // Every alias is unversioned, and every versioned name is canonical.
    if (m.alias) expect([m.name, isUnversioned(m.name), machineFamily(m.name) === machineFamily(m.canonical)]).toEqual([m.name, true, true]);
    if (!isUnversioned(m.name)) expect([m.name, m.alias]).toEqual([m.name, false]);
  }
  expect(lookupMachineType(host, 'x86_64', 'q35')?.canonical).toBe('pc-q35-7.2');
});

test('an alias is satisfied by any version of its family, anything else only by itself', () => {
  expect(machineSatisfies('q35', 'pc-q35-7.2')).toBe(true);
  expect(machineSatisfies('q35', 'pc-q35-rhel9.2.0')).toBe(true);
  expect(machineSatisfies('ubuntu-q35', 'pc-q35-jammy')).toBe(true);
  expect(machineSatisfies('pc', 'pc-q35-7.2')).toBe(false);
  expect(machineSatisfies('pc-q35-7.2', 'pc-q35-7.2')).toBe(true);
  expect(machineSatisfies('pc-q35-7.2', 'pc-q35-6.2')).toBe(false);
  expect(machineSatisfies('pc-q35-rhel9.2.0', 'pc-q35-rhel8.6.0')).toBe(false);
  expect(machineSatisfies('pc-i440fx-rhel7.6.0', 'pc-i440fx-7.2')).toBe(false);
  expect(machineSatisfies('virt-rhel9.2.0', 'virt-7.2')).toBe(false);
  expect(machineSatisfies('pc-q35-jammy', 'pc-q35-6.2')).toBe(false);
  expect(machineSatisfies('isapc', 'pc-i440fx-7.2')).toBe(false);
});

test('a machine type name: one rule, one message', () => {
  expect(checkMachineTypeName('hw_machine_type', 'pc-q35-rhel9.2.0')).toBe('pc-q35-rhel9.2.0');
  expect(() => checkMachineTypeName('hw_machine_type', "q35'")).toThrow(
    `hw_machine_type: "q35'" is not a QEMU machine type name; allowed: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. q35, pc-q35-7.2)`,
  );
  expect(() => checkMachineTypeName('hw_machine_type', 'a'.repeat(65))).toThrow(/is not a QEMU machine type name/);
});
