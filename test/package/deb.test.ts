/**
 * The Debian package as an operator gets it: installed with apt in a clean Debian 12 tree (no
 * compiler, no Node.js), its commands run from there, then its unit under a real systemd as PID 1
 * (systemd-nspawn) beside a stand-in nova-compute and the container's own Debian libvirtd (QEMU
 * under TCG), against this machine's MariaDB and RabbitMQ: READY only after the first reconcile, every
 * hardening option of the packaged unit in effect while the agent reads and redefines a domain
 * through libvirt's socket and runs virsh for capabilities as nova, restarts after kill -9 and after a watchdog timeout,
 * restarts and reconciles with nova-compute, drains on stop; then upgrade, remove and purge.
 * The figures the issue asks for are printed as `PACKAGE …` lines.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Store } from '../../src/store/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { createTestDatabase, type TestDatabase } from '../store/databases.js';
import { oldNovaGuest } from '../e2e/helpers/guests.js';
import { Container, agentConfig, cleanTree, debPackage } from './container.js';

const exec = promisify(execFile);
const HOST = `ct-${randomBytes(3).toString('hex')}`;
const UNIT = 'hwstash-agent.service';
const figure = (what: string, value: string) => console.log(`PACKAGE ${what}: ${value}`);

let deb: string;
let ct: Container;
let db: TestDatabase;
let store: Store;
/** A stopped guest with a domain in the container's libvirtd, as an old Nova left it. */
let guest: string;

beforeAll(async () => {
  deb = await debPackage();
  figure('size', `${(fs.statSync(deb).size / 1048576).toFixed(1)} MiB (${path.basename(deb)})`);
  ct = await Container.copyOf(await cleanTree());
  db = await createTestDatabase('mariadb');
  store = await Store.open(db.url);
  await store.initNovaSchema();
}, 1_200_000);

afterAll(async () => {
  await ct?.destroy();
  await store?.close();
  await db?.drop();
  for (const q of [`hwstash.${HOST}`, `hwstash.${HOST}.dead`]) await exec('rabbitmqctl', ['-q', 'delete_queue', q]).catch(() => undefined);
}, 120_000);

test('lintian finds no errors in it', async () => {
  const r = await exec('lintian', ['--fail-on', 'error', '--no-tag-display-limit', deb], { timeout: 600_000, maxBuffer: 1 << 26 }).then(
    (x) => ({ code: 0, out: x.stdout + x.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 255, out: (e.stdout ?? '') + (e.stderr ?? '') }),
  );
  const errors = r.out.split('\n').filter((l) => l.startsWith('E:'));
  figure('lintian', `${errors.length} errors, ${r.out.split('\n').filter((l) => l.startsWith('W:')).length} warnings`);
  expect({ code: r.code, errors }).toEqual({ code: 0, errors: [] });
}, 600_000);

test('apt installs it with its dependencies from Debian on a tree with no compiler and no Node.js; its commands run', async () => {
  expect((await ct.chroot('command -v cc gcc g++ make node nodejs npm')).out.trim()).toBe('');
  fs.copyFileSync(deb, path.join(ct.tree, 'tmp/hwstash.deb'));
  const started = Date.now();
  const installed = await ct.chroot('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/hwstash.deb', 900_000);
  expect({ code: installed.code, out: installed.code === 0 ? '' : installed.out.slice(-3000) }).toEqual({ code: 0, out: '' });
  figure('install time on a clean tree (apt-get update + install with dependencies)', `${((Date.now() - started) / 1000).toFixed(1)} s`);

  const help = await ct.chroot('hwstash --help');
  expect(help.code).toBe(0);
  expect(help.out).toContain('image-property');
  const defaults = await ct.chroot('hwstash defaults --property os_distro=win10 --format json');
  expect(defaults.code).toBe(0);
  expect(JSON.parse(defaults.out)).toMatchObject({ properties: expect.anything() });
  expect(defaults.out).toContain('"e1000"'); // libosinfo's answer for Windows 10, from the osinfo-db package
  const status = await ct.chroot('hwstash db status --format json');
  expect({ code: status.code, out: status.code === 0 ? '' : status.out }).toEqual({ code: 0, out: '' });

  // The conffile: root and the nova group only; the unit enabled with nova-compute.
  expect((await ct.chroot('stat -c "%U:%G %a" /etc/hwstash/hwstash.conf')).out.trim()).toBe('root:nova 640');
  expect(ct.exists('etc/systemd/system/nova-compute.service.wants/hwstash-agent.service')).toBe(true);
  expect(ct.exists('etc/systemd/system/nova-compute.service.wants/hwstash-reconcile.service')).toBe(true);
}, 1_200_000);

