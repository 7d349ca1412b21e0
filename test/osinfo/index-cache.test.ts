/**
 * The built index on disk (osinfo/index-cache.ts): used when it matches the db, rebuilt when the
 * db changed (a file's content, size or time, a file added), when it is cut short or corrupted
 * anywhere, and never an error where no cache directory is writable. The real db's answers from
 * the cache equal a fresh build's for every OS it lists.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OsInfoIndex, loadIndexCached } from '../../src/osinfo/index.js';
import { DEV, FixtureDb } from './fixture-db.js';

const REAL_DB = '/usr/share/osinfo';
const cleanup: Array<() => void> = [];
afterAll(() => cleanup.forEach((f) => f()));

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-osinfo-cache-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function smallDb(): FixtureDb {
  const fx = new FixtureDb();
  cleanup.push(() => fx.remove());
  fx.device(DEV.e1000);
  fx.device(DEV.rtl8139);
  fx.device(DEV.virtioBlock);
  fx.os('alpha', [DEV.e1000.id, DEV.virtioBlock.id]);
  fx.os('beta', [DEV.rtl8139.id]);
  return fx;
}

test('built once, then read from the cache with the same answers', async () => {
  const fx = smallDb();
  const cache = tempDir();
  const first = await loadIndexCached(fx.dir, [cache]);
  expect(first.outcome).toBe('built');
  expect(fs.existsSync(first.file!)).toBe(true);
  const second = await loadIndexCached(fx.dir, [cache]);
  expect(second).toMatchObject({ outcome: 'hit', file: first.file });
  expect(second.index.lookup('alpha')).toEqual({ networkModel: 'e1000', diskModel: 'virtio' });
  expect(second.index.lookup('beta')).toEqual({ networkModel: 'rtl8139', diskModel: null });
  // Nothing left behind but the cache itself (the temporary file was renamed).
  expect(fs.readdirSync(cache)).toEqual([path.basename(first.file!)]);
});

test('a changed db (content and size, only a time, a new file) is detected and rebuilt', async () => {
  const fx = smallDb();
  const cache = tempDir();
  await loadIndexCached(fx.dir, [cache]);

  fx.os('beta', [DEV.e1000.id]);
  const changed = await loadIndexCached(fx.dir, [cache]);
  expect(changed.outcome).toBe('built');
  expect(changed.note).toMatch(/stale/);
  expect(changed.index.lookup('beta')?.networkModel).toBe('e1000');

  const file = path.join(fx.dir, 'os/hwstash.test/alpha.xml');
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(file, later, later);
  expect((await loadIndexCached(fx.dir, [cache])).outcome).toBe('built');

  fx.os('gamma', [DEV.rtl8139.id]);
  const added = await loadIndexCached(fx.dir, [cache]);
  expect(added.outcome).toBe('built');
  expect(added.index.lookup('gamma')?.networkModel).toBe('rtl8139');
  expect((await loadIndexCached(fx.dir, [cache])).outcome).toBe('hit');
});

test.each([
  ['cut short', (text: string) => text.slice(0, Math.floor(text.length / 2))],
  ['empty', () => ''],
  ['a value changed in the payload', (text: string) => text.replace('"e1000"', '"e1001"')],
  ['the header garbled', (text: string) => `{${text}`],
  ['the payload replaced with valid JSON of another shape', (text: string) => `${text.split('\n')[0]}\n{"byId":1}`],
])('a cache %s is never trusted: rebuilt and rewritten', async (_what, damage) => {
  const fx = smallDb();
  const cache = tempDir();
  const { file } = await loadIndexCached(fx.dir, [cache]);
  fs.writeFileSync(file!, damage(fs.readFileSync(file!, 'utf8')));
  const again = await loadIndexCached(fx.dir, [cache]);
  expect(again.outcome).toBe('built');
  expect(again.note).toMatch(/corrupt|stale/);
  expect(again.index.lookup('alpha')).toEqual({ networkModel: 'e1000', diskModel: 'virtio' });
  expect((await loadIndexCached(fx.dir, [cache])).outcome).toBe('hit');
});

test('where no cache directory can be written the index is built each time, without error', async () => {
  const fx = smallDb();
  const blocker = path.join(tempDir(), 'a-file');
  fs.writeFileSync(blocker, '');
  // A state directory on a read-only file system (as ProtectSystem=strict leaves everything but
  // the unit's own paths), and a path under a regular file, which not even root can create.
  const readOnly = path.join(tempDir(), 'ro');
  fs.mkdirSync(readOnly);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'hwstash-ro-test', readOnly]);
  cleanup.unshift(() => execFileSync('umount', [readOnly]));
  const unwritable = [readOnly, path.join(blocker, 'cache')];
  const result = await loadIndexCached(fx.dir, unwritable);
  expect(result).toMatchObject({ outcome: 'built-uncached', file: null });
  expect(result.note).toMatch(/ro\/osinfo-index-.*not writable \(EROFS/);
  expect(result.index.lookup('alpha')?.networkModel).toBe('e1000');
  // The next writable directory in the list takes it.
  const cache = tempDir();
  expect((await loadIndexCached(fx.dir, [...unwritable, cache])).outcome).toBe('built');
  expect((await loadIndexCached(fx.dir, [...unwritable, cache])).outcome).toBe('hit');
});

test("the real osinfo-db: every OS's answer from the cache equals a fresh build's", async () => {
  const cache = tempDir();
  expect((await loadIndexCached(REAL_DB, [cache])).outcome).toBe('built');
  const cached = await loadIndexCached(REAL_DB, [cache]);
  expect(cached.outcome).toBe('hit');
  const fresh = await OsInfoIndex.load(REAL_DB);
  const { byShortId, byId, ambiguousShortIds } = fresh.snapshot();
  expect(byId.length).toBeGreaterThan(500);
  for (const [name] of [...byShortId, ...byId]) expect([name, cached.index.lookup(name)]).toEqual([name, fresh.lookup(name)]);
  expect(cached.index.ambiguousShortIds).toEqual(ambiguousShortIds);
  expect(cached.index.osCount).toBe(fresh.osCount);
}, 60_000);
