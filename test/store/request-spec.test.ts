/**
 * `image-property set` and `revert` update the instance's RequestSpec in Nova's API database, as
 * nova-manage does from 2024.1 on, proven with Nova 2025.1's own objects (the Debian 13 tree):
 * the RequestSpec Nova created loads after hwstash's edit, with the new value and every other
 * field as it was. Without an API database, set says so and still writes the stash.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { configText, run } from '../cli/helpers.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { nova2025_1, type NovaRelease } from './nova-releases.js';

const HOST = 'compute-reqspec';
let nova: NovaRelease;
let cell: TestDatabase;
let api: TestDatabase;
let dir: string;

beforeAll(async () => {
  nova = nova2025_1();
  cell = await createTestDatabase('mariadb');
  api = await createTestDatabase('mariadb');
  const conf = `[database]\nconnection = ${cell.url}\n[api_database]\nconnection = ${api.url}\n`;
  for (const args of [['api_db', 'sync'], ['db', 'sync']]) {
    const r = await nova.manage(conf, args);
    if (r.code !== 0) throw new Error(`nova-manage ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-reqspec-'));
}, 300_000);

afterAll(async () => {
  await cell?.drop();
  await api?.drop();
  nova?.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("set and revert edit the RequestSpec's image properties; Nova 2025.1 loads it with the new value, the rest untouched", async () => {
  const uuid = randomUUID();
  const image = { hw_video_model: 'cirrus', os_distro: 'win10', hw_disk_bus: 'ide' };
  await nova.db('create', cell.url, [], [{ uuid, host: HOST, vm_state: 'stopped', system_metadata: Object.fromEntries(Object.entries(image).map(([k, v]) => [`image_${k}`, v])) }]);
  await nova.db('reqspec-create', api.url, [uuid], image);
  const before = await nova.db('reqspec-read', api.url, [uuid]);
  expect(before.properties).toEqual(image);

  const conf = path.join(dir, 'hwstash.conf');
  fs.writeFileSync(conf, configText(cell.url, dir, { host: HOST, extra: `[api_database]\nconnection = ${api.url}\n` }), { mode: 0o600 });
  expect((await run(['--config-file', conf, 'db', 'migrate'])).code).toBe(0);
  const set = await run(['--config-file', conf, 'image-property', 'set', uuid, '--property', 'hw_video_model=virtio', '--property', 'hw_vif_model=VirtualE1000', '--skip-host-check']);
  expect({ code: set.code, stderr: set.stderr.replace(/.*host check skipped.*\n/, '') }).toEqual({ code: 0, stderr: '' });

  const after = await nova.db('reqspec-read', api.url, [uuid]);
  // The canonical values, as the stash holds them; everything else as Nova wrote it.
  expect(after.properties).toEqual({ ...image, hw_video_model: 'virtio', hw_vif_model: 'e1000' });
  expect({ flavor: after.flavor, num_instances: after.num_instances, image_name: after.image_name }).toEqual({
    flavor: before.flavor,
    num_instances: before.num_instances,
    image_name: before.image_name,
  });

  // The history records both writes.
  const history = JSON.parse((await run(['--config-file', conf, 'image-property', 'history', uuid, '--format', 'json'])).stdout).history;
  expect(history.filter((h: { source: string }) => h.source === 'set').map((h: { reason: string | null }) => h.reason)).toEqual([
    'RequestSpec updated in the API database',
    'RequestSpec updated in the API database',
  ]);

  // Revert the set: the RequestSpec goes back with the stash (hw_vif_model had no value: removed).
  expect((await run(['--config-file', conf, 'image-property', 'revert', uuid, '--skip-host-check'])).code).toBe(0);
  expect((await nova.db('reqspec-read', api.url, [uuid])).properties).toEqual(image);
}, 300_000);

test('without [api_database] connection, set writes the stash and says plainly that the RequestSpec was not updated', async () => {
  const uuid = randomUUID();
  await nova.db('create', cell.url, [], [{ uuid, host: HOST, vm_state: 'stopped', system_metadata: { image_hw_video_model: 'cirrus' } }]);
  const conf = path.join(dir, 'no-api.conf');
  fs.writeFileSync(conf, configText(cell.url, dir, { host: HOST }), { mode: 0o600 });
  const set = await run(['--config-file', conf, 'image-property', 'set', uuid, '--property', 'hw_video_model=vga', '--skip-host-check']);
  expect(set.code).toBe(0);
  expect(set.stderr).toContain("RequestSpecs were not updated: no [api_database] connection is configured");
  expect((await run(['--config-file', conf, 'image-property', 'show', uuid, 'hw_video_model'])).stdout.trim()).toBe('vga');
}, 120_000);

test('a RequestSpec that cannot be updated aborts the change: exit 1, nothing written to the stash or its history', async () => {
  const uuid = randomUUID();
  await nova.db('create', cell.url, [], [{ uuid, host: HOST, vm_state: 'stopped', system_metadata: { image_hw_video_model: 'cirrus' } }]);
  // An "API database" without Nova's API tables: the cell database itself.
  const conf = path.join(dir, 'bad-api.conf');
  fs.writeFileSync(conf, configText(cell.url, dir, { host: HOST, extra: `[api_database]\nconnection = ${cell.url}\n` }), { mode: 0o600 });
  const set = await run(['--config-file', conf, 'image-property', 'set', uuid, '--property', 'hw_video_model=vga', '--skip-host-check']);
  expect(set.code).toBe(1);
  expect(set.stderr).toMatch(/the RequestSpec cannot be updated \(.*request_specs.*\); nothing written/);
  expect((await run(['--config-file', conf, 'image-property', 'show', uuid, 'hw_video_model'])).stdout.trim()).toBe('cirrus');
  expect(JSON.parse((await run(['--config-file', conf, 'image-property', 'history', uuid, '--format', 'json'])).stdout).history).toEqual([]);
}, 120_000);
