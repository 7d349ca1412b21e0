/**
 * Real Novas to run hwstash against: Zed from this machine's python3-nova (Debian 12), and
 * 2025.1 from the Debian 13 tree that scripts/nova-2025.1-tree.sh builds (run through chroot,
 * which shares this machine's network: its Nova reaches the test databases on 127.0.0.1).
 * Both run Nova's own nova-manage code (`nova.cmd.manage:main`, what /usr/bin/nova-manage runs)
 * and the DB-API helper nova/nova_db.py.
 */
import { execFile, spawn } from 'node:child_process';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const NOVA_DB = path.join(here, 'nova', 'nova_db.py');
const MANAGE = 'import sys; sys.argv[0] = "nova-manage"; from nova.cmd.manage import main; sys.exit(main())';

export const NOVA_TREE = process.env['HWSTASH_NOVA_TREE'] ?? '/var/cache/hwstash/nova-2025.1';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NovaRelease {
  readonly name: string;
  /** `nova-manage --config-file <conf> ...args`, with `conf` written where this Nova can read it. */
  manage(conf: string, args: string[]): Promise<Ran>;
  /** nova/nova_db.py: sync, create (specs on stdin), destroy, read; its JSON output. */
  db(command: 'sync' | 'create' | 'destroy' | 'read' | 'reqspec-create' | 'reqspec-read', url: string, args?: string[], stdin?: unknown): Promise<any>;
  /**
   * nova_db.py hold: one of Nova's own operations, paused at each phase it reports; `at(phase)`
   * is awaited there (another writer acts), then the operation goes on. Its JSON result.
   */
  hold(url: string, op: 'shelve' | 'register', arg: string, at: (phase: string) => Promise<void>): Promise<any>;
  /** Remove what it wrote. */
  cleanup(): void;
}

function holdProcess(argv: string[], at: (phase: string) => Promise<void>): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let last = '';
    let failed: Error | null = null;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = readline.createInterface({ input: child.stdout });
    let chain = Promise.resolve();
    lines.on('line', (line) => {
      last = line;
      const msg = JSON.parse(line) as { phase?: string };
      if (msg.phase === undefined) return;
      const phase = msg.phase;
      chain = chain.then(async () => {
        try {
          await at(phase);
        } catch (err) {
          failed = err as Error;
        }
        child.stdin.write('go\n');
      });
    });
    child.on('close', (code) => {
      void chain.then(() => {
        if (failed) reject(failed);
        else if (code !== 0) reject(new Error(`nova_db.py ${argv.slice(-3).join(' ')} exited ${code}: ${stderr.slice(-3000)}`));
        else resolve(JSON.parse(last));
      });
    });
  });
}

function exec(argv: string[], stdin?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { maxBuffer: 64 * 1024 * 1024, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 255) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(stdin ?? '');
  });
}

function release(name: string, prefix: string[], root: string): NovaRelease {
  // Files this Nova reads must be inside its root.
  const dir = fs.mkdtempSync(path.join(root, 'tmp', 'hwstash-nova-'));
  const inside = (p: string) => (root === '/' ? p : `/${path.relative(root, p)}`);
  const script = path.join(dir, 'nova_db.py');
  fs.copyFileSync(NOVA_DB, script);
  return {
    name,
    async manage(conf, args) {
      const file = path.join(dir, `nova-${randomBytes(4).toString('hex')}.conf`);
      fs.writeFileSync(file, conf);
      return exec([...prefix, '/usr/bin/python3', '-c', MANAGE, '--config-file', inside(file), ...args]);
    },
    async db(command, url, args = [], stdin) {
      const ran = await exec([...prefix, '/usr/bin/python3', inside(script), command, url, ...args], stdin === undefined ? undefined : JSON.stringify(stdin));
      if (ran.code !== 0) throw new Error(`nova_db.py ${command} (${name}) exited ${ran.code}: ${ran.stderr.slice(-2000)}`);
      return JSON.parse(ran.stdout);
    },
    hold: (url, op, arg, at) => holdProcess([...prefix, '/usr/bin/python3', inside(script), 'hold', url, op, arg], at),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Nova Zed, this machine's python3-nova. */
export function novaZed(): NovaRelease {
  return release('Zed', [], '/');
}

/** Nova 2025.1 in the Debian 13 tree; fails (never skips) when the tree was not built. */
export function nova2025_1(): NovaRelease {
  if (!fs.existsSync(path.join(NOVA_TREE, '.hwstash-tree-ready'))) {
    throw new Error(`no Debian 13 tree with Nova 2025.1 at ${NOVA_TREE}: run scripts/nova-2025.1-tree.sh (.ci/run does)`);
  }
  return release('2025.1', ['chroot', NOVA_TREE], NOVA_TREE);
}
