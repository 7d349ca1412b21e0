/**
 * Nova's own housekeeping with hwstash installed, run with Nova's own nova-manage on a cell
 * database built by Nova's migrations: `db archive_deleted_rows` (plain, `--before`,
 * `--all-cells`) moves a deleted instance's rows — hwstash's `image_hw_*` ones included — to the
 * shadow tables, `db purge` removes them, `db sync` finds nothing to do, and hwstash's history of
 * the deleted instance stays readable. The control: with the layout of an earlier hwstash (its
 * tables inside Nova's schema), the same archive crashes.
 *
 * On PostgreSQL, Nova's own archive of an instance fails whether hwstash is there or not (Zed and
 * 2025.1 alike: `column "locked_by" is of type shadow_instances0locked_by but expression is of
 * type instances0locked_by`, Nova's enum types differ between a table and its shadow). There the
 * test runs every Nova command on a twin cell database that never saw hwstash as well, and
 * requires the same outcome: hwstash changes nothing about Nova's housekeeping.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { Store } from '../../src/store/index.js';
import { migrate } from '../../src/store/migrations/index.js';
import { ownSchema } from '../../src/store/own-schema.js';
import { stashBatch } from '../../src/store/stash.js';
import { configText, run } from '../cli/helpers.js';
import type { TestDatabase, TestDialect } from './databases.js';
import { createNovaCell, type NovaCell } from './nova-cell.js';
import { KVM_X86 } from './fixtures.js';
import type { NovaRelease } from './nova-releases.js';

const HOST = 'compute-archive';

export function novaManageSuite(makeNova: () => NovaRelease, dialect: Exclude<TestDialect, 'sqlite'>): void {
  describe(`Nova ${dialect} housekeeping with hwstash installed`, () => {
    let nova: NovaRelease;
    let novaCell: NovaCell;
    let cell: TestDatabase;
    let store: Store;
    let dir: string;
    let conf: string;
    let hwConf: string;
    /** PostgreSQL only: a cell database without hwstash, and its nova.conf. */
    let twinCell: NovaCell | undefined;
    let twin: TestDatabase | undefined;
    let twinConf = '';

    beforeAll(async () => {
      nova = makeNova();
      novaCell = await createNovaCell(nova, dialect);
      ({ cell, conf } = novaCell);
      if (dialect === 'postgres') {
        // Its own API database: --all-cells follows the API database's cell mappings.
        twinCell = await createNovaCell(nova, dialect);
        ({ cell: twin, conf: twinConf } = twinCell);
      }
      store = await Store.open(cell.url);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-archive-'));
      hwConf = path.join(dir, 'hwstash.conf');
      fs.writeFileSync(hwConf, configText(cell.url, dir, { host: HOST }), { mode: 0o600 });
    }, 300_000);

    afterAll(async () => {
      await store?.close();
      await novaCell?.drop();
      await twinCell?.drop();
      nova?.cleanup();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const q = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
      store.db.sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements });
    const hwRows = async (table: string, uuid: string) =>
      (await q<{ key: string; value: string | null }>(`SELECT ${store.db.sequelize.getQueryInterface().quoteIdentifier('key')} AS "key", value FROM ${table} WHERE instance_uuid = :uuid`, { uuid }))
        .filter((r) => r.key.startsWith('image_hw_'));
    const novaSchemaTables = async () =>
      (
        await q<{ t: string }>(
          store.dialect === 'mysql'
            ? 'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1'
            : 'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1',
        )
      ).map((r) => r.t);
    const hwstash = (...args: string[]) => run(['--config-file', hwConf, ...args]);
    const lastError = (text: string) => text.split('\n').filter((l) => /Error|Exception/.test(l)).pop() ?? '';

    /**
     * A Nova housekeeping command with hwstash installed: the expected exit code on MariaDB; on
     * PostgreSQL, the outcome of the same command on the twin that never saw hwstash.
     */
    async function housekeeping(args: string[], expected: number): Promise<void> {
      const ran = await nova.manage(conf, args);
      const out = ran.stdout + ran.stderr;
      expect(out).not.toMatch(/KeyError|hwstash_property_history|hwstash_schema_migrations/);
      if (!twin) {
        expect({ code: ran.code, out: ran.code === expected ? '' : out.slice(-3000) }).toEqual({ code: expected, out: '' });
        return;
      }
      const pristine = await nova.manage(twinConf, args);
      expect({ code: ran.code, error: lastError(out) }).toEqual({ code: pristine.code, error: lastError(pristine.stdout + pristine.stderr) });
    }
    const novaDestroys = async (uuid: string) => {
      await nova.db('destroy', cell.url, [uuid]);
      if (twin) {
        await nova.db('create', twin.url, [], [{ uuid, host: HOST, vm_state: 'stopped' }]);
        await nova.db('destroy', twin.url, [uuid]);
      }
    };

    test('archive, --before, --all-cells, purge and sync run clean and carry hwstash\'s rows; history stays readable', async () => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const image = { image_min_ram: '0', image_min_disk: '1', image_disk_format: 'qcow2', image_base_image_ref: randomUUID() };
      await nova.db(
        'create',
        cell.url,
        [],
        [a, b, c].map((uuid) => ({ uuid, host: HOST, vm_state: 'stopped', system_metadata: { ...image, image_os_distro: 'win10' } })),
      );

      // An earlier hwstash stashed them, with its tables inside Nova's schema.
      const earlier = { ...store.db, own: ownSchema(store.dialect, null) };
      await migrate(earlier);
      await stashBatch(earlier, [a, b, c], { actor: 'hwstash-0.1', profile: KVM_X86, osinfo: null, now: () => new Date() });
      expect(await hwRows('instance_system_metadata', a)).toHaveLength(11);
      const tablesBefore = await novaSchemaTables();
      expect(tablesBefore).toEqual(expect.arrayContaining(['hwstash_property_history', 'instances', 'shadow_instances']));

      // Control: Nova deletes A; its archive trips on the unknown table, archives nothing.
      await novaDestroys(a);
      const crashed = await nova.manage(conf, ['db', 'archive_deleted_rows', '--verbose']);
      expect(crashed.code).toBe(255);
      expect(crashed.stdout + crashed.stderr).toMatch(/KeyError: 'hwstash_/);
      expect(await hwRows('instance_system_metadata', a)).toHaveLength(11);

      // hwstash moves its tables out; then an operator sets and reverts B.
      const migrated = await hwstash('db', 'migrate');
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toContain("hwstash_property_history (33 rows) out of Nova's schema");
      const set = await hwstash('image-property', 'set', b, '--property', 'hw_video_model=vga', '--property', 'hw_disk_bus=ide', '--skip-host-check');
      expect(set).toMatchObject({ code: 0 });
      expect(await hwstash('image-property', 'revert', b, '--skip-host-check')).toMatchObject({ code: 0 });
      expect(await hwstash('image-property', 'set', b, '--property', 'hw_vif_model=rtl8139', '--skip-host-check')).toMatchObject({ code: 0 });

      // Archive: A's rows, hwstash's eleven included, go to the shadow table.
      await housekeeping(['db', 'archive_deleted_rows', '--verbose'], 1);
      if (!twin) {
        expect(await hwRows('instance_system_metadata', a)).toEqual([]);
        expect(await hwRows('shadow_instance_system_metadata', a)).toHaveLength(11);
      }

      // --before and --all-cells (through the API database's cell mapping): B, after its set.
      await novaDestroys(b);
      await housekeeping(['db', 'archive_deleted_rows', '--before', '2099-01-01', '--all-cells', '--verbose'], 1);
      if (!twin) {
        const shadowB = await hwRows('shadow_instance_system_metadata', b);
        expect(shadowB).toHaveLength(11);
        expect(shadowB.find((r) => r.key === 'image_hw_vif_model')?.value).toBe('rtl8139');
        expect(await hwRows('instance_system_metadata', b)).toEqual([]);
      }

      // Purge empties the shadow tables; the live instance C is untouched throughout.
      await housekeeping(['db', 'purge', '--all', '--all-cells', '--verbose'], 0);
      expect(await hwRows('shadow_instance_system_metadata', a)).toEqual([]);
      expect(await hwRows('shadow_instance_system_metadata', b)).toEqual([]);
      expect(await hwRows('instance_system_metadata', c)).toHaveLength(11);

      // db sync: nothing to do; Nova's schema holds exactly Nova's tables.
      const synced = await nova.manage(conf, ['db', 'sync']);
      expect({ code: synced.code, out: synced.code === 0 ? '' : synced.stderr.slice(-1500) }).toEqual({ code: 0, out: '' });
      expect(synced.stdout + synced.stderr).not.toMatch(/Running upgrade/);
      expect(await novaSchemaTables()).toEqual(tablesBefore.filter((t) => !t.startsWith('hwstash_')));

      // hwstash's record of the deleted instances outlives Nova's rows.
      const historyA = await hwstash('image-property', 'history', a, '--format', 'json');
      expect(historyA.code).toBe(0);
      expect(JSON.parse(historyA.stdout)).toMatchObject({ instance: a, deleted: true });
      expect(JSON.parse(historyA.stdout).history).toHaveLength(11);
      const historyB = JSON.parse((await hwstash('image-property', 'history', b, '--format', 'json')).stdout);
      expect(historyB.history.map((h: { source: string }) => h.source)).toEqual([...Array(11).fill('stash'), 'set', 'set', 'revert', 'revert', 'set']);
      expect((await hwstash('image-property', 'history', randomUUID())).code).toBe(2);
    }, 600_000);
  });
}
