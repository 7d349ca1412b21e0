/**
 * What a command loads, and how it ends when its reader goes away: the real `hwstash` in a child
 * process (bin/hwstash.js over the compiled CLI), its module loads traced by a preloaded hook.
 * Help and the read-only commands must not load the bus, libvirt, the XML parser, the differ,
 * the logger or the metrics; a reader that closes early ends the command quietly.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Store } from '../../src/store/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { REPO, ensureBuilt } from '../agent/helpers/cli.js';

const exec = promisify(execFile);
const TRACE = path.join(REPO, 'test/cli/helpers/trace-loads.cjs');
const HEAVY = ['sequelize', 'amqplib', '@unraid/libvirt', 'fast-xml-parser', 'diff', 'pino', 'prom-client', 'cli-progress', 'sd-notify'];

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-startup-'));
}, 240_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The packages (under node_modules) a command loaded. */
async function packagesLoaded(args: string[]): Promise<Set<string>> {
  const { stderr } = await exec(process.execPath, ['--require', TRACE, path.join(REPO, 'bin/hwstash.js'), ...args], { cwd: dir, maxBuffer: 16 << 20 });
  const out = new Set<string>();
  for (const m of stderr.matchAll(/^LOADED (?:file:\/\/)?(.*)$/gm)) {
    const p = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(decodeURIComponent(m[1]!));
    if (p) out.add(p[1]!);
  }
  return out;
}

test.each([
  [['--help']],
  [['image-property', '--help']],
  [['image-property', 'set', '--help']],
  [['db', 'grants', '--user', 'hwstash', '--dialect', 'mysql', '--database', 'nova']],
])('hwstash %j loads none of the heavy packages', async (args) => {
  const loaded = await packagesLoaded(args);
  expect(loaded.has('commander')).toBe(true);
  expect(HEAVY.filter((p) => loaded.has(p))).toEqual([]);
}, 60_000);

test('image-property list loads the database and nothing of the bus, libvirt or the XML code', async () => {
  const db = path.join(dir, 'list.sqlite');
  const conf = path.join(dir, 'list.conf');
  fs.writeFileSync(conf, `[DEFAULT]\nhost = h1\n[database]\nconnection = sqlite:///${db}\n[hwstash]\nstate_dir = ${dir}\n`, { mode: 0o600 });
  const store = await Store.open(`sqlite:///${db}`);
  let uuid: string;
  try {
    await store.initNovaSchema();
    await store.migrate();
    [uuid] = (await insertInstances(store, [{ host: 'h1', vmState: 'stopped' }])) as [string];
  } finally {
    await store.close();
  }
  const loaded = await packagesLoaded(['--config-file', conf, 'image-property', 'list', uuid, '--format', 'json']).catch((err: { stderr?: string }) => {
    throw new Error(`list failed: ${err.stderr?.split('\n').filter((l) => !l.startsWith('LOADED')).join('\n')}`);
  });
  expect(loaded.has('sequelize')).toBe(true);
  expect(['amqplib', '@unraid/libvirt', 'fast-xml-parser', 'diff', 'prom-client', 'cli-progress'].filter((p) => loaded.has(p))).toEqual([]);
}, 60_000);

test('a reader that closes early ends the command quietly: no EPIPE, no stack trace, exit 0', async () => {
  const lines = path.join(dir, 'lines.jsonl');
  fs.writeFileSync(lines, `${JSON.stringify({ id: 'x', image_properties: { os_distro: 'win10' } })}\n`.repeat(5000));
  const { stdout, stderr } = await exec('/bin/bash', ['-c', `set -o pipefail; "${process.execPath}" "${REPO}/bin/hwstash.js" defaults --batch "${lines}" | head -1; echo "status \${PIPESTATUS[0]}"`], { cwd: dir });
  expect(stderr).toBe('');
  expect(stdout).toMatch(/^\{.*\n/);
  expect(stdout.trim().split('\n').pop()).toBe('status 0');
}, 60_000);

test('defaults for every OS of the real osinfo-db: a run from the cached index prints exactly what a fresh build prints', async () => {
  const { OsInfoIndex } = await import('../../src/osinfo/index.js');
  const shortIds = (await OsInfoIndex.load('/usr/share/osinfo')).snapshot().byShortId.map(([id]) => id);
  const lines = path.join(dir, 'every-os.jsonl');
  fs.writeFileSync(lines, shortIds.map((id) => `${JSON.stringify({ id, image_properties: { os_distro: id } })}\n`).join(''));
  const home = fs.mkdtempSync(path.join(dir, 'home-'));
  const env = { ...process.env, HOME: home, XDG_CACHE_HOME: '' };
  const defaults = () => exec(process.execPath, [path.join(REPO, 'bin/hwstash.js'), 'defaults', '--batch', lines], { cwd: home, env, maxBuffer: 64 << 20 });
  const fresh = await defaults();
  const cacheFiles = fs.readdirSync(path.join(home, '.cache', 'hwstash'));
  expect(cacheFiles).toEqual([expect.stringMatching(/^osinfo-index-[0-9a-f]{16}\.json$/)]);
  const cached = await defaults();
  expect(cached.stdout.split('\n').length).toBeGreaterThan(shortIds.length);
  expect(cached.stdout).toBe(fresh.stdout);
  // The command wrote no state directory of its own into the working directory.
  expect(fs.readdirSync(home).sort()).toEqual(['.cache']);
}, 120_000);
