import { XMLParser } from 'fast-xml-parser';
import { buildDomain, type DomainSpec } from '../../src/core/domain-xml/build.js';
import { readDomainFacts } from '../../src/core/domain-xml/read.js';
import { rewriteDomain } from '../../src/core/domain-xml/rewrite.js';
import { asScratchDomain, defineAndReadBack, looseDomain, looseFragment, type Loose } from './helpers.js';
import { askNova } from './oracle.js';

const UUID = '3f1c2b4a-9d8e-4f7a-b6c5-d4e3f2a1b0c9';

function spec(overrides: Partial<DomainSpec> = {}): DomainSpec {
  return {
    name: 'instance-0000002a',
    uuid: UUID,
    vcpus: 2,
    memoryMb: 2048,
    virtType: 'qemu',
    arch: 'x86_64',
    stash: {
      hw_machine_type: 'q35',
      hw_disk_bus: 'virtio',
      hw_cdrom_bus: 'sata',
      hw_floppy_bus: 'fdc',
      hw_input_bus: 'usb',
      hw_pointer_model: 'usbtablet',
      hw_video_model: 'virtio',
      hw_vif_model: 'virtio',
      hw_rng_model: 'virtio',
      hw_scsi_model: null,
      hw_rescue_bus: 'virtio',
    },
    disks: [
      { deviceType: 'disk', path: `/var/lib/nova/instances/${UUID}/disk`, format: 'qcow2' },
      { deviceType: 'disk', path: `/var/lib/nova/instances/${UUID}/disk.eph0`, format: 'qcow2' },
      { deviceType: 'cdrom', path: `/var/lib/nova/instances/${UUID}/disk.config`, format: 'raw' },
    ],
    interfaces: [{ type: 'network', source: 'default', mac: 'fa:16:3e:12:34:56' }],
    graphics: 'vnc',
    ...overrides,
  };
}

const decoding = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', processEntities: true, htmlEntities: true, parseTagValue: false });

describe('buildDomain: a complete domain', () => {
  const xml = buildDomain(spec());
  const dom = looseDomain(xml);

  test('identity, size, and <os> with arch and machine type', () => {
    expect(dom['@type']).toBe('qemu');
    expect(dom.name).toBe('instance-0000002a');
    expect(dom.uuid).toBe(UUID);
    expect(dom.memory).toEqual({ '@unit': 'KiB', '#text': String(2048 * 1024) });
    expect(dom.vcpu).toBe('2');
    expect(dom.os).toEqual({ type: { '@arch': 'x86_64', '@machine': 'q35', '#text': 'hvm' }, boot: { '@dev': 'hd' } });
  });

  test('disks are named per bus in order, NICs carry the stashed model, devices in Nova\'s order', () => {
    expect(dom.devices.disk.map((d: Loose) => [d['@device'], d.target['@dev'], d.target['@bus']])).toEqual([
      ['disk', 'vda', 'virtio'],
      ['disk', 'vdb', 'virtio'],
      ['cdrom', 'sda', 'sata'],
    ]);
    expect(dom.devices.interface).toEqual([{ '@type': 'network', mac: { '@address': 'fa:16:3e:12:34:56' }, source: { '@network': 'default' }, model: { '@type': 'virtio' } }]);
    const devices = xml.slice(xml.indexOf('<devices>'), xml.indexOf('</devices>'));
    const order = [...devices.matchAll(/^ {4}<([a-z]+)/gm)].map((m) => m[1]);
    expect(order).toEqual(['disk', 'disk', 'disk', 'interface', 'graphics', 'video', 'input', 'rng', 'controller', 'memballoon']);
  });

  test('reading the built domain gives back the stash it was built from', () => {
    expect(readDomainFacts(xml)).toEqual({
      osType: 'hvm',
      values: {
        hw_machine_type: 'q35',
        hw_disk_bus: 'virtio',
        hw_cdrom_bus: 'sata',
        hw_input_bus: 'usb',
        hw_pointer_model: 'usbtablet',
        hw_video_model: 'virtio',
        hw_vif_model: 'virtio',
        hw_rng_model: 'virtio',
      },
      ignored: [],
    });
    // And it already follows that stash.
    expect(rewriteDomain(xml, spec().stash).changes).toEqual([]);
  });

  test('libvirt\'s test driver defines it and reads back the same devices', async () => {
    const stored = await defineAndReadBack('test:///default', xml);
    expect(readDomainFacts(stored).values).toEqual(readDomainFacts(xml).values);
  });

  test('real libvirt with QEMU (qemu:///system) accepts it and expands the machine alias', async () => {
    const stored = await defineAndReadBack('qemu:///system', asScratchDomain(xml, 'build').xml);
    const facts = readDomainFacts(stored).values;
    expect(facts.hw_machine_type).toMatch(/^pc-q35-\d/);
    expect(facts).toMatchObject({ hw_disk_bus: 'virtio', hw_cdrom_bus: 'sata', hw_video_model: 'virtio', hw_vif_model: 'virtio', hw_rng_model: 'virtio', hw_pointer_model: 'usbtablet' });
  });
});

