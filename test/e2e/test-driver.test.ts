/**
 * The end-to-end flow, fast: the same agent, RabbitMQ, database and operator CLI, on libvirt's
 * in-process test driver (test:///default, which this process shares with the agent). The test
 * driver has no domain capabilities, so the capability check is exercised on what the agent
 * defined against the real domain-capabilities XML of libvirt 9.0 / QEMU 7.2 in
 * test/fixtures/, through the same functions the agent uses (parseDomainCapabilities,
 * checkDomain). Allowed values are read from the fixtures with the test's own parser.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { checkDomain, parseDomainCapabilities } from '../../src/core/capabilities.js';
import { rewriteDomain } from '../../src/core/domain-xml/index.js';
import { oldNovaGuest, readDomain } from './helpers/guests.js';
import { TEST_URI, World } from './helpers/world.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/libvirt-9.0-qemu-7.2', import.meta.url));
const fixture = (f: string) => readFileSync(`${FIXTURES}/${f}`, 'utf8');
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => ['enum', 'value'].includes(n) });
function recorded(file: string, enumName: string): { machine: string; values: string[] } {
  const caps = parser.parse(fixture(file)).domainCapabilities;
  const values = (caps.devices.disk.enum as Array<{ '@name': string; value?: string[] }>).find((e) => e['@name'] === enumName)?.value ?? [];
  return { machine: String(caps.machine), values };
}
const PC = recorded('domcaps-qemu-x86_64-pc.xml', 'bus');
const Q35 = recorded('domcaps-qemu-x86_64-q35.xml', 'bus');

/** Every property, as hwstash stashes them for a guest on the given machine type. */
function fullStash(o: Record<string, string | null>): Record<string, string | null> {
  return {
    image_hw_machine_type: 'pc',
    image_hw_disk_bus: 'virtio',
    image_hw_cdrom_bus: 'ide',
    image_hw_floppy_bus: 'fdc',
    image_hw_rescue_bus: 'virtio',
    image_hw_input_bus: 'usb',
    image_hw_pointer_model: 'usbtablet',
    image_hw_video_model: 'virtio',
    image_hw_vif_model: 'virtio',
    image_hw_scsi_model: null,
    image_hw_rng_model: 'virtio',
    ...o,
  };
}

let w: World;
beforeAll(async () => {
  w = await World.create({ dialect: 'sqlite', libvirtUri: TEST_URI, virtType: 'qemu' });
}, 60_000);
afterAll(async () => {
  await w?.cleanup();
}, 60_000);

test('the fixtures say what these tests rely on: pc has IDE, q35 has not', () => {
  expect(PC.values).toContain('ide');
  expect(Q35.values).not.toContain('ide');
  expect(Q35.values).toContain('virtio');
});

