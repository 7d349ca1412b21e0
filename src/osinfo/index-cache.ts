/**
 * The built osinfo index on disk, so a command pays for parsing the osinfo-db's ~850 XML files
 * once per osinfo-db instead of once per run. The cache is keyed by what went into the index —
 * every file's name, size and modification time, and the code that built it (the compiled
 * modules of this folder) — and carries a checksum of its payload: a cache from another db or
 * another hwstash, cut short or corrupted is detected and rebuilt, never trusted. It is written
 * to a temporary file and renamed, so a reader never sees half of one. Where no cache directory
 * is writable (a read-only state directory, say) the index is simply built each time.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { osinfoXmlFiles } from './osinfo-db-reader.js';
import { OsInfoIndex, type OsInfoIndexSnapshot } from './osinfo-index.js';

/** Bumped when the file's layout changes. */
const FORMAT = 1;
const CODE_DIR = path.dirname(fileURLToPath(import.meta.url));

export type CacheOutcome = 'hit' | 'built' | 'built-uncached';

export interface CachedIndex {
  index: OsInfoIndex;
  outcome: CacheOutcome;
  /** The cache file read or written; null when none could be. */
  file: string | null;
  /** Why a cache found was not used (stale, corrupt…), or why none could be written. */
  note?: string;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

let codeHash: string | undefined;

/** The code that builds the index: this folder's compiled modules, as loaded. */
function builtBy(): string {
  if (codeHash === undefined) {
    const hash = createHash('sha256');
    for (const name of fs.readdirSync(CODE_DIR).filter((n) => /\.(js|ts)$/.test(n) && !n.endsWith('.d.ts')).sort()) {
      hash.update(name).update(fs.readFileSync(path.join(CODE_DIR, name)));
    }
    codeHash = hash.digest('hex');
  }
  return codeHash;
}

/** What the index of `dir` depends on: its files' names, sizes and mtimes, and the code. */
async function keyOf(dir: string): Promise<string> {
  const files = (await osinfoXmlFiles(dir)).sort();
  const stats = await Promise.all(files.map(async (rel) => fs.promises.stat(path.join(dir, rel))));
  const listing = files.map((rel, i) => `${rel}\0${stats[i]!.size}\0${stats[i]!.mtimeMs}`).join('\n');
  return sha256(`${FORMAT}\n${path.resolve(dir)}\n${builtBy()}\n${listing}`);
}

function fileFor(cacheDir: string, dir: string): string {
  return path.join(cacheDir, `osinfo-index-${sha256(path.resolve(dir)).slice(0, 16)}.json`);
}

function isEntries(v: unknown): v is OsInfoIndexSnapshot['byId'] {
  return (
    Array.isArray(v) &&
    v.every((e) => Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && (e[1] === null || typeof e[1] === 'string') && (e[2] === null || typeof e[2] === 'string'))
  );
}

/** The snapshot in `file` if it is whole, uncorrupted and built from `key`; else why not. */
function readCache(file: string, key: string): { snapshot: OsInfoIndexSnapshot } | { miss: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { miss: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache yet' : `unreadable: ${(err as Error).message}` };
  }
  const newline = text.indexOf('\n');
  if (newline === -1) return { miss: 'corrupt (no header)' };
  let header: { format?: unknown; key?: unknown; sha256?: unknown };
  try {
    header = JSON.parse(text.slice(0, newline)) as typeof header;
  } catch {
    return { miss: 'corrupt (header)' };
  }
  if (header.format !== FORMAT || header.key !== key) return { miss: 'stale (another osinfo-db or another hwstash built it)' };
  const payload = text.slice(newline + 1);
  if (header.sha256 !== sha256(payload)) return { miss: 'corrupt (checksum)' };
  try {
    const s = JSON.parse(payload) as Partial<OsInfoIndexSnapshot>;
    if (!isEntries(s.byShortId) || !isEntries(s.byId) || !Array.isArray(s.ambiguousShortIds)) return { miss: 'corrupt (shape)' };
    return { snapshot: s as OsInfoIndexSnapshot };
  } catch {
    return { miss: 'corrupt (payload)' };
  }
}

function writeCache(file: string, key: string, snapshot: OsInfoIndexSnapshot): void {
  const payload = JSON.stringify(snapshot);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  try {
    fs.writeFileSync(tmp, `${JSON.stringify({ format: FORMAT, key, sha256: sha256(payload) })}\n${payload}`, { mode: 0o640 });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * The index of `dir`: from the first of `cacheDirs` holding a valid cache, else built and
 * written to the first of them that takes it. Errors of the db itself propagate as from
 * OsInfoIndex.load; cache trouble never does.
 */
export async function loadIndexCached(dir: string, cacheDirs: readonly string[]): Promise<CachedIndex> {
  let key: string;
  try {
    key = await keyOf(dir);
  } catch {
    // A db that cannot even be listed: let the real load say why.
    return { index: await OsInfoIndex.load(dir), outcome: 'built-uncached', file: null, note: 'osinfo-db could not be listed' };
  }
  const misses: string[] = [];
  for (const cacheDir of cacheDirs) {
    const file = fileFor(cacheDir, dir);
    const read = readCache(file, key);
    if ('snapshot' in read) return { index: OsInfoIndex.fromSnapshot(read.snapshot, dir), outcome: 'hit', file };
    if (read.miss !== 'no cache yet') misses.push(`${file}: ${read.miss}`);
  }
  const index = await OsInfoIndex.load(dir);
  const snapshot = index.snapshot();
  for (const cacheDir of cacheDirs) {
    const file = fileFor(cacheDir, dir);
    try {
      writeCache(file, key, snapshot);
      return { index, outcome: 'built', file, ...(misses.length ? { note: misses.join('; ') } : {}) };
    } catch (err) {
      misses.push(`${file}: not writable (${(err as Error).message})`);
    }
  }
  return { index, outcome: 'built-uncached', file: null, ...(misses.length ? { note: misses.join('; ') } : {}) };
}
