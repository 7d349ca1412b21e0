/**
 * Two writers on the same instances at once, each with its own connection pool, as two agents
 * (or an agent and an operator) would be: Nova's table has no unique key on (instance_uuid,
 * key), so only hwstash's locking keeps the rows single.
 */
import { Store } from '../../src/store/index.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from './databases.js';
import { KVM_X86, OSINFO } from './fixtures.js';
import { propertyRows, seedInstance } from './seed.js';

const opts = { profile: KVM_X86, osinfo: OSINFO };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `predicate` holds, polling. */
async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await sleep(5);
  }
}

async function keysWithCount(store: Store, uuid: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const row of await propertyRows(store, uuid)) counts[row.key] = (counts[row.key] ?? 0) + 1;
  return counts;
}

export function concurrencySuite(dialect: TestDialect): void {
  describe(`concurrent writers on ${dialect}`, () => {
    let tdb: TestDatabase;
    let a: Store;
    let b: Store;

    beforeAll(async () => {
      tdb = await createTestDatabase(dialect);
      a = await Store.open(tdb.url);
      b = await Store.open(tdb.url);
      await a.initNovaSchema();
      await a.migrate();
    }, 60_000);

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await tdb?.drop();
    });

    test('a second stasher waits for the first and then adds nothing', async () => {
      const uuids = [await seedInstance(a, {}), await seedInstance(a, { sysmeta: { image_os_distro: 'win10' } })];
      let second: Promise<unknown> | undefined;
      let secondDone = false;
      const first = a.stash(uuids, {
        ...opts,
        actor: 'agent-a',
        // A holds its locks, with its rows not yet written, while B starts.
        afterRead: async () => {
          second = b.stash(uuids, { ...opts, actor: 'agent-b' }).then((r) => {
            secondDone = true;
            return r;
          });
          await sleep(400);
          expect(secondDone).toBe(false);
        },
      });
      const firstReport = await first;
      const secondReport = (await second) as Awaited<typeof first>;
      expect(firstReport.rows).toHaveLength(22);
      expect(secondReport.rows).toEqual([]);
      expect(secondReport.instances.map((i) => i.status)).toEqual(['complete', 'complete']);
      for (const uuid of uuids) {
        const counts = await keysWithCount(a, uuid);
        expect(Object.keys(counts)).toHaveLength(11);
        expect(Object.values(counts).every((n) => n === 1)).toBe(true);
        expect((await a.history(uuid)).every((h) => h.actor === 'agent-a')).toBe(true);
      }
    });

    test('many rounds of two stashers in parallel leave exactly one row per key', async () => {
      for (let round = 0; round < 8; round++) {
        const uuids: string[] = [];
        for (let i = 0; i < 12; i++) uuids.push(await seedInstance(a, { sysmeta: i % 3 ? { image_hw_vif_model: 'VirtualE1000' } : {} }));
        // Overlapping, differently ordered batches.
        await Promise.all([
          a.stash(uuids, { ...opts, actor: 'agent-a' }),
          b.stash([...uuids].reverse(), { ...opts, actor: 'agent-b' }),
          b.stash(uuids.slice(3, 9), { ...opts, actor: 'agent-c' }),
        ]);
        for (const uuid of uuids) {
          const counts = await keysWithCount(a, uuid);
          expect(Object.keys(counts)).toHaveLength(11);
          expect(Object.entries(counts).filter(([, n]) => n !== 1)).toEqual([]);
        }
      }
    }, 120_000);

    test("an operator's set racing a stash wins, without duplicates, whichever starts first", async () => {
      // The stash holds the lock first: the set waits, then updates the stashed row.
      const u1 = await seedInstance(a, { vmState: 'stopped' });
      let set1: Promise<unknown> | undefined;
      await a.stash([u1], {
        ...opts,
        actor: 'agent',
        afterRead: async () => {
          set1 = b.writeProperties(u1, [{ property: 'hw_video_model', value: 'vga' }], { source: 'set', actor: 'operator' });
          await sleep(300);
        },
      });
      await set1;

      // The set holds the lock first: the stash waits, then sees the operator's row.
      const u2 = await seedInstance(a, { vmState: 'stopped' });
      let stash2: Promise<unknown> | undefined;
      let stashStarted = false;
      await b.writeProperties(u2, [{ property: 'hw_video_model', value: 'vga' }], {
        source: 'set',
        actor: 'operator',
        afterRead: async () => {
          stash2 = a.stash([u2], { ...opts, actor: 'agent' });
          stashStarted = true;
          await sleep(300);
        },
      });
      await until(() => stashStarted);
      await stash2;

      for (const uuid of [u1, u2]) {
        const rows = await propertyRows(a, uuid);
        expect(rows.filter((r) => r.key === 'image_hw_video_model').map((r) => r.value)).toEqual(['vga']);
        expect(rows).toHaveLength(11);
      }
    });
  });
}
