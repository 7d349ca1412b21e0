import {
  checkDomain,
  checkMachineType,
  checkValue,
  lookupMachineType,
  machineTypesFor,
  parseDomainCapabilities,
  parseHostCapabilities,
  type CapabilityProblem,
} from '../../src/core/capabilities.js';
import { domainFixture, libvirtFixture } from './helpers.js';

const Q35 = parseDomainCapabilities(libvirtFixture('domcaps-qemu-x86_64-q35.xml'));
const PC = parseDomainCapabilities(libvirtFixture('domcaps-qemu-x86_64-pc.xml'));
const KVM_Q35 = parseDomainCapabilities(libvirtFixture('domcaps-kvm-x86_64-q35.xml'));
const HOST = parseHostCapabilities(libvirtFixture('capabilities-qemu-system.xml'));

const brief = (p: CapabilityProblem): [string, string | null, string, string | null] => [p.kind, p.property, p.value, p.element];

describe('parseDomainCapabilities on libvirt 9.0 / QEMU 7.2 output', () => {
  test('identity of each sample', () => {
    expect([Q35.machine, Q35.arch, Q35.domainType, Q35.path, Q35.maxVcpus]).toEqual(['pc-q35-7.2', 'x86_64', 'qemu', '/usr/bin/qemu-system-x86_64', 288]);
    expect([PC.machine, PC.domainType, PC.maxVcpus]).toEqual(['pc-i440fx-7.2', 'qemu', 255]);
    expect([KVM_Q35.machine, KVM_Q35.domainType]).toEqual(['pc-q35-7.2', 'kvm']);
  });

  test('disk buses: q35 has no IDE, pc has', () => {
    expect(Q35.devices.disk).toEqual({
      supported: true,
      enums: { diskDevice: ['disk', 'cdrom', 'floppy', 'lun'], bus: ['fdc', 'scsi', 'virtio', 'usb', 'sata'], model: ['virtio', 'virtio-transitional', 'virtio-non-transitional'] },
    });
    expect(PC.devices.disk?.enums.bus).toEqual(['ide', 'fdc', 'scsi', 'virtio', 'usb', 'sata']);
  });

  test('video, rng, graphics, hostdev; no input element in libvirt 9.0', () => {
    expect(Q35.devices.video?.enums.modelType).toEqual(['vga', 'cirrus', 'vmvga', 'qxl', 'virtio', 'none', 'bochs', 'ramfb']);
    expect(Q35.devices.rng?.enums).toEqual({ model: ['virtio', 'virtio-transitional', 'virtio-non-transitional'], backendModel: ['random', 'egd', 'builtin'] });
    expect(Q35.devices.graphics?.enums.type).toEqual(['sdl', 'vnc', 'spice', 'egl-headless', 'dbus']);
    expect(Q35.devices.hostdev?.enums.subsysType).toEqual(['usb', 'pci', 'scsi']);
    expect(Q35.devices.hostdev?.enums.capsType).toEqual([]);
    expect(Q35.devices.input).toBeUndefined();
  });

  test('not domain capabilities: a clear error', () => {
    expect(() => parseDomainCapabilities('<capabilities/>')).toThrow(/root element <capabilities>, expected <domainCapabilities>/);
    expect(() => parseDomainCapabilities('<domainCapabilities><arch>x86_64</arch></domainCapabilities>')).toThrow(/lacks <machine> or <arch>/);
  });
});

