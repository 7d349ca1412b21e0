/**
 * hwstash against Nova's own code: the schema built by Nova's alembic migrations, instances
 * created by Nova's DB API, and the stash read back by Nova's DB API and objects
 * (`instance.image_meta`, i.e. ImageMeta.from_instance). Also: hwstash's own Nova DDL for the
 * embedded default equals what Nova's migrations build.
 */
import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { reconcileHost } from '../../src/agent/reconcile.js';
import { PROPERTIES } from '../../src/core/properties.js';
import { Store } from '../../src/store/index.js';
import { tableNames } from '../../src/store/nova-schema.js';
import { createTestDatabase, nova, type TestDatabase, type TestDialect } from './databases.js';
import { KVM_X86, OSINFO } from './fixtures.js';

async function describeTables(store: Store): Promise<unknown> {
  const tables = ['instances', 'instance_system_metadata', 'instance_actions', 'block_device_mapping'];
  const q = (sql: string) => store.db.sequelize.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT });
  const inList = tables.map((t) => `'${t}'`).join(', ');
  if (store.dialect === 'mysql') {
    return {
      columns: await q(
        `SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME FROM information_schema.COLUMNS ` +
          `WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${inList}) ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      ),
      indexes: await q(
        `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS ` +
          `WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${inList}) ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
      ),
      foreignKeys: await q(
        `SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE ` +
          `WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${inList}) AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
      ),
      engines: await q(`SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${inList}) ORDER BY TABLE_NAME`),
    };
  }
  if (store.dialect === 'postgres') {
    return {
      columns: await q(
        `SELECT table_name, ordinal_position, column_name, data_type, udt_name, character_maximum_length, is_nullable, column_default FROM information_schema.columns ` +
          `WHERE table_schema = current_schema() AND table_name IN (${inList}) ORDER BY table_name, ordinal_position`,
      ),
      indexes: await q(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN (${inList}) ORDER BY tablename, indexname`),
      constraints: await q(
        `SELECT conrelid::regclass::text AS tbl, conname, contype, pg_get_constraintdef(oid) AS def FROM pg_constraint ` +
          `WHERE conrelid::regclass::text IN (${inList}) ORDER BY tbl, conname`,
      ),
    };
  }
  const out: Record<string, unknown> = {};
  for (const t of tables) {
    out[`${t}.columns`] = await q(`PRAGMA table_info("${t}")`);
    const indexes = await q(`PRAGMA index_list("${t}")`);
    out[`${t}.indexes`] = await Promise.all(
      indexes
        .filter((i) => !String(i['name']).startsWith('sqlite_autoindex'))
        .sort((x, y) => String(x['name']).localeCompare(String(y['name'])))
        .map(async (i) => ({ name: i['name'], unique: i['unique'], columns: (await q(`PRAGMA index_info("${String(i['name'])}")`)).map((c) => c['name']) })),
    );
    out[`${t}.foreignKeys`] = await q(`PRAGMA foreign_key_list("${t}")`);
  }
  return out;
}

const HOST = 'compute-nova';

