/**
 * The stash against Nova's own whole-dict saves, with Nova's own code (Instance.save(), the
 * libvirt driver's start-up registration, nova-manage) on a cell database built by Nova's
 * migrations. Each race is played by pausing Nova's operation (nova_db.py hold) where another
 * writer can act, then letting it save:
 * - a stash while the operation's task_state is set is deferred, and lands after it;
 * - a stash or an operator's set in the load-to-save instant is erased or reverted by Nova's
 *   save (the control, asserted), and the next audit (a reconcile) restores exactly the
 *   history's values, recorded as restores;
 * - init_host's registration over what hwstash and an operator wrote is undone the same way;
 * - an operator's `nova-manage image_property set` is kept and recorded, never reverted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { reconcileHost } from '../../src/agent/reconcile.js';
import { PROPERTIES } from '../../src/core/properties.js';
import { Store } from '../../src/store/index.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { requestSpecImageProperties } from '../../src/store/request-spec.js';
import { insertInstances } from '../../src/store/seed.js';
import { configText, run } from '../cli/helpers.js';
import type { TestDatabase, TestDialect } from './databases.js';
import { createNovaCell, type NovaCell } from './nova-cell.js';
import { KVM_X86 } from './fixtures.js';
import type { NovaRelease } from './nova-releases.js';

const HOST = 'compute-races';
const ALL_KEYS = PROPERTIES.map((p) => p.key).sort();
const IMAGE = { image_min_ram: '0', image_min_disk: '1', image_disk_format: 'qcow2', image_container_format: 'bare' };

export function novaRacesSuite(makeNova: () => NovaRelease, dialect: Exclude<TestDialect, 'sqlite'>): void {
  describe(`the stash against Nova's own saves (Nova ${dialect})`, () => {
    let nova: NovaRelease;
    let novaCell: NovaCell;
    let cell: TestDatabase;
    let api: TestDatabase;
    let store: Store;
    let dir: string;
    let conf: string;
    let hwConf: string;
    let apiDb: Database;

    beforeAll(async () => {
      nova = makeNova();
      novaCell = await createNovaCell(nova, dialect);
      ({ cell, api, conf } = novaCell);
      store = await Store.open(cell.url);
      await store.migrate();
      apiDb = await openDatabase(api.url);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-races-'));
      hwConf = path.join(dir, 'hwstash.conf');
      fs.writeFileSync(hwConf, configText(cell.url, dir, { host: HOST, extra: `[api_database]\nconnection = ${api.url}\n` }), { mode: 0o600 });
    }, 300_000);

    afterAll(async () => {
      await store?.close();
      await apiDb?.close();
      await novaCell?.drop();
      nova?.cleanup();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const hwstash = (...args: string[]) => run(['--config-file', hwConf, ...args]);
    // As the agent runs it with [api_database] connection configured: RequestSpecs are read.
    const audit = () =>
      reconcileHost({
        store, host: HOST, profile: KVM_X86, osinfo: null, domainFacts: async () => null, batchSize: 200, actor: 'hwstash-agent@test',
        requestSpecOf: (uuid) => requestSpecImageProperties(apiDb, uuid),
      });
    const stash = (uuid: string) => store.stash([uuid], { profile: KVM_X86, osinfo: null, host: HOST, actor: 'hwstash-agent@test' });
    /** The image_hw_* rows as Nova's own objects read them. */
    async function novaSees(uuid: string): Promise<Record<string, string | null>> {
      const read = await nova.db('read', cell.url, [uuid]);
      const sm = read[uuid].system_metadata as Record<string, string | null>;
      return Object.fromEntries(Object.entries(sm).filter(([k]) => k.startsWith('image_hw_')).sort(([a], [b]) => a.localeCompare(b)));
    }
    async function create(vmState = 'stopped'): Promise<string> {
      const uuid = randomUUID();
      await nova.db('create', cell.url, [], [{ uuid, host: HOST, vm_state: vmState, image_ref: randomUUID(), system_metadata: { ...IMAGE } }]);
      return uuid;
    }
    const historyOf = async (uuid: string) => store.history(uuid);

    test('a stash while Nova shelves (task_state set) is deferred, writes nothing, and lands after the save', async () => {
      const uuid = await create();
      let during: Awaited<ReturnType<typeof stash>> | undefined;
      await nova.hold(cell.url, 'shelve', uuid, async (phase) => {
        if (phase === 'task-set') during = await stash(uuid);
      });
      expect(during!.instances[0]).toMatchObject({ status: 'deferred', task: 'shelving' });
      expect(during!.rows).toEqual([]);
      // What the operation's .end event then does: the stash lands and Nova's own keys stay.
      const after = await stash(uuid);
      expect(after.instances[0]!.status).toBe('stashed');
      const sm = (await nova.db('read', cell.url, [uuid]))[uuid].system_metadata;
      expect(Object.keys(sm).filter((k: string) => k.startsWith('image_hw_'))).toHaveLength(11);
      expect(sm).toHaveProperty('shelved_at');
    }, 120_000);

    test("a stash in the load-to-save instant is erased by Nova's save; the audit restores every row to the history's value", async () => {
      const uuid = await create();
      await nova.hold(cell.url, 'shelve', uuid, async (phase) => {
        if (phase === 'loaded') expect((await stash(uuid)).rows).toHaveLength(11);
      });
      // The control: Nova's save with the dict it loaded before the stash deleted all eleven rows.
      expect(await novaSees(uuid)).toEqual({});
      const stashed = (await historyOf(uuid)).filter((h) => h.source === 'stash');
      expect(stashed).toHaveLength(11);

      const started = Date.now();
      const summary = await audit();
      const repairMs = Date.now() - started;
      expect(summary.propertiesRestored).toBe(11);
      const repair = summary.repairs.find((r) => r.instanceUuid === uuid)!;
      expect(repair.restored.map((r) => r.cause)).toEqual(Array(11).fill('erased'));
      // Exactly the values the history holds, read back by Nova's own objects.
      expect(await novaSees(uuid)).toEqual(Object.fromEntries(stashed.map((h) => [`image_${h.property}`, h.newValue]).sort(([a], [b]) => a!.localeCompare(b!))));
      const restores = (await historyOf(uuid)).filter((h) => h.source === 'restore');
      expect(restores.map((h) => [h.property, h.oldPresent, h.newValue])).toEqual(stashed.map((h) => [h.property, false, h.newValue]));
      // A second audit finds nothing to do.
      expect((await audit()).propertiesRestored).toBe(0);
      process.stdout.write(`nova races (${dialect}): one erased instance (11 rows) restored by an audit in ${repairMs} ms\n`);
    }, 120_000);

    test("an operator's set in the load-to-save instant is reverted by Nova's save; the audit puts the operator's value back", async () => {
      const uuid = await create();
      expect((await stash(uuid)).rows).toHaveLength(11);
      const before = (await novaSees(uuid))['image_hw_video_model'];
      expect(before).not.toBe('cirrus');
      await nova.hold(cell.url, 'shelve', uuid, async (phase) => {
        if (phase !== 'loaded') return;
        const set = await hwstash('image-property', 'set', uuid, '--property', 'hw_video_model=cirrus', '--skip-host-check');
        expect(set.code).toBe(0);
      });
      // The control: the stale dict put the old value back.
      expect((await novaSees(uuid))['image_hw_video_model']).toBe(before);
      const summary = await audit();
      expect(summary.repairs.find((r) => r.instanceUuid === uuid)?.restored).toEqual([
        expect.objectContaining({ property: 'hw_video_model', value: 'cirrus', cause: 'reverted', found: { present: true, value: before } }),
      ]);
      expect((await novaSees(uuid))['image_hw_video_model']).toBe('cirrus');
      const shown = await hwstash('image-property', 'history', uuid, '--format', 'json');
      const last = JSON.parse(shown.stdout).history.pop();
      expect(last).toMatchObject({ property: 'hw_video_model', source: 'restore', oldValue: before, newValue: 'cirrus' });
    }, 120_000);

    test("init_host's registration over a reconcile and an operator's set is undone: the operator's values and the four other rows come back", async () => {
      const uuids = [await create(), await create()];
      await nova.hold(cell.url, 'register', HOST, async (phase) => {
        if (phase !== 'loaded') return;
        // hwstash's reconcile and an operator, after Nova loaded the host's instances.
        await audit();
        const set = await hwstash('image-property', 'set', uuids[0]!, '--property', 'hw_video_model=cirrus', '--property', 'hw_disk_bus=ide', '--skip-host-check');
        expect(set.code).toBe(0);
      });
      // The control: Nova's registration wrote its defaults and deleted the four it does not register.
      const overwritten = await novaSees(uuids[0]!);
      expect(overwritten).toMatchObject({ image_hw_video_model: 'virtio', image_hw_disk_bus: 'virtio' });
      // Every key its stale dict lacked and it did not register is gone (those it does not
      // register, and any whose default it failed to find).
      const erased = ALL_KEYS.filter((k) => !(k in overwritten));
      expect(erased).toEqual(expect.arrayContaining(['image_hw_floppy_bus', 'image_hw_rescue_bus', 'image_hw_rng_model', 'image_hw_scsi_model']));

      const summary = await audit();
      const repaired = summary.repairs.find((r) => r.instanceUuid === uuids[0])!;
      expect(repaired.restored.filter((r) => r.found.present).map((r) => [r.property, r.value]).sort()).toEqual([
        ['hw_disk_bus', 'ide'],
        ['hw_video_model', 'cirrus'],
      ]);
      expect(repaired.restored.filter((r) => !r.found.present).map((r) => `image_${r.property}`).sort()).toEqual(erased);
      const seen = await novaSees(uuids[0]!);
      expect(seen).toMatchObject({ image_hw_video_model: 'cirrus', image_hw_disk_bus: 'ide' });
      expect(Object.keys(seen)).toHaveLength(11);
      expect(Object.keys(await novaSees(uuids[1]!))).toHaveLength(11);
    }, 180_000);

    test('the audit of 1,000 stashed instances: its cost, and the time to repair 100 erased ones', async () => {
      const host = `${HOST}-audit`;
      const uuids = await insertInstances(store, Array.from({ length: 1000 }, () => ({ host, imageProperties: {}, systemMetadata: { ...IMAGE }, vmState: 'active' })));
      const run = () => reconcileHost({ store, host, profile: KVM_X86, osinfo: null, domainFacts: async () => null, batchSize: 200, actor: 'hwstash-agent@test' });
      expect((await run()).propertiesStashed).toBe(11_000);
      const clean = await run();
      expect(clean).toMatchObject({ instancesSeen: 1000, propertiesStashed: 0, propertiesRestored: 0 });
      // As a stale save does: every image_hw_* row of 100 instances hard-deleted.
      const broken = uuids.slice(0, 100);
      const key = store.db.sequelize.getQueryInterface().quoteIdentifier('key');
      await store.db.sequelize.query(`DELETE FROM instance_system_metadata WHERE instance_uuid IN (:broken) AND ${key} IN (:keys)`, { replacements: { broken, keys: ALL_KEYS } });
      const repair = await run();
      expect(repair).toMatchObject({ propertiesRestored: 1100, propertiesStashed: 0 });
      expect(await store.instancesMissingProperties(uuids)).toEqual(new Set());
      process.stdout.write(
        `nova races (${dialect}): audit of 1,000 stashed instances: ${clean.durationMs} ms, ${clean.queries} statements (${clean.batches} batches); ` +
          `repair of 100 erased instances (1,100 rows) in the same audit: ${repair.durationMs} ms, ${repair.queries} statements\n`,
      );
    }, 300_000);

    test("an operator's nova-manage image_property set is kept and recorded as Nova's change, not reverted, even back to an older value", async () => {
      const uuid = await create();
      await nova.db('reqspec-create', api.url, [uuid], {});
      expect((await stash(uuid)).rows).toHaveLength(11);
      const original = (await novaSees(uuid))['image_hw_video_model']!;
      // hwstash's own set first (it updates the RequestSpec too).
      const own = await hwstash('image-property', 'set', uuid, '--property', 'hw_video_model=cirrus', '--skip-host-check');
      expect(own.code).toBe(0);
      const listed = await nova.manage(conf, ['cell_v2', 'list_cells', '--verbose']);
      const cellUuid = /\|\s*cell1\s*\|\s*([0-9a-f-]{36})\s*\|/.exec(listed.stdout)?.[1];
      expect(cellUuid).toBeDefined();
      const mapped = await nova.manage(conf, ['cell_v2', 'map_instances', '--cell_uuid', cellUuid!]);
      expect({ code: mapped.code, err: mapped.code === 0 ? '' : mapped.stderr.slice(-1500) + mapped.stdout.slice(-500) }).toEqual({ code: 0, err: '' });
      // From 2024.1 nova-manage also updates the RequestSpec, which tells its set from a stale
      // save even back to an older value; Zed's does not, so there the operator picks a new one
      // (an older value would read as a stale save's revert: docs/operations.md says so).
      const updatesSpec = nova.name !== 'Zed';
      const chosen = updatesSpec ? original : 'vga';
      expect(chosen).not.toBe('cirrus');
      const set = await nova.manage(conf, ['image_property', 'set', uuid, '--property', `hw_video_model=${chosen}`]);
      expect({ code: set.code, err: set.code === 0 ? '' : set.stderr.slice(-1500) }).toEqual({ code: 0, err: '' });

      const summary = await audit();
      const adopted = summary.repairs.find((r) => r.instanceUuid === uuid)?.adopted;
      expect(adopted).toEqual([expect.objectContaining({ property: 'hw_video_model', found: { present: true, value: chosen } })]);
      expect((await nova.db('reqspec-read', api.url, [uuid])).properties.hw_video_model).toBe(updatesSpec ? chosen : 'cirrus');
      expect(adopted![0]!.cause).toBe(updatesSpec ? 'requestSpec' : 'unexplained');
      expect((await novaSees(uuid))['image_hw_video_model']).toBe(chosen);
      const last = (await historyOf(uuid)).pop()!;
      expect(last).toMatchObject({ property: 'hw_video_model', source: 'nova', oldValue: 'cirrus', newValue: chosen });
      // Recorded once: the next audit agrees with the row.
      expect((await audit()).repairs.find((r) => r.instanceUuid === uuid)).toBeUndefined();
    }, 120_000);
  });
}
