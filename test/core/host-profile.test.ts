/** overrideProfile: the `host` and `conf` of a batch line (and the CLI's --host-arch/--conf). */
import { ProfileError, overrideProfile } from '../../src/core/host-profile.js';
import { NOVA_DEFAULT_PROFILE, type HostProfile } from '../../src/core/inputs.js';

const BASE: HostProfile = { arch: 'x86_64', ...NOVA_DEFAULT_PROFILE, machineTypes: ['x86_64=pc'] };

describe('overrideProfile', () => {
  test('nothing given: a copy of the base', () => {
    const out = overrideProfile(BASE);
    expect(out).toEqual(BASE);
    expect(out).not.toBe(BASE);
    expect(overrideProfile(BASE, null, null)).toEqual(BASE);
  });

  // [host, conf, the fields that change]
  const rows: Array<[string, unknown, unknown, Partial<HostProfile>]> = [
    ['arch canonicalised (AMD64)', { arch: 'AMD64' }, undefined, { arch: 'x86_64' }],
    ['arch canonicalised (i386)', { arch: 'i386' }, undefined, { arch: 'i686' }],
    ['arch and virt type', { arch: 'aarch64', virt_type: 'qemu' }, undefined, { arch: 'aarch64', virtType: 'qemu' }],
    ['virt type only', { virt_type: 'parallels' }, undefined, { virtType: 'parallels' }],
    ['machine type list', undefined, { 'libvirt.hw_machine_type': ['x86_64=q35', 'aarch64=virt'] }, { machineTypes: ['x86_64=q35', 'aarch64=virt'] }],
    ['machine type list kept verbatim (invalid entries are the rule\'s business)', undefined,
      { 'libvirt.hw_machine_type': ['x86_64=', 'q35'] }, { machineTypes: ['x86_64=', 'q35'] }],
    ['machine type as a comma-separated string (oslo ListOpt)', undefined, { 'libvirt.hw_machine_type': 'x86_64=q35, aarch64=virt' },
      { machineTypes: ['x86_64=q35', 'aarch64=virt'] }],
    ['machine type null → empty', undefined, { 'libvirt.hw_machine_type': null }, { machineTypes: [] }],
    ['booleans', undefined, { 'spice.enabled': true, 'spice.agent_enabled': false, 'vnc.enabled': false, 'libvirt.use_virtio_for_bridges': false },
      { spiceEnabled: true, spiceAgentEnabled: false, vncEnabled: false, useVirtioForBridges: false }],
    ['booleans as strings', undefined, { 'spice.enabled': 'Yes', 'vnc.enabled': 'off', 'spice.agent_enabled': '0', 'libvirt.use_virtio_for_bridges': 'TRUE' },
      { spiceEnabled: true, vncEnabled: false, spiceAgentEnabled: false, useVirtioForBridges: true }],
    ['pointer model ps2mouse', undefined, { pointer_model: 'ps2mouse' }, { pointerModel: 'ps2mouse' }],
    ['pointer model null', undefined, { pointer_model: null }, { pointerModel: null }],
    ['pointer model empty → null', undefined, { pointer_model: '' }, { pointerModel: null }],
  ];
  test.each(rows)('%s', (_n, host, conf, changes) => {
    expect(overrideProfile(BASE, host, conf)).toEqual({ ...BASE, ...changes });
  });

  test('the base is not changed', () => {
    const before = JSON.stringify(BASE);
    overrideProfile(BASE, { arch: 'ppc64', virt_type: 'lxc' }, { 'libvirt.hw_machine_type': ['ppc64=pseries'], 'vnc.enabled': false });
    expect(JSON.stringify(BASE)).toBe(before);
  });

  // [host, conf, key named, text the message must contain]
  const bad: Array<[string, unknown, unknown, string, string]> = [
    ['arch unknown to Nova', { arch: 'riscv64' }, undefined, 'host.arch', 'riscv64'],
    ['arm64 is not an arch name', { arch: 'arm64' }, undefined, 'host.arch', 'aarch64'],
    ['empty arch', { arch: '' }, undefined, 'host.arch', 'host.arch'],
    ['virt type xen', { virt_type: 'xen' }, undefined, 'host.virt_type', 'allowed: kvm, qemu, lxc, parallels'],
    ['virt type case', { virt_type: 'KVM' }, undefined, 'host.virt_type', 'allowed: kvm, qemu, lxc, parallels'],
    ['unknown host fact', { cpus: 4 }, undefined, 'host.cpus', 'allowed: arch, virt_type'],
    ['host not an object', 'x86_64', undefined, 'host', 'host'],
    ['unknown option', undefined, { 'libvirt.virt_type': 'qemu' }, 'conf.libvirt.virt_type', 'allowed: libvirt.hw_machine_type'],
    ['conf not an object', undefined, ['x'], 'conf', 'conf'],
    ['boolean garbage', undefined, { 'vnc.enabled': 'maybe' }, 'conf.vnc.enabled', 'allowed: true, false'],
    ['boolean number', undefined, { 'spice.enabled': 2 }, 'conf.spice.enabled', 'allowed: true, false'],
    ['pointer model unknown', undefined, { pointer_model: 'tablet' }, 'conf.pointer_model', 'usbtablet, ps2mouse'],
    ['machine types not strings', undefined, { 'libvirt.hw_machine_type': [1] }, 'conf.libvirt.hw_machine_type', 'arch=machine'],
  ];
  test.each(bad)('%s → ProfileError on %s', (_n, host, conf, key, text) => {
    let err: unknown;
    try {
      overrideProfile(BASE, host, conf);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProfileError);
    expect((err as ProfileError).key).toBe(key);
    expect((err as ProfileError).message).toContain(text);
  });
});
