/** An unreachable database is one line naming where and why, with no password and no stack. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseUnavailableError, MissingTableError, Store } from '../../src/store/index.js';
import { createTestDatabase } from './databases.js';
import { KVM_X86, OSINFO } from './fixtures.js';
import { seedInstance } from './seed.js';

async function openError(url: string): Promise<DatabaseUnavailableError> {
  try {
    const store = await Store.open(url, { connectTimeoutMs: 3000 });
    await store.close();
  } catch (err) {
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    return err as DatabaseUnavailableError;
  }
  throw new Error(`${url} opened`);
}

describe('unreachable databases', () => {
  test('MySQL refused: names host and port, not the password', async () => {
    const err = await openError('mysql+pymysql://nova:S3cr%40tPw@127.0.0.1:1/nova?charset=utf8');
    expect(err.message).toMatch(/^cannot connect to the database at mysql:\/\/127\.0\.0\.1:1\/nova: .*ECONNREFUSED/);
    expect(err.message).not.toMatch(/S3cr|tPw/);
    expect(err.message).not.toContain('\n');
  });

  test('MariaDB denies access: the cause, not the password', async () => {
    const err = await openError('mysql+pymysql://root:hunter2-not-it@127.0.0.1:3306/mysql');
    expect(err.message).toContain('mysql://127.0.0.1:3306/mysql');
    expect(err.message).toContain('Access denied');
    expect(err.message).not.toContain('hunter2');
  });

  test('PostgreSQL refused and unknown database', async () => {
    const refused = await openError('postgresql://nova:pg-Secret@127.0.0.1:1/nova');
    expect(refused.message).toMatch(/^cannot connect to the database at postgres:\/\/127\.0\.0\.1:1\/nova: .*ECONNREFUSED/);
    expect(refused.message).not.toContain('pg-Secret');
    const missing = await openError('postgresql://postgres:pg-Secret@127.0.0.1:5432/hwstash_no_such_db');
    expect(missing.message).toContain('hwstash_no_such_db');
    expect(missing.message).toContain('does not exist');
    expect(missing.message).not.toContain('pg-Secret');
  });

  test('SQLite file that cannot be created', async () => {
    // Its directory would have to be made inside a regular file.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-db-'));
    const file = path.join(dir, 'not-a-dir');
    fs.writeFileSync(file, '');
    try {
      const err = await openError(`sqlite:///${file}/state.sqlite`);
      expect(err.message.startsWith(`cannot connect to the database at sqlite:///${file}/state.sqlite: `)).toBe(true);
      expect(err.message).toMatch(/ENOTDIR|EEXIST|not a directory/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('missing tables', () => {
  for (const dialect of ['sqlite', 'mariadb', 'postgres'] as const) {
    test(`name the table and what to run (${dialect})`, async () => {
      const tdb = await createTestDatabase(dialect);
      const store = await Store.open(tdb.url);
      try {
        await expect(store.instance('5d1e6a52-43a4-4cf5-8f26-93c61d8c3a0e')).rejects.toThrow(
          new MissingTableError('instances', store.where),
        );
        await expect(store.instance('5d1e6a52-43a4-4cf5-8f26-93c61d8c3a0e')).rejects.toThrow(/init-nova-schema/);
        await store.initNovaSchema();
        const uuid = await seedInstance(store, {});
        await expect(store.stash([uuid], { profile: KVM_X86, osinfo: OSINFO, actor: 't' })).rejects.toThrow(
          new MissingTableError('hwstash_property_history', store.where),
        );
        // The failed stash wrote nothing.
        expect(await store.systemMetadata(uuid)).toEqual([]);
      } finally {
        await store.close();
        await tdb.drop();
      }
    });
  }
});
