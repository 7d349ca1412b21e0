/**
 * The release table and what it changes, from RELEASES.md (Nova's source at each tag): which
 * release a nova-compute's `services.version` means, the SPICE video default that 2025.1 dropped,
 * and `igb`, a VIF model from 2025.1. Expected values are RELEASES.md's, not the code's.
 */
import { NOVA_DEFAULT_PROFILE, type HostProfile } from '../../src/core/inputs.js';
import { coerceProperty, CoercionError } from '../../src/core/properties.js';
import { checkRequestedValues } from '../../src/core/property-checks.js';
import { NEWEST_RELEASE, NOVA_RELEASES, ZED, chooseRelease, findRelease, releaseForServiceVersion, rootDeviceType } from '../../src/core/releases.js';
import { resolve } from '../../src/core/resolve.js';
import { vifModelsFor } from '../../src/core/rules/context.js';

const release = (name: string) => findRelease(name)!;

describe('which release a nova-compute row means (services.version, RELEASES.md)', () => {
  test.each([
    [64, 'zed', false],
    [66, '2023.2', true], // shared by 2023.1 and 2023.2: the superset
    [67, '2024.2', true], // shared by 2024.1 and 2024.2
    [68, '2025.1', false],
    [70, '2025.2', false],
    [72, '2026.1', false],
    [65, '2023.1', true], // development branch towards 2023.1
    [69, '2025.2', true],
    [71, '2026.1', true],
    [99, '2026.1', true], // newer than any known: the newest, said so
    [60, 'zed', true], // older than Zed
  ])('%i → %s', (version, name, noted) => {
    const choice = releaseForServiceVersion(version);
    expect(choice.release.name).toBe(name);
    expect(choice.source).toBe('services');
    expect(choice.note !== undefined).toBe(noted);
  });

  test('[hwstash] nova_release: a name wins; auto without a row is the newest release', () => {
    expect(chooseRelease('2024.1', 72)).toEqual({ release: release('2024.1'), source: 'config' });
    expect(chooseRelease('auto', 68).release.name).toBe('2025.1');
    const none = chooseRelease('auto', null);
    expect(none).toMatchObject({ release: NEWEST_RELEASE, source: 'default' });
    expect(none.note).toMatch(/no nova-compute row/);
    expect(NEWEST_RELEASE.name).toBe('2026.1');
    expect(() => chooseRelease('2027.1', null)).toThrow(/allowed: auto, zed, 2023.1/);
    expect(findRelease('Epoxy')).toBe(release('2025.1'));
  });

  test('every release from Zed to 2026.1, oldest first, one row each', () => {
    expect(NOVA_RELEASES.map((r) => `${r.name}:${r.major}:${r.serviceVersion}`)).toEqual([
      'zed:26:64', '2023.1:27:66', '2023.2:28:66', '2024.1:29:67', '2024.2:30:67', '2025.1:31:68', '2025.2:32:70', '2026.1:33:72',
    ]);
  });
});

describe('rules that changed', () => {
  const host = (arch: string, name: string, spice: boolean): HostProfile => ({
    arch,
    ...NOVA_DEFAULT_PROFILE,
    spiceEnabled: spice,
    release: release(name),
  });
  const video = (h: HostProfile) => resolve({ imageProperties: {}, instance: { vmMode: null }, host: h, osinfo: null }).properties.hw_video_model;

  test.each([
    // SPICE on an architecture without a default of its own: qxl through 2024.2, none from 2025.1.
    ['x86_64', 'zed', true, 'qxl'],
    ['x86_64', '2024.2', true, 'qxl'],
    ['x86_64', '2025.1', true, null],
    ['s390x', '2026.1', true, null],
    // Unchanged: without SPICE, and the architectures with their own default.
    ['x86_64', '2025.1', false, 'virtio'],
    ['ppc64le', '2025.1', true, 'vga'],
    ['aarch64', 'zed', true, 'virtio'],
  ] as const)('video default on %s, Nova %s, SPICE %s → %s', (arch, name, spice, want) => {
    expect(video(host(arch, name, spice))).toEqual({ value: want, source: 'driver' });
  });

  test('igb: refused by the VIFModel enum before 2025.1, accepted (any case) from it; valid for qemu and kvm only', () => {
    expect(() => coerceProperty('hw_vif_model', 'igb', release('2024.2'))).toThrow(CoercionError);
    expect(() => coerceProperty('hw_vif_model', 'igb')).toThrow(CoercionError); // no release given: Zed's enum
    expect(coerceProperty('hw_vif_model', 'IGB', release('2025.1'))).toBe('igb');
    for (const vt of ['kvm', 'qemu'] as const) {
      expect(vifModelsFor(vt, release('2025.1'))).toContain('igb');
      expect(vifModelsFor(vt, ZED)).not.toContain('igb');
    }
    expect(vifModelsFor('parallels', release('2026.1'))).not.toContain('igb');
    expect(vifModelsFor('lxc', release('2026.1'))).toEqual([]);

    const image = resolve({ imageProperties: { hw_vif_model: 'igb' }, instance: { vmMode: null }, host: host('x86_64', '2025.1', false), osinfo: null });
    expect(image.properties.hw_vif_model).toEqual({ value: 'igb', source: 'image' });
    const zed = resolve({ imageProperties: { hw_vif_model: 'igb' }, instance: { vmMode: null }, host: host('x86_64', 'zed', false), osinfo: null });
    expect(zed.properties.hw_vif_model).toBeUndefined();

    const set = (name: string) => checkRequestedValues([{ property: 'hw_vif_model', raw: 'igb' }], 'kvm', release(name));
    expect(set('2025.1')).toEqual({ values: [{ property: 'hw_vif_model', value: 'igb' }], problems: [] });
    expect(set('2023.2').problems.map((p) => p.message)).toEqual([expect.stringContaining('is not a valid VIFModel')]);
    expect(checkRequestedValues([{ property: 'hw_vif_model', raw: 'igb' }], 'parallels', release('2025.1')).problems[0]!.message).toContain(
      'not valid for [libvirt] virt_type parallels',
    );
  });
});

describe('the root device of an ISO image (domain build; RELEASES.md 3)', () => {
  test.each([
    ['zed', 'iso', 'disk'],
    ['2023.1', 'iso', 'disk'],
    ['2023.2', 'iso', 'cdrom'], // from 28.3.1: the release's newest point release
    ['2024.1', 'iso', 'cdrom'],
    ['2025.1', 'iso', 'cdrom'],
    ['2026.1', 'qcow2', 'disk'],
    ['2026.1', null, 'disk'],
  ] as const)('Nova %s, disk_format %s → %s', (name, format, want) => {
    expect(rootDeviceType(release(name), format)).toBe(want);
  });
});