describe('parsing once per document', () => {
  const domcaps = (machine: string): string => `<domainCapabilities><machine>${machine}</machine><arch>x86_64</arch></domainCapabilities>`;

  test('the same XML gives the same frozen result; another XML its own', () => {
    const xml = libvirtFixture('domcaps-qemu-x86_64-q35.xml');
    expect(parseDomainCapabilities(xml)).toBe(Q35);
    expect(parseDomainCapabilities(`${xml}\n`)).not.toBe(Q35);
    expect(parseDomainCapabilities(`${xml}\n`)).toEqual(Q35);
    expect(parseHostCapabilities(libvirtFixture('capabilities-qemu-system.xml'))).toBe(HOST);
    for (const frozen of [Q35, Q35.devices, Q35.devices.disk, Q35.devices.disk!.enums.bus, HOST, HOST.guests[0], HOST.guests[0]!.machines[0]]) {
      expect(Object.isFrozen(frozen)).toBe(true);
    }
    expect(() => (Q35.devices.disk!.enums.bus as string[]).push('ide')).toThrow(TypeError);
  });

  test('16 documents are kept, the least recently used leaves first', () => {
    const parsed = Array.from({ length: 16 }, (_, i) => parseDomainCapabilities(domcaps(`m-${i}`)));
    // m-0 is used again, so m-1 is the oldest when a 17th document comes in.
    expect(parseDomainCapabilities(domcaps('m-0'))).toBe(parsed[0]);
    parseDomainCapabilities(domcaps('m-16'));
    expect(parseDomainCapabilities(domcaps('m-0'))).toBe(parsed[0]);
    for (let i = 2; i < 16; i++) expect(parseDomainCapabilities(domcaps(`m-${i}`))).toBe(parsed[i]);
    const again = parseDomainCapabilities(domcaps('m-1'));
    expect(again).not.toBe(parsed[1]);
    expect(again).toEqual(parsed[1]);
  });

  test('a document that does not parse is refused every time', () => {
    expect(() => parseDomainCapabilities('<capabilities/>')).toThrow(/expected <domainCapabilities>/);
    expect(() => parseDomainCapabilities('<capabilities/>')).toThrow(/expected <domainCapabilities>/);
  });
});

describe('checkValue: one stashed value against this QEMU', () => {
  test('hw_disk_bus=ide on q35 is refused with the buses that do work; on pc it runs', () => {
    const p = checkValue('hw_disk_bus', 'ide', Q35);
    expect(p).toEqual({
      kind: 'unsupported',
      property: 'hw_disk_bus',
      value: 'ide',
      element: null,
      allowed: ['fdc', 'scsi', 'virtio', 'usb', 'sata'],
      message: "this host's QEMU (machine pc-q35-7.2, arch x86_64) cannot run hw_disk_bus=ide: allowed buses here: fdc, scsi, virtio, usb, sata",
    });
    expect(checkValue('hw_disk_bus', 'ide', PC)).toBeNull();
    expect(checkValue('hw_cdrom_bus', 'ide', KVM_Q35)?.kind).toBe('unsupported');
    expect(checkValue('hw_rescue_bus', 'ide', Q35)?.kind).toBe('unsupported');
    expect(checkValue('hw_floppy_bus', 'fdc', Q35)).toBeNull();
    expect(checkValue('hw_disk_bus', 'xen', PC)?.message).toMatch(/cannot run hw_disk_bus=xen: allowed buses here: ide, fdc/);
  });

  test('video models Nova knows but QEMU does not run (gop, xen) are refused', () => {
    expect(checkValue('hw_video_model', 'gop', Q35)?.message).toBe(
      "this host's QEMU (machine pc-q35-7.2, arch x86_64) cannot run hw_video_model=gop: allowed video models here: vga, cirrus, vmvga, qxl, virtio, none, bochs, ramfb",
    );
    expect(checkValue('hw_video_model', 'xen', PC)?.kind).toBe('unsupported');
    for (const ok of ['cirrus', 'virtio', 'none', 'qxl', 'vga', 'bochs', 'vmvga']) expect(checkValue('hw_video_model', ok, Q35)).toBeNull();
    expect(checkValue('hw_rng_model', 'virtio', Q35)).toBeNull();
  });

  test('where the capabilities are silent the answer is "not checked", never a silent pass', () => {
    expect(checkValue('hw_vif_model', 'e1000', Q35)).toEqual({
      kind: 'not-checked',
      property: 'hw_vif_model',
      value: 'e1000',
      element: null,
      allowed: null,
      message: "this host's domain capabilities (machine pc-q35-7.2, arch x86_64) do not list NIC models: hw_vif_model=e1000 not checked",
    });
    expect(checkValue('hw_scsi_model', 'lsilogic', Q35)?.kind).toBe('not-checked');
    expect(checkValue('hw_input_bus', 'virtio', Q35)?.kind).toBe('not-checked');
    expect(checkValue('hw_pointer_model', 'usbtablet', Q35)?.message).toMatch(/do not list input devices: hw_pointer_model=usbtablet not checked/);
  });

  test('a null value is no device: nothing to run', () => {
    expect(checkValue('hw_video_model', null, Q35)).toBeNull();
  });

  test('newer libvirt lists input devices: then input bus and tablet are checked', () => {
    const caps = parseDomainCapabilities(
      `<domainCapabilities><machine>pc-q35-8.2</machine><arch>x86_64</arch><devices>` +
        `<input supported='yes'><enum name='type'><value>mouse</value><value>tablet</value><value>keyboard</value></enum>` +
        `<enum name='bus'><value>ps2</value><value>virtio</value></enum></input>` +
        `<rng supported='no'/></devices></domainCapabilities>`,
    );
    expect(checkValue('hw_input_bus', 'virtio', caps)).toBeNull();
    expect(checkValue('hw_input_bus', 'usb', caps)?.message).toMatch(/cannot run hw_input_bus=usb: allowed input buses here: ps2, virtio/);
    expect(checkValue('hw_pointer_model', 'usbtablet', caps)?.message).toMatch(/cannot run hw_pointer_model=usbtablet \(a USB tablet\): allowed input buses here: ps2, virtio/);
    expect(checkValue('hw_rng_model', 'virtio', caps)?.message).toMatch(/cannot run hw_rng_model=virtio: allowed RNG models here: none/);
    expect(checkValue('hw_video_model', 'virtio', caps)?.kind).toBe('not-checked');
  });
});