export function novaCompatSuite(dialect: TestDialect): void {
  describe(`hwstash and Nova's own code on ${dialect}`, () => {
    let novaDb: TestDatabase;
    let ownDb: TestDatabase;
    let store: Store;

    beforeAll(async () => {
      novaDb = await createTestDatabase(dialect);
      ownDb = await createTestDatabase(dialect);
      await nova('sync', novaDb.url);
      store = await Store.open(novaDb.url);
    }, 120_000);

    afterAll(async () => {
      await store?.close();
      await novaDb?.drop();
      await ownDb?.drop();
    });

    test("init-nova-schema builds Nova's tables hwstash uses exactly as Nova's migrations do", async () => {
      const own = await Store.open(ownDb.url);
      try {
        expect(await own.initNovaSchema()).toEqual(['instances', 'instance_system_metadata', 'instance_actions', 'block_device_mapping']);
        const ours = await describeTables(own);
        expect(ours).toEqual(await describeTables(store));
        const text = JSON.stringify(ours);
        // SQLite's PRAGMAs do not name constraints; MySQL's and PostgreSQL's catalogs do.
        const constraints = dialect === 'sqlite' ? [] : ['uniq_instances0uuid', 'block_device_mapping_instance_uuid_fkey'];
        for (const name of ['instances_host_node_deleted_idx', 'encryption_options', ...constraints]) {
          expect(text).toContain(name);
        }
        // And never alters a table that exists.
        expect(await store.initNovaSchema()).toEqual([]);
      } finally {
        await own.close();
      }
    });

    test('the stash written on a Nova-built schema is what Nova reads back', async () => {
      const before = new Set(await tableNames(store.db));
      expect((await store.migrate()).applied).toEqual([1, 2, 3]);
      const added = (await tableNames(store.db)).filter((t) => !before.has(t)).sort();
      // Nothing of hwstash's in Nova's schema (nova-manage db archive_deleted_rows would trip on
      // it), except on SQLite, where Nova never runs in production and one file holds both.
      expect(added).toEqual(dialect === 'sqlite' ? ['hwstash_hosts', 'hwstash_property_history', 'hwstash_schema_migrations'] : []);

      const common = { image_min_ram: '0', image_min_disk: '1', image_disk_format: 'qcow2', image_container_format: 'bare', image_base_image_ref: randomUUID() };
      const specs = [
        { uuid: randomUUID(), host: HOST, system_metadata: { ...common } },
        { uuid: randomUUID(), host: HOST, system_metadata: { ...common, image_os_distro: 'win10', image_hw_vif_model: 'VirtualE1000' } },
        { uuid: randomUUID(), host: HOST, system_metadata: { ...common, image_os_distro: 'fedora36', image_hw_machine_type: 'q35' } },
        { uuid: randomUUID(), host: HOST, system_metadata: { ...common, image_vmware_adaptertype: 'lsiLogicsas', image_hw_video_model: 'cirrus' } },
        { uuid: randomUUID(), host: 'elsewhere', system_metadata: { ...common } },
      ].map((s) => ({
        ...s,
        block_devices: [
          { source_type: 'image', destination_type: 'local', device_type: 'disk', boot_index: 0, image_id: randomUUID(), device_name: '/dev/vda', delete_on_termination: true },
        ],
      }));
      await nova('create', novaDb.url, [], specs);

      const summary = await reconcileHost({
        store,
        host: HOST,
        profile: KVM_X86,
        osinfo: OSINFO,
        domainFacts: async () => null,
        batchSize: 2,
        actor: 'test',
      });
      expect(summary.instancesSeen).toBe(4);
      expect(summary.errors).toEqual([]);
      expect(summary.badStoredValues).toEqual([]);

      const read = await nova('read', novaDb.url, specs.map((s) => s.uuid));
      for (const spec of specs.slice(0, 4)) {
        const stored = (await store.liveInstance(spec.uuid))?.stored;
        const expected = Object.fromEntries(PROPERTIES.map((p) => [p.name, stored![p.name].value]));
        expect(read[spec.uuid].error).toBeUndefined();
        expect(read[spec.uuid].properties).toEqual(expected);
        expect(Object.values(stored!).every((s) => s.present)).toBe(true);
      }
      // What Nova stored itself stays as Nova wrote it, and reads as Nova coerces it.
      const win = specs[1]!.uuid;
      expect(read[win].system_metadata['image_hw_vif_model']).toBe('VirtualE1000');
      expect(read[win].properties.hw_vif_model).toBe('e1000');
      expect(read[specs[2]!.uuid].properties).toMatchObject({ hw_machine_type: 'q35', hw_cdrom_bus: 'sata', hw_disk_bus: 'virtio', hw_vif_model: 'e1000e' });
      expect(read[specs[3]!.uuid].properties).toMatchObject({ hw_disk_bus: 'scsi', hw_scsi_model: 'lsisas1068', hw_video_model: 'cirrus' });
      // The instance on another host is untouched.
      const other = specs[4]!.uuid;
      expect(Object.keys(read[other].system_metadata).filter((k) => k.startsWith('image_hw_'))).toEqual([]);
    }, 120_000);
  });
}
