/**
 * `hwstash drift` on this machine's real libvirt (qemu:///system, TCG): a domain that differs
 * from its stash, a stashed value this QEMU cannot run, a deprecated machine type, properties
 * not stashed, a stored value Nova cannot load; a clean instance has no findings. With libvirt
 * unreachable only the database findings are reported, and the exit code says so.
 */
import { cliWorld, PC_STASH, type CliWorld } from './helpers.js';
import { QEMU_URI, SLOW, withGuests } from './qemu-domains.js';

let w: CliWorld;
beforeAll(async () => {
  w = await cliWorld('sqlite', { libvirtUri: QEMU_URI, virtType: 'qemu', host: 'drift-1' });
}, 60_000);
afterAll(async () => {
  await w?.close();
});

/** The small test guest's devices, as a stash (no tablet, no RNG: it has neither). */
const GUEST_STASH = { ...PC_STASH, image_hw_input_bus: null, image_hw_pointer_model: null, image_hw_rng_model: null, image_hw_video_model: 'virtio' };

interface Finding {
  property: string | null;
  kind: string;
  stashed: string | null;
  domain: string | null;
  detail: string;
}

test('finds what needs an eye, and nothing on a clean instance', async () => {
  const { image_hw_rng_model: _gone, ...missingRng } = PC_STASH;
  const [differs, clean, cannotRun, deprecated, notStashed, unreadable] = await w.seed([
    { host: 'drift-1', vmState: 'stopped', systemMetadata: GUEST_STASH },
    { host: 'drift-1', vmState: 'stopped', systemMetadata: GUEST_STASH },
    { host: 'drift-1', vmState: 'stopped', systemMetadata: { ...PC_STASH, image_hw_video_model: 'gop' } },
    { host: 'drift-1', vmState: 'stopped', systemMetadata: { ...PC_STASH, image_hw_machine_type: 'pc-i440fx-1.5' } },
    { host: 'drift-1', vmState: 'active', systemMetadata: missingRng },
    { host: 'drift-1', vmState: 'stopped', systemMetadata: { ...PC_STASH, image_hw_disk_bus: 'VIRTIO' } },
  ]);
  await w.seed([{ host: 'drift-2', vmState: 'stopped', systemMetadata: { ...PC_STASH, image_hw_video_model: 'gop' } }]);

  await withGuests(
    [
      { uuid: differs!, spec: { machine: 'pc', video: 'cirrus', cdromBus: 'ide' } },
      { uuid: clean!, spec: { machine: 'pc', video: 'virtio', cdromBus: 'ide' } },
    ],
    async () => {
      const r = await w.cli(['drift', '--format', 'json']);
      expect(r.code).toBe(3);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ host: 'drift-1', libvirt: 'checked', instances: 6, withFindings: 5 });
      const of = (uuid: string): Finding[] => report.drift.find((d: { uuid: string }) => d.uuid === uuid)?.findings ?? [];

      expect(of(clean!)).toEqual([]);
      expect(report.drift.find((d: { uuid: string }) => d.uuid === differs)).toMatchObject({ compared: 'persistent' });
      expect(of(differs!)).toEqual([expect.objectContaining({ property: 'hw_video_model', kind: 'differs', stashed: 'virtio', domain: 'cirrus' })]);
      expect(of(cannotRun!)).toEqual([
        expect.objectContaining({ property: 'hw_video_model', kind: 'unsupported', stashed: 'gop', detail: expect.stringContaining('cannot run hw_video_model=gop') }),
      ]);
      expect(of(deprecated!)).toEqual([expect.objectContaining({ property: 'hw_machine_type', kind: 'deprecated', stashed: 'pc-i440fx-1.5' })]);
      expect(of(notStashed!)).toEqual([expect.objectContaining({ property: 'hw_rng_model', kind: 'not-stashed' })]);
      expect(of(unreadable!)).toEqual([expect.objectContaining({ property: 'hw_disk_bus', kind: 'unreadable', stashed: 'VIRTIO', detail: expect.stringContaining('DiskBus') })]);

      const table = await w.cli(['drift'], { tty: true });
      expect(table.code).toBe(3);
      expect(table.stdout).toMatch(new RegExp(`${differs}\\s*│ hw_video_model\\s*│ differs\\s*│ virtio\\s*│ domain: cirrus`));
      expect(table.stdout).toContain('host drift-1: 6 instance(s), 5 with findings');

      const other = await w.cli(['drift', '--host', 'drift-2', '--format', 'json']);
      expect(JSON.parse(other.stdout)).toMatchObject({ host: 'drift-2', instances: 1, withFindings: 1 });
      expect((await w.cli(['drift', '--host', 'drift-none', '--format', 'json'])).code).toBe(0);
    },
  );
}, SLOW);

test('libvirt unreachable: the database findings only, exit 1, said so', async () => {
  const { image_hw_scsi_model: _gone, ...missingScsi } = PC_STASH;
  const [uuid] = await w.seed([{ host: 'drift-3', vmState: 'stopped', systemMetadata: { ...missingScsi, image_hw_video_model: 'gop' } }]);
  const down = w.writeConfig('down.conf', { libvirtUri: 'qemu+unix:///system?socket=/nonexistent/hwstash-libvirt-sock', virtType: 'qemu', host: 'drift-3' });
  const r = await w.cli(['--config-file', down, 'drift', '--format', 'json']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('cannot be reached');
  const report = JSON.parse(r.stdout);
  expect(report).toMatchObject({ libvirt: 'unreachable', instances: 1, withFindings: 1 });
  // The gop video would need libvirt to judge; the missing row does not.
  expect(report.drift[0]).toMatchObject({ uuid, compared: 'unknown', findings: [expect.objectContaining({ property: 'hw_scsi_model', kind: 'not-stashed' })] });
}, SLOW);
