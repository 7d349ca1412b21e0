/**
 * hwstash's tables live outside Nova's schema (a database of their own on MySQL, a schema on
 * PostgreSQL), and an install made by an earlier version — its tables inside Nova's schema — is
 * moved there by `hwstash db migrate` with every history row, while the agent refuses to start
 * until it is. The catalogs are read directly (information_schema), not through the code under test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { Store, RelocationConflictError } from '../../src/store/index.js';
import { migrate } from '../../src/store/migrations/index.js';
import { ownSchema } from '../../src/store/own-schema.js';
import type { Database } from '../../src/store/database.js';
import { AgentProcess, ensureBuilt } from '../agent/helpers/cli.js';
import { configText, run } from '../cli/helpers.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from './databases.js';
import { seedInstance } from './seed.js';
import { KVM_X86 } from './fixtures.js';

type Row = { schema: string; table: string };

/** Every hwstash_* table on the server side of this database, with the schema it is in. */
async function hwstashTables(store: Store): Promise<Row[]> {
  const sql =
    store.dialect === 'mysql'
      ? "SELECT table_schema AS `schema`, table_name AS `table` FROM information_schema.tables WHERE table_name LIKE 'hwstash\\_%' AND table_schema LIKE :like ORDER BY 1, 2"
      : "SELECT table_schema AS schema, table_name AS table FROM information_schema.tables WHERE table_name LIKE 'hwstash\\_%' AND table_catalog = current_database() ORDER BY 1, 2";
  const like = `${(store.db.sequelize.config.database ?? '').replace(/_/g, '\\_')}%`;
  return store.db.sequelize.query<Row>(sql, { type: QueryTypes.SELECT, replacements: { like } });
}

/**
 * The layout an earlier hwstash left: its one migration run with its unqualified table names,
 * i.e. inside Nova's schema (host profiles, migration 3, came after the move). Returns a Database
 * that writes there, as that version did.
 */
async function earlierVersionLayout(store: Store): Promise<Database> {
  const legacy: Database = { ...store.db, own: ownSchema(store.dialect, null) };
  await migrate(legacy);
  await legacy.sequelize.query(`DROP TABLE ${legacy.own.table('hwstash_hosts')}`);
  await legacy.sequelize.query(`DELETE FROM ${legacy.own.table('hwstash_schema_migrations')} WHERE version = 3`);
  return legacy;
}

const stashOpts = { actor: 'earlier-hwstash', profile: KVM_X86, osinfo: null };

