/**
 * The hardest change an operator makes, end to end on the real libvirtd with QEMU (TCG): a guest
 * from the Queens era (test/fixtures/domains/old-defaults-pc.xml, written by libvirt 9.0 from a
 * Nova 17 domain: pc-i440fx-2.11, IDE disk and IDE config drive, cirrus, rtl8139, Hyper-V
 * enlightenments, Nova's metadata) moves to q35 with virtio. The chipset change drops the whole
 * PCI layout and the IDE controller; QEMU must still start it, and everything the stash does not
 * decide must survive. Only what this machine cannot have is changed in the fixture: TCG instead
 * of KVM, a user-mode NIC instead of a Linux bridge, 64 MiB, no host-model CPU, disks in a
 * directory QEMU may read.
 */
import fs from 'node:fs';
import { readDomain } from './helpers/guests.js';
import { QEMU_URI, World } from './helpers/world.js';

const SLOW = 240_000;
const FIXTURE = new URL('../fixtures/domains/old-defaults-pc.xml', import.meta.url);
const FIXTURE_UUID = '6f0c3a2e-8b1d-4c55-9a7e-2d4b1f6e9c01';

let w: World;
beforeAll(async () => {
  w = await World.create({ dialect: 'sqlite', libvirtUri: QEMU_URI, virtType: 'qemu' });
}, SLOW);
afterAll(async () => {
  await w?.cleanup();
}, 60_000);

function queensGuest(uuid: string): string {
  const xml = fs
    .readFileSync(FIXTURE, 'utf8')
    .replace("<domain type='kvm'>", "<domain type='qemu'>")
    .replace('<name>instance-0000002a</name>', `<name>${w.domainPrefix}queens</name>`)
    .split(FIXTURE_UUID).join(uuid)
    .split('/var/lib/nova/instances').join(w.imagesDir)
    .replace("<memory unit='KiB'>4194304</memory>", "<memory unit='KiB'>65536</memory>")
    .replace("<currentMemory unit='KiB'>4194304</currentMemory>", "<currentMemory unit='KiB'>65536</currentMemory>")
    .replace(/<cpu mode='host-model'[\s\S]*?<\/cpu>/, '')
    .replace(/<interface type='bridge'>[\s\S]*?<\/interface>/, "<interface type='user'><mac address='fa:16:3e:4a:7b:01'/><model type='rtl8139'/></interface>");
  // The fixture changes only where this machine forces it.
  if (!xml.includes(`<name>${w.domainPrefix}queens</name>`) || !xml.includes("<interface type='user'>") || xml.includes('host-model')) {
    throw new Error('the Queens fixture changed: adapt queensGuest');
  }
  return xml;
}

test('a Queens-era guest moves from i440fx/IDE/cirrus/rtl8139 to q35/virtio: refused until the rescue bus moves too, then booted by power_on.start', async () => {
  const uuid = w.newUuid();
  const disk = await w.createDisk(`${uuid}/disk`);
  const configDrive = await w.createDisk(`${uuid}/disk.config`, '1M');
  await w.defineDomain(uuid, queensGuest(uuid));
  const definedMachine = readDomain(await w.virsh('dumpxml', '--inactive', uuid)).machine;
  await w.seed([{ uuid, host: w.host, vmState: 'stopped', imageProperties: { os_distro: 'win2k12r2' } }]);
  await w.startAgent();

  expect(await w.stashRows(uuid)).toMatchObject({
    hw_machine_type: definedMachine,
    hw_disk_bus: 'ide',
    hw_cdrom_bus: 'ide',
    hw_video_model: 'cirrus',
    hw_vif_model: 'rtl8139',
  });
  // The rescue disk goes on the guest's effective disk bus: IDE, which q35 has no controller for.
  expect((await w.stashRows(uuid))['hw_rescue_bus']).toBe('ide');
  const q35Buses = await w.diskBusesFor('q35');
  expect(q35Buses).not.toContain('ide');

  // A new machine type is checked with every value that stays: the stashed rescue bus blocks it.
  const move = ['--force', '--property', 'hw_machine_type=q35', '--property', 'hw_disk_bus=virtio', '--property', 'hw_cdrom_bus=sata', '--property', 'hw_video_model=virtio', '--property', 'hw_vif_model=virtio'];
  const before = await w.stashRows(uuid);
  const refused = await w.cli(['image-property', 'set', uuid, ...move]);
  expect(refused.code).toBe(6);
  expect(refused.stderr).toContain('hw_rescue_bus=ide');
  expect(refused.stderr).toContain(`allowed buses here: ${q35Buses.join(', ')}`);
  expect(await w.stashRows(uuid)).toEqual(before);
  const moved = await w.cli(['image-property', 'set', uuid, ...move, '--property', 'hw_rescue_bus=virtio']);
  expect(moved.code).toBe(0);
  expect(await w.stashRows(uuid)).toMatchObject({ hw_machine_type: 'q35', hw_disk_bus: 'virtio', hw_cdrom_bus: 'sata', hw_video_model: 'virtio', hw_vif_model: 'virtio' });

  expect(await w.publish('instance.power_on.start', uuid)).toBe('done');
  expect(await w.domstate(uuid)).toBe('running');
  const liveXml = await w.virsh('dumpxml', uuid);
  const live = readDomain(liveXml);
  expect(live.machine).toBe(await w.canonicalMachine('q35'));
  expect(live.disks.map((d) => [d.device, d.bus, d.dev?.slice(0, 2), d.source])).toEqual([
    ['disk', 'virtio', 'vd', disk],
    ['cdrom', 'sata', 'sd', configDrive],
  ]);
  expect(live.controllers.filter((c) => c.type === 'ide')).toEqual([]);
  expect(live.controllers.filter((c) => c.type === 'pci').map((c) => c.model)).toContain('pcie-root');
  expect(live.video).toEqual(['virtio']);
  expect(live.nics).toEqual(['virtio']);
  // What the stash does not decide is the guest's own and stays: Nova's metadata, SMBIOS, Hyper-V, clock.
  for (const kept of ['<nova:name>win2012-legacy</nova:name>', "<entry name='product'>OpenStack Nova</entry>", "<relaxed state='on'/>", "<timer name='hypervclock' present='yes'/>", "<clock offset='localtime'>"]) {
    expect(liveXml).toContain(kept);
  }

  expect(await w.publish('instance.power_on.end', uuid)).toBe('done');
  expect((await w.ownEvents()).filter((e) => e.eventType === 'hwstash.drift')).toEqual([]);
}, SLOW);
