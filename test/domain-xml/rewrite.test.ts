import { XMLParser } from 'fast-xml-parser';
import { CoercionError } from '../../src/core/properties.js';
import { rewriteDomain, type Change } from '../../src/core/domain-xml/rewrite.js';
import { readDomainFacts } from '../../src/core/domain-xml/read.js';
import { asScratchDomain, defineAndReadBack, domainFixture, looseDomain, type Loose } from './helpers.js';

const OLD_PC = domainFixture('old-defaults-pc.xml');
const Q35 = domainFixture('nova-q35.xml');
const SCSI = domainFixture('scsi-virtio-scsi.xml');

/** A change as [property, element, aspect, from, to], for compact expectations. */
const row = (c: Change): [string, string, string, string | null, string | null] => [c.property, c.element, c.aspect, c.from, c.to];

/** Every device element of a domain, flattened, with its tag. */
function allDevices(dom: Loose): Array<{ tag: string; el: Loose }> {
  const out: Array<{ tag: string; el: Loose }> = [];
  for (const [tag, value] of Object.entries(dom.devices as Record<string, unknown>)) {
    for (const el of Array.isArray(value) ? value : [value]) out.push({ tag, el });
  }
  return out;
}

const addressTypes = (el: Loose): string[] => (el?.address ?? []).map((a: Loose) => a['@type']);

