/**
 * A libvirtd of the test's own, so that a lost connection can be produced for real without
 * touching the machine's system daemon. It runs unprivileged (as `nobody` when the tests run
 * as root), which makes it a session daemon: its socket, state and config live in a temporary
 * directory. It serves libvirt's test driver at test+unix:///default?socket=….
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NOBODY = 65534;

export class PrivateLibvirtd {
  private child: ChildProcess | null = null;
  readonly dir: string;
  readonly socket: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'hwstash-lv-'));
    if (process.geteuid?.() === 0) chownSync(this.dir, NOBODY, NOBODY);
    this.socket = join(this.dir, 'run', 'libvirt', 'libvirt-sock');
  }

  get uri(): string {
    return `test+unix:///default?socket=${this.socket}`;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('private libvirtd already running');
    rmSync(this.socket, { force: true });
    const env = [
      `HOME=${this.dir}`,
      `XDG_RUNTIME_DIR=${join(this.dir, 'run')}`,
      `XDG_CONFIG_HOME=${join(this.dir, 'config')}`,
      `XDG_CACHE_HOME=${join(this.dir, 'cache')}`,
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    ];
    // --timeout: should a test run die without stopping it, the idle daemon exits by itself.
    const daemon = ['libvirtd', '--timeout', '120'];
    const [cmd, ...args] =
      process.geteuid?.() === 0
        ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'env', '-i', ...env, ...daemon]
        : ['env', '-i', ...env, ...daemon];
    this.child = spawn(cmd as string, args, { stdio: 'ignore' });
    await this.waitForSocket();
  }

  /** SIGKILL: the daemon vanishes without closing anything, as after a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitForSocket(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.child?.exitCode !== null) throw new Error('private libvirtd exited at start');
      if (existsSync(this.socket) && (await accepts(this.socket))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`private libvirtd did not listen on ${this.socket} within 20 s`);
  }
}

function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
