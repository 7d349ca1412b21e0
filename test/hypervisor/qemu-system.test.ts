/**
 * The gateway against the machine's real libvirtd (qemu:///system, QEMU under TCG). Domain
 * capability queries make libvirtd probe QEMU, which takes seconds here, hence the timeouts.
 */
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { Hypervisor, HypervisorError, execFileVirsh, type VirshRunner } from '../../src/hypervisor/index.js';

const URI = 'qemu:///system';
const FIXTURES = fileURLToPath(new URL('../fixtures/libvirt-9.0-qemu-7.2', import.meta.url));
const SLOW = 240_000;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => ['enum', 'value', 'machine', 'guest', 'domain'].includes(name),
});

type Enum = { '@name': string; value?: string[] };
function enumValues(element: { enum?: Enum[] } | undefined, name: string): string[] {
  return element?.enum?.find((e) => e['@name'] === name)?.value ?? [];
}

async function rejection(p: Promise<unknown>): Promise<HypervisorError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HypervisorError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

const spawned: string[][] = [];
const real = execFileVirsh();
const counting: VirshRunner = (args) => {
  spawned.push([...args]);
  return real(args);
};

let hv: Hypervisor;
beforeAll(async () => {
  hv = await Hypervisor.open(URI, { virsh: counting });
});
afterAll(async () => {
  await hv.close();
});

describe('domain capabilities from qemu:///system', () => {
  test(
    'q35 under TCG: machine, disk buses and video models, as in the recorded fixture; cached',
    async () => {
      const before = spawned.length;
      const xml = await hv.domainCapabilities({ virtType: 'qemu', arch: 'x86_64', machine: 'q35' });
      const caps = parser.parse(xml).domainCapabilities;
      expect(caps.domain).toEqual(['qemu']);
      expect(caps.arch).toBe('x86_64');
      expect(caps.machine[0]).toMatch(/q35/);
      const devices = caps.devices;
      const buses = enumValues(devices.disk, 'bus');
      expect(buses).toEqual(expect.arrayContaining(['virtio', 'sata', 'scsi']));
      expect(buses).not.toContain('ide'); // q35 has no IDE controller
      expect(enumValues(devices.video, 'modelType')).toContain('virtio');

      // Same libvirt 9.0 / QEMU 7.2 as when the fixture was recorded.
      const recorded = parser.parse(readFileSync(`${FIXTURES}/domcaps-qemu-x86_64-q35.xml`, 'utf8')).domainCapabilities;
      expect(caps.machine).toEqual(recorded.machine);
      expect(caps.path).toBe(recorded.path);
      expect(buses.sort()).toEqual(enumValues(recorded.devices.disk, 'bus').sort());
      expect(enumValues(devices.video, 'modelType').sort()).toEqual(enumValues(recorded.devices.video, 'modelType').sort());
      expect(spawned.length - before).toBe(1);

      const again = await hv.domainCapabilities({ virtType: 'qemu', arch: 'x86_64', machine: 'q35' });
      expect(again).toBe(xml);
      expect(spawned.length - before).toBe(1);
    },
    SLOW,
  );

  test(
    'concurrent identical queries share one virsh',
    async () => {
      const before = spawned.length;
      const q = { virtType: 'qemu', arch: 'x86_64', machine: 'pc' };
      const [a, b] = await Promise.all([hv.domainCapabilities(q), hv.domainCapabilities(q)]);
      expect(a).toBe(b);
      expect(parser.parse(a).domainCapabilities.machine[0]).toMatch(/i440fx/);
      expect(spawned.length - before).toBe(1);
    },
    SLOW,
  );

  test(
    'a virt type QEMU cannot serve: unsupported, and the answer is cached too',
    async () => {
      const before = spawned.length;
      const e = await rejection(hv.domainCapabilities({ virtType: 'xen', arch: 'x86_64' }));
      expect(e).toMatchObject({ kind: 'unsupported', op: 'domainCapabilities' });
      expect(e.libvirtMessage).toContain('xen');
      expect((await rejection(hv.domainCapabilities({ virtType: 'xen', arch: 'x86_64' }))).kind).toBe('unsupported');
      expect(spawned.length - before).toBe(1);
    },
    SLOW,
  );

  test(
    'kvm: served exactly when the host capabilities offer it, else unsupported',
    async () => {
      const host = parser.parse(await hv.capabilities()).capabilities;
      const x86 = (host.guest as Array<{ arch: { '@name': string; domain: Array<{ '@type': string }> } }>).find(
        (g) => g.arch['@name'] === 'x86_64',
      );
      expect(x86).toBeDefined();
      const kvmOffered = x86!.arch.domain.some((d) => d['@type'] === 'kvm');
      const query = hv.domainCapabilities({ virtType: 'kvm', arch: 'x86_64', machine: 'q35' });
      if (kvmOffered) {
        expect(parser.parse(await query).domainCapabilities.domain).toEqual(['kvm']);
      } else {
        expect((await rejection(query)).kind).toBe('unsupported');
      }
    },
    SLOW,
  );

  test(
    'an architecture with no emulator on this host: unsupported',
    async () => {
      const e = await rejection(hv.domainCapabilities({ virtType: 'qemu', arch: 'sparc64' }));
      expect(e.kind).toBe('unsupported');
    },
    SLOW,
  );

  test(
    'an architecture libvirt has never heard of: invalid',
    async () => {
      const e = await rejection(hv.domainCapabilities({ virtType: 'qemu', arch: 'nosucharch' }));
      expect(e.kind).toBe('invalid');
    },
    SLOW,
  );

  test(
    'host capabilities list the same machine types as the recorded fixture',
    async () => {
      const machines = (xml: string): string[] =>
        (parser.parse(xml).capabilities.guest as Array<{ arch: { '@name': string; machine: Array<string | { '#text': string }> } }>)
          .filter((g) => g.arch['@name'] === 'x86_64')
          .flatMap((g) => g.arch.machine.map((m) => (typeof m === 'string' ? m : m['#text'])))
          .sort();
      const live = machines(await hv.capabilities());
      expect(live).toContain('pc-q35-7.2');
      expect(live).toEqual(machines(readFileSync(`${FIXTURES}/capabilities-qemu-system.xml`, 'utf8')));
    },
    SLOW,
  );
});