function domainWith(devices: string, machine = 'pc-q35-7.2'): string {
  return [
    `<domain type='kvm'>`,
    `  <name>t</name>`,
    `  <os>`,
    `    <type arch='x86_64' machine='${machine}'>hvm</type>`,
    `  </os>`,
    `  <devices>`,
    ...devices.split('\n').map((l) => `    ${l}`),
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}

describe('rewrite: a domain that already follows the stash', () => {
  test.each([
    [
      'old-defaults-pc.xml',
      OLD_PC,
      {
        hw_machine_type: 'pc-i440fx-2.11',
        hw_disk_bus: 'ide',
        hw_cdrom_bus: 'ide',
        hw_input_bus: 'usb',
        hw_pointer_model: 'usbtablet',
        hw_video_model: 'cirrus',
        hw_vif_model: 'rtl8139',
        hw_rng_model: null,
        hw_scsi_model: null,
        hw_floppy_bus: 'fdc',
        hw_rescue_bus: 'ide',
      },
    ],
    [
      'nova-q35.xml (aliases and Nova spellings)',
      Q35,
      { hw_machine_type: 'q35', hw_disk_bus: 'virtio', hw_cdrom_bus: 'sata', hw_input_bus: 'usb', hw_pointer_model: 'usbtablet', hw_video_model: 'virtio', hw_vif_model: 'VIRTIO', hw_rng_model: 'virtio' },
    ],
    [
      'scsi-virtio-scsi.xml',
      SCSI,
      { hw_machine_type: 'pc', hw_disk_bus: 'scsi', hw_cdrom_bus: 'ide', hw_video_model: 'vga', hw_vif_model: 'VirtualE1000', hw_scsi_model: 'virtio-scsi', hw_pointer_model: 'usbtablet' },
    ],
  ] as const)('%s comes back byte for byte with no changes', (_name, xml, stash) => {
    const result = rewriteDomain(xml, stash);
    expect(result.changes).toEqual([]);
    expect(result.xml).toBe(xml);
  });

  test('a null video stash is satisfied by virtio, the libvirt config default', () => {
    const result = rewriteDomain(Q35, { hw_video_model: null });
    expect(result.changes).toEqual([]);
  });

  test('an empty stash changes nothing', () => {
    expect(rewriteDomain(OLD_PC, {})).toEqual({ xml: OLD_PC, changes: [] });
  });
});

describe('rewrite: old pc guest to today\'s q35 defaults', () => {
  const stash = {
    hw_machine_type: 'q35',
    hw_disk_bus: 'virtio',
    hw_cdrom_bus: 'sata',
    hw_video_model: null,
    hw_vif_model: 'virtio',
    hw_rng_model: 'virtio',
    hw_input_bus: 'usb',
    hw_pointer_model: 'usbtablet',
  } as const;
  const result = rewriteDomain(OLD_PC, stash);
  const before = looseDomain(OLD_PC);
  const after = looseDomain(result.xml);

  test('machine type and the chipset layout: no PCI addresses, no pci or ide controllers', () => {
    expect(after.os.type['@machine']).toBe('q35');
    const controllers = after.devices.controller.map((c: Loose) => c['@type']);
    expect(controllers).not.toContain('pci');
    expect(controllers).not.toContain('ide');
    for (const { tag, el } of allDevices(after)) expect([tag, addressTypes(el)]).toEqual([tag, addressTypes(el).filter((t) => t !== 'pci')]);
    // The USB controller model is kept; only its address goes.
    expect(after.devices.controller.find((c: Loose) => c['@type'] === 'usb')['@model']).toBe('piix3-uhci');
    // The tablet's USB address is not a PCI address and stays.
    expect(addressTypes(after.devices.input.find((i: Loose) => i['@type'] === 'tablet'))).toEqual(['usb']);
  });

  test('disks move bus, are renamed for the new bus and lose their addresses', () => {
    const disks = after.devices.disk.map((d: Loose) => [d['@device'], d.target['@dev'], d.target['@bus'], addressTypes(d)]);
    expect(disks).toEqual([
      ['disk', 'vda', 'virtio', []],
      ['cdrom', 'sda', 'sata', []],
    ]);
  });

  test('video, NIC and RNG follow the stash', () => {
    expect(after.devices.video).toEqual([{ model: { '@type': 'virtio', '@primary': 'yes' } }]);
    expect(after.devices.interface[0].model['@type']).toBe('virtio');
    expect(addressTypes(after.devices.interface[0])).toEqual([]);
    expect(after.devices.rng).toEqual([{ '@model': 'virtio', backend: { '@model': 'random', '#text': '/dev/urandom' } }]);
  });

  test('everything the stash does not decide is preserved: metadata, sysinfo, features, clock, consoles, mac, mtu', () => {
    for (const key of ['metadata', 'sysinfo', 'features', 'cpu', 'clock', 'memory', 'uuid', 'name', 'on_crash']) expect([key, after[key]]).toEqual([key, before[key]]);
    for (const key of ['serial', 'console', 'graphics', 'audio', 'emulator']) expect([key, after.devices[key]]).toEqual([key, before.devices[key]]);
    expect(after.devices.interface[0].mac).toEqual(before.devices.interface[0].mac);
    expect(after.devices.interface[0].mtu).toEqual(before.devices.interface[0].mtu);
    // Nova's metadata block keeps its namespace declaration and content verbatim.
    const meta = (xml: string) => xml.slice(xml.indexOf('<nova:instance'), xml.indexOf('</nova:instance>')).replace(/"/g, "'");
    expect(meta(result.xml)).toBe(meta(OLD_PC));
  });

  test('the change list says what changed, for which property, from what to what', () => {
    const rows = result.changes.map(row);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['hw_machine_type', 'os/type', 'machine', 'pc-i440fx-2.11', 'q35'],
        ['hw_machine_type', 'controller pci index 0', 'device', 'pci pci-root', null],
        ['hw_machine_type', 'controller ide index 0', 'device', 'ide', null],
        ['hw_machine_type', 'interface fa:16:3e:4a:7b:01', 'address', 'pci 0x0000:0x00:0x03.0x0', null],
        ['hw_disk_bus', 'disk hda', 'bus', 'ide', 'virtio'],
        ['hw_disk_bus', 'disk hda', 'dev', 'hda', 'vda'],
        ['hw_disk_bus', 'disk hda', 'address', 'drive 0:0:0:0', null],
        ['hw_cdrom_bus', 'cdrom hdd', 'bus', 'ide', 'sata'],
        ['hw_cdrom_bus', 'cdrom hdd', 'dev', 'hdd', 'sda'],
        ['hw_video_model', 'video #1', 'type', 'cirrus', 'virtio'],
        ['hw_vif_model', 'interface fa:16:3e:4a:7b:01', 'model', 'rtl8139', 'virtio'],
        ['hw_rng_model', 'rng #1', 'device', null, 'virtio'],
      ]),
    );
    // The tablet already follows hw_pointer_model and hw_input_bus.
    expect(rows.filter((r) => r[0] === 'hw_pointer_model' || r[0] === 'hw_input_bus')).toEqual([]);
  });

  test('rewriting the result again changes nothing', () => {
    expect(rewriteDomain(result.xml, stash)).toEqual({ xml: result.xml, changes: [] });
  });

  test('libvirt (qemu:///system) accepts it and reads back the stashed values', async () => {
    const { xml } = asScratchDomain(result.xml, 'pc2q35', 'qemu');
    const stored = await defineAndReadBack('qemu:///system', xml);
    const facts = readDomainFacts(stored).values;
    expect(facts.hw_machine_type).toMatch(/^pc-q35-/);
    expect(facts).toMatchObject({ hw_disk_bus: 'virtio', hw_cdrom_bus: 'sata', hw_video_model: 'virtio', hw_vif_model: 'virtio', hw_rng_model: 'virtio' });
  });
});

