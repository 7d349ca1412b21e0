/**
 * Table-driven tests of the resolver, one table per RULES.md section. Every expected value and
 * source is written from RULES.md's text, not from running the code. Sources: `image` (the image
 * asked for it), `osinfo`, `domain` (§9.2), `config` (the value of an option: `[libvirt]
 * hw_machine_type` entries, `[DEFAULT] pointer_model`), `driver` (a computed default).
 *
 * `OSINFO` below is an input table holding the libosinfo answers RULES.md §8 states (fedora36 and
 * the centos7 alias: e1000e + virtio; Windows: e1000, no disk model); the last block checks them
 * against the real osinfo-db.
 */
import { ImageMetaError, coerceImageProps, type ImageProps } from '../../src/core/image-meta.js';
import { NOVA_DEFAULT_PROFILE, type DomainFacts, type HostProfile, type OsInfoAnswer, type OsInfoLookup } from '../../src/core/inputs.js';
import type { PropertyName } from '../../src/core/properties.js';
import { resolve, type Resolution, type Source } from '../../src/core/resolve.js';
import { OsInfoIndex } from '../../src/osinfo/index.js';

const OSINFO_TABLE: Record<string, OsInfoAnswer> = {
  fedora36: { networkModel: 'e1000e', diskModel: 'virtio' },
  centos7: { networkModel: 'e1000e', diskModel: 'virtio' },
  win10: { networkModel: 'e1000', diskModel: null },
};
const OSINFO: OsInfoLookup = { lookup: (name) => OSINFO_TABLE[name] ?? null };

const BASE: HostProfile = { arch: 'x86_64', ...NOVA_DEFAULT_PROFILE };

/** [value, source] when the property resolves; an error code when it does not. */
type Want = readonly [string | null, Source] | string;

interface Row {
  name: string;
  image?: Record<string, unknown>;
  host?: Partial<HostProfile>;
  vmMode?: string | null;
  domain?: DomainFacts;
  want: Partial<Record<PropertyName, Want>>;
}

function run(row: Row): Resolution {
  return resolve({
    imageProperties: row.image ?? {},
    instance: { vmMode: row.vmMode ?? null },
    host: { ...BASE, ...row.host },
    osinfo: OSINFO,
    domain: row.domain ?? null,
  });
}

function check(row: Row): void {
  const res = run(row);
  const got: Record<string, Want | undefined> = {};
  for (const name of Object.keys(row.want) as PropertyName[]) {
    const d = res.properties[name];
    const e = res.errors[name];
    got[name] = d ? [d.value, d.source] : e ? e.code : undefined;
  }
  expect(got).toEqual(row.want);
}

const byName = (rows: Row[]): Array<[string, Row]> => rows.map((r) => [r.name, r]);