describe('old guest → stash as it is → operator set → power-on follows → verify', () => {
  let uuid: string;
  let oldXml: string;

  beforeAll(async () => {
    uuid = w.newUuid();
    // libvirt stores the expanded machine name; the test driver keeps what it is given.
    const guest = oldNovaGuest({
      name: `${w.domainPrefix}old`,
      uuid,
      domainType: 'qemu',
      machine: PC.machine,
      diskPath: `${w.imagesDir}/${uuid}/disk`,
      diskBus: 'ide',
      diskDev: 'hda',
      video: 'cirrus',
      nic: 'rtl8139',
    });
    await w.defineDomain(uuid, guest);
    oldXml = (await w.hv.persistentXml(uuid))!;
    await w.seed([{ uuid, host: w.host, vmState: 'stopped', imageProperties: { os_distro: 'fedora36' } }]);
    await w.startAgent();
  }, 60_000);

  test('the start-up reconcile stashed what the domain uses, from the domain', async () => {
    expect(await w.stashRows(uuid)).toMatchObject({ hw_disk_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139', hw_machine_type: PC.machine });
    const fromDomain = (await w.historyRows(uuid)).filter((h) => h['value_source'] === 'domain').map((h) => h['property']);
    expect(fromDomain).toEqual(expect.arrayContaining(['hw_disk_bus', 'hw_video_model', 'hw_vif_model', 'hw_machine_type']));
  });

  test('operator set: written; the test driver has no domain capabilities and the CLI says so', async () => {
    const r = await w.cli(['image-property', 'set', uuid, '--property', 'hw_disk_bus=virtio', '--property', 'hw_video_model=virtio', '--property', 'hw_vif_model=virtio']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/not checked: domain capabilities .* unavailable from test:\/\/\/default/);
    expect(await w.stashRows(uuid)).toMatchObject({ hw_disk_bus: 'virtio', hw_video_model: 'virtio', hw_vif_model: 'virtio' });
  });

  test('power_on.start: redefined and started; the live XML has the new buses and models', async () => {
    expect(await w.publish('instance.power_on.start', uuid)).toBe('done');
    expect((await w.hv.domain(uuid))?.state).toBe('running');
    const live = readDomain((await w.hv.liveXml(uuid))!);
    expect(live.disks.map((d) => [d.bus, d.dev?.slice(0, 2)])).toEqual([['virtio', 'vd']]);
    expect(live.video).toEqual(['virtio']);
    expect(live.nics).toEqual(['virtio']);
    expect(live.machine).toBe(PC.machine);
  });

  test("what the agent defined runs on QEMU 7.2's pc machine, by the recorded domain capabilities", async () => {
    const defined = (await w.hv.persistentXml(uuid))!;
    const problems = checkDomain(defined, parseDomainCapabilities(fixture('domcaps-qemu-x86_64-pc.xml')));
    expect(problems.filter((p) => p.kind === 'unsupported')).toEqual([]);
    // And the check does look at disks: the same guest on q35 with its IDE disk would not run.
    const onQ35 = rewriteDomain(oldXml, { hw_machine_type: Q35.machine }).xml;
    const refused = checkDomain(onQ35, parseDomainCapabilities(fixture('domcaps-qemu-x86_64-q35.xml'))).filter((p) => p.kind === 'unsupported');
    expect(refused.map((p) => [p.property, p.value])).toEqual([['hw_disk_bus', 'ide']]);
    expect(refused[0]!.message).toContain(`allowed buses here: ${Q35.values.join(', ')}`);
  });

  test('power_on.end: no drift', async () => {
    expect(await w.publish('instance.power_on.end', uuid)).toBe('done');
    expect((await w.ownEvents()).filter((e) => e.eventType === 'hwstash.drift')).toEqual([]);
  });
});

test('unshelve of an offloaded instance: a domain built from the stash, started, matching it', async () => {
  const uuid = w.newUuid();
  const stash = fullStash({ image_hw_machine_type: Q35.machine, image_hw_disk_bus: 'sata', image_hw_cdrom_bus: 'sata', image_hw_video_model: 'vga' });
  await w.seed([{ uuid, host: w.host, vmState: 'shelved_offloaded', systemMetadata: stash }]);
  if (!w.agent) await w.startAgent();
  expect(await w.hv.domain(uuid)).toBeNull();
  expect(await w.publish('instance.unshelve.end', uuid)).toBe('done');
  expect((await w.hv.domain(uuid))?.state).toBe('running');
  const live = readDomain((await w.hv.liveXml(uuid))!);
  expect(live.machine).toBe(Q35.machine);
  expect(live.disks).toEqual([{ device: 'disk', bus: 'sata', dev: 'sda', source: `${w.imagesDir}/${uuid}/disk` }]);
  expect(live.video).toEqual(['vga']);
  expect(live.inputs).toContainEqual({ type: 'tablet', bus: 'usb' });
  expect(live.rng).toEqual(['virtio']);
  // Built for the recorded q35 capabilities, it would run there.
  const built = (await w.hv.persistentXml(uuid))!;
  expect(checkDomain(built, parseDomainCapabilities(fixture('domcaps-qemu-x86_64-q35.xml'))).filter((p) => p.kind === 'unsupported')).toEqual([]);
});

test('unshelve of an instance only Nova stashed (its 7 keys): the other 4 are stashed first, then the domain is built with them', async () => {
  if (!w.agent) await w.startAgent();
  const uuid = w.newUuid();
  // What Nova Zed's _register_undefined_instance_details writes for a plain x86 image on pc.
  const novaSeven = {
    image_hw_machine_type: 'pc',
    image_hw_cdrom_bus: 'ide',
    image_hw_disk_bus: 'virtio',
    image_hw_input_bus: 'usb',
    image_hw_pointer_model: 'usbtablet',
    image_hw_video_model: 'virtio',
    image_hw_vif_model: 'virtio',
  };
  await w.seed([{ uuid, host: w.host, vmState: 'shelved_offloaded', systemMetadata: novaSeven }]);
  expect(await w.publish('instance.unshelve.end', uuid)).toBe('done');
  // RULES.md §3.3, §3.4 (legacy rescue: the disk bus of the image, the driver's virtio), §7.
  expect(await w.stashRows(uuid)).toEqual({
    hw_machine_type: 'pc',
    hw_cdrom_bus: 'ide',
    hw_disk_bus: 'virtio',
    hw_input_bus: 'usb',
    hw_pointer_model: 'usbtablet',
    hw_video_model: 'virtio',
    hw_vif_model: 'virtio',
    hw_floppy_bus: 'fdc',
    hw_rescue_bus: 'virtio',
    hw_scsi_model: null,
    hw_rng_model: 'virtio',
  });
  expect((await w.hv.domain(uuid))?.state).toBe('running');
  const live = readDomain((await w.hv.liveXml(uuid))!);
  expect(live.machine).toBe('pc');
  expect(live.disks.map((d) => [d.bus, d.dev])).toEqual([['virtio', 'vda']]);
  expect(live.video).toEqual(['virtio']);
  expect(live.rng).toEqual(['virtio']);
});