describe('a tiny diskless guest on qemu:///system under TCG', () => {
  test(
    'define, start, destroy, undefine',
    async () => {
      const uuid = randomUUID();
      const name = `hwstash-test-${uuid.slice(0, 8)}`;
      const xml = `<domain type='qemu'>
        <name>${name}</name><uuid>${uuid}</uuid>
        <memory unit='MiB'>64</memory><vcpu>1</vcpu>
        <os><type arch='x86_64' machine='q35'>hvm</type></os>
        <devices><graphics type='vnc' passwd='s3cret'/><video><model type='virtio'/></video></devices>
      </domain>`;
      try {
        await hv.define(xml);
        expect(await hv.domain(uuid)).toEqual({ uuid, name, state: 'shutoff', persistent: true });
        expect((await hv.listDomains()).find((d) => d.uuid === uuid)).toEqual({ uuid, name, state: 'shutoff', persistent: true });
        expect(await hv.liveXml(uuid)).toBeNull();
        const persistent = parser.parse((await hv.persistentXml(uuid))!).domain[0];
        // libvirt expanded the alias; the definition keeps what a redefine must not lose.
        expect(persistent.os.type['@machine']).toMatch(/^pc-q35-/);
        expect(persistent.devices.graphics['@passwd']).toBe('s3cret');

        await hv.start(uuid);
        expect((await hv.domain(uuid))?.state).toBe('running');
        const live = parser.parse((await hv.liveXml(uuid))!).domain[0];
        expect(Number(live['@id'])).toBeGreaterThan(0);
        expect(live.devices.video.model['@type']).toBe('virtio');
        expect(live.devices.graphics['@passwd']).toBeUndefined();

        await hv.destroy(uuid);
        expect((await hv.domain(uuid))?.state).toBe('shutoff');
        await hv.destroy(uuid);

        await hv.undefine(uuid);
        expect(await hv.domain(uuid)).toBeNull();
      } finally {
        if (await hv.domain(uuid).catch(() => null)) {
          await hv.destroy(uuid).catch(() => undefined);
          await hv.undefine(uuid).catch(() => undefined);
        }
      }
    },
    SLOW,
  );

  test(
    'a configuration this QEMU refuses: unsupported; broken XML: invalid',
    async () => {
      const uuid = randomUUID();
      try {
        const ideOnQ35 = `<domain type='qemu'><name>hwstash-test-${uuid.slice(0, 8)}</name><uuid>${uuid}</uuid>
          <memory unit='MiB'>64</memory><os><type arch='x86_64' machine='q35'>hvm</type></os>
          <devices><disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk></devices></domain>`;
        const e = await rejection(hv.define(ideOnQ35));
        expect(e).toMatchObject({ kind: 'unsupported', op: 'define' });
        expect(e.libvirtMessage).toMatch(/IDE/);
        expect((await rejection(hv.define('<domain type="qemu"><name>x</name>'))).kind).toBe('invalid');
        expect(await hv.domain(uuid)).toBeNull();
      } finally {
        await hv.undefine(uuid).catch(() => undefined);
      }
    },
    SLOW,
  );

  test('a missing domain on the real daemon: no-domain / null', async () => {
    const uuid = randomUUID();
    expect(await hv.domain(uuid)).toBeNull();
    expect((await rejection(hv.start(uuid))).kind).toBe('no-domain');
  });
});