describe('checkDomain: a whole domain against this QEMU', () => {
  test('a Nova q35 guest runs; NIC model and tablet bus are reported as not checked', () => {
    for (const caps of [Q35, KVM_Q35]) {
      expect(checkDomain(domainFixture('nova-q35.xml'), caps).map(brief)).toEqual([
        ['not-checked', 'hw_input_bus', 'usb', 'input tablet'],
        ['not-checked', 'hw_vif_model', 'virtio', 'interface fa:16:3e:11:22:33'],
      ]);
    }
  });

  test('an IDE cdrom on q35 is refused and named', () => {
    const xml = domainFixture('nova-q35.xml').replace(`<target dev='sda' bus='sata'/>`, `<target dev='hda' bus='ide'/>`);
    const problems = checkDomain(xml, Q35).filter((p) => p.kind === 'unsupported');
    expect(problems.map(brief)).toEqual([['unsupported', 'hw_cdrom_bus', 'ide', 'cdrom hda']]);
    expect(problems[0]!.message).toBe(
      "this host's QEMU (machine pc-q35-7.2, arch x86_64) cannot run hw_cdrom_bus=ide (cdrom hda): allowed buses here: fdc, scsi, virtio, usb, sata",
    );
  });

  test('the old pc guest on today\'s pc machine: IDE is fine; the SCSI guest\'s controller is not checked', () => {
    const oldPc = domainFixture('old-defaults-pc.xml').replace("machine='pc-i440fx-2.11'", "machine='pc-i440fx-7.2'");
    expect(checkDomain(oldPc, PC).filter((p) => p.kind === 'unsupported')).toEqual([]);
    const scsi = domainFixture('scsi-virtio-scsi.xml').replace("machine='pc-i440fx-5.2'", "machine='pc'");
    expect(checkDomain(scsi, PC).map(brief)).toContainEqual(['not-checked', 'hw_scsi_model', 'virtio-scsi', 'controller scsi index 0']);
  });

  test('capabilities of another machine type check nothing, and say so', () => {
    const problems = checkDomain(domainFixture('old-defaults-pc.xml'), PC);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe(
      'these domain capabilities describe machine pc-i440fx-7.2 (arch x86_64) but the domain uses pc-i440fx-2.11 (arch x86_64): nothing checked',
    );
    expect(checkDomain(domainFixture('nova-q35.xml'), PC)[0]!.kind).toBe('not-checked');
    // A distro's versioned type is not an alias: RHEL 8.6's q35 is not checked against RHEL 9.2's.
    const rhel = parseDomainCapabilities(libvirtFixture('domcaps-qemu-x86_64-q35.xml').replace('<machine>pc-q35-7.2</machine>', '<machine>pc-q35-rhel9.2.0</machine>'));
    const onRhel86 = domainFixture('nova-q35.xml').replace(/machine='[^']*'/, "machine='pc-q35-rhel8.6.0'");
    expect(checkDomain(onRhel86, rhel).map(brief)).toEqual([['not-checked', 'hw_machine_type', 'pc-q35-rhel8.6.0', 'os/type']]);
    expect(checkDomain(onRhel86.replace('rhel8.6.0', 'rhel9.2.0'), rhel).map(brief)).not.toContainEqual(expect.arrayContaining(['hw_machine_type']));
  });

  test('devices no property decides are checked too: video, rng backend, graphics, hostdev, disk model', () => {
    const xml =
      `<domain type='kvm'><name>t</name><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>` +
      `<disk type='file' device='disk' model='virtio-scsi'><target dev='vda' bus='virtio'/></disk>` +
      `<graphics type='rdp'/><video><model type='gop'/></video>` +
      `<rng model='virtio'><backend model='tpm'>/dev/tpm0</backend></rng>` +
      `<hostdev mode='subsystem' type='mdev'><source/></hostdev><hostdev mode='subsystem' type='pci'><source/></hostdev>` +
      `</devices></domain>`;
    expect(checkDomain(xml, Q35).map(brief)).toEqual([
      ['unsupported', null, 'virtio-scsi', 'disk vda'],
      ['unsupported', 'hw_video_model', 'gop', 'video #1'],
      ['unsupported', null, 'tpm', 'rng #1'],
      ['unsupported', null, 'rdp', 'graphics #1'],
      ['unsupported', null, 'mdev', 'hostdev #1'],
    ]);
  });
});

