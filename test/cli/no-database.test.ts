/**
 * Configuration files given but no database configured (a compute host's nova.conf has no
 * [database] connection): the agent and every command that opens the database refuse, naming
 * [hwstash] database_connection and `hwstash db grants`, and create no SQLite file in state_dir;
 * the commands that need no database still work.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentProcess, ensureBuilt } from '../agent/helpers/cli.js';
import { configText, run } from './helpers.js';

const UUID = '00000000-0000-4000-8000-000000000000';

let dir: string;
let stateDir: string;
let conf: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-nodb-'));
  stateDir = path.join(dir, 'state');
  conf = path.join(dir, 'hwstash.conf');
  // `[database] connection =` empty, and no [hwstash] database_connection: as on a compute host.
  fs.writeFileSync(conf, configText('', stateDir), { mode: 0o600 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function expectRefusal(stderr: string): void {
  expect(stderr).toContain('no database configured');
  expect(stderr).toContain('[hwstash] database_connection');
  expect(stderr).toContain('hwstash db grants');
  expect(stderr).toContain(conf);
}

test.each([
  [['image-property', 'list', UUID]],
  [['image-property', 'set', UUID, '--property', 'hw_disk_bus=virtio']],
  [['reconcile']],
  [['drift']],
  [['db', 'status']],
  [['db', 'migrate']],
])('%j refuses, naming the option and the grants command; no SQLite file appears', async (args) => {
  const r = await run(['--config-file', conf, ...args]);
  expect(r.code).toBe(1);
  expectRefusal(r.stderr);
  expect(fs.existsSync(path.join(stateDir, 'hwstash.sqlite'))).toBe(false);
});

test('commands that need no database still work', async () => {
  const help = await run(['--config-file', conf, 'image-property', '--help']);
  expect(help.code).toBe(0);
  const defaults = await run(['--config-file', conf, 'defaults', '--property', 'os_distro=win10', '--format', 'json']);
  expect(defaults.stderr).toBe('');
  expect(defaults.code).toBe(0);
  const grants = await run(['--config-file', conf, 'db', 'grants', '--dialect', 'mysql', '--database', 'nova_cell1']);
  expect(grants.code).toBe(0);
  expect(grants.stdout).toContain('GRANT SELECT, INSERT, UPDATE, DELETE ON `nova_cell1`.`instance_system_metadata`');
});

test('the agent refuses to start: one fatal line with the reason, exit 1, no SQLite file', async () => {
  await ensureBuilt();
  const p = AgentProcess.spawn(['--config-file', conf, 'agent']);
  const exit = await p.exited;
  expect(exit.code).toBe(1);
  const fatal = p.find('agent failed to start');
  expect(fatal).toHaveLength(1);
  expectRefusal(String(fatal[0]!['reason']));
  expect(fs.existsSync(path.join(stateDir, 'hwstash.sqlite'))).toBe(false);
}, 180_000);