describe('under systemd', () => {
  const mainPid = async () => Number((await ct.sh(`systemctl show -p MainPID --value ${UNIT}`)).out.trim());
  const active = `test "$(systemctl is-active ${UNIT})" = active`;
  const journal = async () => (await ct.sh(`journalctl -u ${UNIT} -o cat --no-pager`)).out;
  const reconciles = async () => (await journal()).split('\n').filter((l) => l.includes('"msg":"reconcile done"')).length;

  beforeAll(async () => {
    // This host's instances, as Nova left them (the first stopped, with a domain defined below);
    // and hwstash's configuration as an operator edits it.
    const uuids = await insertInstances(
      store,
      Array.from({ length: 3 }, (_, i) => ({ host: HOST, vmState: i === 0 ? 'stopped' : 'active', displayName: `ct-${i}`, imageProperties: { os_distro: 'win10' } })),
    );
    guest = uuids[0]!;
    const libvirtd = await ct.useDebianLibvirtd(['nova']);
    expect(libvirtd).toMatchObject({ code: 0 });
    figure('libvirt group', libvirtd.out.trim());
    ct.write('etc/hwstash/hwstash.conf', agentConfig(HOST, db.url, 'qemu:///system'), 0o640);
    // Shorter than the shipped 60 s, so a watchdog timeout fits in a test.
    ct.write('etc/systemd/system/hwstash-agent.service.d/test-watchdog.conf', '[Service]\nWatchdogSec=6s\n');
    await ct.chroot('chgrp nova /etc/hwstash/hwstash.conf');
    // Debian's nova-compute (a Recommends) enabled itself at boot; the test starts its stand-in
    // by hand, so that "start nova-compute brings hwstash up" is what is observed.
    await ct.chroot('rm -f /etc/systemd/system/multi-user.target.wants/nova-compute.service');
    await ct.boot();
    fs.writeFileSync(
      path.join(ct.out, 'guest.xml'),
      oldNovaGuest({ name: `instance-ct-${guest.slice(0, 8)}`, uuid: guest, domainType: 'qemu', machine: 'pc', diskPath: `/var/lib/nova/instances/${guest}/disk`, diskBus: 'ide', diskDev: 'hda', video: 'cirrus', nic: 'rtl8139' }),
    );
    const defined = await ct.sh('virsh -q -c qemu:///system define /out/guest.xml', 120_000);
    expect(defined).toMatchObject({ code: 0 });
  }, 600_000);

  test('systemctl start nova-compute brings it up: active only once READY, after the first reconcile, with a status', async () => {
    expect((await ct.sh(`systemctl is-enabled ${UNIT}`)).out.trim()).toBe('enabled');
    expect((await ct.sh(`systemctl is-active ${UNIT}`)).out.trim()).not.toBe('active');
    const r = await ct.sh('systemctl start nova-compute');
    expect(r).toMatchObject({ code: 0 });
    await ct.until(active, 60_000, 'hwstash active');
    const show = (await ct.sh(`systemctl show -p ExecMainStartTimestampMonotonic -p ActiveEnterTimestampMonotonic -p StatusText -p Type ${UNIT}`)).out;
    const v = Object.fromEntries(show.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
    expect(v['Type']).toBe('notify');
    expect(v['StatusText']).toBe(`consuming Nova notifications for ${HOST}`);
    figure('start to READY', `${((Number(v['ActiveEnterTimestampMonotonic']) - Number(v['ExecMainStartTimestampMonotonic'])) / 1e6).toFixed(2)} s`);
    // hwstash-reconcile.service stashed the host before nova-compute started (its init_host
    // then finds nothing to register), as nova, and succeeded.
    const kv = (text: string) => Object.fromEntries(text.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
    const oneshot = kv((await ct.sh('systemctl show -p Result -p ExecMainStartTimestampMonotonic -p ExecMainExitTimestampMonotonic hwstash-reconcile.service')).out);
    const nova = kv((await ct.sh('systemctl show -p ExecMainStartTimestampMonotonic nova-compute.service')).out);
    expect(oneshot['Result']).toBe('success');
    expect(Number(oneshot['ExecMainExitTimestampMonotonic'])).toBeGreaterThan(0);
    expect(Number(oneshot['ExecMainExitTimestampMonotonic'])).toBeLessThanOrEqual(Number(nova['ExecMainStartTimestampMonotonic']));
    figure('reconcile before nova-compute (hwstash-reconcile.service)', `${((Number(oneshot['ExecMainExitTimestampMonotonic']) - Number(oneshot['ExecMainStartTimestampMonotonic'])) / 1e6).toFixed(2)} s`);
    // Its summary in the journal (JSON: stdout is not a terminal), after the migration it ran first.
    const oneshotLog = (await ct.sh('journalctl -u hwstash-reconcile.service -o cat --no-pager')).out;
    expect(oneshotLog).toMatch(/applied migration\(s\) 1/);
    expect(oneshotLog).toMatch(/"instancesSeen": 3,\s+"instancesStashed": 3,/);
    const log = await journal();
    // The agent's own reconcile ran before READY (its summary is in the journal, as a JSON line)
    // and found the host already stashed.
    const done = log.split('\n').find((l) => l.includes('"msg":"reconcile done"'));
    expect(JSON.parse(done!)).toMatchObject({ host: HOST, instances_seen: 3, instances_stashed: 0 });
    expect((await ct.sh(`stat -c %U /proc/$(systemctl show -p MainPID --value ${UNIT})`)).out.trim()).toBe('nova');
  }, 180_000);

  test('every hardening option of the packaged unit is in effect, and none breaks a real path: libvirt socket, virsh capabilities, database, bus, metrics', async () => {
    const pid = await mainPid();
    // 1. The unit as packaged: nothing but the test's watchdog drop-in, and systemd applies every
    //    option the unit file sets, with the value it sets.
    const unitFile = ct.read(`lib/systemd/system/${UNIT}`);
    const service = unitFile.slice(unitFile.indexOf('[Service]'), unitFile.indexOf('[Install]'));
    const options = service
      .split('\n')
      .filter((l) => /^[A-Z][A-Za-z]+=/.test(l))
      .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]);
    const hardening = options.filter(([k]) => !/^(Type|NotifyAccess|ExecStart|Environment|Restart|RestartSec|Timeout\w+|WatchdogSec|StateDirectory\w*|SystemCallFilter)$/.test(k));
    expect(hardening.length).toBeGreaterThanOrEqual(30);
    const keys = [...new Set([...hardening.map(([k]) => k), 'SystemCallFilter', 'DropInPaths', 'WatchdogUSec'])];
    const shown = Object.fromEntries(
      (await ct.sh(`systemctl show ${keys.map((k) => `-p ${k}`).join(' ')} ${UNIT}`)).out
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    expect(shown['DropInPaths']).toBe(`/etc/systemd/system/${UNIT}.d/test-watchdog.conf`);
    // How systemctl show prints what the unit file says: address families as a sorted list, an
    // errno by its number.
    const asShown: Record<string, (v: string) => string> = {
      RestrictAddressFamilies: (v) => v.split(/\s+/).sort().join(' '),
      SystemCallErrorNumber: (v) => String(os.constants.errno[v as keyof typeof os.constants.errno] ?? v),
    };
    const normalise = (k: string, v: string | undefined) => (v === undefined ? v : k === 'RestrictAddressFamilies' ? asShown[k]!(v) : v);
    const mismatches = hardening
      .map(([k, v]) => [k, (asShown[k] ?? ((x: string) => x))(v), normalise(k, shown[k])])
      .filter(([, want, got]) => want !== got);
    expect(mismatches).toEqual([]);
    // The system call filter: an allow-list (@system-service) from which none of the denied
    // groups' calls survived, as systemd itself expands them.
    const allowed = new Set(shown['SystemCallFilter']!.split(' '));
    expect(allowed.has('read') && allowed.has('connect')).toBe(true);
    const denied = (options.filter(([k, v]) => k === 'SystemCallFilter' && v.startsWith('~')).map(([, v]) => v.slice(1)).join(' ')).split(' ').filter(Boolean);
    expect(denied.length).toBeGreaterThanOrEqual(10);
    const members = (await ct.sh(`systemd-analyze syscall-filter --no-pager ${denied.join(' ')}`)).out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[a-z_0-9]+$/.test(l));
    expect(members.length).toBeGreaterThan(50);
    expect(members.filter((m) => allowed.has(m))).toEqual([]);
    // …and in effect on the running process: no new privileges, a seccomp filter, no capabilities,
    // the libvirt group (its way to libvirt's socket), a read-only root, a private /tmp.
    const status = (await ct.sh(`grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd|Groups):' /proc/${pid}/status`)).out;
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    expect(status).toMatch(/Seccomp:\s+2/);
    expect(status).toMatch(/CapEff:\s+0{16}/);
    expect(status).toMatch(/CapBnd:\s+0{16}/);
    const libvirtGid = (await ct.sh('getent group libvirt | cut -d: -f3')).out.trim();
    expect(status.match(/Groups:(.*)/)![1]!.trim().split(/\s+/)).toContain(libvirtGid);
    const mounts = (await ct.sh(`cat /proc/${pid}/mountinfo`)).out.split('\n').map((l) => l.split(' '));
    const mount = (p: string) => mounts.filter((m) => m[4] === p).pop();
    expect(mount('/')![5]).toMatch(/(^|,)ro(,|$)/);
    expect(mount('/tmp')).toBeDefined();

    // 2. libvirt: the agent connected through the socket of the container's libvirtd, and the
    //    reconcile before nova-compute (same unit hardening) read the stopped guest's domain:
    //    stashed as it is, source domain.
    const log = await journal();
    const connected = log.split('\n').filter((l) => l.includes('"msg":"libvirt connected"'));
    expect(connected.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(connected[0]!)).toMatchObject({ uri: 'qemu:///system' });
    expect(log).not.toContain('libvirt unreachable');
    const stored = (await store.liveInstance(guest))!.stored;
    expect([stored['hw_disk_bus'], stored['hw_video_model'], stored['hw_vif_model']].map((p) => p.value)).toEqual(['ide', 'cirrus', 'rtl8139']);
    const fromDomain = (await store.history(guest)).filter((h) => h.valueSource === 'domain').map((h) => h.property);
    expect(fromDomain).toEqual(expect.arrayContaining(['hw_disk_bus', 'hw_video_model', 'hw_vif_model', 'hw_machine_type']));

    // 3. virsh as nova (outside the unit), against the same socket: host capabilities with QEMU
    //    guests (TCG: no /dev/kvm here), and domain capabilities.
    const caps = await ct.sh('runuser -u nova -- virsh -c qemu:///system capabilities');
    expect(caps.code).toBe(0);
    expect(caps.out).toMatch(/<guest>[\s\S]*<arch name='x86_64'>[\s\S]*<domain type='qemu'/);
    const domcaps = await ct.sh('runuser -u nova -- virsh -c qemu:///system domcapabilities --virttype qemu --arch x86_64 --machine pc');
    expect(domcaps.code).toBe(0);
    expect(domcaps.out).toContain('<domainCapabilities>');

    // 4. The agent's own virsh, inside the sandbox: the operator changes the stopped guest's video
    //    model; on power-on the agent checks it against this QEMU's host and domain capabilities
    //    (virsh capabilities, virsh domcapabilities, run by the agent as nova under every option
    //    above) and redefines the domain through the binding.
    const set = await ct.sh(`hwstash image-property set ${guest} --property hw_video_model=vga`);
    expect(set.code).toBe(0);
    expect((await ct.sh(`hwstash emit instance.power_on.start --instance ${guest}`)).code).toBe(0);
    await ct.until(`journalctl -u ${UNIT} -o cat --no-pager | grep '"msg":"domain definition follows the stash"' | grep -q '"instance_uuid":"${guest}"'`, 60_000, 'the follow of the guest in the journal');
    const follows = (await journal()).split('\n').filter((l) => l.includes('"instance_uuid":"' + guest + '"'));
    expect(JSON.parse(follows.find((l) => l.includes('"msg":"domain definition follows the stash"'))!)).toMatchObject({ outcome: 'redefined' });
    // What the capabilities could not say: only devices libvirt 9.0's domain capabilities do not
    // list (NIC models, input buses), said after reading them; had virsh failed in the sandbox,
    // the host or domain capabilities would be "unavailable" here and the video model unchecked.
    const notChecked = follows.filter((l) => l.includes('"msg":"capabilities did not cover every device"')).flatMap((l) => JSON.parse(l).not_checked as string[]);
    expect(notChecked.filter((n) => /unavailable|hw_video_model/.test(n))).toEqual([]);
    expect(notChecked.some((n) => /this host's domain capabilities \(machine pc-i440fx-[\d.]+, arch x86_64\) do not list/.test(n))).toBe(true);
    expect(follows.filter((l) => l.includes('"msg":"event failed"'))).toEqual([]);
    const xml = (await ct.sh(`virsh -c qemu:///system dumpxml --inactive ${guest}`)).out;
    expect(xml).toMatch(/<video>\s*<model type='vga'/);
    expect(xml).toMatch(/<target dev='hda' bus='ide'\/>/);

    // 5. Database, bus and metrics: /healthz (the container shares this machine's network).
    const listening = (await journal()).split('\n').filter((l) => l.includes('"msg":"health and metrics listening"')).pop();
    const url = JSON.parse(listening!).url as string;
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', database: true, bus: true, libvirt: true, reconciled: true });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^hwstash_domains_redefined_total\{outcome="redefined"\} 1$/m);
    expect(metrics).toMatch(/^hwstash_database_connected 1$/m);
    expect(metrics).toMatch(/^hwstash_bus_connected 1$/m);
    expect(await mainPid()).toBe(pid);
  }, 240_000);

  test('an event is handled and logged to the journal as JSON with the instance uuid', async () => {
    const [uuid] = await insertInstances(store, [{ host: HOST, vmState: 'active', displayName: 'ct-new' }]);
    const emitted = await ct.sh(`hwstash emit instance.create.end --instance ${uuid}`);
    expect(emitted).toMatchObject({ code: 0 });
    await ct.until(`journalctl -u ${UNIT} -o cat --no-pager | grep -q '"instance_uuid":"${uuid}".*"msg":"stashed"'`, 30_000, 'the stash of the new instance in the journal');
    expect((await store.liveInstance(uuid!))!.stored['hw_video_model']).toBeDefined();
  }, 120_000);

  test('kill -9: restarted', async () => {
    const before = await mainPid();
    const t0 = Date.now();
    await ct.sh(`systemctl kill -s KILL ${UNIT}`);
    await ct.until(`${active} && [ "$(systemctl show -p MainPID --value ${UNIT})" != ${before} ]`, 60_000, 'restart after kill -9');
    figure('recovery from kill -9 (RestartSec=5s)', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 120_000);

  test('an agent that stops answering (SIGSTOP) is killed by the watchdog and restarted', async () => {
    const before = await mainPid();
    const t0 = Date.now();
    await ct.sh(`kill -STOP ${before}`);
    await ct.until(`${active} && [ "$(systemctl show -p MainPID --value ${UNIT})" != ${before} ]`, 60_000, 'restart after a watchdog timeout');
    figure('recovery from a watchdog timeout (WatchdogSec=6s here, RestartSec=5s)', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(await journal()).toMatch(/[Ww]atchdog timeout/);
  }, 120_000);

  test('systemctl restart nova-compute restarts it, and it reconciles', async () => {
    const before = await mainPid();
    const reconciled = await reconciles();
    const t0 = Date.now();
    await ct.sh('systemctl restart nova-compute');
    await ct.until(`${active} && [ "$(systemctl show -p MainPID --value ${UNIT})" != ${before} ]`, 60_000, 'restart with nova-compute');
    // Active means READY, which the agent reports only after its start-up reconcile.
    figure('reconcile after a nova-compute restart (restart to READY, reconcile included)', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(await reconciles()).toBe(reconciled + 1);
  }, 120_000);

  test('systemctl stop nova-compute stops it, draining in-flight events: nothing lost or applied twice', async () => {
    const uuids = await insertInstances(store, Array.from({ length: 40 }, (_, i) => ({ host: HOST, vmState: 'active', displayName: `ct-drain-${i}` })));
    await ct.sh(`printf '%s\\n' ${uuids.join(' ')} | xargs -P 4 -I{} hwstash emit instance.create.end --instance {} --format json >/dev/null`, 180_000);
    const stopped = await ct.sh('systemctl stop nova-compute');
    expect(stopped).toMatchObject({ code: 0 });
    expect((await ct.sh(`systemctl is-active ${UNIT}`)).out.trim()).toBe('inactive');
    expect((await ct.sh(`systemctl show -p Result --value ${UNIT}`)).out.trim()).toBe('success');
    expect(await journal()).toContain('"drained":true');
    // Back up: what was still queued is handled; every instance stashed exactly once.
    await ct.sh('systemctl start nova-compute');
    await ct.until(active, 60_000, 'hwstash active again');
    for (const u of uuids) {
      await ct.until(`hwstash image-property history ${u} --format json | grep -q hw_vif_model`, 30_000, `stash of ${u}`);
      expect((await store.history(u)).length).toBe(11);
    }
  }, 300_000);

  test('upgrade restarts it and keeps the edited conffile; remove stops and disables it; purge removes its state', async () => {
    // The same package with a higher version, as the next release would be.
    const unpacked = path.join(ct.out, 'next');
    await exec('dpkg-deb', ['-R', deb, unpacked]);
    const control = path.join(unpacked, 'DEBIAN/control');
    fs.writeFileSync(control, fs.readFileSync(control, 'utf8').replace(/^Version: (.*)$/m, 'Version: $1+next1'));
    await exec('dpkg-deb', ['--root-owner-group', '-b', unpacked, path.join(ct.out, 'next.deb')]);
    const edited = ct.read('etc/hwstash/hwstash.conf');

    const before = await mainPid();
    const upgraded = await ct.sh('DEBIAN_FRONTEND=noninteractive dpkg -i /out/next.deb', 300_000);
    expect({ code: upgraded.code, out: upgraded.code === 0 ? '' : upgraded.out }).toEqual({ code: 0, out: '' });
    await ct.until(`${active} && [ "$(systemctl show -p MainPID --value ${UNIT})" != ${before} ]`, 60_000, 'restart after upgrade');
    expect(ct.read('etc/hwstash/hwstash.conf')).toBe(edited);

    const removed = await ct.sh('DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq hwstash', 300_000);
    expect(removed).toMatchObject({ code: 0 });
    expect((await ct.sh(`systemctl is-active ${UNIT}`)).out.trim()).not.toBe('active');
    expect(ct.exists('etc/systemd/system/nova-compute.service.wants/hwstash-agent.service')).toBe(false);
    expect(ct.exists('etc/systemd/system/nova-compute.service.wants/hwstash-reconcile.service')).toBe(false);
    expect(ct.read('etc/hwstash/hwstash.conf')).toBe(edited); // a conffile outlives remove
    expect(ct.exists('var/lib/hwstash')).toBe(true);

    const purged = await ct.sh('DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq hwstash', 300_000);
    expect(purged).toMatchObject({ code: 0 });
    expect(ct.exists('var/lib/hwstash')).toBe(false);
    expect(ct.exists('etc/hwstash')).toBe(false);
    expect(ct.exists('usr/lib/hwstash')).toBe(false);
  }, 600_000);
});
