/** reconcileHost: paging by batches, domain facts, progress, stopping and being killed mid-way. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reconcileHost } from '../../src/agent/reconcile.js';
import type { DomainFacts } from '../../src/core/inputs.js';
import { Store } from '../../src/store/index.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { KVM_X86, OSINFO } from './fixtures.js';
import { propertyRows, seedInstance } from './seed.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function seedHost(store: Store, host: string, n: number, spec: Parameters<typeof seedInstance>[1] = {}): Promise<string[]> {
  const uuids: string[] = [];
  for (let i = 0; i < n; i++) uuids.push(await seedInstance(store, { ...spec, host }));
  return uuids;
}

describe('reconcileHost', () => {
  let tdb: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite');
    store = await Store.open(tdb.url);
    await store.initNovaSchema();
    await store.migrate();
  });

  afterAll(async () => {
    await store?.close();
    await tdb?.drop();
  });

  const base = { profile: KVM_X86, osinfo: OSINFO, domainFacts: async () => null };

  test('goes through the host by batches, with the domain facts of its live instances', async () => {
    const host = 'paging';
    const uuids = await seedHost(store, host, 7);
    const complete = await seedInstance(store, { host });
    await store.stash([complete], { ...base, actor: 'earlier' });
    await seedInstance(store, { host, deleted: true });
    await seedInstance(store, { host: 'someone-else' });

    const asked: string[] = [];
    const progress: number[] = [];
    const summary = await reconcileHost({
      ...base,
      store,
      host,
      batchSize: 3,
      domainFacts: async (uuid) => {
        asked.push(uuid);
        return uuid === uuids[0] ? ({ osType: 'hvm', values: { hw_video_model: 'cirrus' } } satisfies DomainFacts) : null;
      },
      onProgress: (p) => progress.push(p.done),
    });
    expect(summary).toMatchObject({ instancesSeen: 8, instancesStashed: 7, instancesComplete: 1, batches: 3, propertiesStashed: 77, errors: [] });
    expect(summary.stashedBySource.domain).toBe(1);
    // The complete instance's domain is not read: nothing is missing.
    expect(asked.sort()).toEqual([...uuids].sort());
    expect(progress).toEqual([0, 3, 6, 8]);
    expect((await propertyRows(store, uuids[0]!)).find((r) => r.key === 'image_hw_video_model')?.value).toBe('cirrus');
    // The host's list, then per batch the look for missing properties and the stash's fixed set of
    // statements (the history and Nova's rebuilds read once per batch, for the repair).
    expect(summary.queries).toBeLessThanOrEqual(1 + 3 * 9);
  });

  test('an instance complete when listed but not when locked is reported, not stashed with defaults', async () => {
    const host = 'reverted-meanwhile';
    const [fresh, reverted] = await seedHost(store, host, 2);
    await store.stash([reverted!], { ...base, actor: 'earlier' });
    const summary = await reconcileHost({
      ...base,
      store,
      host,
      batchSize: 10,
      // An operator's revert to "not stashed" lands while the batch's domains are read.
      domainFacts: async () => {
        await store.writeProperties(reverted!, [{ property: 'hw_video_model', remove: true }], { source: 'revert', actor: 'alice' });
        return null;
      },
    });
    expect(summary).toMatchObject({ instancesStashed: 1, instancesIncomplete: 1 });
    expect(summary.errors).toEqual([
      { instanceUuid: reverted, property: 'hw_video_model', code: 'DomainUnreadable', message: expect.stringContaining('every property was stashed when the batch was listed') },
    ]);
    expect((await propertyRows(store, reverted!)).map((r) => r.key)).not.toContain('image_hw_video_model');
    expect(await propertyRows(store, fresh!)).toHaveLength(11);
  });

  test('an unreadable domain leaves a stash-needing instance alone this round and says so', async () => {
    const host = 'flaky-libvirt';
    const [a, b, done] = await seedHost(store, host, 3);
    await store.stash([done!], { ...base, actor: 'earlier' });
    const summary = await reconcileHost({
      ...base,
      store,
      host,
      batchSize: 10,
      domainFacts: async (uuid) => {
        if (uuid === a || uuid === done) throw new Error('libvirt: connection reset');
        return null;
      },
    });
    expect(summary.errors).toHaveLength(11);
    expect(summary.errors[0]).toEqual({
      instanceUuid: a,
      property: 'hw_machine_type',
      code: 'DomainUnreadable',
      message: 'hw_machine_type: not resolved: cannot read the libvirt domain: libvirt: connection reset',
    });
    expect(summary.errorsByProperty['hw_vif_model']).toEqual({ DomainUnreadable: 1 });
    expect(summary).toMatchObject({ instancesIncomplete: 1, instancesStashed: 1, instancesComplete: 1 });
    expect(await propertyRows(store, a!)).toEqual([]);
    expect(await propertyRows(store, b!)).toHaveLength(11);
  });

  test('one instance, a dry run, and a stop between batches', async () => {
    const host = 'single';
    const [one, two, three] = await seedHost(store, host, 3);
    const dry = await reconcileHost({ ...base, store, host, batchSize: 10, dryRun: true, instanceUuid: two });
    expect(dry).toMatchObject({ instancesSeen: 1, propertiesStashed: 11, dryRun: true });
    expect(dry.rows!.every((r) => r.instanceUuid === two)).toBe(true);
    expect(await propertyRows(store, two!)).toEqual([]);

    const stop = new AbortController();
    const stopped = await reconcileHost({ ...base, store, host, batchSize: 1, signal: stop.signal, onProgress: (p) => p.done === 1 && stop.abort() });
    expect(stopped).toMatchObject({ interrupted: true, instancesSeen: 1 });
    expect(await propertyRows(store, one!)).toHaveLength(11);
    expect(await propertyRows(store, three!)).toEqual([]);
  });

  test('killed mid-way, it leaves whole batches and nothing partial; the next run finishes', async () => {
    const host = 'killed';
    const uuids = await seedHost(store, host, 300, { sysmeta: { image_os_distro: 'win10' } });
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'reconcile-child.ts'), tdb.url, host, '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('batch 2')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    await new Promise((r) => child.once('exit', r).once('close', r));
    const counts = await Promise.all(uuids.map(async (u) => (await propertyRows(store, u)).length));
    expect(counts.every((n) => n === 0 || n === 11)).toBe(true);
    const done = counts.filter((n) => n === 11).length;
    expect(done % 10).toBe(0);
    expect(done).toBeGreaterThanOrEqual(20);
    expect(done).toBeLessThan(300);

    const rest = await reconcileHost({ ...base, store, host, batchSize: 50 });
    expect(rest.instancesStashed).toBe(300 - done);
    expect(rest.instancesComplete).toBe(done);
  }, 60_000);
});
