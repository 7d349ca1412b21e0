import os from 'node:os';
import { hostProfileFromSettings } from '../../src/config/profile.js';
import { loadSettings } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import type { Settings } from '../../src/config/settings.js';
import { tempDir } from './tmp.js';

function settingsFrom(text: string): Settings {
  const tmp = tempDir();
  try {
    return loadSettings({ configFiles: [tmp.write('n.conf', text)], env: {}, hostname: 'h', cwd: tmp.dir }).settings;
  } finally {
    tmp.remove();
  }
}

describe('hostProfileFromSettings', () => {
  test('carries the nova.conf options the driver defaults depend on', () => {
    const s = settingsFrom(
      '[DEFAULT]\npointer_model = ps2mouse\n[libvirt]\nvirt_type = qemu\nhw_machine_type = x86_64=q35\nuse_virtio_for_bridges = false\n[spice]\nenabled = true\nagent_enabled = false\n[vnc]\nenabled = false\n',
    );
    expect(hostProfileFromSettings(s, 'x86_64')).toEqual({
      arch: 'x86_64',
      virtType: 'qemu',
      machineTypes: ['x86_64=q35'],
      spiceEnabled: true,
      spiceAgentEnabled: false,
      vncEnabled: false,
      pointerModel: 'ps2mouse',
      useVirtioForBridges: false,
    });
  });

  // Nova's Architecture coercion: lower-cased, i386/i486/i586/x86_32 → i686, amd64 → x86_64.
  test.each([
    ['amd64', 'x86_64'],
    ['AMD64', 'x86_64'],
    ['i586', 'i686'],
    ['aarch64', 'aarch64'],
    ['ppc64le', 'ppc64le'],
    ['s390x', 's390x'],
  ])('uname %s is %s', (machine, arch) => {
    expect(hostProfileFromSettings(settingsFrom(''), machine).arch).toBe(arch);
  });

  test('[hwstash] host_arch wins over uname', () => {
    expect(hostProfileFromSettings(settingsFrom('[hwstash]\nhost_arch = aarch64\n'), 'x86_64').arch).toBe('aarch64');
  });

  test.each(['arm64', 'riscv64', 'x86'])('uname %s: Nova rejects it, so does hwstash', (machine) => {
    let error: unknown;
    try {
      hostProfileFromSettings(settingsFrom(''), machine);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(new RegExp(`host architecture ${machine} .*set \\[hwstash\\] host_arch to one of: .*x86_64`));
  });

  test('a host_arch set in Settings by hand is checked too', () => {
    const s = settingsFrom('');
    const bad: Settings = { ...s, hwstash: { ...s.hwstash, hostArch: 'arm64' } };
    expect(() => hostProfileFromSettings(bad, 'x86_64')).toThrow(/\[hwstash\] host_arch = arm64 is not allowed; allowed: .*aarch64/);
  });

  test("without a machine argument, this machine's own architecture (os.machine())", () => {
    const s = settingsFrom('');
    expect(hostProfileFromSettings(s).arch).toBe(hostProfileFromSettings(s, os.machine()).arch);
  });
});