describe('buildDomain: each device as Nova formats it', () => {
  const variants: Array<[string, Partial<DomainSpec>]> = [
    ['defaults', {}],
    ['old pc defaults', { stash: { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_cdrom_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139', hw_pointer_model: 'usbtablet', hw_input_bus: 'usb', hw_rng_model: 'virtio' } }],
    ['scsi with virtio-scsi, virtio input, no rng', { stash: { hw_machine_type: 'q35', hw_disk_bus: 'scsi', hw_cdrom_bus: 'scsi', hw_scsi_model: 'virtio-scsi', hw_video_model: null, hw_input_bus: 'virtio', hw_pointer_model: 'usbtablet', hw_vif_model: 'e1000e', hw_rng_model: null } }],
    ['no pointer, no vif model', { stash: { hw_disk_bus: 'sata', hw_cdrom_bus: 'sata', hw_pointer_model: null, hw_input_bus: null, hw_vif_model: null, hw_video_model: 'qxl' } }],
  ];

  /** For one variant: what to ask Nova, and our elements in the same order. */
  function collect(overrides: Partial<DomainSpec>): { requests: object[]; ours: Loose[] } {
    const s = spec(overrides);
    const dom = looseDomain(buildDomain(s));
    const stash = s.stash;
    const requests: object[] = [];
    const ours: Loose[] = [];
    dom.devices.disk.forEach((d: Loose, i: number) => {
      const disk = s.disks[i]!;
      requests.push({ kind: 'disk', deviceType: disk.deviceType, dev: d.target['@dev'], bus: d.target['@bus'], path: disk.path, format: disk.format });
      ours.push({ disk: [d] });
    });
    requests.push({ kind: 'video', type: stash.hw_video_model ?? null });
    ours.push({ video: dom.devices.video });
    const tablets = (dom.devices.input ?? []).filter((i: Loose) => i['@type'] === 'tablet');
    if (stash.hw_pointer_model === 'usbtablet') {
      requests.push({ kind: 'input', type: 'tablet', bus: stash.hw_input_bus ?? 'usb' });
      ours.push({ input: tablets });
    } else {
      ours.push({ noTablet: tablets.length === 0 });
      requests.push({ kind: 'none' });
    }
    if (stash.hw_rng_model) {
      requests.push({ kind: 'rng', backend: '/dev/urandom' });
      ours.push({ rng: dom.devices.rng });
    }
    const controllers: Loose[] = dom.devices.controller;
    if (stash.hw_scsi_model) {
      requests.push({ kind: 'scsi', model: stash.hw_scsi_model });
      ours.push({ controller: controllers.filter((c) => c['@type'] === 'scsi') });
    }
    const usbUsed = stash.hw_pointer_model === 'usbtablet' && (stash.hw_input_bus ?? 'usb') === 'usb';
    requests.push({ kind: 'usb', model: usbUsed ? null : 'none' });
    ours.push({ controller: controllers.filter((c) => c['@type'] === 'usb') });
    requests.push({ kind: 'balloon' });
    ours.push({ memballoon: dom.devices.memballoon });
    requests.push({ kind: 'nic', mac: 'fa:16:3e:12:34:56', model: stash.hw_vif_model ?? null });
    ours.push({ model: dom.devices.interface[0].model });
    if (!stash.hw_rng_model) expect(dom.devices.rng).toBeUndefined();
    return { requests, ours };
  }

  const collected = variants.map(([, overrides]) => collect(overrides));
  let answers: Loose[][] = [];
  beforeAll(() => {
    // One Nova process for all variants: importing Nova takes a few seconds.
    const flat = askNova(collected.flatMap((c) => c.requests.filter((r) => (r as { kind: string }).kind !== 'none')));
    answers = collected.map((c) =>
      c.requests.map((r) => ((r as { kind: string }).kind === 'none' ? { noTablet: true } : looseFragment(flat.shift()!))),
    );
  });

  test.each(variants.map(([name], i) => [name, i] as const))('%s', (_name, i) => {
    const nova = answers[i]!;
    const { ours } = collected[i]!;
    // For the NIC only the model is ours to decide (Nova formats its own source and target).
    expect(ours).toEqual(nova.map((n, k) => (k === nova.length - 1 ? { model: n.interface[0].model } : n)));
  });
});

describe('buildDomain: choices', () => {
  test('no graphics: no video, tablet or keyboard; USB stays disabled', () => {
    const dom = looseDomain(buildDomain(spec({ graphics: null })));
    expect([dom.devices.graphics, dom.devices.video, dom.devices.input]).toEqual([undefined, undefined, undefined]);
    expect(dom.devices.controller).toEqual([{ '@type': 'usb', '@index': '0', '@model': 'none' }]);
  });

  test('a null video model still gets a virtio video device (RULES §5)', () => {
    const dom = looseDomain(buildDomain(spec({ stash: { ...spec().stash, hw_video_model: null } })));
    expect(dom.devices.video).toEqual([{ model: { '@type': 'virtio' } }]);
  });

  test('boot indexes switch to per-device boot order', () => {
    const dom = looseDomain(
      buildDomain(spec({ disks: [{ deviceType: 'cdrom', path: '/srv/rescue.iso', bootIndex: 0 }, { deviceType: 'disk', path: '/srv/root.qcow2', bootIndex: 1 }] })),
    );
    expect(dom.os.boot).toBeUndefined();
    expect(dom.devices.disk.map((d: Loose) => [d.target['@dev'], d.boot['@order']])).toEqual([
      ['sda', '1'],
      ['vda', '2'],
    ]);
  });

  test('a disk\'s own bus overrides the stash; block devices and empty drives', () => {
    const dom = looseDomain(
      buildDomain(
        spec({
          disks: [
            { deviceType: 'disk', source: { block: '/dev/disk/by-path/ip-10.0.0.5:3260-iscsi-iqn.2010-10.org.openstack:volume-1-lun-0' } },
            { deviceType: 'disk', path: '/srv/data.img', bus: 'usb' },
            { deviceType: 'cdrom' },
          ],
        }),
      ),
    );
    expect(dom.devices.disk.map((d: Loose) => [d['@type'], d.target['@dev'], d.target['@bus'], d.source ? Object.keys(d.source)[0] : null])).toEqual([
      ['block', 'vda', 'virtio', '@dev'],
      ['file', 'sda', 'usb', '@file'],
      ['file', 'sdb', 'sata', null],
    ]);
    // A USB disk needs USB, so it is not disabled.
    expect(dom.devices.controller.find((c: Loose) => c['@type'] === 'usb')['@model']).toBeUndefined();
  });

  test('arch-specific: AArch64 gets a USB keyboard; POWER keeps libvirt\'s USB controller', () => {
    const arm = looseDomain(buildDomain(spec({ arch: 'aarch64', stash: { ...spec().stash, hw_machine_type: 'virt' } })));
    expect(arm.devices.input).toEqual([
      { '@type': 'tablet', '@bus': 'usb' },
      { '@type': 'keyboard', '@bus': 'usb' },
    ]);
    const ppc = looseDomain(buildDomain(spec({ arch: 'ppc64le', graphics: null, stash: { hw_machine_type: 'pseries', hw_disk_bus: 'virtio', hw_cdrom_bus: 'scsi' } })));
    expect(ppc.devices.controller).toEqual([{ '@type': 'usb', '@index': '0' }]);
  });

  test('no machine type: no machine attribute; architecture aliases are canonicalised', () => {
    const dom = looseDomain(buildDomain(spec({ arch: 'AMD64', stash: { ...spec().stash, hw_machine_type: null } })));
    expect(dom.os.type).toEqual({ '@arch': 'x86_64', '#text': 'hvm' });
  });
});

describe('buildDomain: everything is validated or escaped', () => {
  const hostile = `"'><script>&amp;`;

  test('hostile strings are escaped and reach libvirt as the same strings', async () => {
    const xml = buildDomain(
      spec({
        name: `instance ${hostile}`,
        disks: [{ deviceType: 'disk', path: `/var/lib/nova/${hostile}/disk` }],
        interfaces: [{ type: 'bridge', source: `br-${hostile}` }],
      }),
    );
    expect(xml).not.toContain('<script');
    const parsed = decoding.parse(xml).domain;
    expect(parsed.name).toBe(`instance ${hostile}`);
    expect(parsed.devices.disk.source['@file']).toBe(`/var/lib/nova/${hostile}/disk`);
    expect(parsed.devices.interface.source['@bridge']).toBe(`br-${hostile}`);

    const stored = decoding.parse(await defineAndReadBack('test:///default', xml)).domain;
    expect(stored.name).toBe(`instance ${hostile}`);
    expect(stored.devices.disk.source['@file']).toBe(`/var/lib/nova/${hostile}/disk`);
  });

  test.each([
    ['name with /', { name: `"'><script/>&` }, /name: .* is not a usable domain name; allowed: 1-255 characters without "\/"/],
    ['name with a newline', { name: 'a\nb' }, /not a usable domain name/],
    ['empty name', { name: ' ' }, /not a usable domain name/],
    ['bad uuid', { uuid: `${UUID}'/>` }, /uuid: .* is not a UUID/],
    ['zero vcpus', { vcpus: 0 }, /vcpus: 0 must be an integer from 1 to 4096/],
    ['fractional memory', { memoryMb: 1.5 }, /memoryMb: 1.5 must be an integer/],
    ['virt type', { virtType: 'lxc' as never }, /virtType: "lxc" is not allowed; allowed: kvm, qemu/],
    ['arch', { arch: 'arm64' }, /arch: "arm64" is not a valid Architecture/],
    ['graphics', { graphics: 'rdp' as never }, /graphics: "rdp" is not allowed; allowed: vnc, spice/],
    ['mac', { interfaces: [{ type: 'network', source: 'default', mac: 'fa:16:3e:xx:00:01' }] }, /interfaces\[0\]\.mac: .* is not a MAC address/],
    ['interface type', { interfaces: [{ type: 'direct' as never, source: 'eth0' }] }, /interfaces\[0\]\.type: "direct" is not allowed; allowed: network, bridge/],
    ['relative disk path', { disks: [{ deviceType: 'disk', path: 'disk.qcow2' }] }, /disks\[0\]\.path: "disk.qcow2" must be an absolute host path/],
    ['disk without source', { disks: [{ deviceType: 'disk' }] }, /disks\[0\]: a disk needs a path or source/],
    ['disk format', { disks: [{ deviceType: 'disk', path: '/a', format: 'qcow3' as never }] }, /disks\[0\]\.format: "qcow3" is not allowed; allowed: raw, qcow2/],
    ['disk bus', { disks: [{ deviceType: 'disk', path: '/a', bus: 'nvme' }] }, /disks\[0\]\.bus: "nvme" is not a valid DiskBus/],
    ['lxc disk bus', { disks: [{ deviceType: 'disk', path: '/a', bus: 'lxc' }] }, /disks\[0\]: bus lxc cannot carry a disk/],
    ['no bus at all', { stash: { hw_machine_type: 'q35' }, disks: [{ deviceType: 'floppy', path: '/a.img' }] }, /disks\[0\]: no bus for a floppy; give one or stash hw_floppy_bus/],
    ['bad stash value', { stash: { hw_video_model: 'matrox' } }, /hw_video_model: "matrox" is not a valid VideoModel/],
    ['hostile machine type', { stash: { hw_machine_type: `q35' foo='` } }, /hw_machine_type: .* is not a QEMU machine type name/],
    ['rng path', { rngBackendPath: '/dev/urandom random' }, /rng backend path/],
  ] as Array<[string, Partial<DomainSpec>, RegExp]>)('%s is refused', (_name, overrides, message) => {
    expect(() => buildDomain(spec(overrides))).toThrow(message);
  });
});
