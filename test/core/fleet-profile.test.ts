/**
 * The fleet core (core/fleet/profile.ts) on profiles built from this machine's real QEMU
 * capabilities, captured now from libvirtd, and on an edited copy that drops old machine types,
 * cirrus and IDE as a newer QEMU does.
 */
import {
  FleetInputError,
  buildProfile,
  canRun,
  describedPlatform,
  isStale,
  machinesToProbe,
  plannedProfile,
  replacementFor,
  sameProfile,
  type HostProfileRecord,
  type StashToCheck,
} from '../../src/core/fleet/profile.js';
import { canonicalOf, captureRealCapabilities, dropEnumValue, newerQemu, type RealCapabilities } from '../helpers/real-capabilities.js';

let real: RealCapabilities;
let newer: RealCapabilities;
let current: HostProfileRecord;
let upgraded: HostProfileRecord;

const profileOf = (host: string, c: RealCapabilities, novaRelease: string | null = '2025.1'): HostProfileRecord =>
  buildProfile({ host, novaRelease, libvirtVersion: '9.0.0', qemuVersion: '7.2.22', arch: 'x86_64', virtType: 'qemu', hostCapabilitiesXml: c.caps, domainCapabilitiesXml: [c.pc, c.q35] });

beforeAll(() => {
  real = captureRealCapabilities();
  newer = newerQemu(real);
  current = profileOf('compute-a', real);
  upgraded = profileOf('compute-new', newer);
}, 240_000);

/** A stash as hwstash writes it for an x86 guest on an old i440fx machine type. */
const OLD_PC: StashToCheck = {
  arch: 'x86_64',
  values: {
    hw_machine_type: 'pc-i440fx-2.11',
    hw_cdrom_bus: 'ide',
    hw_disk_bus: 'virtio',
    hw_input_bus: 'usb',
    hw_pointer_model: 'usbtablet',
    hw_video_model: 'cirrus',
    hw_vif_model: 'virtio',
    hw_floppy_bus: 'fdc',
    hw_rescue_bus: 'virtio',
    hw_scsi_model: null,
    hw_rng_model: 'virtio',
  },
};
const withValues = (s: StashToCheck, values: StashToCheck['values']): StashToCheck => ({ ...s, values: { ...s.values, ...values } });

test('a profile from the real capabilities: machine types with aliases, one family per alias, Nova\'s tables', () => {
  const pc = current.machines.find((m) => m.name === 'pc');
  expect(pc).toMatchObject({ alias: true, canonical: canonicalOf(real.caps, 'pc') });
  expect(current.machines.some((m) => m.name === 'pc-i440fx-2.11' && !m.alias)).toBe(true);
  expect(current.families.map((f) => [f.family, f.machine])).toEqual([
    ['i440fx', canonicalOf(real.caps, 'pc')],
    ['q35', canonicalOf(real.caps, 'q35')],
  ]);
  expect(machinesToProbe(real.caps, 'x86_64').sort()).toEqual([canonicalOf(real.caps, 'pc'), canonicalOf(real.caps, 'q35')].sort());
  expect(current.families[0]!.devices['video']!.enums['modelType']).toContain('cirrus');
  expect(upgraded.families[0]!.devices['video']!.enums['modelType']).not.toContain('cirrus');
  // Where libvirt lists nothing (NIC models), Nova's table for qemu and 2025.1 (igb added in 2023.2).
  expect(current.nova.vifModels).toEqual(expect.arrayContaining(['virtio', 'e1000', 'lan9118', 'igb']));
  expect(profileOf('z', real, 'zed').nova.vifModels).not.toContain('igb');
});