describe('host capabilities: machine types', () => {
  const x86Block = (() => {
    const xml = libvirtFixture('capabilities-qemu-system.xml');
    const start = xml.indexOf("<arch name='x86_64'>");
    return xml.slice(start, xml.indexOf('</arch>', start));
  })();

  test('guests per arch with every machine type libvirt lists', () => {
    expect(HOST.hostArch).toBe('x86_64');
    expect(HOST.guests.map((g) => [g.osType, g.arch, g.domainTypes])).toEqual([
      ['hvm', 'i686', ['qemu', 'kvm']],
      ['hvm', 'x86_64', ['qemu', 'kvm']],
    ]);
    expect(machineTypesFor(HOST, 'x86_64')).toHaveLength((x86Block.match(/<machine /g) ?? []).length);
    expect(machineTypesFor(HOST, 'aarch64')).toEqual([]);
  });

  test('aliases resolve to their canonical name; deprecated types are flagged', () => {
    expect(lookupMachineType(HOST, 'x86_64', 'pc')).toEqual({ name: 'pc', canonical: 'pc-i440fx-7.2', alias: true, maxCpus: 255, deprecated: false });
    expect(lookupMachineType(HOST, 'x86_64', 'q35')).toMatchObject({ canonical: 'pc-q35-7.2', alias: true, maxCpus: 288 });
    expect(lookupMachineType(HOST, 'x86_64', 'pc-q35-4.0.1')).toMatchObject({ canonical: 'pc-q35-4.0.1', alias: false });
    expect(lookupMachineType(HOST, 'x86_64', 'pc-i440fx-1.5')?.deprecated).toBe(true);
    expect(lookupMachineType(HOST, 'x86_64', 'pc-i440fx-8.0')).toBeNull();
    expect(lookupMachineType(HOST, 'x86_64', 'PC')).toBeNull();
  });

  test('checkMachineType: known → null; unknown → refused with what exists', () => {
    expect(checkMachineType(HOST, 'x86_64', 'pc-i440fx-2.11')).toBeNull();
    const p = checkMachineType(HOST, 'x86_64', 'pc-i440fx-8.0')!;
    expect(p.kind).toBe('unsupported');
    expect(p.message).toMatch(/^this host's QEMU \(arch x86_64\) has no machine type pc-i440fx-8.0: allowed machine types here: isapc, microvm, pc \(= pc-i440fx-7.2\), pc-i440fx-1.4, /);
    expect(p.message).toContain('q35 (= pc-q35-7.2)');
    expect(p.allowed).toContain('pc-q35-7.2');
    expect(checkMachineType(HOST, 'aarch64', 'virt')?.message).toBe("this host's QEMU has no guests of arch aarch64, so it cannot run hw_machine_type=virt");
  });
});
