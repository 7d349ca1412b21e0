/**
 * A clean Debian 12 tree (scripts/debian-tree.sh) copied for one test, the package installed in
 * it with apt from Debian's archive, then booted with systemd as PID 1 (systemd-nspawn). The test
 * drives it through a small unit inside (`driver.service`) that runs each shell command the test
 * drops into a shared folder and writes back its output and exit status: no system bus or
 * machine registration is needed (there is none on this machine). The container shares this
 * machine's network, so its hwstash reaches the test's MariaDB and RabbitMQ on 127.0.0.1.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../agent/helpers/cli.js';

const exec = promisify(execFile);

/**
 * The configuration a packaged agent gets in these tests: this machine's RabbitMQ and the test's
 * MariaDB. libvirt: `libvirtUri`, by default libvirt's in-process test driver (no daemon; virsh
 * still runs for it); deb.test.ts passes qemu:///system, the container's own Debian libvirtd
 * (Container.useDebianLibvirtd), reached through its socket as a compute host's agent does.
 */
export function agentConfig(host: string, databaseUrl: string, libvirtUri = 'test:///default'): string {
  return [
    '[DEFAULT]',
    `host = ${host}`,
    'transport_url = rabbit://guest:guest@127.0.0.1:5672/',
    '[database]',
    `connection = ${databaseUrl}`,
    '[libvirt]',
    `connection_uri = ${libvirtUri}`,
    'virt_type = qemu',
    '[notifications]',
    'notification_format = versioned',
    '[oslo_messaging_notifications]',
    'driver = messagingv2',
    '[hwstash]',
    'metrics_address = 127.0.0.1:0',
    'startup_jitter = 0',
    '',
  ].join('\n');
}

export interface Ran {
  code: number;
  out: string;
}

/** The clean tree, built once per machine (about a minute the first time). */
export async function cleanTree(): Promise<string> {
  const { stdout } = await exec(path.join(REPO, 'scripts/debian-tree.sh'), [], { timeout: 600_000, maxBuffer: 1 << 24 });
  return stdout.trim().split('\n').pop()!;
}

/** The package: $HWSTASH_DEB when CI built it already, else built now (about three minutes). */
export async function debPackage(): Promise<string> {
  const given = process.env['HWSTASH_DEB'];
  if (given && fs.existsSync(given)) return given;
  const { stdout } = await exec(path.join(REPO, 'scripts/package-deb.sh'), [], { timeout: 900_000, maxBuffer: 1 << 26 });
  return stdout.trim().split('\n').pop()!;
}

