/**
 * The fleet commands on a real database (SQLite file, MariaDB, PostgreSQL) as an operator runs
 * them: `fleet record` on this machine's real libvirtd (qemu:///system), more hosts recorded from
 * the same real capabilities and from a copy edited as a newer QEMU (no pc-i440fx-1.x/2.x, no
 * cirrus, no IDE), one host whose heartbeat stopped; then `fleet hosts`, `move-check` and
 * `what-if` — their answers, exit codes and refusals — and the bulk set what-if proposes,
 * accepted by `image-property set --all --dry-run`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildProfile, type HostProfileRecord } from '../../src/core/fleet/profile.js';
import { Store } from '../../src/store/index.js';
import type { TestDialect } from '../store/databases.js';
import { canonicalOf, captureRealCapabilities, newerQemu, QEMU_URI, type RealCapabilities } from '../helpers/real-capabilities.js';
import { cliWorld, PC_STASH, type CliWorld } from './helpers.js';

const HOUR = 3600_000;

export function fleetSuite(dialect: TestDialect): void {
  describe(`the fleet commands on ${dialect}`, () => {
    let w: CliWorld;
    let real: RealCapabilities;
    let newer: RealCapabilities;
    const ids: Record<string, string> = {};

    const profileOf = (host: string, c: RealCapabilities): HostProfileRecord =>
      buildProfile({ host, novaRelease: '2025.1', libvirtVersion: '9.0.0', qemuVersion: '7.2.22', arch: 'x86_64', virtType: 'qemu', hostCapabilitiesXml: c.caps, domainCapabilitiesXml: [c.pc, c.q35] });

    beforeAll(async () => {
      real = captureRealCapabilities();
      newer = newerQemu(real);
      w = await cliWorld(dialect, { libvirtUri: QEMU_URI, virtType: 'qemu', host: 'compute-a', extra: 'profile_interval = 60\nhost_arch = x86_64\nnova_release = 2025.1' });
      // compute-a is this machine, recorded through the command; the others from captured XML.
      const recorded = await w.cli(['fleet', 'record', '--format', 'json']);
      expect(recorded).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(recorded.stdout)).toMatchObject({ outcome: 'created', profile: { host: 'compute-a', virtType: 'qemu', arch: 'x86_64', libvirtVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/) } });
      await w.store.recordHostProfile(profileOf('compute-b', real));
      await w.store.recordHostProfile({ ...profileOf('compute-new', newer), qemuVersion: '9.2.0' });
      // A host whose agent stopped two hours ago: recorded then, never since.
      const past = await Store.open(w.db.url, { now: () => new Date(Date.now() - 2 * HOUR) });
      try {
        await past.recordHostProfile(profileOf('compute-gone', real));
      } finally {
        await past.close();
      }
      const { image_hw_rng_model: _gone, ...partial } = PC_STASH;
      const seeded = await w.seed([
        { host: 'compute-a', vmState: 'stopped', systemMetadata: { ...PC_STASH, image_hw_machine_type: 'pc-i440fx-2.11' } },
        { host: 'compute-a', vmState: 'stopped', systemMetadata: { ...PC_STASH, image_hw_machine_type: 'q35', image_hw_cdrom_bus: 'sata', image_hw_video_model: 'virtio' } },
        { host: 'compute-a', vmState: 'stopped', systemMetadata: { ...PC_STASH } },
        { host: 'compute-a', vmState: 'active', systemMetadata: { ...PC_STASH, image_hw_video_model: 'gop' } },
        { host: 'compute-b', vmState: 'active', systemMetadata: partial },
        { host: 'compute-unprofiled', vmState: 'active', systemMetadata: { ...PC_STASH } },
      ]);
      ['oldMachine', 'q35', 'cirrus', 'gop', 'partial', 'unprofiled'].forEach((name, i) => (ids[name] = seeded[i]!));
      // A deleted instance counts nowhere.
      const [deleted] = await w.seed([{ host: 'compute-a', vmState: 'deleted', systemMetadata: { ...PC_STASH } }]);
      await w.store.db.sequelize.query('UPDATE instances SET deleted = id WHERE uuid = :uuid', { replacements: { uuid: deleted } });
    }, 240_000);

    afterAll(async () => {
      await w?.close();
    });

    test('fleet hosts: one row per host, instances counted from Nova, the stopped agent flagged stale', async () => {
      const r = await w.cli(['fleet', 'hosts', '--format', 'json']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
      expect(rows.map((x) => x['host'])).toEqual(['compute-a', 'compute-b', 'compute-gone', 'compute-new', 'compute-unprofiled']);
      const row = (h: string) => rows.find((x) => x['host'] === h)!;
      // gop: this QEMU has no such video model, so compute-a cannot run its own instance.
      expect(row('compute-a')).toMatchObject({ profiled: true, novaRelease: '2025.1', instances: 4, notFullyStashed: 0, cannotRunHere: 1, stale: false, arch: 'x86_64', virtType: 'qemu' });
      expect(row('compute-b')).toMatchObject({ instances: 1, notFullyStashed: 1, cannotRunHere: 0, stale: false, qemuVersion: '7.2.22' });
      expect(row('compute-gone')).toMatchObject({ stale: true, instances: 0 });
      expect(Number(row('compute-gone')['heartbeatAgeSeconds'])).toBeGreaterThanOrEqual(7200);
      expect(row('compute-new')).toMatchObject({ qemuVersion: '9.2.0', stale: false });
      expect(row('compute-unprofiled')).toMatchObject({ profiled: false, instances: 1, cannotRunHere: null, heartbeatAt: null });

      const table = await w.cli(['fleet', 'hosts'], { tty: true });
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/compute-gone .*STALE/);
      expect(table.stdout).toMatch(/compute-unprofiled .*not profiled/);
      expect(table.stdout).toContain('5 host(s), 1 stale');

      const one = await w.cli(['fleet', 'hosts', '--host', 'compute-b', '--format', 'json']);
      expect(JSON.parse(one.stdout).map((x: { host: string }) => x.host)).toEqual(['compute-b']);
      expect(await w.cli(['fleet', 'hosts', '--host', 'nowhere'])).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('--host nowhere') });
    });

    test('fleet record again: only the heartbeat moves', async () => {
      const before = (await w.store.hostProfile('compute-a'))!;
      await new Promise((r) => setTimeout(r, 20));
      const again = await w.cli(['fleet', 'record'], { tty: true });
      expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/^host compute-a: profile unchanged \(heartbeat recorded\): libvirt \S+, QEMU \S+, x86_64\/qemu, \d+ machine type\(s\), domain capabilities for pc-i440fx-\S+, pc-q35-\S+\n$/) });
      const after = (await w.store.hostProfile('compute-a'))!;
      expect(after.updatedAt).toBe(before.updatedAt);
      expect(Date.parse(after.heartbeatAt)).toBeGreaterThan(Date.parse(before.heartbeatAt));
      expect(after.machines).toEqual(before.machines);
    });

    test('move-check: the old machine type cannot go to the newer QEMU (exit 7), but can go to compute-b (exit 0)', async () => {
      const r = await w.cli(['move-check', ids['oldMachine']!, '--format', 'json']);
      expect(r.code).toBe(7);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ instance: ids['oldMachine'], from: 'compute-a', arch: 'x86_64' });
      // Every other profiled host of the same virt type and arch, the stale one included and flagged.
      expect(out.hosts.map((h: { host: string; runs: boolean; stale: boolean }) => [h.host, h.runs, h.stale])).toEqual([
        ['compute-b', true, false],
        ['compute-gone', true, true],
        ['compute-new', false, false],
      ]);
      expect(out.hosts[2].problems.map((p: { property: string; value: string }) => [p.property, p.value])).toEqual([
        ['hw_machine_type', 'pc-i440fx-2.11'],
        ['hw_cdrom_bus', 'ide'],
        ['hw_video_model', 'cirrus'],
      ]);
      expect(out.hosts[2].problems[0].message).toMatch(/^compute-new: its QEMU \(arch x86_64\) has no machine type pc-i440fx-2\.11; i440fx types here: /);
      expect(await w.cli(['move-check', ids['oldMachine']!, '--to', 'compute-b', '--format', 'json'])).toMatchObject({ code: 0 });

      const cirrus = await w.cli(['move-check', ids['cirrus']!, '--to', 'compute-new', '--to', 'compute-b'], { tty: true });
      expect(cirrus.code).toBe(7);
      expect(cirrus.stdout).toMatch(/compute-new .* no .* hw_cdrom_bus .* ide /);
      expect(cirrus.stdout).toMatch(/compute-new .* no .* hw_video_model .* cirrus /);
      expect(cirrus.stdout).toMatch(/compute-b .* yes /);
      expect(cirrus.stdout).toContain(`instance ${ids['cirrus']} (on compute-a): 1 of 2 host(s) can run its stash`);

      // A q35 guest on virtio devices runs everywhere.
      expect(await w.cli(['move-check', ids['q35']!, '--format', 'json'])).toMatchObject({ code: 0 });
    });

    test('move-check refuses an unknown instance or host, naming it, and writes nothing', async () => {
      const before = await w.dump();
      const gone = await w.cli(['move-check', '00000000-0000-4000-8000-000000000000']);
      expect(gone).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('instance 00000000-0000-4000-8000-000000000000: no live instance') });
      const host = await w.cli(['move-check', ids['q35']!, '--to', 'compute-zz']);
      expect(host).toMatchObject({ code: 2, stdout: '' });
      expect(host.stderr).toMatch(/--to compute-zz: no profile recorded for this host.*profiled hosts: compute-a, compute-b, compute-gone, compute-new/);
      expect(await w.dump()).toEqual(before);
    });

    test('what-if: the newer QEMU on compute-a strands three instances, grouped by cause, each with its bulk set', async () => {
      const file = (name: string, text: string) => {
        const p = path.join(w.dir, name);
        fs.writeFileSync(p, text);
        return p;
      };
      const args = ['what-if', '--domcaps', file('pc.xml', newer.pc), '--domcaps', file('q35.xml', newer.q35), '--capabilities', file('caps.xml', newer.caps), '--host', 'compute-a'];
      const r = await w.cli([...args, '--format', 'json']);
      expect(r.code).toBe(7);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ arch: 'x86_64', virtType: 'qemu', machineTypesChecked: true, hosts: ['compute-a'], instances: 4, cannotStart: 3 });
      const causes = out.causes.map((c: { property: string; value: string; instances: string[]; replacement: string | null }) => [c.property, c.value, c.instances, c.replacement]);
      expect(causes).toEqual(
        expect.arrayContaining([
          ['hw_machine_type', 'pc-i440fx-2.11', [ids['oldMachine']], canonicalOf(newer.caps, 'pc')],
          // The old machine type's instance has cirrus and IDE too; gop's is on IDE as well.
          ['hw_video_model', 'cirrus', [ids['oldMachine'], ids['cirrus']], 'virtio'],
          ['hw_cdrom_bus', 'ide', [ids['oldMachine'], ids['cirrus'], ids['gop']], 'sata'],
          ['hw_video_model', 'gop', [ids['gop']], 'virtio'],
        ]),
      );
      expect(causes).toHaveLength(4);
      const cirrus = out.causes.find((c: { value: string }) => c.value === 'cirrus');
      expect(cirrus.reason).toMatch(/^compute-a, planned QEMU \(machine pc-i440fx-\S+, arch x86_64\) cannot run hw_video_model=cirrus: allowed video models here: (?!.*cirrus)/);
      expect(cirrus.command).toBe('hwstash image-property set --all --host compute-a --where hw_video_model=cirrus --property hw_video_model=virtio');

      // The command it proposes is one `image-property set` accepts: dry-run it.
      const dry = await w.cli([...cirrus.command.split(' ').slice(1), '--dry-run', '--format', 'json']);
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({
        host: 'compute-a',
        matched: 2,
        instances: [
          { uuid: ids['oldMachine'], outcome: 'would-change' },
          { uuid: ids['cirrus'], outcome: 'would-change' },
        ],
      });

      const table = await w.cli(args, { tty: true });
      expect(table.code).toBe(7);
      expect(table.stdout).toMatch(/hw_cdrom_bus=ide .* compute-a .* 3 /);
      expect(table.stdout).toContain('4 instance(s) on 1 x86_64/qemu host(s): 3 could not start after the upgrade');
      // libvirt 9.0 lists no input devices: said, per property, not passed silently.
      expect(out.notChecked).toEqual({ hw_input_bus: 4, hw_pointer_model: 4 });

      // The same QEMU as today on compute-b: nothing breaks (its partial stash still runs).
      const same = await w.cli(['what-if', '--domcaps', file('pc-now.xml', real.pc), '--capabilities', file('caps-now.xml', real.caps), '--host', 'compute-b', '--format', 'json']);
      expect(same.code).toBe(0);
      expect(JSON.parse(same.stdout)).toMatchObject({ instances: 1, cannotStart: 0, causes: [] });

      // Without --capabilities machine types are not checked: the old machine type's devices are.
      const noCaps = await w.cli(['what-if', '--domcaps', file('pc2.xml', newer.pc), '--host', 'compute-a', '--format', 'json']);
      expect(JSON.parse(noCaps.stdout)).toMatchObject({ machineTypesChecked: false, cannotStart: 3 });
    });

    test('what-if refuses bad input, naming the option, and writes nothing', async () => {
      const before = await w.dump();
      const missing = await w.cli(['what-if', '--domcaps', path.join(w.dir, 'nope.xml')]);
      expect(missing).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining(`--domcaps ${path.join(w.dir, 'nope.xml')}: cannot be read: ENOENT`) });
      const bad = path.join(w.dir, 'bad.xml');
      fs.writeFileSync(bad, '<domain/>');
      expect(await w.cli(['what-if', '--domcaps', bad])).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('--domcaps') });
      const pc = path.join(w.dir, 'pc-ok.xml');
      fs.writeFileSync(pc, real.pc);
      expect(await w.cli(['what-if', '--domcaps', pc, '--capabilities', bad])).toMatchObject({ code: 1, stderr: expect.stringContaining('--capabilities') });
      expect(await w.cli(['what-if', '--domcaps', pc, '--host', 'compute-zz'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--host compute-zz: no profile recorded') });
      expect(await w.cli(['what-if'])).toMatchObject({ code: 1, stderr: expect.stringContaining('--domcaps') });
      expect(await w.dump()).toEqual(before);
    });
  });
}