test('the old stash runs on the real QEMU; on the newer one its machine type is missing, and its family lacks cirrus and IDE', () => {
  // libvirt 9.0 lists no input devices: the tablet is "not checked", never a silent pass.
  expect(canRun(OLD_PC, current)).toEqual({
    runs: true,
    problems: [],
    notChecked: [
      { property: 'hw_input_bus', message: expect.stringMatching(/^compute-a's domain .*hw_input_bus=usb not checked/) },
      { property: 'hw_pointer_model', message: expect.stringMatching(/hw_pointer_model=usbtablet not checked/) },
    ],
  });
  const answer = canRun(OLD_PC, upgraded);
  expect(answer.runs).toBe(false);
  expect(answer.problems).toEqual([
    { property: 'hw_machine_type', value: 'pc-i440fx-2.11', message: expect.stringMatching(/^compute-new: its QEMU \(arch x86_64\) has no machine type pc-i440fx-2\.11; i440fx types here: /) },
    { property: 'hw_cdrom_bus', value: 'ide', message: expect.stringMatching(/^compute-new: .*cannot run hw_cdrom_bus=ide/) },
    { property: 'hw_video_model', value: 'cirrus', message: expect.stringMatching(/^compute-new: .*cannot run hw_video_model=cirrus/) },
  ]);
});

test('on the newer QEMU an alias stash fails on cirrus and IDE, each named with what is allowed', () => {
  const answer = canRun(withValues(OLD_PC, { hw_machine_type: 'pc' }), upgraded);
  expect(answer.problems.map((p) => [p.property, p.value])).toEqual([
    ['hw_cdrom_bus', 'ide'],
    ['hw_video_model', 'cirrus'],
  ]);
  expect(answer.problems[1]!.message).toMatch(/cannot run hw_video_model=cirrus.*allowed video models here: .*virtio/);
  // Only the family's own machine types are offered as the alternatives.
  const machine = canRun(OLD_PC, upgraded).problems[0]!.message;
  expect(machine).toContain(`pc (= ${canonicalOf(newer.caps, 'pc')})`);
  expect(machine.split('types here: ')[1]).not.toMatch(/q35|pc-i440fx-2\./);
  expect(answer.problems[0]!.message).not.toMatch(/allowed buses here: .*\bide\b/);
  // The q35 family is judged on q35's capabilities.
  expect(canRun(withValues(OLD_PC, { hw_machine_type: 'q35', hw_cdrom_bus: 'sata', hw_video_model: 'virtio' }), upgraded).runs).toBe(true);
});

test("NIC models follow Nova's table of the host's release; a value unknown to QEMU fails even today", () => {
  expect(canRun(withValues(OLD_PC, { hw_vif_model: 'igb' }), profileOf('z', real, 'zed')).problems).toEqual([
    expect.objectContaining({ property: 'hw_vif_model', value: 'igb', message: expect.stringContaining('not valid for [libvirt] virt_type qemu') }),
  ]);
  expect(canRun(withValues(OLD_PC, { hw_vif_model: 'igb' }), current).runs).toBe(true);
  expect(canRun(withValues(OLD_PC, { hw_video_model: 'gop' }), current).problems.map((p) => p.property)).toEqual(['hw_video_model']);
});

test('another arch cannot run at all; a profile without capabilities says what it did not check', () => {
  expect(canRun({ ...OLD_PC, arch: 'aarch64' }, current)).toMatchObject({ runs: false, problems: [{ property: null, value: 'aarch64' }] });
  const bare = buildProfile({ host: 'test-1', novaRelease: null, libvirtVersion: '9.0.0', qemuVersion: null, arch: 'x86_64', virtType: 'kvm', hostCapabilitiesXml: null, domainCapabilitiesXml: [] });
  const answer = canRun(OLD_PC, bare);
  expect(answer.runs).toBe(true);
  expect(answer.notChecked).toEqual([
    { property: 'hw_machine_type', message: expect.stringContaining('hw_machine_type=pc-i440fx-2.11 not checked') },
    { property: null, message: expect.stringContaining('device values not checked') },
  ]);
});

test('a planned upgrade: the replacement a bulk set would move to runs on the plan', () => {
  const planned = plannedProfile(current, [newer.pc, newer.q35], newer.caps);
  expect(replacementFor('hw_video_model', [withValues(OLD_PC, { hw_machine_type: 'pc' })], planned)).toBe('virtio');
  expect(replacementFor('hw_cdrom_bus', [withValues(OLD_PC, { hw_machine_type: 'pc' })], planned)).toBe('sata');
  // The newest versioned i440fx type the plan offers (what its `pc` alias stands for).
  expect(replacementFor('hw_machine_type', [OLD_PC], planned)).toBe(canonicalOf(newer.caps, 'pc'));
  // A group whose instances would each prefer another value gets the one they can all run: the
  // plan's q35 (only) has lost virtio video, so q35 guests need vga, which pc guests run too.
  const noVirtioOnQ35 = plannedProfile(current, [newer.pc, dropEnumValue(newer.q35, 'video', 'modelType', 'virtio')], newer.caps);
  const onPc = withValues(OLD_PC, { hw_machine_type: 'pc' });
  const onQ35 = withValues(OLD_PC, { hw_machine_type: 'q35', hw_cdrom_bus: 'sata' });
  expect(replacementFor('hw_video_model', [onPc], noVirtioOnQ35)).toBe('virtio');
  expect(replacementFor('hw_video_model', [onQ35], noVirtioOnQ35)).toBe('vga');
  expect(replacementFor('hw_video_model', [onPc, onQ35, onPc], noVirtioOnQ35)).toBe('vga');
  // Without host capabilities the plan knows no machine types: they are not checked.
  const noCaps = plannedProfile(current, [newer.pc], null);
  expect(canRun(OLD_PC, noCaps).notChecked[0]).toEqual({ property: 'hw_machine_type', message: expect.stringContaining('hw_machine_type=pc-i440fx-2.11 not checked') });
  expect(canRun(OLD_PC, noCaps).problems.map((p) => p.value)).toEqual(['ide', 'cirrus']);
});

test('describedPlatform and the profile builder refuse mismatched files, naming the option', () => {
  expect(describedPlatform([real.pc, real.q35])).toEqual({ arch: 'x86_64', virtType: 'qemu' });
  expect(() => describedPlatform([])).toThrow(FleetInputError);
  const kvm = real.q35.replace('<domain>qemu</domain>', '<domain>kvm</domain>');
  expect(() => describedPlatform([real.pc, kvm])).toThrow(/--domcaps: the files describe different platforms/);
  expect(() => buildProfile({ host: 'h', novaRelease: null, libvirtVersion: null, qemuVersion: null, arch: 'aarch64', virtType: 'qemu', hostCapabilitiesXml: null, domainCapabilitiesXml: [real.pc] })).toThrow(/arch x86_64, but the host is aarch64/);
});

test('staleness after 3 intervals; sameProfile ignores nothing but the heartbeat', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  expect(isStale('2026-01-01T11:55:01Z', now, 100)).toBe(false);
  expect(isStale('2026-01-01T11:54:59Z', now, 100)).toBe(true);
  expect(isStale('2025-12-31T12:00:01Z', now, 0)).toBe(false);
  expect(isStale('2025-12-31T11:59:59Z', now, 0)).toBe(true);
  expect(sameProfile(current, profileOf('compute-a', real))).toBe(true);
  expect(sameProfile(current, { ...current, qemuVersion: '8.0.0' })).toBe(false);
  expect(sameProfile(current, profileOf('compute-a', newer))).toBe(false);
});