async function run(argv: string[], timeout = 600_000): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(argv[0]!, argv.slice(1), { timeout, maxBuffer: 1 << 26 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 255, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

const DRIVER_SCRIPT = `#!/bin/sh
# Runs /out/cmd.N in order, writing /out/res.N.out and then /out/res.N (the exit status).
n=0
while :; do
  if [ -f /out/cmd.$n ]; then
    sh /out/cmd.$n > /out/res.$n.out 2>&1; echo $? > /out/res.$n.tmp; mv /out/res.$n.tmp /out/res.$n
    n=$((n + 1))
  elif [ -f /out/quit ]; then
    systemctl --no-block poweroff
    exit 0
  else
    sleep 0.1
  fi
done
`;

const DRIVER_UNIT = `[Unit]
Description=test driver
After=multi-user.target
[Service]
Type=simple
ExecStart=/usr/local/sbin/hwstash-test-driver
`;

/** What nova-compute is to hwstash's unit: a service to be part of; it does nothing. */
const NOVA_COMPUTE_STANDIN = `[Unit]
Description=stand-in for nova-compute (the test's)
[Service]
Type=simple
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
`;

export class Container {
  private child: ChildProcess | null = null;
  private n = 0;
  private console = '';

  private constructor(
    readonly tree: string,
    readonly out: string,
  ) {}

  /** A private copy of the clean tree. */
  static async copyOf(clean: string): Promise<Container> {
    const base = fs.mkdtempSync('/var/tmp/hwstash-ct-');
    const tree = path.join(base, 'root');
    const out = path.join(base, 'out');
    fs.mkdirSync(out);
    const cp = await run(['cp', '-a', '--reflink=auto', clean, tree]);
    if (cp.code !== 0) throw new Error(`copying ${clean}: ${cp.out}`);
    return new Container(tree, out);
  }

  /** A command in the tree without booting it (chroot, /proc mounted for the time). */
  async chroot(script: string, timeout = 600_000): Promise<Ran> {
    await run(['mount', '-t', 'proc', 'proc', path.join(this.tree, 'proc')]);
    try {
      return await run(['chroot', this.tree, '/bin/sh', '-c', script], timeout);
    } finally {
      await run(['umount', path.join(this.tree, 'proc')]);
    }
  }

  write(file: string, text: string, mode = 0o644): void {
    const p = path.join(this.tree, file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text, { mode });
    fs.chmodSync(p, mode);
  }

  read(file: string): string {
    return fs.readFileSync(path.join(this.tree, file), 'utf8');
  }

  /** Whether the path exists in the tree (a symlink counts, wherever it points). */
  exists(file: string): boolean {
    try {
      fs.lstatSync(path.join(this.tree, file));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The container's own libvirtd, as Debian sets it up on a compute host: the package recommends
   * nova-compute, whose nova-compute-kvm brings libvirt-daemon-system (socket-activated libvirtd,
   * polkit with Debian's rule admitting group libvirt) and QEMU (under TCG here: there is no
   * /dev/kvm). Never this machine's /run/libvirt: bound into a booted container, the container's
   * own libvirtd sockets replace this machine's (which broke its libvirtd and virtlogd once).
   * The default network's autostart is removed: the container shares this machine's network
   * namespace (without CAP_NET_ADMIN it could not start anyway). `members` join group libvirt
   * where they are not in it (Debian's nova-compute-libvirt adds nova itself). Returns what it
   * did, or a failure when Debian's libvirtd is not in the tree.
   */
  async useDebianLibvirtd(members: string[]): Promise<Ran> {
    for (const f of ['usr/sbin/libvirtd', 'lib/systemd/system/libvirtd.service', 'usr/share/polkit-1/rules.d/60-libvirt.rules', 'usr/bin/qemu-system-x86_64']) {
      if (!this.exists(f)) return { code: 1, out: `/${f} is missing: libvirt-daemon-system and qemu-system-x86 (nova-compute's) were not installed` };
    }
    fs.rmSync(path.join(this.tree, 'etc/libvirt/qemu/networks/autostart/default.xml'), { force: true });
    return this.chroot(
      ['set -e', ...members.map((m) => `id -nG ${m} | tr ' ' '\\n' | grep -qx libvirt && echo "${m}: already in libvirt" || { adduser --quiet ${m} libvirt; echo "${m}: added to libvirt"; }`)].join('\n'),
    );
  }

  /** Boot with systemd as PID 1; resolves once the driver answers. */
  async boot(): Promise<void> {
    this.write('usr/local/sbin/hwstash-test-driver', DRIVER_SCRIPT, 0o755);
    this.write('etc/systemd/system/driver.service', DRIVER_UNIT);
    this.write('etc/systemd/system/nova-compute.service', NOVA_COMPUTE_STANDIN);
    this.child = spawn(
      'systemd-nspawn',
      ['-b', '-D', this.tree, '--register=no', '--keep-unit', '--console=pipe', `--bind=${this.out}:/out`, 'systemd.wants=driver.service'],
      { env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (c: Buffer) => (this.console = (this.console + c.toString()).slice(-20_000)));
    this.child.stderr!.on('data', (c: Buffer) => (this.console = (this.console + c.toString()).slice(-20_000)));
    const booted = await this.sh('echo up', 120_000);
    if (booted.out.trim() !== 'up') throw new Error(`container did not come up: ${this.console.slice(-3000)}`);
  }

  /** A shell command run by the driver inside the booted container. */
  async sh(script: string, timeoutMs = 120_000): Promise<Ran> {
    const n = this.n++;
    fs.writeFileSync(path.join(this.out, `cmd.${n}.tmp`), script);
    fs.renameSync(path.join(this.out, `cmd.${n}.tmp`), path.join(this.out, `cmd.${n}`));
    const done = path.join(this.out, `res.${n}`);
    const until = Date.now() + timeoutMs;
    while (!fs.existsSync(done)) {
      if (this.child && this.child.exitCode !== null) throw new Error(`container exited while running ${JSON.stringify(script)}: ${this.console.slice(-3000)}`);
      if (Date.now() > until) throw new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(script)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { code: Number(fs.readFileSync(done, 'utf8').trim()), out: fs.readFileSync(path.join(this.out, `res.${n}.out`), 'utf8') };
  }

  /** Poll a command inside until it exits 0; returns the milliseconds it took. */
  async until(script: string, timeoutMs: number, what: string): Promise<number> {
    const started = Date.now();
    for (;;) {
      if ((await this.sh(script)).code === 0) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Power off (SIGTERM to nspawn if it does not go), then remove the copy. */
  async destroy(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      fs.writeFileSync(path.join(this.out, 'quit'), '0');
      const exited = new Promise((r) => child.once('exit', r));
      const timer = setTimeout(() => child.kill('SIGTERM'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await run(['umount', path.join(this.tree, 'proc')]);
    fs.rmSync(path.dirname(this.tree), { recursive: true, force: true });
  }
}
