/**
 * `hwstash domain diff|sync` on this machine's real libvirt (qemu:///system, TCG).
 */
import { cliWorld, PC_STASH, type CliWorld } from './helpers.js';
import { QEMU_URI, SLOW, withGuests } from './qemu-domains.js';

let w: CliWorld;
beforeAll(async () => {
  w = await cliWorld('sqlite', { libvirtUri: QEMU_URI, virtType: 'qemu' });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

/** The small test guest's devices (no tablet, no RNG), with a virtio video. */
const GUEST_STASH = { ...PC_STASH, image_hw_input_bus: null, image_hw_pointer_model: null, image_hw_rng_model: null, image_hw_video_model: 'virtio' };

test('diff shows how the definition differs (3); sync --dry-run defines nothing; sync redefines; then in sync (0)', async () => {
  const [uuid] = await w.seed([{ host: 'compute-1', vmState: 'stopped', systemMetadata: GUEST_STASH }]);
  await withGuests([{ uuid: uuid!, spec: { machine: 'pc', video: 'cirrus', cdromBus: 'ide' } }], async (hv) => {
    const defined = await hv.persistentXml(uuid!);
    const diff = await w.cli(['domain', 'diff', uuid!], { tty: true });
    expect(diff.code).toBe(3);
    expect(diff.stdout).toContain('differs from the stash');
    expect(diff.stdout).toMatch(/hw_video_model\s*│ video #1\s*│ type\s*│ cirrus\s*│ virtio/);
    expect(diff.stdout).toMatch(/^-\s*<model type='cirrus'/m);
    expect(diff.stdout).toMatch(/^\+\s*<model type='virtio'/m);

    const dry = await w.cli(['domain', 'sync', uuid!, '--dry-run', '--format', 'json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ instance: uuid, dryRun: true, outcome: 'redefined' });
    expect(await hv.persistentXml(uuid!)).toBe(defined);

    const sync = await w.cli(['domain', 'sync', uuid!], { tty: true });
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain('the definition was redefined to follow the stash');
    expect(await hv.persistentXml(uuid!)).toMatch(/<model type='virtio'/);

    const again = await w.cli(['domain', 'diff', uuid!, '--format', 'json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ inSync: true, changes: [], diff: '' });
    expect((await w.cli(['domain', 'sync', uuid!], { tty: true })).stdout).toContain('already follows the stash');
  });
}, SLOW);

test('sync: refused in a running vm_state (3), when the result cannot run here (6); no domain or instance (2)', async () => {
  const [active, ideOnQ35, noDomain] = await w.seed([
    { host: 'compute-1', vmState: 'active', systemMetadata: { ...GUEST_STASH, image_hw_video_model: 'vga' } },
    // Stashed IDE cdrom, but the domain is a q35 guest with a SATA cdrom: following the stash
    // would put an IDE cdrom on q35, which this QEMU cannot run.
    { host: 'compute-1', vmState: 'stopped', systemMetadata: { ...GUEST_STASH, image_hw_machine_type: 'q35' } },
    { host: 'compute-1', vmState: 'stopped', systemMetadata: GUEST_STASH },
  ]);
  await withGuests(
    [
      { uuid: active!, spec: { machine: 'pc', video: 'virtio', cdromBus: 'ide' } },
      { uuid: ideOnQ35!, spec: { machine: 'q35', video: 'virtio', cdromBus: 'sata' } },
    ],
    async (hv) => {
      const activeXml = await hv.persistentXml(active!);
      const r = await w.cli(['domain', 'sync', active!]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`instance ${active} is in vm_state active`);
      expect(await hv.persistentXml(active!)).toBe(activeXml);

      const q35Xml = await hv.persistentXml(ideOnQ35!);
      const refused = await w.cli(['domain', 'sync', ideOnQ35!]);
      expect(refused.code).toBe(6);
      expect(refused.stderr).toContain('cannot run on this host, nothing defined');
      expect(refused.stderr).toMatch(/ide/);
      expect(await hv.persistentXml(ideOnQ35!)).toBe(q35Xml);

      expect((await w.cli(['domain', 'diff', noDomain!])).code).toBe(2);
      expect((await w.cli(['domain', 'sync', noDomain!])).stderr).toContain(`instance ${noDomain} has no libvirt domain`);
      expect((await w.cli(['domain', 'diff', '00000000-0000-4000-8000-000000000000'])).code).toBe(2);
    },
  );
}, SLOW);

test('libvirt unreachable: 1, saying so', async () => {
  const [uuid] = await w.seed([{ host: 'compute-1', vmState: 'stopped', systemMetadata: GUEST_STASH }]);
  const down = w.writeConfig('down.conf', { libvirtUri: 'qemu+unix:///system?socket=/nonexistent/hwstash-libvirt-sock', virtType: 'qemu' });
  const r = await w.cli(['--config-file', down, 'domain', 'diff', uuid!]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('cannot be reached');
});
