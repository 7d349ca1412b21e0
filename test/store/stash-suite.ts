/**
 * The store's behaviour, run for real on each database (SQLite file, MariaDB, PostgreSQL):
 * migrations, Nova's tables, the never-overwrite stash, the operator's write and history.
 */
import { Store, UnstorableValueError, InstanceNotFoundError } from '../../src/store/index.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from './databases.js';
import { KVM_X86, OSINFO, PLAIN_KVM_X86 } from './fixtures.js';
import { propertyRows, seedInstance } from './seed.js';

const stashOpts = { profile: KVM_X86, osinfo: OSINFO, actor: 'test-agent' };

function asMap(rows: Array<{ key: string; value: string | null }>): Record<string, string | null> {
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export function stashSuite(dialect: TestDialect): void {
  describe(`store on ${dialect}`, () => {
    let tdb: TestDatabase;
    let store: Store;

    beforeAll(async () => {
      tdb = await createTestDatabase(dialect);
      store = await Store.open(tdb.url);
      await store.initNovaSchema();
      await store.migrate();
    }, 60_000);

    afterAll(async () => {
      await store?.close();
      await tdb?.drop();
    });

    test('migrations and Nova schema are idempotent', async () => {
      expect(await store.migrate()).toMatchObject({ applied: [], version: 3, createdSchema: false, relocated: [] });
      expect(await store.initNovaSchema()).toEqual([]);
      const status = await store.status();
      expect(status).toEqual({
        schemaVersion: 3,
        latestVersion: 3,
        pending: [],
        novaTables: { instances: true, instance_system_metadata: true, instance_actions: true },
        location: store.ownLocation,
        misplaced: [],
      });
    });

    test('stashes all 11 properties, NULL for no device, as live rows with history', async () => {
      const uuid = await seedInstance(store, {});
      const report = await store.stash([uuid], stashOpts);
      expect(report.instances[0]!.status).toBe('stashed');
      const rows = await propertyRows(store, uuid);
      expect(asMap(rows)).toEqual(PLAIN_KVM_X86);
      expect(rows).toHaveLength(11);
      expect(rows.every((r) => r.deleted === 0)).toBe(true);
      // The NULL row exists: "decided: no SCSI controller", not a gap.
      expect(rows.find((r) => r.key === 'image_hw_scsi_model')).toMatchObject({ value: null });

      const history = await store.history(uuid);
      expect(history).toHaveLength(11);
      expect(history.every((h) => h.source === 'stash' && h.actor === 'test-agent' && !h.oldPresent && h.newPresent)).toBe(true);
      expect(history.find((h) => h.property === 'hw_input_bus')).toMatchObject({ newValue: 'usb', valueSource: 'config' });
      expect(history.find((h) => h.property === 'hw_scsi_model')).toMatchObject({ newValue: null, valueSource: 'driver' });
      expect(Date.now() - Date.parse(history[0]!.time)).toBeLessThan(10 * 60_000);

      // A second run has nothing to add.
      const again = await store.stash([uuid], stashOpts);
      expect(again.instances[0]!.status).toBe('complete');
      expect(again.rows).toEqual([]);
      expect(await propertyRows(store, uuid)).toEqual(rows);
    });

    test('never overwrites an existing row: a raw Nova value, a NULL, a soft-deleted row of a live instance', async () => {
      const uuid = await seedInstance(store, {
        sysmeta: { image_hw_vif_model: 'VirtualE1000', image_hw_video_model: null },
        softDeletedSysmeta: { image_hw_disk_bus: 'ide' },
      });
      const before = await propertyRows(store, uuid);
      const report = await store.stash([uuid], stashOpts);
      const inst = report.instances[0]!;
      expect(inst.present).toEqual({ hw_vif_model: 'e1000', hw_video_model: null, hw_disk_bus: 'ide' });
      expect(Object.keys(inst.toStash).sort()).toEqual(
        ['hw_cdrom_bus', 'hw_floppy_bus', 'hw_input_bus', 'hw_machine_type', 'hw_pointer_model', 'hw_rescue_bus', 'hw_rng_model', 'hw_scsi_model'].sort(),
      );
      const after = await propertyRows(store, uuid);
      // The old rows are untouched (same ids, values, deleted markers) and not duplicated.
      for (const row of before) expect(after).toContainEqual(row);
      for (const key of ['image_hw_vif_model', 'image_hw_video_model', 'image_hw_disk_bus']) {
        expect(after.filter((r) => r.key === key)).toHaveLength(1);
      }
      expect(after).toHaveLength(11);
      // The soft-deleted ide disk bus is what Nova reads, so the rescue bus follows it.
      expect(asMap(after)['image_hw_rescue_bus']).toBe('ide');
    });

    test('writes canonical values', async () => {
      const uuid = await seedInstance(store, { sysmeta: { image_vmware_adaptertype: 'lsiLogicsas', image_os_distro: 'win10' } });
      await store.stash([uuid], stashOpts);
      const stored = asMap(await propertyRows(store, uuid));
      expect(stored['image_hw_scsi_model']).toBe('lsisas1068');
      expect(stored['image_hw_disk_bus']).toBe('scsi');
      expect(stored['image_hw_vif_model']).toBe('e1000');
    });

    test('takes values from the domain, and never writes one Nova cannot coerce', async () => {
      const uuid = await seedInstance(store, {});
      const domains = new Map([[uuid, { osType: 'hvm', values: { hw_video_model: 'cirrus', hw_vif_model: 'e1000-82545em' } }]]);
      const report = await store.stash([uuid], { ...stashOpts, domains });
      const inst = report.instances[0]!;
      expect(inst.toStash.hw_video_model).toEqual({ value: 'cirrus', source: 'domain' });
      expect(inst.errors.hw_vif_model?.code).toBe('UnstorableValue');
      expect(inst.errors.hw_vif_model?.message).toContain('e1000-82545em');
      const stored = asMap(await propertyRows(store, uuid));
      expect(stored['image_hw_video_model']).toBe('cirrus');
      expect('image_hw_vif_model' in stored).toBe(false);
    });

    test('ignores soft-deleted instances and instances on other hosts', async () => {
      const gone = await seedInstance(store, { deleted: true });
      const elsewhere = await seedInstance(store, { host: 'compute-2' });
      const report = await store.stash([gone, elsewhere], { ...stashOpts, host: 'compute-1' });
      expect(report.instances.map((i) => i.status)).toEqual(['skipped', 'skipped']);
      expect(await propertyRows(store, gone)).toEqual([]);
      expect(await propertyRows(store, elsewhere)).toEqual([]);
      expect(await store.instance(gone)).toBeNull();
      expect(await store.liveInstance(gone)).toBeNull();
    });

    test('a property that does not resolve is reported and the rest is stashed', async () => {
      // xen is a valid DiskBus but not a kvm bus: the legacy rescue disk (on the disk bus) fails.
      const uuid = await seedInstance(store, { sysmeta: { image_hw_disk_bus: 'xen' } });
      const report = await store.stash([uuid], stashOpts);
      const inst = report.instances[0]!;
      expect(Object.keys(inst.errors)).toEqual(['hw_rescue_bus']);
      expect(inst.errors.hw_rescue_bus!.code).toBe('UnsupportedHardware');
      expect(inst.errors.hw_rescue_bus!.message).toContain('xen');
      const stored = asMap(await propertyRows(store, uuid));
      expect(Object.keys(stored)).toHaveLength(10);
      expect('image_hw_rescue_bus' in stored).toBe(false);
      expect(stored['image_hw_video_model']).toBe('virtio');
    });

    test('reports stored values Nova cannot coerce, with instance and key, and writes nothing from them', async () => {
      const uuid = await seedInstance(store, { sysmeta: { image_hw_video_model: 'VIRTIO', image_hw_architecture: 'arm64' } });
      const report = await store.stash([uuid], stashOpts);
      const inst = report.instances[0]!;
      expect(inst.badStoredValues.map((b) => [b.instanceUuid, b.key, b.value])).toEqual([
        [uuid, 'image_hw_video_model', 'VIRTIO'],
        [uuid, 'image_hw_architecture', 'arm64'],
      ]);
      expect(inst.badStoredValues[0]!.message).toContain('cirrus');
      expect(Object.keys(inst.errors)).toHaveLength(10);
      expect(Object.values(inst.errors).every((e) => e!.code === 'ValueError')).toBe(true);
      expect(inst.status).toBe('incomplete');
      expect(await propertyRows(store, uuid)).toEqual([{ id: expect.any(Number), key: 'image_hw_video_model', value: 'VIRTIO', deleted: 0 }]);
    });

    test('sends the same number of statements for a batch of 1 and a batch of 25', async () => {
      const one = [await seedInstance(store, { sysmeta: { image_os_distro: 'fedora36' } })];
      const many: string[] = [];
      for (let i = 0; i < 25; i++) {
        many.push(await seedInstance(store, { sysmeta: { image_os_distro: i % 2 ? 'win10' : 'fedora36', image_hw_vif_model: 'VirtualE1000' } }));
      }
      expect(await store.instancesMissingProperties([...one, ...many])).toEqual(new Set([...one, ...many]));
      const small = await store.stash(one, stashOpts);
      const big = await store.stash(many, stashOpts);
      expect(big.rows).toHaveLength(25 * 10);
      expect(big.queries).toBe(small.queries);
      expect(await store.instancesMissingProperties([...one, ...many])).toEqual(new Set());
      // BEGIN, lock, sysmeta, history, INSERT rows, INSERT history, COMMIT: block devices are not
      // read; Nova's rebuilds only once the instances have a history (the repair's question).
      // PostgreSQL takes its instance locks in a statement of their own (advisory locks); MariaDB
      // claims the instances and re-reads their rows with a lock (Galera's writers on two nodes).
      expect(big.queries).toBeLessThanOrEqual(dialect === 'postgres' ? 8 : dialect === 'mariadb' ? 9 : 7);
    });

    test('a dry run writes nothing and shows what it would write', async () => {
      const uuid = await seedInstance(store, { sysmeta: { image_hw_machine_type: 'q35' } });
      const report = await store.stash([uuid], { ...stashOpts, dryRun: true });
      expect(report.rows).toHaveLength(10);
      expect(report.rows.find((r) => r.key === 'image_hw_cdrom_bus')).toEqual({ instanceUuid: uuid, key: 'image_hw_cdrom_bus', value: 'sata', source: 'driver' });
      expect(await propertyRows(store, uuid)).toEqual([{ id: expect.any(Number), key: 'image_hw_machine_type', value: 'q35', deleted: 0 }]);
      expect(await store.history(uuid)).toEqual([]);
    });

    test("the operator's write updates the highest-id row, removes duplicates, and records history", async () => {
      const uuid = await seedInstance(store, {
        sysmeta: { image_hw_video_model: 'cirrus' },
        extraSysmeta: [['image_hw_video_model', 'vga']],
      });
      const dupIds = (await propertyRows(store, uuid)).map((r) => r.id);
      const result = await store.writeProperties(uuid, [{ property: 'hw_video_model', value: 'virtio' }, { property: 'hw_vif_model', value: 'VirtualE1000' }], {
        source: 'set',
        actor: 'alice',
        reason: 'ticket 42',
      });
      expect(result.writes).toEqual([
        { property: 'hw_video_model', old: { present: true, value: 'vga' }, new: { present: true, value: 'virtio' }, changed: true },
        { property: 'hw_vif_model', old: { present: false, value: null }, new: { present: true, value: 'e1000' }, changed: true },
      ]);
      const rows = await propertyRows(store, uuid);
      expect(rows.filter((r) => r.key === 'image_hw_video_model')).toEqual([{ id: Math.max(...dupIds), key: 'image_hw_video_model', value: 'virtio', deleted: 0 }]);
      expect(rows.filter((r) => r.key === 'image_hw_vif_model')).toEqual([{ id: expect.any(Number), key: 'image_hw_vif_model', value: 'e1000', deleted: 0 }]);
      const history = await store.history(uuid);
      expect(history.map((h) => [h.property, h.oldValue, h.newValue, h.source, h.actor, h.reason])).toEqual([
        ['hw_video_model', 'vga', 'virtio', 'set', 'alice', 'ticket 42'],
        ['hw_vif_model', null, 'e1000', 'set', 'alice', 'ticket 42'],
      ]);

      // Revert the VIF model to "not stashed": a hard delete, recorded.
      await store.writeProperties(uuid, [{ property: 'hw_vif_model', remove: true }], { source: 'revert', actor: 'alice' });
      expect((await propertyRows(store, uuid)).some((r) => r.key === 'image_hw_vif_model')).toBe(false);
      const last = (await store.history(uuid)).at(-1)!;
      expect(last).toMatchObject({ property: 'hw_vif_model', oldValue: 'e1000', oldPresent: true, newValue: null, newPresent: false, source: 'revert' });
    });

    test("the operator's write is all or nothing", async () => {
      const uuid = await seedInstance(store, { vmState: 'active', sysmeta: { image_hw_video_model: 'cirrus' } });
      const before = await propertyRows(store, uuid);
      await expect(
        store.writeProperties(uuid, [{ property: 'hw_video_model', value: 'vga' }, { property: 'hw_disk_bus', value: 'VIRTIO' }], { source: 'set', actor: 'bob' }),
      ).rejects.toThrow(UnstorableValueError);
      await expect(
        store.writeProperties(uuid, [{ property: 'hw_video_model', value: 'vga' }], {
          source: 'set',
          actor: 'bob',
          check: (instance) => {
            if (instance.vmState !== 'stopped') throw new Error(`instance is ${instance.vmState}`);
          },
        }),
      ).rejects.toThrow('instance is active');
      await expect(store.writeProperties('00000000-0000-4000-8000-000000000000', [{ property: 'hw_video_model', value: 'vga' }], { source: 'set', actor: 'bob' })).rejects.toThrow(
        InstanceNotFoundError,
      );
      expect(await propertyRows(store, uuid)).toEqual(before);
      expect(await store.history(uuid)).toEqual([]);
    });

    test('writes naive UTC datetimes, whatever the time zone of the process', async () => {
      const pinned = await Store.open(tdb.url, { now: () => new Date('2024-01-02T03:04:05.678Z') });
      try {
        const uuid = await seedInstance(pinned, {});
        await pinned.stash([uuid], stashOpts);
        const text = dialect === 'mariadb' ? 'CAST(created_at AS CHAR)' : dialect === 'postgres' ? 'CAST(created_at AS TEXT)' : 'created_at';
        const [rows] = await pinned.db.sequelize.query(`SELECT ${text} AS t, updated_at AS u FROM instance_system_metadata WHERE instance_uuid = :uuid`, { replacements: { uuid } });
        expect((rows as Array<{ t: string; u: unknown }>).map((r) => [String(r.t).slice(0, 19), r.u])).toEqual(Array(11).fill(['2024-01-02 03:04:05', null]));
        expect((await pinned.history(uuid)).map((h) => h.time)).toEqual(Array(11).fill('2024-01-02T03:04:05.678Z'));
      } finally {
        await pinned.close();
      }
    });

    test('lists a host once, then reads its live instances with their rows a page at a time', async () => {
      const host = `pager-${dialect}`;
      const uuids: string[] = [];
      for (let i = 0; i < 5; i++) uuids.push(await seedInstance(store, { host, sysmeta: { image_os_distro: `os-${i}` } }));
      await seedInstance(store, { host, deleted: true });
      const ids = await store.instanceIdsOnHost(host);
      expect(ids.map((i) => i.uuid)).toEqual(uuids);
      expect(await store.countInstancesOnHost(host)).toBe(5);

      // Deleted and moved away after the listing: left out.
      await store.db.sequelize.query('UPDATE instances SET deleted = id WHERE uuid = :uuid', { replacements: { uuid: uuids[1] } });
      await store.db.sequelize.query("UPDATE instances SET host = 'elsewhere' WHERE uuid = :uuid", { replacements: { uuid: uuids[3] } });
      const before = store.queries.count;
      const seen = [];
      for await (const live of store.eachLiveInstance(ids.map((i) => i.uuid), { host, pageSize: 2 })) seen.push(live);
      // Three pages, two statements each: the instances, then their system_metadata.
      expect(store.queries.count - before).toBe(6);
      expect(seen.map((l) => l.instance.uuid)).toEqual([uuids[0], uuids[2], uuids[4]]);
      expect(seen.map((l) => l.sysmeta.find((r) => r.key === 'image_os_distro')?.value)).toEqual(['os-0', 'os-2', 'os-4']);
      expect(seen.every((l) => !l.stored.hw_video_model.present)).toBe(true);
    });

    test("the operator's write and its history carry one reading of the clock", async () => {
      let tick = Date.parse('2024-01-02T03:04:05.000Z');
      const ticking = await Store.open(tdb.url, { now: () => new Date((tick += 1000)) });
      try {
        const uuid = await seedInstance(ticking, {});
        await ticking.writeProperties(uuid, [{ property: 'hw_video_model', value: 'vga' }], { source: 'set', actor: 'alice' });
        const text = dialect === 'mariadb' ? 'CAST(created_at AS CHAR)' : dialect === 'postgres' ? 'CAST(created_at AS TEXT)' : 'created_at';
        const [rows] = await ticking.db.sequelize.query(`SELECT ${text} AS t FROM instance_system_metadata WHERE instance_uuid = :uuid`, { replacements: { uuid } });
        const rowTime = String((rows as Array<{ t: string }>)[0]!.t).slice(0, 19);
        const historyTime = (await ticking.history(uuid))[0]!.time.slice(0, 19).replace('T', ' ');
        expect(historyTime).toBe(rowTime);
      } finally {
        await ticking.close();
      }
    });
  });
}
