/**
 * `[hwstash] nova_release = auto` on a cell database built by Nova's migrations: the version this
 * host's nova-compute row holds decides the rules (RELEASES.md), so `igb` is a valid VIF model
 * where Nova 2025.1 runs and refused where 2024.x does; without a row, the newest release.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Store } from '../../src/store/index.js';
import { configText, run } from '../cli/helpers.js';
import { createTestDatabase, nova, type TestDatabase } from './databases.js';

let cell: TestDatabase;
let store: Store;
let dir: string;

beforeAll(async () => {
  cell = await createTestDatabase('mariadb');
  await nova('sync', cell.url);
  store = await Store.open(cell.url);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-release-'));
}, 120_000);

afterAll(async () => {
  await store?.close();
  await cell?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A nova-compute service row as Nova's Service object writes it. */
async function serviceRow(host: string, version: number, deleted = 0): Promise<void> {
  await store.db.sequelize.query(
    'INSERT INTO services (created_at, host, `binary`, topic, report_count, disabled, deleted, version, uuid) VALUES (UTC_TIMESTAMP(), :host, :binary, :topic, 0, 0, :deleted, :version, :uuid)',
    { replacements: { host, binary: 'nova-compute', topic: 'compute', version, deleted, uuid: randomUUID() } },
  );
}

test.each([
  ['a 2025.1 nova-compute (68): igb is valid', 68, 0],
  ['a 2024.x nova-compute (67): igb is refused', 67, 6],
  ['a Zed nova-compute (64): igb is refused', 64, 6],
  ['no nova-compute row: the newest release, igb is valid', null, 0],
] as const)('%s', async (_what, version, code) => {
  const host = `rel-${randomUUID().slice(0, 8)}`;
  if (version !== null) {
    await serviceRow(host, 60, 5); // a deleted row of an older service on the same host is ignored
    await serviceRow(host, version);
  }
  const uuid = randomUUID();
  await nova('create', cell.url, [], [{ uuid, host, vm_state: 'stopped', system_metadata: { image_min_ram: '0' } }]);
  const conf = path.join(dir, `${host}.conf`);
  fs.writeFileSync(conf, configText(cell.url, dir, { host }), { mode: 0o600 });
  expect(await store.novaComputeVersion(host)).toBe(version);
  const r = await run(['--config-file', conf, 'image-property', 'set', uuid, '--property', 'hw_vif_model=igb', '--skip-host-check', '--dry-run']);
  expect({ code: r.code, stderr: code === 0 && r.code === 0 ? '' : r.stderr }).toEqual({ code, stderr: code === 0 ? '' : expect.stringContaining('"igb" is not a valid VIFModel') });
}, 60_000);