export function ownSchemaSuite(dialect: Exclude<TestDialect, 'sqlite'>): void {
  const cell = (store: Store) => (dialect === 'mariadb' ? String(store.db.sequelize.config.database) : 'public');
  const own = (store: Store) => (dialect === 'mariadb' ? `${cell(store)}_hwstash` : 'hwstash');
  // Migration 2's claims table exists on MySQL/MariaDB only (Galera's multi-node writers).
  const claims = (schema: string) => (dialect === 'mariadb' ? [{ schema, table: 'hwstash_instance_claims' }] : []);

  describe(`hwstash's own tables on ${dialect}`, () => {
    let tdb: TestDatabase;
    let store: Store;

    beforeEach(async () => {
      tdb = await createTestDatabase(dialect);
      store = await Store.open(tdb.url);
      await store.initNovaSchema();
    }, 60_000);

    afterEach(async () => {
      await store?.close();
      await tdb?.drop();
    });

    test("a fresh install creates its schema and leaves Nova's untouched", async () => {
      const result = await store.migrate();
      expect(result).toMatchObject({ applied: [1, 2, 3], createdSchema: true, relocated: [] });
      expect(await hwstashTables(store)).toEqual([
        { schema: own(store), table: 'hwstash_hosts' },
        ...claims(own(store)),
        { schema: own(store), table: 'hwstash_property_history' },
        { schema: own(store), table: 'hwstash_schema_migrations' },
      ]);
      // The stash and its history, written in one transaction across the two schemas.
      const uuid = await seedInstance(store, {});
      await store.stash([uuid], { ...stashOpts, actor: 'test' });
      expect(await store.history(uuid)).toHaveLength(11);
      expect((await store.migrate()).createdSchema).toBe(false);
    });

    test('[hwstash] schema names another place; Nova\'s own schema is refused', async () => {
      const other = await Store.open(tdb.url, { ownSchema: 'hwstash_elsewhere_test' });
      try {
        await other.migrate();
        expect((await hwstashTables(other)).map((r) => r.schema)).toEqual(
          dialect === 'mariadb' ? [] : ['hwstash_elsewhere_test', 'hwstash_elsewhere_test', 'hwstash_elsewhere_test'],
        );
        if (dialect === 'mariadb') {
          const [rows] = await other.db.sequelize.query("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'hwstash_elsewhere_test'");
          expect(Number((rows as Array<{ n: unknown }>)[0]!.n)).toBe(4);
          await other.db.sequelize.query('DROP DATABASE `hwstash_elsewhere_test`');
        }
      } finally {
        await other.close();
      }
      if (dialect === 'mariadb') {
        await expect(Store.open(tdb.url, { ownSchema: cell(store) })).rejects.toThrow(/names Nova's own cell database/);
      }
    });

    test('an earlier install is moved out of Nova\'s schema with every history row; the agent refuses until then', async () => {
      const legacy = await earlierVersionLayout(store);
      const uuids = [await seedInstance(store, {}), await seedInstance(store, {})];
      const { stashBatch } = await import('../../src/store/stash.js');
      await stashBatch(legacy, uuids, { ...stashOpts, now: () => new Date() });
      const before = await store.db.sequelize.query<Record<string, unknown>>(
        `SELECT * FROM ${legacy.own.table('hwstash_property_history')} ORDER BY id`,
        { type: QueryTypes.SELECT },
      );
      expect(before).toHaveLength(22);
      expect(await hwstashTables(store)).toEqual([
        ...claims(cell(store)),
        { schema: cell(store), table: 'hwstash_property_history' },
        { schema: cell(store), table: 'hwstash_schema_migrations' },
      ]);
      expect(await store.misplacedTables()).toEqual([
        `${cell(store)}.hwstash_schema_migrations`,
        `${cell(store)}.hwstash_property_history`,
        ...claims(cell(store)).map((t) => `${t.schema}.${t.table}`),
      ]);

      // The agent, as an operator starts it: refuses, naming the tables and the command.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-own-'));
      try {
        const conf = path.join(dir, 'hwstash.conf');
        fs.writeFileSync(conf, configText(tdb.url, dir, { extra: '[hwstash]\nmetrics_address =\n' }), { mode: 0o600 });
        await ensureBuilt();
        const agent = AgentProcess.spawn(['--config-file', conf, 'agent']);
        expect((await agent.exited).code).toBe(1);
        const fatal = agent.lines.find((l) => l['msg'] === 'agent failed to start');
        expect(String(fatal?.['reason'])).toMatch(/hwstash_property_history.*still in Nova's schema.*hwstash db migrate/);
        // Refused before it created or moved anything.
        expect(await store.misplacedTables()).toHaveLength(dialect === 'mariadb' ? 3 : 2);

        const status = await run(['--config-file', conf, 'db', 'status', '--format', 'json']);
        expect(JSON.parse(status.stdout)).toMatchObject({ schemaVersion: null, misplaced: expect.arrayContaining([`${cell(store)}.hwstash_property_history`]) });

        const migrated = await run(['--config-file', conf, 'db', 'migrate']);
        expect(migrated.code).toBe(0);
        expect(migrated.stdout).toContain(`moved ${cell(store)}.hwstash_property_history (22 rows) out of Nova's schema to ${own(store)}.hwstash_property_history`);
        expect(migrated.stdout).toContain(`moved ${cell(store)}.hwstash_schema_migrations (2 rows)`);
        // The moved bookkeeping says 1 and 2: migration 3 then creates hwstash_hosts in the new place.
        expect(migrated.stdout).toContain('applied migration(s) 3; hwstash schema is at version 3');

        const again = await run(['--config-file', conf, 'db', 'migrate']);
        expect(again.stdout).not.toContain('moved');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }

      expect(await hwstashTables(store)).toEqual([
        { schema: own(store), table: 'hwstash_hosts' },
        ...claims(own(store)),
        { schema: own(store), table: 'hwstash_property_history' },
        { schema: own(store), table: 'hwstash_schema_migrations' },
      ]);
      const after = await store.db.sequelize.query<Record<string, unknown>>(
        `SELECT * FROM ${store.db.own.table('hwstash_property_history')} ORDER BY id`,
        { type: QueryTypes.SELECT },
      );
      expect(after).toEqual(before);
      expect((await store.history(uuids[1]!)).map((h) => h.property)).toHaveLength(11);
      // New history continues the same ids (the sequence or AUTO_INCREMENT moved with the table).
      const third = await seedInstance(store, {});
      await store.stash([third], { ...stashOpts, actor: 'test' });
      const ids = (await store.history(third)).map((h) => h.id);
      expect(Math.min(...ids)).toBeGreaterThan(Math.max(...before.map((r) => Number(r['id']))));
    }, 240_000);

    test('an empty table already in the new place is replaced; bookkeeping is merged', async () => {
      await store.migrate(); // the new layout, empty
      const legacy = await earlierVersionLayout(store);
      const uuid = await seedInstance(store, {});
      const { stashBatch } = await import('../../src/store/stash.js');
      await stashBatch(legacy, [uuid], { ...stashOpts, now: () => new Date() });

      const result = await store.migrate();
      expect(result.relocated.map((r) => [r.table, r.action, r.rows])).toEqual([
        ['hwstash_schema_migrations', 'merged', 2],
        ['hwstash_property_history', 'moved', 11],
        // The one instance's claim, written by the stash through the earlier layout.
        ...(dialect === 'mariadb' ? [['hwstash_instance_claims', 'moved', 1]] : []),
      ]);
      expect(await store.history(uuid)).toHaveLength(11);
      expect(await store.misplacedTables()).toEqual([]);
    });

    test('history in both places is a conflict: nothing moves, and the message says what to do', async () => {
      await store.migrate();
      const first = await seedInstance(store, {});
      await store.stash([first], { ...stashOpts, actor: 'new' });
      const legacy = await earlierVersionLayout(store);
      const second = await seedInstance(store, {});
      const { stashBatch } = await import('../../src/store/stash.js');
      await stashBatch(legacy, [second], { ...stashOpts, now: () => new Date() });

      const err = await store.migrate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RelocationConflictError);
      expect((err as Error).message).toMatch(/both .*hwstash_property_history .* hold history rows; nothing was moved/);
      expect(await store.misplacedTables()).toContain(`${cell(store)}.hwstash_property_history`);
      expect(await store.history(first)).toHaveLength(11);
    });
  });
}
