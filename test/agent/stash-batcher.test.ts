/**
 * The group commit of event stashes, with a runner the test controls (it stands in for the
 * store's one-transaction stash, so the test decides when a transaction "commits" or fails).
 */
import { StashBatcher, type StashRequest } from '../../src/agent/stash-batcher.js';
import type { InstanceStashReport } from '../../src/store/index.js';

function report(uuid: string): InstanceStashReport {
  return { uuid, status: 'stashed', present: {}, toStash: {}, errors: {}, badStoredValues: [], restored: [], adopted: [] };
}

/** A runner whose batches finish when the test says so. */
function controlledRunner() {
  const batches: Array<{ uuids: string[]; commit: () => void; fail: (err: Error) => void }> = [];
  const run = (batch: readonly StashRequest[]) =>
    new Promise<ReadonlyMap<string, InstanceStashReport>>((resolve, reject) => {
      const uuids = batch.map((b) => b.uuid);
      batches.push({ uuids, commit: () => resolve(new Map(uuids.map((u) => [u, report(u)]))), fail: reject });
    });
  return { batches, run };
}

const tick = () => new Promise((r) => setImmediate(r));

test('requests made together share one transaction; each resolves with its own report after the commit', async () => {
  const r = controlledRunner();
  const b = new StashBatcher(r.run, 100);
  const settled: string[] = [];
  const all = ['a', 'b', 'c'].map((u) => b.stash({ uuid: u, facts: null }).then((rep) => settled.push(rep!.uuid)));
  await tick();
  expect(r.batches.map((x) => x.uuids)).toEqual([['a', 'b', 'c']]);
  expect(settled).toEqual([]);
  r.batches[0]!.commit();
  await Promise.all(all);
  expect(settled.sort()).toEqual(['a', 'b', 'c']);
});

test('requests made while a transaction runs go together into the next one', async () => {
  const r = controlledRunner();
  const b = new StashBatcher(r.run, 100);
  const first = b.stash({ uuid: 'a', facts: null });
  await tick();
  const later = ['b', 'c', 'd'].map((u) => b.stash({ uuid: u, facts: null }));
  await tick();
  expect(r.batches.map((x) => x.uuids)).toEqual([['a']]);
  r.batches[0]!.commit();
  await first;
  await tick();
  expect(r.batches.map((x) => x.uuids)).toEqual([['a'], ['b', 'c', 'd']]);
  r.batches[1]!.commit();
  await Promise.all(later);
});

test('a batch holds at most maxBatch instances and each instance once', async () => {
  const r = controlledRunner();
  const b = new StashBatcher(r.run, 2);
  const all = ['a', 'b', 'a', 'c'].map((u) => b.stash({ uuid: u, facts: null }));
  await tick();
  expect(r.batches.map((x) => x.uuids)).toEqual([['a', 'b']]);
  r.batches[0]!.commit();
  await tick();
  await tick();
  expect(r.batches.map((x) => x.uuids)).toEqual([['a', 'b'], ['a', 'c']]);
  r.batches[1]!.commit();
  await Promise.all(all);
});

test('a failed transaction fails every request of that batch, and the next batch runs', async () => {
  const r = controlledRunner();
  const b = new StashBatcher(r.run, 100);
  const doomed = ['a', 'b'].map((u) => b.stash({ uuid: u, facts: null }).then(() => 'ok', (e: Error) => e.message));
  await tick();
  const next = b.stash({ uuid: 'c', facts: null });
  r.batches[0]!.fail(new Error('deadlock'));
  expect(await Promise.all(doomed)).toEqual(['deadlock', 'deadlock']);
  await tick();
  expect(r.batches[1]!.uuids).toEqual(['c']);
  r.batches[1]!.commit();
  expect((await next)!.uuid).toBe('c');
});

test('an instance the store did not report on resolves with null', async () => {
  const b = new StashBatcher(async () => new Map(), 10);
  expect(await b.stash({ uuid: 'gone', facts: null })).toBeNull();
});
