/**
 * The gateway against libvirt's in-process test driver (test:///default): every open gets its
 * own fresh state, holding one running persistent domain named "test".
 */
import { randomUUID } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { Hypervisor, HypervisorError, execFileVirsh, type VirshRunner } from '../../src/hypervisor/index.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' });

function tinyDomain(uuid: string, name: string, extra = ''): string {
  return `<domain type='qemu'><name>${name}</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory>
    <os><type arch='x86_64' machine='pc'>hvm</type></os>${extra}</domain>`;
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

let hv: Hypervisor;
beforeEach(async () => {
  hv = await Hypervisor.open('test:///default');
});
afterEach(async () => {
  await hv.close();
});

describe('domains on test:///default', () => {
  test('lists the driver\'s built-in running domain', async () => {
    const domains = await hv.listDomains();
    expect(domains).toHaveLength(1);
    const [test] = domains;
    expect(test).toMatchObject({ name: 'test', state: 'running', persistent: true });
    expect(test?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await hv.domain(test!.uuid)).toEqual(test);
  });

  test('an unknown uuid is null, not an error', async () => {
    const uuid = randomUUID();
    expect(await hv.domain(uuid)).toBeNull();
    expect(await hv.persistentXml(uuid)).toBeNull();
    expect(await hv.liveXml(uuid)).toBeNull();
  });

  test('upper-case uuids are accepted', async () => {
    const [test] = await hv.listDomains();
    expect((await hv.domain(test!.uuid.toUpperCase()))?.name).toBe('test');
  });

  test('define, start, destroy, undefine', async () => {
    const uuid = randomUUID();
    await hv.define(tinyDomain(uuid, 'hwstash-life'));
    expect(await hv.domain(uuid)).toEqual({ uuid, name: 'hwstash-life', state: 'shutoff', persistent: true });
    expect(await hv.liveXml(uuid)).toBeNull();

    await hv.start(uuid);
    expect((await hv.domain(uuid))?.state).toBe('running');
    const live = parser.parse((await hv.liveXml(uuid))!);
    expect(live.domain.uuid).toBe(uuid);
    expect(Number(live.domain['@id'])).toBeGreaterThan(0);

    await hv.destroy(uuid);
    expect((await hv.domain(uuid))?.state).toBe('shutoff');
    await hv.destroy(uuid); // already shut off: no error
    expect((await hv.domain(uuid))?.state).toBe('shutoff');

    await hv.undefine(uuid);
    expect(await hv.domain(uuid)).toBeNull();
    expect((await hv.listDomains()).map((d) => d.uuid)).not.toContain(uuid);
  });

  test('persistent and live XML differ after redefining a running domain', async () => {
    const uuid = randomUUID();
    await hv.define(tinyDomain(uuid, 'hwstash-redefine', "<devices><video><model type='cirrus'/></video></devices>"));
    await hv.start(uuid);
    await hv.define(tinyDomain(uuid, 'hwstash-redefine', "<devices><video><model type='virtio'/></video></devices>"));

    const persistent = parser.parse((await hv.persistentXml(uuid))!);
    const live = parser.parse((await hv.liveXml(uuid))!);
    expect(persistent.domain.devices.video.model['@type']).toBe('virtio');
    expect(live.domain.devices.video.model['@type']).toBe('cirrus');
    expect(persistent.domain['@id']).toBeUndefined();

    await hv.destroy(uuid);
    // The next boot takes the new definition.
    await hv.start(uuid);
    expect(parser.parse((await hv.liveXml(uuid))!).domain.devices.video.model['@type']).toBe('virtio');
  });

  test('undefining a running domain leaves it running as a transient one', async () => {
    const uuid = randomUUID();
    await hv.define(tinyDomain(uuid, 'hwstash-transient'));
    await hv.start(uuid);
    await hv.undefine(uuid);

    expect(await hv.domain(uuid)).toMatchObject({ state: 'running', persistent: false });
    expect(await hv.persistentXml(uuid)).toBeNull();
    expect(await hv.liveXml(uuid)).not.toBeNull();
    const listed = (await hv.listDomains()).find((d) => d.uuid === uuid);
    expect(listed).toMatchObject({ persistent: false });

    await hv.destroy(uuid);
    expect(await hv.domain(uuid)).toBeNull();
  });
});

describe('error kinds on test:///default', () => {
  test('operations on a missing domain: no-domain', async () => {
    const uuid = randomUUID();
    for (const op of [() => hv.start(uuid), () => hv.destroy(uuid), () => hv.undefine(uuid)]) {
      const e = await rejection(op());
      expect(e.kind).toBe('no-domain');
      expect(e.libvirtMessage).toMatch(/not found/i);
    }
  });

  test('malformed XML: invalid, with libvirt\'s message', async () => {
    const e = await rejection(hv.define('<domain'));
    expect(e).toMatchObject({ kind: 'invalid', op: 'define' });
    expect(e.libvirtMessage).toContain('domain_definition');
    expect((await rejection(hv.define('<domain><memory>1</memory></domain>'))).kind).toBe('invalid');
    expect((await rejection(hv.define(''))).kind).toBe('invalid');
  });

  test('a second domain with the same name: invalid', async () => {
    await hv.define(tinyDomain(randomUUID(), 'hwstash-twin'));
    const e = await rejection(hv.define(tinyDomain(randomUUID(), 'hwstash-twin')));
    expect(e.kind).toBe('invalid');
  });

  test('starting a running domain: invalid', async () => {
    // The driver's predefined `test` domain runs; earlier tests defined shut-off ones (any order).
    const running = (await hv.listDomains()).find((d) => d.state === 'running');
    expect(running).toBeDefined();
    expect((await rejection(hv.start(running!.uuid))).kind).toBe('invalid');
  });

  test('a device model libvirt does not know: unsupported', async () => {
    const e = await rejection(
      hv.define(tinyDomain(randomUUID(), 'hwstash-bad-video', "<devices><video><model type='nosuch'/></video></devices>")),
    );
    expect(e.kind).toBe('unsupported');
  });

  test('a malformed uuid is refused before libvirt sees it, naming the field', async () => {
    for (const bad of ['nope', '1234', "x' or '1'='1", 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeeX', '-c']) {
      const e = await rejection(hv.domain(bad));
      expect(e.kind).toBe('invalid');
      expect(e.libvirtMessage).toContain('uuid');
      expect(e.libvirtMessage).toContain('8-4-4-4-12');
    }
  });

  test('calls after close fail with a connection error and do not reach the binding', async () => {
    const other = await Hypervisor.open('test:///default');
    await other.close();
    expect((await rejection(other.listDomains())).kind).toBe('connection');
    expect((await rejection(other.capabilities())).kind).toBe('connection');
    await other.close(); // twice is harmless
  });

  test('an unknown driver is a connection error at open', async () => {
    const e = await rejection(Hypervisor.open('nosuchdriver:///x'));
    expect(e.kind).toBe('connection');
  });

  test('a uri with shell or option syntax is refused', async () => {
    for (const bad of ['-c', 'qemu:///system; rm -rf /', '', 'qemu:///system name']) {
      expect((await rejection(Hypervisor.open(bad))).kind).toBe('invalid');
    }
  });
});

describe('capabilities through virsh on test:///default', () => {
  test('host capabilities parse and are cached', async () => {
    const real = execFileVirsh();
    const spawned: string[][] = [];
    const counting: VirshRunner = (args) => {
      spawned.push([...args]);
      return real(args);
    };
    const own = await Hypervisor.open('test:///default', { virsh: counting });
    try {
      const caps = parser.parse(await own.capabilities());
      expect(caps.capabilities.host.cpu.arch).toBeTruthy();
      expect(caps.capabilities.guest).toBeDefined();
      await own.capabilities();
      expect(spawned).toEqual([['-c', 'test:///default', 'capabilities']]);
    } finally {
      await own.close();
    }
  });

  test('domain capabilities: the test driver does not implement them, unsupported', async () => {
    const e = await rejection(hv.domainCapabilities({ virtType: 'qemu', arch: 'x86_64' }));
    expect(e).toMatchObject({ kind: 'unsupported', op: 'domainCapabilities' });
    expect(e.libvirtMessage).toContain('not supported');
  });

  test('query fields are checked and named before virsh runs', async () => {
    let spawns = 0;
    const own = await Hypervisor.open('test:///default', {
      virsh: async () => {
        spawns++;
        return { exitCode: 0, signal: null, stdout: '<domainCapabilities/>', stderr: '' };
      },
    });
    try {
      const cases: Array<[Parameters<Hypervisor['domainCapabilities']>[0], string]> = [
        [{ virtType: '--help', arch: 'x86_64' }, 'virtType'],
        [{ virtType: 'qemu', arch: 'x86_64 --foo' }, 'arch'],
        [{ virtType: 'qemu', arch: 'x86_64', machine: '-q35' }, 'machine'],
        [{ virtType: 'qemu', arch: 'x86_64', machine: 'q35;ls' }, 'machine'],
        [{ virtType: 'qemu', arch: 'x86_64', emulator: 'qemu-system-x86_64' }, 'emulator'],
        [{ virtType: 'qemu', arch: 'x86_64', emulator: '/usr/../bin/sh' }, 'emulator'],
      ];
      for (const [q, field] of cases) {
        const e = await rejection(own.domainCapabilities(q));
        expect(e.kind).toBe('invalid');
        expect(e.libvirtMessage.startsWith(field)).toBe(true);
      }
      expect(spawns).toBe(0);
    } finally {
      await own.close();
    }
  });
});