// ---------------------------------------------------------------------------------------------
describe('§1 coercion (ImageMetaProps.from_dict)', () => {
  const valid: Array<[string, Record<string, unknown>, ImageProps]> = [
    ['VIF legacy alias VirtualE1000', { hw_vif_model: 'VirtualE1000' }, { hw_vif_model: 'e1000' }],
    ['VIF alias virtuale1000e', { hw_vif_model: 'virtuale1000e' }, { hw_vif_model: 'e1000e' }],
    ['VIF alias VirtualPCNet32', { hw_vif_model: 'VirtualPCNet32' }, { hw_vif_model: 'pcnet' }],
    ['VIF alias VirtualSriovEthernetCard', { hw_vif_model: 'VirtualSriovEthernetCard' }, { hw_vif_model: 'sriov' }],
    ['VIF alias VirtualVmxnet', { hw_vif_model: 'VirtualVmxnet' }, { hw_vif_model: 'vmxnet' }],
    ['VIF alias VIRTUALVMXNET3', { hw_vif_model: 'VIRTUALVMXNET3' }, { hw_vif_model: 'vmxnet3' }],
    ['VIF lower-cased', { hw_vif_model: 'VIRTIO' }, { hw_vif_model: 'virtio' }],
    ['SCSI alias LsiLogicSAS', { hw_scsi_model: 'LsiLogicSAS' }, { hw_scsi_model: 'lsisas1068' }],
    ['SCSI alias paravirtual', { hw_scsi_model: 'ParaVirtual' }, { hw_scsi_model: 'vmpvscsi' }],
    ['SCSI lower-cased', { hw_scsi_model: 'VIRTIO-SCSI' }, { hw_scsi_model: 'virtio-scsi' }],
    ['arch AMD64', { hw_architecture: 'AMD64' }, { hw_architecture: 'x86_64' }],
    ['arch i386', { hw_architecture: 'i386' }, { hw_architecture: 'i686' }],
    ['arch i486', { hw_architecture: 'i486' }, { hw_architecture: 'i686' }],
    ['arch i586', { hw_architecture: 'i586' }, { hw_architecture: 'i686' }],
    ['arch x86_32', { hw_architecture: 'x86_32' }, { hw_architecture: 'i686' }],
    ['arch x86_32p', { hw_emulation_architecture: 'X86_32P' }, { hw_emulation_architecture: 'i686' }],
    ['vm mode pv', { hw_vm_mode: 'pv' }, { hw_vm_mode: 'xen' }],
    ['vm mode HV', { hw_vm_mode: 'HV' }, { hw_vm_mode: 'hvm' }],
    ['vm mode baremetal', { hw_vm_mode: 'baremetal' }, { hw_vm_mode: 'hvm' }],
    ['machine type kept as is, even empty', { hw_machine_type: '' }, { hw_machine_type: '' }],
    ['machine type not validated', { hw_machine_type: 'PC-Q35-6.2' }, { hw_machine_type: 'PC-Q35-6.2' }],
    ['legacy architecture', { architecture: 'aarch64' }, { hw_architecture: 'aarch64' }],
    ['legacy vmware_ostype', { vmware_ostype: 'win10' }, { os_distro: 'win10' }],
    ['legacy vm_mode', { vm_mode: 'PV' }, { hw_vm_mode: 'xen' }],
    ['vmware_adaptertype ide', { vmware_adaptertype: 'ide' }, { hw_disk_bus: 'ide' }],
    ['vmware_adaptertype other: scsi + model', { vmware_adaptertype: 'lsiLogic' }, { hw_disk_bus: 'scsi', hw_scsi_model: 'lsilogic' }],
    ['vmware_adaptertype alias', { vmware_adaptertype: 'LsiLogicSAS' }, { hw_disk_bus: 'scsi', hw_scsi_model: 'lsisas1068' }],
    ['vmware_adaptertype empty: nothing', { vmware_adaptertype: '' }, {}],
    ['current name beats legacy', { architecture: 'aarch64', hw_architecture: 'ppc64' }, { hw_architecture: 'ppc64' }],
    ['hw_disk_bus beats vmware_adaptertype', { vmware_adaptertype: 'lsiLogic', hw_disk_bus: 'sata' }, { hw_disk_bus: 'sata', hw_scsi_model: 'lsilogic' }],
    ['os_distro beats vmware_ostype', { vmware_ostype: 'win10', os_distro: 'fedora36' }, { os_distro: 'fedora36' }],
    ['unknown keys ignored', { hw_nic_model: 'e1000', foo: 'bar' }, {}],
    // Python's truth value decides `elif vmware_adaptertype:`; empty containers, 0 and False are false.
    ['vmware_adaptertype []: nothing', { vmware_adaptertype: [] }, {}],
    ['vmware_adaptertype {}: nothing', { vmware_adaptertype: {} }, {}],
    ['vmware_adaptertype 0: nothing', { vmware_adaptertype: 0 }, {}],
    ['vmware_adaptertype false: nothing', { vmware_adaptertype: false }, {}],
    // String fields take Python's str() of JSON numbers and booleans.
    ['machine type from an int', { hw_machine_type: 5 }, { hw_machine_type: '5' }],
    ['machine type from a bool', { hw_machine_type: true }, { hw_machine_type: 'True' }],
    ['machine type from a float', { hw_machine_type: 1.5 }, { hw_machine_type: '1.5' }],
    ['machine type from a small float (Python exponent form)', { hw_machine_type: 0.00001 }, { hw_machine_type: '1e-05' }],
    ['machine type from a tiny float', { hw_machine_type: -2.5e-7 }, { hw_machine_type: '-2.5e-07' }],
    ['machine type from 1e21', { hw_machine_type: 1e21 }, { hw_machine_type: '1e+21' }],
    ['os_distro from a bool', { os_distro: false }, { os_distro: 'False' }],
    ['valid enum values', { hw_disk_bus: 'uml', hw_cdrom_bus: 'xen', hw_floppy_bus: 'lxc', hw_rescue_device: 'fs', hw_input_bus: 'virtio', hw_pointer_model: 'usbtablet', hw_video_model: 'gop', hw_rng_model: 'virtio' },
      { hw_disk_bus: 'uml', hw_cdrom_bus: 'xen', hw_floppy_bus: 'lxc', hw_rescue_device: 'fs', hw_input_bus: 'virtio', hw_pointer_model: 'usbtablet', hw_video_model: 'gop', hw_rng_model: 'virtio' }],
  ];
  test.each(valid)('%s', (_n, raw, want) => {
    expect(coerceImageProps(raw)).toEqual(want);
  });

  // [name, raw, first bad key]
  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['bus enums are case-sensitive', { hw_disk_bus: 'VIRTIO' }, 'hw_disk_bus'],
    ['cdrom bus not in DiskBus', { hw_cdrom_bus: 'nvme' }, 'hw_cdrom_bus'],
    ['input bus case-sensitive', { hw_input_bus: 'USB' }, 'hw_input_bus'],
    ['ps2mouse is not an image pointer model', { hw_pointer_model: 'ps2mouse' }, 'hw_pointer_model'],
    ['video enum case-sensitive', { hw_video_model: 'VGA' }, 'hw_video_model'],
    ['rng enum case-sensitive', { hw_rng_model: 'VIRTIO' }, 'hw_rng_model'],
    ['VIF values of later releases refused', { hw_vif_model: 'igb' }, 'hw_vif_model'],
    ['SCSI model unknown', { hw_scsi_model: 'lsisas' }, 'hw_scsi_model'],
    ['arm64 is not an architecture', { hw_architecture: 'arm64' }, 'hw_architecture'],
    ['x86 is not an architecture', { hw_emulation_architecture: 'x86' }, 'hw_emulation_architecture'],
    ['riscv64 is not a Zed architecture', { architecture: 'riscv64' }, 'architecture'],
    ['empty vm mode', { vm_mode: '' }, 'vm_mode'],
    ['rescue device unknown', { hw_rescue_device: 'usb' }, 'hw_rescue_device'],
    ['vmware_adaptertype coerced as SCSI model', { vmware_adaptertype: 'bogus' }, 'vmware_adaptertype'],
    ['vmware_adaptertype IDE (case) is a SCSI model', { vmware_adaptertype: 'IDE' }, 'vmware_adaptertype'],
    ['legacy names before current names', { hw_disk_bus: 'bogus', architecture: 'bogus' }, 'architecture'],
    ['legacy key fails even when the current name overrides it', { architecture: 'bogus', hw_architecture: 'x86_64' }, 'architecture'],
    ['legacy map order: vm_mode before vmware_adaptertype', { vmware_adaptertype: 'bogus', vm_mode: 'bogus' }, 'vm_mode'],
    ['legacy map order: architecture before vm_mode', { vm_mode: 'bogus', architecture: 'bogus' }, 'architecture'],
    ['vmware_adaptertype before current names', { hw_architecture: 'bogus', vmware_adaptertype: 'bogus' }, 'vmware_adaptertype'],
    ['field order: cdrom before vif', { hw_vif_model: 'bogus', hw_cdrom_bus: 'bogus' }, 'hw_cdrom_bus'],
    ['field order: architecture before cdrom', { hw_cdrom_bus: 'bogus', hw_emulation_architecture: 'bogus' }, 'hw_emulation_architecture'],
    ['field order: machine type before pointer', { hw_pointer_model: 'bogus', hw_machine_type: null }, 'hw_machine_type'],
    ['field order: rescue bus before rescue device', { hw_rescue_device: 'bogus', hw_rescue_bus: 'bogus' }, 'hw_rescue_bus'],
    ['field order: vif before vm mode', { hw_vm_mode: 'bogus', hw_vif_model: 'bogus' }, 'hw_vif_model'],
    ['field order: vm mode before os_distro', { os_distro: null, hw_vm_mode: 'bogus' }, 'hw_vm_mode'],
    ['null is refused', { os_distro: null }, 'os_distro'],
    ['lists are refused', { hw_machine_type: ['pc'] }, 'hw_machine_type'],
    ['a bool is not a bus', { hw_disk_bus: true }, 'hw_disk_bus'],
    ['a non-empty list in vmware_adaptertype is a bad SCSI model', { vmware_adaptertype: ['x'] }, 'vmware_adaptertype'],
  ];
  test.each(invalid)('%s → ValueError on %s', (_n, raw, key) => {
    expect(() => coerceImageProps(raw)).toThrow(ImageMetaError);
    try {
      coerceImageProps(raw);
    } catch (err) {
      expect((err as ImageMetaError).key).toBe(key);
    }
    const res = resolve({ imageProperties: raw, instance: { vmMode: null }, host: BASE, osinfo: OSINFO });
    expect(res.properties).toEqual({});
    expect(Object.keys(res.errors)).toEqual([key]);
    expect(res.errors[key]!.code).toBe('ValueError');
    expect(res.errors[key]!.message).toContain(key);
  });

  test('a refused enum value names the allowed values', () => {
    const res = resolve({ imageProperties: { hw_video_model: 'VGA' }, instance: { vmMode: null }, host: BASE, osinfo: OSINFO });
    expect(res.errors['hw_video_model']!.message).toMatch(/cirrus, qxl, vga, vmvga, xen, virtio, gop, none, bochs/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('§2 hw_machine_type', () => {
  const rows: Row[] = [
    { name: 'image value as is', image: { hw_machine_type: 'q35' }, want: { hw_machine_type: ['q35', 'image'] } },
    { name: 'image empty string kept', image: { hw_machine_type: '' }, want: { hw_machine_type: ['', 'image'] } },
    { name: 'image beats config', image: { hw_machine_type: 'pc' }, host: { machineTypes: ['x86_64=q35'] }, want: { hw_machine_type: ['pc', 'image'] } },
    { name: 'config entry for arch', host: { machineTypes: ['x86_64=q35'] }, want: { hw_machine_type: ['q35', 'config'] } },
    { name: 'first matching entry wins', host: { machineTypes: ['aarch64=virt', 'x86_64=pc-q35-7.2', 'x86_64=pc'] }, want: { hw_machine_type: ['pc-q35-7.2', 'config'] } },
    { name: 'empty machine part skipped', host: { machineTypes: ['x86_64=', 'x86_64=pc-q35-7.2'] }, want: { hw_machine_type: ['pc-q35-7.2', 'config'] } },
    { name: 'entry without = skipped', host: { machineTypes: ['q35'] }, want: { hw_machine_type: ['pc', 'driver'] } },
    { name: 'split at the first =', host: { machineTypes: ['x86_64=pc=q35'] }, want: { hw_machine_type: ['pc=q35', 'config'] } },
    { name: 'arch compared exactly', host: { machineTypes: ['AMD64=q35', 'X86_64=q35'] }, want: { hw_machine_type: ['pc', 'driver'] } },
    { name: 'other arch entry ignored', host: { machineTypes: ['aarch64=virt-7.2'] }, want: { hw_machine_type: ['pc', 'driver'] } },
    { name: 'image arch picks the entry', image: { hw_architecture: 'aarch64' }, host: { machineTypes: ['x86_64=q35', 'aarch64=virt-7.2'] },
      want: { hw_machine_type: ['virt-7.2', 'config'] } },
    { name: 'emulation arch does not pick the entry', image: { hw_emulation_architecture: 'aarch64' }, host: { machineTypes: ['aarch64=virt'] },
      want: { hw_machine_type: ['pc', 'driver'] } },
    { name: 'default armv7l', host: { arch: 'armv7l' }, want: { hw_machine_type: ['virt', 'driver'] } },
    { name: 'default aarch64', host: { arch: 'aarch64' }, want: { hw_machine_type: ['virt', 'driver'] } },
    { name: 'default ppc64le', image: { hw_architecture: 'ppc64le' }, want: { hw_machine_type: ['pseries', 'driver'] } },
    { name: 'default s390', host: { arch: 's390' }, want: { hw_machine_type: ['s390-ccw-virtio', 'driver'] } },
    { name: 'default s390x', host: { arch: 's390x' }, want: { hw_machine_type: ['s390-ccw-virtio', 'driver'] } },
    { name: 'default i686 (from i386)', image: { architecture: 'i386' }, want: { hw_machine_type: ['pc', 'driver'] } },
    { name: 'default x86_64', want: { hw_machine_type: ['pc', 'driver'] } },
    { name: 'none for ppc64', host: { arch: 'ppc64' }, want: { hw_machine_type: [null, 'driver'] } },
    { name: 'none for ppc', host: { arch: 'ppc' }, want: { hw_machine_type: [null, 'driver'] } },
    { name: 'none for mipsel', host: { arch: 'mipsel' }, want: { hw_machine_type: [null, 'driver'] } },
    { name: 'none for sparc', host: { arch: 'sparc' }, want: { hw_machine_type: [null, 'driver'] } },
    { name: 'independent of virt type: lxc', host: { virtType: 'lxc' }, want: { hw_machine_type: ['pc', 'driver'] } },
    { name: 'independent of virt type: parallels', host: { virtType: 'parallels', arch: 'aarch64' }, want: { hw_machine_type: ['virt', 'driver'] } },
  ];
  test.each(byName(rows))('%s', (_n, row) => check(row));
});

// ---------------------------------------------------------------------------------------------
describe('§3 disk, cdrom and floppy buses', () => {
  const defaults = (vt: HostProfile['virtType'], arch: string, cdrom: string | null, disk: string | null, floppy: string | null): Row => ({
    name: `defaults ${vt} ${arch}`,
    host: { virtType: vt, arch },
    want: { hw_cdrom_bus: [cdrom, 'driver'], hw_disk_bus: [disk, 'driver'], hw_floppy_bus: [floppy, 'driver'] },
  });
  const cdrom = (name: string, row: Omit<Row, 'name' | 'want'>, value: string): Row => ({ name, ...row, want: { hw_cdrom_bus: [value, 'driver'] } });
  const rows: Row[] = [
    defaults('kvm', 'x86_64', 'ide', 'virtio', 'fdc'),
    defaults('qemu', 'x86_64', 'ide', 'virtio', 'fdc'),
    defaults('kvm', 'i686', 'ide', 'virtio', 'fdc'),
    defaults('qemu', 'armv7l', 'ide', 'virtio', 'fdc'),
    defaults('qemu', 'mipsel', 'ide', 'virtio', 'fdc'),
    defaults('qemu', 'sparc', 'ide', 'virtio', 'fdc'),
    ...['ppc', 'ppc64', 'ppcle', 'ppc64le', 's390', 's390x', 'aarch64'].map((a) => defaults('kvm', a, 'scsi', 'virtio', 'fdc')),
    defaults('lxc', 'x86_64', 'lxc', 'lxc', 'lxc'),
    defaults('lxc', 'aarch64', 'lxc', 'lxc', 'lxc'),
    defaults('parallels', 'x86_64', 'ide', 'scsi', null),
    cdrom('q35 machine → sata', { image: { hw_machine_type: 'q35' } }, 'sata'),
    cdrom('versioned q35 → sata', { image: { hw_machine_type: 'pc-q35-6.2' } }, 'sata'),
    cdrom('substring is case-sensitive', { image: { hw_machine_type: 'PC-Q35-6.2' } }, 'ide'),
    cdrom('Q35 upper case → ide', { image: { hw_machine_type: 'Q35' } }, 'ide'),
    cdrom('empty machine type → ide', { image: { hw_machine_type: '' } }, 'ide'),
    cdrom('configured q35 → sata', { host: { machineTypes: ['x86_64=pc-q35-7.2'] } }, 'sata'),
    cdrom('q35 on qemu → sata', { host: { virtType: 'qemu' }, image: { hw_machine_type: 'q35' } }, 'sata'),
    cdrom('scsi arches win over q35', { host: { arch: 'aarch64' }, image: { hw_machine_type: 'q35' } }, 'scsi'),
    cdrom('image arch decides (ppc64 image on x86_64)', { image: { hw_architecture: 'ppc64' } }, 'scsi'),
    cdrom('image arch decides (x86_64 image on aarch64)', { host: { arch: 'aarch64' }, image: { hw_architecture: 'x86_64' } }, 'ide'),
    cdrom('emulation arch does not decide', { image: { hw_emulation_architecture: 'aarch64' } }, 'ide'),
    cdrom('q35 on lxc is still lxc', { host: { virtType: 'lxc' }, image: { hw_machine_type: 'q35' } }, 'lxc'),
    cdrom('q35 on parallels is still ide', { host: { virtType: 'parallels' }, image: { hw_machine_type: 'q35' } }, 'ide'),
    { name: 'image buses valid on kvm', image: { hw_disk_bus: 'scsi', hw_cdrom_bus: 'usb', hw_floppy_bus: 'fdc' },
      want: { hw_disk_bus: ['scsi', 'image'], hw_cdrom_bus: ['usb', 'image'], hw_floppy_bus: ['fdc', 'image'] } },
    { name: 'sata and ide valid on qemu', host: { virtType: 'qemu' }, image: { hw_disk_bus: 'sata', hw_cdrom_bus: 'ide' },
      want: { hw_disk_bus: ['sata', 'image'], hw_cdrom_bus: ['ide', 'image'] } },
    { name: 'xen, uml, lxc refused on kvm', image: { hw_disk_bus: 'xen', hw_cdrom_bus: 'uml', hw_floppy_bus: 'lxc' },
      want: { hw_disk_bus: 'UnsupportedHardware', hw_cdrom_bus: 'UnsupportedHardware', hw_floppy_bus: 'UnsupportedHardware' } },
    { name: 'only lxc on lxc', host: { virtType: 'lxc' }, image: { hw_disk_bus: 'lxc', hw_cdrom_bus: 'virtio', hw_floppy_bus: 'fdc' },
      want: { hw_disk_bus: ['lxc', 'image'], hw_cdrom_bus: 'UnsupportedHardware', hw_floppy_bus: 'UnsupportedHardware' } },
    { name: 'only ide and scsi on parallels', host: { virtType: 'parallels' }, image: { hw_disk_bus: 'ide', hw_cdrom_bus: 'scsi', hw_floppy_bus: 'fdc' },
      want: { hw_disk_bus: ['ide', 'image'], hw_cdrom_bus: ['scsi', 'image'], hw_floppy_bus: 'UnsupportedHardware' } },
    { name: 'parallels refuses sata', host: { virtType: 'parallels' }, image: { hw_disk_bus: 'sata' }, want: { hw_disk_bus: 'UnsupportedHardware' } },
    { name: 'disk from libosinfo', image: { os_distro: 'fedora36' }, want: { hw_disk_bus: ['virtio', 'osinfo'], hw_cdrom_bus: ['ide', 'driver'] } },
    { name: 'legacy vmware_ostype feeds libosinfo', image: { vmware_ostype: 'centos7' }, want: { hw_disk_bus: ['virtio', 'osinfo'] } },
    { name: 'image beats libosinfo', image: { os_distro: 'fedora36', hw_disk_bus: 'sata' }, want: { hw_disk_bus: ['sata', 'image'] } },
    { name: 'no libosinfo disk model → driver', image: { os_distro: 'win10' }, want: { hw_disk_bus: ['virtio', 'driver'] } },
    { name: 'unknown os → driver', image: { os_distro: 'nosuchos' }, want: { hw_disk_bus: ['virtio', 'driver'] } },
    { name: 'libosinfo virtio refused on lxc', host: { virtType: 'lxc' }, image: { os_distro: 'fedora36' },
      want: { hw_disk_bus: 'UnsupportedHardware', hw_cdrom_bus: ['lxc', 'driver'] } },
    { name: 'libosinfo virtio refused on parallels', host: { virtType: 'parallels' }, image: { os_distro: 'fedora36' },
      want: { hw_disk_bus: 'UnsupportedHardware' } },
    { name: 'vmware_adaptertype ide gives an ide disk', image: { vmware_adaptertype: 'ide' }, want: { hw_disk_bus: ['ide', 'image'] } },
    { name: 'vmware_adaptertype gives a scsi disk', image: { vmware_adaptertype: 'lsiLogic' }, want: { hw_disk_bus: ['scsi', 'image'] } },
  ];
  test.each(byName(rows))('%s', (_n, row) => check(row));

  test('an unsupported bus names the property, value, source and allowed buses', () => {
    const e = run({ name: '', host: { virtType: 'lxc' }, image: { os_distro: 'fedora36' }, want: {} }).errors['hw_disk_bus']!;
    expect(e.message).toContain('hw_disk_bus');
    expect(e.message).toContain('"virtio"');
    expect(e.message).toContain('osinfo');
    expect(e.message).toMatch(/allowed: lxc$/);
    expect(e).toMatchObject({ value: 'virtio', source: 'osinfo', allowed: ['lxc'] });
  });
});

// ---------------------------------------------------------------------------------------------
describe('§3.4 hw_rescue_bus', () => {
  const rows: Row[] = [
    { name: 'legacy rescue: disk bus default', want: { hw_rescue_bus: ['virtio', 'driver'] } },
    { name: 'legacy rescue: image disk bus', image: { hw_disk_bus: 'scsi' }, want: { hw_rescue_bus: ['scsi', 'image'] } },
    { name: 'legacy rescue: libosinfo disk', image: { os_distro: 'fedora36' }, want: { hw_rescue_bus: ['virtio', 'osinfo'] } },
    { name: 'legacy rescue: lxc', host: { virtType: 'lxc' }, want: { hw_rescue_bus: ['lxc', 'driver'] } },
    { name: 'legacy rescue: parallels', host: { virtType: 'parallels' }, want: { hw_rescue_bus: ['scsi', 'driver'] } },
    { name: 'legacy rescue: invalid disk bus', image: { hw_disk_bus: 'xen' }, want: { hw_rescue_bus: 'UnsupportedHardware' } },
    { name: 'legacy rescue ignores the cdrom bus', image: { hw_cdrom_bus: 'xen' }, want: { hw_rescue_bus: ['virtio', 'driver'] } },
    { name: 'stable rescue on lxc (device)', host: { virtType: 'lxc' }, image: { hw_rescue_device: 'cdrom' }, want: { hw_rescue_bus: 'InstanceNotRescuable' } },
    { name: 'stable rescue on lxc (bus)', host: { virtType: 'lxc' }, image: { hw_rescue_bus: 'lxc' }, want: { hw_rescue_bus: 'InstanceNotRescuable' } },
    { name: 'lxc checked before the device', host: { virtType: 'lxc' }, image: { hw_rescue_device: 'fs' }, want: { hw_rescue_bus: 'InstanceNotRescuable' } },
    { name: 'fs refused', image: { hw_rescue_device: 'fs' }, want: { hw_rescue_bus: 'UnsupportedRescueDevice' } },
    { name: 'fs refused even with a bus', image: { hw_rescue_device: 'fs', hw_rescue_bus: 'usb' }, want: { hw_rescue_bus: 'UnsupportedRescueDevice' } },
    { name: 'rescue bus only (device disk)', image: { hw_rescue_bus: 'usb' }, want: { hw_rescue_bus: ['usb', 'image'] } },
    { name: 'rescue bus beats disk bus', image: { hw_rescue_bus: 'sata', hw_disk_bus: 'scsi' }, want: { hw_rescue_bus: ['sata', 'image'] } },
    { name: 'rescue bus invalid for kvm', image: { hw_rescue_bus: 'xen' }, want: { hw_rescue_bus: 'UnsupportedRescueBus' } },
    { name: 'rescue bus invalid for parallels', host: { virtType: 'parallels' }, image: { hw_rescue_device: 'cdrom', hw_rescue_bus: 'virtio' },
      want: { hw_rescue_bus: 'UnsupportedRescueBus' } },
    { name: 'rescue bus valid for parallels', host: { virtType: 'parallels' }, image: { hw_rescue_bus: 'ide' }, want: { hw_rescue_bus: ['ide', 'image'] } },
    { name: 'cdrom device: cdrom default', image: { hw_rescue_device: 'cdrom' }, want: { hw_rescue_bus: ['ide', 'driver'] } },
    { name: 'cdrom device: q35 → sata', image: { hw_rescue_device: 'cdrom', hw_machine_type: 'q35' }, want: { hw_rescue_bus: ['sata', 'driver'] } },
    { name: 'cdrom device: s390x → scsi', host: { arch: 's390x' }, image: { hw_rescue_device: 'cdrom' }, want: { hw_rescue_bus: ['scsi', 'driver'] } },
    { name: 'cdrom device: image cdrom bus', image: { hw_rescue_device: 'cdrom', hw_cdrom_bus: 'usb' }, want: { hw_rescue_bus: ['usb', 'image'] } },
    { name: 'cdrom device: invalid cdrom bus', image: { hw_rescue_device: 'cdrom', hw_cdrom_bus: 'xen' }, want: { hw_rescue_bus: 'UnsupportedHardware' } },
    { name: 'cdrom device ignores libosinfo', image: { hw_rescue_device: 'cdrom', os_distro: 'fedora36' }, want: { hw_rescue_bus: ['ide', 'driver'] } },
    { name: 'floppy device: fdc', image: { hw_rescue_device: 'floppy' }, want: { hw_rescue_bus: ['fdc', 'driver'] } },
    { name: 'floppy device on parallels: none', host: { virtType: 'parallels' }, image: { hw_rescue_device: 'floppy' }, want: { hw_rescue_bus: [null, 'driver'] } },
    { name: 'floppy device: image floppy bus', image: { hw_rescue_device: 'floppy', hw_floppy_bus: 'usb' }, want: { hw_rescue_bus: ['usb', 'image'] } },
    { name: 'disk device: libosinfo', image: { hw_rescue_device: 'disk', os_distro: 'fedora36' }, want: { hw_rescue_bus: ['virtio', 'osinfo'] } },
    { name: 'disk device: image disk bus', image: { hw_rescue_device: 'disk', hw_disk_bus: 'ide' }, want: { hw_rescue_bus: ['ide', 'image'] } },
    { name: 'lun with a bus', image: { hw_rescue_device: 'lun', hw_rescue_bus: 'scsi' }, want: { hw_rescue_bus: ['scsi', 'image'] } },
    { name: 'lun without a bus (§9.6)', image: { hw_rescue_device: 'lun' }, want: { hw_rescue_bus: 'UnsupportedRescueDevice' } },
  ];
  test.each(byName(rows))('%s', (_n, row) => check(row));
});

// ---------------------------------------------------------------------------------------------
describe('§4 hw_input_bus and hw_pointer_model', () => {
  const pair = (bus: string | null, model: string | null, source: Source) =>
    ({ hw_input_bus: [bus, source], hw_pointer_model: [model, source] }) as const;
  const rows: Row[] = [
    { name: 'pointer_model=usbtablet (default)', want: pair('usb', 'usbtablet', 'config') },
    { name: 'image input bus', image: { hw_input_bus: 'virtio' }, want: pair('virtio', 'usbtablet', 'image') },
    { name: 'image input bus beats ps2mouse', image: { hw_input_bus: 'usb' }, host: { pointerModel: 'ps2mouse' }, want: pair('usb', 'usbtablet', 'image') },
    { name: 'image pointer model → usb', image: { hw_pointer_model: 'usbtablet' }, host: { pointerModel: null }, want: pair('usb', 'usbtablet', 'image') },
    { name: 'input bus and pointer model', image: { hw_pointer_model: 'usbtablet', hw_input_bus: 'virtio' }, want: pair('virtio', 'usbtablet', 'image') },
    { name: 'pointer_model=ps2mouse: nothing', host: { pointerModel: 'ps2mouse' }, want: pair(null, null, 'config') },
    { name: 'pointer_model unset: nothing', host: { pointerModel: null }, want: pair(null, null, 'config') },
    { name: 'lxc guest is exe: nothing', host: { virtType: 'lxc' }, want: pair(null, null, 'driver') },
    { name: 'lxc with image input bus: nothing', host: { virtType: 'lxc' }, image: { hw_input_bus: 'usb' }, want: pair(null, null, 'driver') },
    { name: 'instance vm_mode exe on kvm', vmMode: 'exe', want: pair(null, null, 'driver') },
    { name: 'instance vm_mode xen', vmMode: 'xen', image: { hw_input_bus: 'virtio' }, want: pair(null, null, 'driver') },
    { name: 'instance vm_mode pv (xen)', vmMode: 'pv', want: pair(null, null, 'driver') },
    { name: 'instance vm_mode uml', vmMode: 'uml', want: pair(null, null, 'driver') },
    { name: 'instance vm_mode HV → hvm', vmMode: 'HV', want: pair('usb', 'usbtablet', 'config') },
    { name: 'instance vm_mode hvm on lxc', vmMode: 'hvm', host: { virtType: 'lxc' }, want: pair('usb', 'usbtablet', 'config') },
    { name: 'image hw_vm_mode does not set os_type', image: { hw_vm_mode: 'exe' }, want: pair('usb', 'usbtablet', 'config') },
    { name: 'image legacy vm_mode does not set os_type either', image: { vm_mode: 'exe' }, want: pair('usb', 'usbtablet', 'config') },
    { name: 'invalid instance vm_mode', vmMode: 'bogus', want: { hw_input_bus: 'InvalidVirtualMachineMode', hw_pointer_model: 'InvalidVirtualMachineMode' } },
    { name: 'spice agent without vnc: nothing', host: { spiceEnabled: true, spiceAgentEnabled: true, vncEnabled: false }, want: pair(null, null, 'driver') },
    { name: 'spice agent without vnc beats the image', host: { spiceEnabled: true, spiceAgentEnabled: true, vncEnabled: false },
      image: { hw_input_bus: 'virtio' }, want: pair(null, null, 'driver') },
    { name: 'spice agent with vnc', host: { spiceEnabled: true, spiceAgentEnabled: true, vncEnabled: true }, want: pair('usb', 'usbtablet', 'config') },
    { name: 'spice without agent', host: { spiceEnabled: true, spiceAgentEnabled: false, vncEnabled: false }, want: pair('usb', 'usbtablet', 'config') },
    { name: 'agent without spice', host: { spiceEnabled: false, spiceAgentEnabled: true, vncEnabled: false }, want: pair('usb', 'usbtablet', 'config') },
    { name: 'nothing requested beats spice', host: { pointerModel: 'ps2mouse', spiceEnabled: true, vncEnabled: false }, want: pair(null, null, 'config') },
  ];
  test.each(byName(rows))('%s', (_n, row) => check(row));
});

// ---------------------------------------------------------------------------------------------
describe('§5 hw_video_model', () => {
  const video = (name: string, row: Omit<Row, 'name' | 'want'>, value: string | null, source: Source = 'driver'): Row =>
    ({ name, ...row, want: { hw_video_model: [value, source] } });
  const spice = { spiceEnabled: true };
  const rows: Row[] = [
    video('image value', { image: { hw_video_model: 'cirrus' } }, 'cirrus', 'image'),
    video('image value on parallels', { host: { virtType: 'parallels' }, image: { hw_video_model: 'none' } }, 'none', 'image'),
    video('parallels → vga', { host: { virtType: 'parallels' } }, 'vga'),
    video('parallels beats arch and spice', { host: { virtType: 'parallels', arch: 's390x', ...spice } }, 'vga'),
    video('x86_64 → virtio', {}, 'virtio'),
    video('i686 → virtio', { host: { arch: 'i686' } }, 'virtio'),
    video('x86_64 with spice → qxl', { host: spice }, 'qxl'),
    video('ppc → vga', { host: { arch: 'ppc' } }, 'vga'),
    video('ppc64 → vga', { host: { arch: 'ppc64' } }, 'vga'),
    video('ppc64le → vga', { host: { arch: 'ppc64le' } }, 'vga'),
    video('ppc64 with spice → vga', { host: { arch: 'ppc64', ...spice } }, 'vga'),
    video('ppcle → none', { host: { arch: 'ppcle' } }, null),
    video('ppcle with spice → qxl', { host: { arch: 'ppcle', ...spice } }, 'qxl'),
    video('aarch64 → virtio', { host: { arch: 'aarch64' } }, 'virtio'),
    video('aarch64 with spice → virtio', { host: { arch: 'aarch64', ...spice } }, 'virtio'),
    video('mipsel → virtio', { host: { arch: 'mipsel' } }, 'virtio'),
    video('s390x → none', { host: { arch: 's390x' } }, null),
    video('armv7l → none', { host: { arch: 'armv7l' } }, null),
    video('sparc → none', { host: { arch: 'sparc' } }, null),
    video('armv7l with spice → qxl', { host: { arch: 'armv7l', ...spice } }, 'qxl'),
    video('image arch decides', { image: { hw_architecture: 'ppc64' } }, 'vga'),
    video('emulation arch beats image arch', { image: { hw_architecture: 'ppc64', hw_emulation_architecture: 'x86_64' } }, 'virtio'),
    video('emulation arch beats host arch', { host: spice, image: { hw_emulation_architecture: 'aarch64' } }, 'virtio'),
    video('lxc still computes a value', { host: { virtType: 'lxc' } }, 'virtio'),
    video('no display still computes a value', { host: { vncEnabled: false, spiceEnabled: false } }, 'virtio'),
  ];
  test.each(byName(rows))('%s', (_n, row) => check(row));
});

// ---------------------------------------------------------------------------------------------
describe('§6 hw_vif_model', () => {
  const vif = (name: string, row: Omit<Row, 'name' | 'want'>, value: string | null, source: Source): Row =>
    ({ name, ...row, want: { hw_vif_model: [value, source] } });
  const rows: Row[] = [
    vif('image value (alias coerced)', { image: { hw_vif_model: 'VirtualE1000' } }, 'e1000', 'image'),
    vif('image beats libosinfo', { image: { hw_vif_model: 'rtl8139', os_distro: 'fedora36' } }, 'rtl8139', 'image'),
    vif('libosinfo e1000e', { image: { os_distro: 'fedora36' } }, 'e1000e', 'osinfo'),
    vif('libosinfo e1000 (Windows)', { image: { os_distro: 'win10' } }, 'e1000', 'osinfo'),
    vif('unknown os → virtio', { image: { os_distro: 'nosuchos' } }, 'virtio', 'driver'),
    vif('empty os_distro → virtio', { image: { os_distro: '' } }, 'virtio', 'driver'),
    vif('kvm → virtio', {}, 'virtio', 'driver'),
    vif('qemu → virtio', { host: { virtType: 'qemu' } }, 'virtio', 'driver'),
    vif('parallels → virtio', { host: { virtType: 'parallels' } }, 'virtio', 'driver'),
    vif('lxc → none', { host: { virtType: 'lxc' } }, null, 'driver'),
    vif('use_virtio_for_bridges off → none', { host: { useVirtioForBridges: false } }, null, 'driver'),
    vif('use_virtio_for_bridges off keeps libosinfo', { host: { useVirtioForBridges: false }, image: { os_distro: 'win10' } }, 'e1000', 'osinfo'),
    vif('not validated against virt type: netfront on kvm', { image: { hw_vif_model: 'netfront' } }, 'netfront', 'image'),
    vif('not validated against virt type: libosinfo on lxc', { host: { virtType: 'lxc' }, image: { os_distro: 'fedora36' } }, 'e1000e', 'osinfo'),
  ];
  test.each(byName(rows))('%s', (_n, row) => check(row));
});

// ---------------------------------------------------------------------------------------------
describe('§7 hw_scsi_model and hw_rng_model', () => {
  const rows: Row[] = [
    { name: 'no SCSI model: libvirt picks (none)', want: { hw_scsi_model: [null, 'driver'] } },
    { name: 'image SCSI model', image: { hw_scsi_model: 'virtio-scsi' }, want: { hw_scsi_model: ['virtio-scsi', 'image'] } },
    { name: 'image SCSI model on lxc too', host: { virtType: 'lxc' }, image: { hw_scsi_model: 'LsiLogicSAS' }, want: { hw_scsi_model: ['lsisas1068', 'image'] } },
    { name: 'SCSI model not checked against the disk bus', image: { hw_scsi_model: 'buslogic', hw_disk_bus: 'ide' }, want: { hw_scsi_model: ['buslogic', 'image'] } },
    { name: 'SCSI model from vmware_adaptertype', image: { vmware_adaptertype: 'paravirtual' }, want: { hw_scsi_model: ['vmpvscsi', 'image'] } },
    { name: 'rng kvm → virtio', want: { hw_rng_model: ['virtio', 'driver'] } },
    { name: 'rng qemu → virtio', host: { virtType: 'qemu' }, want: { hw_rng_model: ['virtio', 'driver'] } },
    { name: 'rng lxc → none', host: { virtType: 'lxc' }, want: { hw_rng_model: [null, 'driver'] } },
    { name: 'rng parallels → none', host: { virtType: 'parallels' }, want: { hw_rng_model: [null, 'driver'] } },
    { name: 'rng image value ignored on lxc', host: { virtType: 'lxc' }, image: { hw_rng_model: 'virtio' }, want: { hw_rng_model: [null, 'driver'] } },
    { name: 'rng image value on kvm: the driver adds it regardless', image: { hw_rng_model: 'virtio' }, want: { hw_rng_model: ['virtio', 'driver'] } },
  ];
  test.each(byName(rows))('%s', (_n, row) => check(row));
});

// ---------------------------------------------------------------------------------------------
describe('§9.2 the live domain wins', () => {
  const domain = (values: DomainFacts['values'], osType: string | null = 'hvm'): DomainFacts => ({ osType, values });
  const rows: Row[] = [
    { name: 'domain video beats the default', domain: domain({ hw_video_model: 'cirrus' }), want: { hw_video_model: ['cirrus', 'domain'] } },
    { name: 'image beats the domain', image: { hw_video_model: 'vga' }, domain: domain({ hw_video_model: 'cirrus' }), want: { hw_video_model: ['vga', 'image'] } },
    { name: 'domain disk bus beats libosinfo', image: { os_distro: 'fedora36' }, domain: domain({ hw_disk_bus: 'ide' }), want: { hw_disk_bus: ['ide', 'domain'] } },
    { name: 'domain vif beats libosinfo', image: { os_distro: 'fedora36' }, domain: domain({ hw_vif_model: 'rtl8139' }), want: { hw_vif_model: ['rtl8139', 'domain'] } },
    { name: 'domain machine type beats config', host: { machineTypes: ['x86_64=q35'] }, domain: domain({ hw_machine_type: 'pc-i440fx-2.11' }),
      want: { hw_machine_type: ['pc-i440fx-2.11', 'domain'], hw_cdrom_bus: ['ide', 'driver'] } },
    { name: "cdrom default follows the domain's machine type", domain: domain({ hw_machine_type: 'pc-q35-7.2' }),
      want: { hw_machine_type: ['pc-q35-7.2', 'domain'], hw_cdrom_bus: ['sata', 'driver'] } },
    { name: 'domain without the device: rule applies', domain: domain({ hw_video_model: 'vga' }), want: { hw_vif_model: ['virtio', 'driver'] } },
    { name: "domain's os type beats instance vm_mode", host: { virtType: 'lxc' }, domain: domain({}, 'hvm'), want: { hw_input_bus: ['usb', 'config'] } },
    { name: 'domain exe os type on kvm', domain: domain({}, 'exe'), want: { hw_pointer_model: [null, 'driver'] } },
    { name: 'domain input bus and pointer', domain: domain({ hw_input_bus: 'virtio', hw_pointer_model: 'usbtablet' }),
      want: { hw_input_bus: ['virtio', 'domain'], hw_pointer_model: ['usbtablet', 'domain'] } },
    { name: 'domain scsi model', domain: domain({ hw_scsi_model: 'virtio-scsi' }), want: { hw_scsi_model: ['virtio-scsi', 'domain'] } },
    // A domain has no rescue device to read; legacy rescue then uses the disk bus the instance
    // really has (after the stash Nova reads it from system_metadata), here the domain's.
    { name: 'rescue bus is not read from the domain but follows its disk bus', domain: domain({ hw_rescue_bus: 'usb', hw_disk_bus: 'scsi' }), want: { hw_rescue_bus: ['scsi', 'domain'] } },
    { name: 'stable rescue on cdrom follows the domain cdrom bus', image: { hw_rescue_device: 'cdrom' }, domain: domain({ hw_cdrom_bus: 'sata' }), want: { hw_rescue_bus: ['sata', 'domain'] } },
  ];
  test.each(byName(rows))('%s', (_n, row) => check(row));
});

// ---------------------------------------------------------------------------------------------
describe('§9.3 one bad property does not block the rest', () => {
  const ALL: PropertyName[] = ['hw_machine_type', 'hw_cdrom_bus', 'hw_disk_bus', 'hw_floppy_bus', 'hw_rescue_bus', 'hw_input_bus',
    'hw_pointer_model', 'hw_rng_model', 'hw_scsi_model', 'hw_video_model', 'hw_vif_model'];
  const cases: Array<[string, Omit<Row, 'name' | 'want'>, PropertyName[]]> = [
    ['invalid disk bus', { image: { hw_disk_bus: 'xen' } }, ['hw_disk_bus', 'hw_rescue_bus']],
    ['invalid cdrom bus', { image: { hw_cdrom_bus: 'lxc' } }, ['hw_cdrom_bus']],
    ['libosinfo disk on lxc', { host: { virtType: 'lxc' }, image: { os_distro: 'fedora36' } }, ['hw_disk_bus', 'hw_rescue_bus']],
    ['invalid instance vm_mode', { vmMode: 'bogus' }, ['hw_input_bus', 'hw_pointer_model']],
    ['rescue device fs', { image: { hw_rescue_device: 'fs' } }, ['hw_rescue_bus']],
    ['everything at once', { image: { hw_disk_bus: 'uml', hw_cdrom_bus: 'xen', hw_floppy_bus: 'lxc', hw_rescue_bus: 'xen' }, vmMode: '' },
      ['hw_disk_bus', 'hw_cdrom_bus', 'hw_floppy_bus', 'hw_rescue_bus', 'hw_input_bus', 'hw_pointer_model']],
  ];
  test.each(cases)('%s', (_n, row, failing) => {
    const res = run({ name: '', ...row, want: {} });
    expect(Object.keys(res.errors).sort()).toEqual([...failing].sort());
    expect(Object.keys(res.properties).sort()).toEqual(ALL.filter((p) => !failing.includes(p)).sort());
  });
});

// ---------------------------------------------------------------------------------------------
describe("the OS answers these tables assume are the real osinfo-db's (RULES.md §8)", () => {
  let db: OsInfoIndex;
  beforeAll(async () => {
    db = await OsInfoIndex.load('/usr/share/osinfo');
  }, 60_000);
  test.each(Object.entries(OSINFO_TABLE))('%s', (name, answer) => {
    expect(db.lookup(name)).toEqual(answer);
  });
  test.each(['rhel8.0', 'debian11', 'ubuntu20.04', 'centos7.0', 'opensuse15.3'])('%s has e1000e (RULES.md §8)', (name) => {
    expect(db.lookup(name)?.networkModel).toBe('e1000e');
  });
});