describe('rewrite: q35 guest back to pc', () => {
  const stash = { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_cdrom_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139', hw_rng_model: null, hw_pointer_model: null } as const;
  const result = rewriteDomain(Q35, stash);
  const after = looseDomain(result.xml);

  test('pcie root ports go, both drives join the IDE bus as hda and hdb, tablet and RNG are removed', () => {
    expect(after.devices.controller.filter((c: Loose) => c['@type'] === 'pci')).toEqual([]);
    expect(after.devices.disk.map((d: Loose) => [d.target['@dev'], d.target['@bus']])).toEqual([
      ['hda', 'ide'],
      ['hdb', 'ide'],
    ]);
    expect(after.devices.input.filter((i: Loose) => i['@type'] === 'tablet')).toEqual([]);
    expect(after.devices.rng).toBeUndefined();
    expect(after.devices.video[0].model).toEqual({ '@type': 'cirrus', '@primary': 'yes' });
  });

  test('libvirt accepts it', async () => {
    const stored = await defineAndReadBack('qemu:///system', asScratchDomain(result.xml, 'q352pc', 'qemu').xml);
    const facts = readDomainFacts(stored).values;
    expect(facts.hw_machine_type).toMatch(/^pc-i440fx-/);
    expect(facts).toMatchObject({ hw_disk_bus: 'ide', hw_cdrom_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139' });
    expect(facts.hw_pointer_model).toBeUndefined();
    expect(facts.hw_rng_model).toBeUndefined();
  });
});

describe('rewrite: disk names', () => {
  test('a disk joining a bus prefix renumbers that prefix in document order and frees stale drive addresses', () => {
    const { xml, changes } = rewriteDomain(Q35, { hw_disk_bus: 'sata' });
    const disks = looseDomain(xml).devices.disk;
    expect(disks.map((d: Loose) => [d['@device'], d.target['@dev'], d.target['@bus'], addressTypes(d)])).toEqual([
      ['disk', 'sda', 'sata', []],
      ['cdrom', 'sdb', 'sata', []],
    ]);
    expect(changes.map(row)).toContainEqual(['hw_disk_bus', 'cdrom sda', 'dev', 'sda', 'sdb']);
    expect(changes.map(row)).toContainEqual(['hw_disk_bus', 'cdrom sda', 'address', 'drive 0:0:0:0', null]);
  });

  test('a prefix that only loses a disk keeps its names and addresses', () => {
    const { xml } = rewriteDomain(OLD_PC, { hw_disk_bus: 'virtio' });
    const cdrom = looseDomain(xml).devices.disk[1];
    expect([cdrom.target['@dev'], cdrom.address[0]['@unit']]).toEqual(['hdd', '1']);
  });

  test('a bus change within the same prefix keeps the name', () => {
    const { xml, changes } = rewriteDomain(Q35, { hw_cdrom_bus: 'scsi' });
    expect(looseDomain(xml).devices.disk[1].target).toEqual({ '@dev': 'sda', '@bus': 'scsi' });
    expect(changes.map((c) => c.aspect)).not.toContain('dev');
  });

  test('names held by disks of other buses are skipped, so no two disks share a name', () => {
    const xml = domainWith(
      [
        `<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>`,
        `<disk type='file' device='cdrom'><target dev='sda' bus='ide'/></disk>`,
        `<disk type='file' device='lun'><target dev='sdb' bus='virtio'/></disk>`,
      ].join('\n'),
    );
    const out = rewriteDomain(xml, { hw_disk_bus: 'scsi', hw_cdrom_bus: 'scsi' }).xml;
    const devs = looseDomain(out).devices.disk.map((d: Loose) => d.target['@dev']);
    expect(devs).toEqual(['sda', 'sdc', 'sdb']);
    expect(new Set(devs).size).toBe(devs.length);
  });

  test('leaving virtio drops virtio-only settings; target attributes foreign to the new bus go', () => {
    const xml = domainWith(
      [
        `<disk type='file' device='disk' model='virtio-transitional'>`,
        `  <driver name='qemu' type='qcow2' cache='none' queues='4' iothread='1'/>`,
        `  <target dev='vda' bus='virtio'/>`,
        `</disk>`,
        `<disk type='file' device='cdrom'>`,
        `  <target dev='sda' bus='usb' removable='on'/>`,
        `</disk>`,
      ].join('\n'),
    );
    const out = looseDomain(rewriteDomain(xml, { hw_disk_bus: 'sata', hw_cdrom_bus: 'ide' }).xml);
    expect(out.devices.disk[0]['@model']).toBeUndefined();
    expect(out.devices.disk[0].driver).toEqual({ '@name': 'qemu', '@type': 'qcow2', '@cache': 'none' });
    expect(out.devices.disk[1].target).toEqual({ '@dev': 'hda', '@bus': 'ide' });
  });

  test('a bus that cannot carry disks is refused with the property and value named', () => {
    expect(() => rewriteDomain(Q35, { hw_disk_bus: 'lxc' })).toThrow(/hw_disk_bus=lxc cannot be applied to disk vda/);
  });
});

describe('rewrite: machine type', () => {
  test('a new version of the same chipset keeps the PCI layout', () => {
    const { xml, changes } = rewriteDomain(OLD_PC, { hw_machine_type: 'pc-i440fx-7.2' });
    expect(changes.map(row)).toEqual([['hw_machine_type', 'os/type', 'machine', 'pc-i440fx-2.11', 'pc-i440fx-7.2']]);
    expect(looseDomain(xml).devices.controller.map((c: Loose) => c['@type'])).toContain('pci');
  });

  test("a distro's versioned type is not an alias: RHEL 8.6's q35 is moved to RHEL 9.2's, and back", () => {
    const rhel86 = domainWith(`<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>`, 'pc-q35-rhel8.6.0');
    expect(rewriteDomain(rhel86, { hw_machine_type: 'pc-q35-rhel9.2.0' }).changes.map(row)).toEqual([
      ['hw_machine_type', 'os/type', 'machine', 'pc-q35-rhel8.6.0', 'pc-q35-rhel9.2.0'],
    ]);
    expect(rewriteDomain(rhel86.replace('rhel8.6.0', 'rhel9.2.0'), { hw_machine_type: 'pc-q35-rhel8.6.0' }).changes).toHaveLength(1);
    expect(rewriteDomain(rhel86, { hw_machine_type: 'pc-q35-rhel8.6.0' }).changes).toEqual([]);
    // The alias is satisfied by whatever version libvirt expanded it to.
    expect(rewriteDomain(rhel86, { hw_machine_type: 'q35' }).changes).toEqual([]);
    const jammy = domainWith(`<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>`, 'pc-q35-jammy');
    expect(rewriteDomain(jammy, { hw_machine_type: 'pc-q35-noble' }).changes.map(row)).toEqual([
      ['hw_machine_type', 'os/type', 'machine', 'pc-q35-jammy', 'pc-q35-noble'],
    ]);
    expect(rewriteDomain(jammy, { hw_machine_type: 'ubuntu-q35' }).changes).toEqual([]);
  });

  test('null or empty machine type: libvirt\'s choice stays', () => {
    expect(rewriteDomain(OLD_PC, { hw_machine_type: null }).changes).toEqual([]);
    expect(rewriteDomain(OLD_PC, { hw_machine_type: '' }).changes).toEqual([]);
  });

  test('the ide controller goes when moving to q35 even if a stash keeps an IDE drive (the stash decides; libvirt will refuse)', () => {
    const out = looseDomain(rewriteDomain(SCSI, { hw_machine_type: 'pc-q35-7.2' }).xml);
    expect(out.devices.controller.map((c: Loose) => c['@type']).sort()).toEqual(['scsi', 'usb']);
  });
});

describe('rewrite: device models', () => {
  test('changing video type drops type-specific attributes, children, driver and address but keeps primary', () => {
    const xml = domainWith(
      [`<video>`, `  <model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'>`, `    <acceleration accel3d='no'/>`, `  </model>`, `  <driver name='qemu'/>`, `  <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>`, `</video>`].join('\n'),
    );
    const { xml: out, changes } = rewriteDomain(xml, { hw_video_model: 'none' });
    expect(looseDomain(out).devices.video).toEqual([{ model: { '@type': 'none', '@primary': 'yes' } }]);
    expect(changes.map(row)).toEqual([
      ['hw_video_model', 'video #1', 'type', 'qxl', 'none'],
      ['hw_video_model', 'video #1', 'address', 'pci 0x0000:0x00:0x02.0x0', null],
      ['hw_video_model', 'video #1', 'driver', 'set', null],
    ]);
  });

  test('no video device is added to a domain without one (no graphics: Nova adds none)', () => {
    expect(rewriteDomain(domainWith(`<memballoon model='virtio'/>`), { hw_video_model: 'virtio' }).changes).toEqual([]);
  });

  test('SCSI model: existing controllers change model, lose address and virtio-only driver; none → Nova\'s controller is added', () => {
    const xml = domainWith(
      [
        `<disk type='file' device='disk'><target dev='sda' bus='scsi'/></disk>`,
        `<controller type='scsi' index='0' model='virtio-scsi'>`,
        `  <driver queues='4'/>`,
        `  <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>`,
        `</controller>`,
      ].join('\n'),
    );
    const changed = rewriteDomain(xml, { hw_scsi_model: 'lsilogic' });
    expect(looseDomain(changed.xml).devices.controller).toEqual([{ '@type': 'scsi', '@index': '0', '@model': 'lsilogic' }]);
    expect(changed.changes.map((c) => c.aspect)).toEqual(['model', 'address', 'driver']);

    const added = rewriteDomain(Q35, { hw_scsi_model: 'virtio-scsi' });
    const devs = looseDomain(added.xml).devices;
    expect(devs.controller.filter((c: Loose) => c['@type'] === 'scsi')).toEqual([{ '@type': 'scsi', '@index': '0', '@model': 'virtio-scsi' }]);
    expect(added.changes.map(row)).toEqual([['hw_scsi_model', 'controller scsi index 0', 'device', null, 'virtio-scsi']]);
    // Placed right after the disks, as Nova does.
    expect(added.xml.indexOf(`model='virtio-scsi'`)).toBeGreaterThan(added.xml.lastIndexOf('</disk>'));
    expect(added.xml.indexOf(`model='virtio-scsi'`)).toBeLessThan(added.xml.indexOf(`<controller type='usb'`));

    expect(rewriteDomain(SCSI, { hw_scsi_model: null }).changes).toEqual([]);
  });

  test('NIC model: every emulated NIC follows, passthrough NICs are left, virtio-only driver goes', () => {
    const xml = domainWith(
      [
        `<interface type='bridge'><mac address='fa:16:3e:00:00:01'/><source bridge='br0'/><model type='virtio'/><driver name='vhost' queues='2'/></interface>`,
        `<interface type='network'><mac address='fa:16:3e:00:00:02'/><source network='default'/></interface>`,
        `<interface type='hostdev' managed='yes'><mac address='fa:16:3e:00:00:03'/><source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source></interface>`,
      ].join('\n'),
    );
    const { xml: out, changes } = rewriteDomain(xml, { hw_vif_model: 'e1000e' });
    const nics = looseDomain(out).devices.interface;
    expect(nics[0].model).toEqual({ '@type': 'e1000e' });
    expect(nics[0].driver).toBeUndefined();
    expect(nics[1].model).toEqual({ '@type': 'e1000e' });
    expect(nics[2].model).toBeUndefined();
    expect(nics[2].source.address[0]['@bus']).toBe('0x3b');
    expect(changes.map(row)).toEqual([
      ['hw_vif_model', 'interface fa:16:3e:00:00:01', 'model', 'virtio', 'e1000e'],
      ['hw_vif_model', 'interface fa:16:3e:00:00:01', 'driver', 'set', null],
      ['hw_vif_model', 'interface fa:16:3e:00:00:02', 'model', null, 'e1000e'],
    ]);
    expect(rewriteDomain(xml, { hw_vif_model: null }).changes).toEqual([]);
  });

  test('pointer: null removes the tablet; usbtablet adds one only where there is graphics', () => {
    const removed = rewriteDomain(Q35, { hw_pointer_model: null });
    expect(looseDomain(removed.xml).devices.input.map((i: Loose) => i['@type'])).toEqual(['mouse', 'keyboard']);
    expect(removed.changes.map(row)).toEqual([['hw_pointer_model', 'input tablet', 'device', 'tablet usb', null]]);

    const withGraphics = domainWith([`<controller type='usb' index='0' model='none'/>`, `<graphics type='vnc' autoport='yes'/>`, `<video><model type='virtio'/></video>`].join('\n'));
    const added = rewriteDomain(withGraphics, { hw_pointer_model: 'usbtablet', hw_input_bus: 'usb' });
    const devs = looseDomain(added.xml).devices;
    expect(devs.input).toEqual([{ '@type': 'tablet', '@bus': 'usb' }]);
    // Nova's disabled USB controller would make the tablet impossible: it goes.
    expect(devs.controller).toBeUndefined();
    expect(added.changes.map(row)).toEqual([
      ['hw_pointer_model', 'input tablet', 'device', null, 'tablet usb'],
      ['hw_pointer_model', 'controller usb index 0', 'device', 'usb none', null],
    ]);

    const virtioTablet = rewriteDomain(withGraphics, { hw_pointer_model: 'usbtablet', hw_input_bus: 'virtio' });
    expect(looseDomain(virtioTablet.xml).devices.input).toEqual([{ '@type': 'tablet', '@bus': 'virtio' }]);
    expect(looseDomain(virtioTablet.xml).devices.controller).toEqual([{ '@type': 'usb', '@index': '0', '@model': 'none' }]);

    expect(rewriteDomain(domainWith(`<memballoon model='virtio'/>`), { hw_pointer_model: 'usbtablet' }).changes).toEqual([]);
  });

  test('input bus: the tablet and Nova\'s keyboard follow, the implicit PS/2 keyboard does not', () => {
    const xml = domainWith(
      [
        `<input type='tablet' bus='usb'><address type='usb' bus='0' port='1'/></input>`,
        `<input type='keyboard' bus='usb'/>`,
        `<input type='keyboard' bus='ps2'/>`,
      ].join('\n'),
    );
    const { xml: out, changes } = rewriteDomain(xml, { hw_input_bus: 'virtio' });
    expect(looseDomain(out).devices.input).toEqual([
      { '@type': 'tablet', '@bus': 'virtio' },
      { '@type': 'keyboard', '@bus': 'virtio' },
      { '@type': 'keyboard', '@bus': 'ps2' },
    ]);
    expect(changes.map(row)).toEqual([
      ['hw_input_bus', 'input tablet', 'bus', 'usb', 'virtio'],
      ['hw_input_bus', 'input tablet', 'address', 'usb 0:1', null],
      ['hw_input_bus', 'input keyboard', 'bus', 'usb', 'virtio'],
    ]);
  });

  test('RNG: model fixed, added with the configured backend, removed for null', () => {
    const transitional = domainWith(`<rng model='virtio-transitional'><backend model='random'>/dev/random</backend><address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/></rng>`);
    const fixed = rewriteDomain(transitional, { hw_rng_model: 'virtio' });
    expect(looseDomain(fixed.xml).devices.rng).toEqual([{ '@model': 'virtio', backend: { '@model': 'random', '#text': '/dev/random' } }]);

    const added = rewriteDomain(OLD_PC, { hw_rng_model: 'virtio' }, { rngBackendPath: '/dev/hwrng' });
    expect(looseDomain(added.xml).devices.rng).toEqual([{ '@model': 'virtio', backend: { '@model': 'random', '#text': '/dev/hwrng' } }]);
    // Before the balloon, as Nova orders them.
    expect(added.xml.indexOf('<rng')).toBeLessThan(added.xml.indexOf('<memballoon'));

    expect(looseDomain(rewriteDomain(Q35, { hw_rng_model: null }).xml).devices.rng).toBeUndefined();
    expect(() => rewriteDomain(OLD_PC, { hw_rng_model: 'virtio' }, { rngBackendPath: 'dev/urandom' })).toThrow(/must be an absolute path/);
    expect(() => rewriteDomain(OLD_PC, { hw_rng_model: 'virtio' }, { rngBackendPath: '/dev/../etc/passwd' })).toThrow(/without spaces or "\.\."/);
  });

  test('hw_rescue_bus never touches a domain', () => {
    expect(rewriteDomain(Q35, { hw_rescue_bus: 'usb' }).changes).toEqual([]);
  });
});

describe('rewrite: stash values are validated through the property table', () => {
  test('unknown property, bad value, hostile machine type: refused with the field and the allowed values', () => {
    expect(() => rewriteDomain(Q35, { hw_nic_model: 'e1000' } as never)).toThrow(/unknown property "hw_nic_model"/);
    expect(() => rewriteDomain(Q35, { hw_video_model: 'VIRTIO' })).toThrow(CoercionError);
    expect(() => rewriteDomain(Q35, { hw_video_model: 'bogus' })).toThrow(/hw_video_model: "bogus" is not a valid VideoModel; allowed: cirrus, qxl/);
    expect(() => rewriteDomain(Q35, { hw_machine_type: `pc'/><x y='` })).toThrow(/hw_machine_type: .* is not a QEMU machine type name/);
  });

  test('Nova\'s legacy spellings are applied in canonical form', () => {
    const { xml } = rewriteDomain(SCSI, { hw_vif_model: 'VirtualE1000e', hw_scsi_model: 'LsiLogicSAS' });
    const devs = looseDomain(xml).devices;
    expect(devs.interface[0].model['@type']).toBe('e1000e');
    expect(devs.controller.find((c: Loose) => c['@type'] === 'scsi')['@model']).toBe('lsisas1068');
  });
});

describe('rewrite: hostile content in the domain stays inert', () => {
  test('escaped markup in names and metadata is written back escaped', () => {
    const hostile = `"'><script/>&`;
    const esc = hostile.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
    const xml = Q35.replace('<nova:name>web-01</nova:name>', `<nova:name>${esc}</nova:name>`).replace(
      "<source bridge='br-int'/>",
      `<source bridge='br-int'/><filterref filter='${esc}'/>`,
    );
    const { xml: out, changes } = rewriteDomain(xml, { hw_vif_model: 'e1000' });
    expect(changes.length).toBeGreaterThan(0);
    expect(out).not.toContain('<script');
    const decoded = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', processEntities: true, htmlEntities: true }).parse(out).domain;
    expect(decoded.metadata['nova:instance']['nova:name']).toBe(hostile);
    expect(decoded.devices.interface.filterref['@filter']).toBe(hostile);
  });
});

describe('rewrite: libvirt accepts every rewrite of the fixtures', () => {
  const cases: Array<[string, string, Parameters<typeof rewriteDomain>[1]]> = [
    ['pc scsi guest to q35 with e1000e and lsilogic', SCSI, { hw_machine_type: 'pc-q35-7.2', hw_disk_bus: 'virtio', hw_cdrom_bus: 'sata', hw_scsi_model: 'lsilogic', hw_vif_model: 'e1000e' }],
    ['q35 guest to scsi disks, qxl, virtio tablet', Q35, { hw_disk_bus: 'scsi', hw_scsi_model: 'virtio-scsi', hw_video_model: 'qxl', hw_input_bus: 'virtio', hw_vif_model: 'e1000' }],
    ['q35 guest: usb cdrom, sata disk', Q35, { hw_disk_bus: 'sata', hw_cdrom_bus: 'usb' }],
    ['old pc guest: virtio everything, same machine', OLD_PC, { hw_disk_bus: 'virtio', hw_cdrom_bus: 'ide', hw_video_model: 'virtio', hw_vif_model: 'virtio', hw_rng_model: 'virtio', hw_scsi_model: 'virtio-scsi' }],
  ];
  test.each(cases)('%s', async (tag, xml, stash) => {
    const { xml: out, changes } = rewriteDomain(xml, stash);
    expect(changes.length).toBeGreaterThan(0);
    const stored = await defineAndReadBack('qemu:///system', asScratchDomain(out, tag.split(' ')[0]!, 'qemu').xml);
    const facts = readDomainFacts(stored).values;
    for (const [property, value] of Object.entries(stash)) {
      if (property === 'hw_machine_type' || value === null) continue;
      expect([property, facts[property as keyof typeof facts]]).toEqual([property, value]);
    }
  });
});
