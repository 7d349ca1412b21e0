/**
 * `image-property set` against this machine's real libvirt and QEMU (qemu:///system, TCG): a
 * value this QEMU cannot run on the instance's machine type is refused with 6; a libvirt that
 * cannot be reached refuses the change unless --skip-host-check; a dry run shows the domain diff.
 * The allowed values asserted are those of the recorded domain capabilities of libvirt 9.0 /
 * QEMU 7.2 (test/fixtures/libvirt-9.0-qemu-7.2/), read here independently of the code.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { cliWorld, PC_STASH, stashOf, type CliWorld, type Ran } from './helpers.js';
import { QEMU_URI, SLOW, withGuests } from './qemu-domains.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/libvirt-9.0-qemu-7.2', import.meta.url));
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => ['enum', 'value'].includes(n) });
function recorded(file: string, device: string, enumName: string): string[] {
  const caps = parser.parse(readFileSync(`${FIXTURES}/${file}`, 'utf8')).domainCapabilities;
  return (caps.devices[device].enum as Array<{ '@name': string; value?: string[] }>).find((e) => e['@name'] === enumName)?.value ?? [];
}
const Q35_BUSES = recorded('domcaps-qemu-x86_64-q35.xml', 'disk', 'bus');
const VIDEO_MODELS = recorded('domcaps-qemu-x86_64-q35.xml', 'video', 'modelType');

let w: CliWorld;
beforeAll(async () => {
  w = await cliWorld('sqlite', { libvirtUri: QEMU_URI, virtType: 'qemu' });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

async function instance(stash: Record<string, string | null> = {}): Promise<string> {
  const [uuid] = await w.seed([{ host: 'compute-1', vmState: 'stopped', systemMetadata: { ...PC_STASH, ...stash } }]);
  return uuid!;
}

async function refused(args: string[]): Promise<Ran> {
  const before = await w.dump();
  const r = await w.cli(args);
  expect(await w.dump()).toEqual(before);
  return r;
}

test('the recorded capabilities say what this test relies on', () => {
  expect(Q35_BUSES).not.toContain('ide');
  expect(Q35_BUSES).toContain('sata');
  expect(VIDEO_MODELS).toContain('cirrus');
  expect(VIDEO_MODELS).not.toContain('gop');
});

test('a bus the machine type lacks: hw_cdrom_bus=ide on q35 refused (6) with the buses it has; on pc written', async () => {
  const q35 = await instance({ image_hw_machine_type: 'q35', image_hw_cdrom_bus: 'sata' });
  const r = await refused(['image-property', 'set', q35, '--property', 'hw_cdrom_bus=ide']);
  expect(r.code).toBe(6);
  expect(r.stderr).toContain(`instance ${q35}: this host's QEMU (machine pc-q35-7.2, arch x86_64) cannot run hw_cdrom_bus=ide`);
  expect(r.stderr).toContain(`allowed buses here: ${Q35_BUSES.join(', ')}`);

  const pc = await instance({ image_hw_cdrom_bus: 'sata' });
  expect((await w.cli(['image-property', 'set', pc, '--property', 'hw_cdrom_bus=ide'])).code).toBe(0);
  expect((await stashOf(w.store, pc))['hw_cdrom_bus']).toBe('ide');
}, SLOW);

test("a video model in Nova's enum that this QEMU lacks (gop) refused; cirrus, which it has, written", async () => {
  const uuid = await instance({ image_hw_video_model: 'virtio' });
  const r = await refused(['image-property', 'set', uuid, '--property', 'hw_video_model=gop']);
  expect(r.code).toBe(6);
  expect(r.stderr).toContain('cannot run hw_video_model=gop');
  expect(r.stderr).toContain(`allowed video models here: ${VIDEO_MODELS.join(', ')}`);
  expect((await w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=cirrus'])).code).toBe(0);
}, SLOW);

test('a machine type this QEMU does not have: refused with the ones it has; a deprecated one: written with a warning', async () => {
  const uuid = await instance({ image_hw_machine_type: 'pc-q35-5.2', image_hw_cdrom_bus: 'sata' });
  const r = await refused(['image-property', 'set', uuid, '--property', 'hw_machine_type=pc-q35-99.0']);
  expect(r.code).toBe(6);
  expect(r.stderr).toContain('has no machine type pc-q35-99.0');
  expect(r.stderr).toMatch(/allowed machine types here: .*pc-q35-7\.2/);

  const old = await instance({ image_hw_machine_type: 'pc-i440fx-1.4' });
  const dep = await w.cli(['image-property', 'set', old, '--property', 'hw_machine_type=pc-i440fx-1.5']);
  expect(dep.code).toBe(0);
  expect(dep.stderr).toMatch(/pc-i440fx-1\.5.*deprecated/);
}, SLOW);

test('a new machine type is checked with the values that stay: an IDE cdrom blocks q35 until it moves too', async () => {
  const uuid = await instance(); // pc with an IDE cdrom
  const r = await refused(['image-property', 'set', uuid, '--property', 'hw_machine_type=q35', '--force']);
  expect(r.code).toBe(6);
  expect(r.stderr).toContain('cannot run hw_cdrom_bus=ide');
  expect(r.stderr).toContain('stashed, unchanged: change it in the same command');
  const both = await w.cli(['image-property', 'set', uuid, '--property', 'hw_machine_type=q35', '--property', 'hw_cdrom_bus=sata', '--force']);
  expect(both.code).toBe(0);
  expect(await stashOf(w.store, uuid)).toMatchObject({ hw_machine_type: 'q35', hw_cdrom_bus: 'sata' });
}, SLOW);

test('libvirt unreachable: refused (1) saying so; with --skip-host-check written with a warning', async () => {
  const down = w.writeConfig('down.conf', { libvirtUri: 'qemu+unix:///system?socket=/nonexistent/hwstash-libvirt-sock', virtType: 'qemu' });
  const uuid = await instance();
  const r = await refused(['--config-file', down, 'image-property', 'set', uuid, '--property', 'hw_video_model=virtio']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('libvirt at qemu+unix:///system?socket=/nonexistent/hwstash-libvirt-sock cannot be reached');
  expect(r.stderr).toContain('nothing written');
  expect(r.stderr).toContain('--skip-host-check');

  const skipped = await w.cli(['--config-file', down, 'image-property', 'set', uuid, '--property', 'hw_video_model=virtio', '--skip-host-check']);
  expect(skipped.code).toBe(0);
  expect(skipped.stderr).toContain('warning: host check skipped (--skip-host-check)');
  expect((await stashOf(w.store, uuid))['hw_video_model']).toBe('virtio');
  // Nova's enum and the virt type are still checked.
  expect((await refused(['--config-file', down, 'image-property', 'set', uuid, '--property', 'hw_disk_bus=xen', '--skip-host-check'])).code).toBe(6);
  // A value refused without libvirt's help is refused as such, libvirt or not.
  const guard = await refused(['--config-file', down, 'image-property', 'set', uuid, '--property', 'hw_machine_type=q35']);
  expect(guard.code).toBe(6);
  expect(guard.stderr).toContain('cannot update machine type pc to q35');
}, SLOW);

test('--dry-run on an instance with a domain: the domain XML diff it would lead to; nothing written or defined', async () => {
  // The stash matches the small guest except for its video model: no tablet, no RNG.
  const uuid = await instance({ image_hw_input_bus: null, image_hw_pointer_model: null, image_hw_rng_model: null });
  await withGuests([{ uuid, spec: { machine: 'pc', video: 'cirrus', cdromBus: 'ide' } }], async (hv) => {
    const defined = await hv.persistentXml(uuid);
    const before = await w.dump();
    const r = await w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=virtio', '--dry-run'], { tty: true });
    expect(r.code).toBe(0);
    expect(await w.dump()).toEqual(before);
    expect(await hv.persistentXml(uuid)).toBe(defined);
    expect(r.stdout).toMatch(/hw_video_model\s*│ cirrus\s*│ virtio/);
    expect(r.stdout).toContain('the libvirt domain definition would change');
    expect(r.stdout).toMatch(/^-\s*<model type='cirrus'/m);
    expect(r.stdout).toMatch(/^\+\s*<model type='virtio'/m);

    const json = JSON.parse((await w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=cirrus', '--dry-run', '--format', 'json'])).stdout);
    expect(json.domainDiff).toBe('');
  });
}, SLOW);
