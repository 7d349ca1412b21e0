/**
 * A configuration file holding a password that other local users can read is refused by every
 * `hwstash` command that reads the configuration — the agent as systemd starts it included —
 * before anything else happens, with the fix in the message (`chmod o-r FILE`). The loader's
 * rule is tested in test/config/credentials.test.ts and four commands in
 * test/cli/config-and-help.test.ts; this covers every command, found from the program itself,
 * and the real agent process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { CliContext } from '../../src/cli/context.js';
import { AgentProcess, ensureBuilt } from '../agent/helpers/cli.js';
import { Sink, run } from '../cli/helpers.js';

const PASSWORD = 'Wr-S3cr3t-0644';
const UUID = '0a538123-7143-4461-b258-dc394b17a536';

/** Arguments each command needs to get as far as reading its configuration. */
const ARGS: Record<string, string[]> = {
  agent: [],
  defaults: ['--property', 'os_distro=win10'],
  reconcile: [],
  'db migrate': [],
  'db grants': ['--dialect', 'mysql', '--database', 'nova'],
  'db init-nova-schema': [],
  'db status': [],
  'image-property list': [UUID],
  'image-property show': [UUID, 'hw_video_model'],
  'image-property set': [UUID, '--property', 'hw_video_model=vga'],
  'image-property history': [UUID],
  'image-property revert': [UUID],
  drift: [],
  'domain diff': [UUID],
  'domain sync': [UUID],
  emit: ['service.update'],
  'demo boot': [],
  'fleet hosts': [],
  'fleet record': [],
  'move-check': [UUID],
  'what-if': ['--domcaps', '/nonexistent/domcaps.xml'],
};

/** The commands that do something (no subcommands of their own), from the program. */
async function leafCommands(): Promise<string[]> {
  const ctx = new CliContext({ stdout: new Sink(), stderr: new Sink(), stdin: process.stdin, env: {} });
  const out: string[] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...prefix, sub.name()];
      if (sub.commands.length) walk(sub, p);
      else out.push(p.join(' '));
    }
  };
  walk(await buildProgram(ctx), []);
  return out.sort();
}

let dir: string;
let confs = 0;
function conf(mode: number, where: 'database' | 'transport' = 'database'): string {
  const file = path.join(dir, `nova-${++confs}.conf`);
  const secret =
    where === 'database'
      ? `[database]\nconnection = mysql+pymysql://nova:${PASSWORD}@127.0.0.1:1/nova\n`
      : `[DEFAULT]\ntransport_url = rabbit://nova:${PASSWORD}@127.0.0.1:1/\n[database]\nconnection = sqlite:///${dir}/x.sqlite\n`;
  fs.writeFileSync(file, `${secret}[libvirt]\nconnection_uri = test:///default\n[hwstash]\nstate_dir = ${dir}\nlog_level = error\n`);
  fs.chmodSync(file, mode);
  return file;
}

beforeAll(async () => {
  await ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-cred-mode-'));
}, 180_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('every command of the program is covered here', async () => {
  expect(await leafCommands()).toEqual(Object.keys(ARGS).sort());
});

describe.each(Object.entries(ARGS).filter(([name]) => name !== 'agent'))('hwstash %s', (name, args) => {
  test.each([
    [0o644, 'database'],
    [0o604, 'transport'],
  ] as const)('with a mode %o file holding a %s password: refused (exit 1), saying how to fix it', async (mode, where) => {
    const file = conf(mode, where);
    const r = await run(['--config-file', file, ...name.split(' '), ...args]);
    expect(r.code).toBe(1);
    const octal = mode.toString(8).padStart(4, '0');
    expect(r.stderr).toBe(`hwstash: configuration: ${file} holds credentials and is readable by others (mode ${octal}); run: chmod o-r ${file}\n`);
    expect(r.stdout).toBe('');
  });

  test('the same file at mode 0640 is read (whatever the command then finds)', async () => {
    const file = conf(0o640);
    const r = await run(['--config-file', file, ...name.split(' '), ...args]);
    expect(r.stderr).not.toContain('readable by others');
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});

test('the agent process refuses to start on it, before opening anything', async () => {
  const nova = conf(0o640);
  const readable = conf(0o644, 'transport');
  const p = AgentProcess.spawn(['--config-file', nova, '--config-file', readable, 'agent']);
  const exit = await p.exited;
  expect(exit.code).toBe(1);
  expect(p.stderr).toBe(`hwstash: configuration: ${readable} holds credentials and is readable by others (mode 0644); run: chmod o-r ${readable}\n`);
  // Not a single log line: nothing was started.
  expect(p.lines).toEqual([]);

  fs.chmodSync(readable, 0o640);
  const fixed = AgentProcess.spawn(['--config-file', nova, '--config-file', readable, 'agent']);
  // Past the configuration, it goes on to its database (which here has no Nova tables): it says so.
  await Promise.race([fixed.exited, new Promise((r) => setTimeout(r, 5000))]);
  fixed.kill('SIGKILL');
  await fixed.exited;
  expect(fixed.stderr).toBe('');
  expect(fixed.lines.map((l) => l['msg'])).toContain('agent failed to start');
  expect(JSON.stringify(fixed.lines)).not.toContain(PASSWORD);
}, 60_000);
