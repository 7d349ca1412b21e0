/**
 * How fast the osinfo-db index loads, against libosinfo reading the same db (`osinfo-query os`),
 * and how fast it answers.
 *
 * Standalone: `npm run build && node dist/bench/osinfo.js [runs]`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OsInfoIndex, resolveOsinfoDir } from '../src/osinfo/index.js';
import { readOsinfoDb } from '../src/osinfo/osinfo-db-reader.js';

export interface BenchFigure {
  name: string;
  figure: string;
  /** ours / libosinfo's where there is a libosinfo counterpart (lower is better), else null. */
  ratio: number | null;
}

export interface OsinfoBenchOptions {
  dir?: string;
  /** Timed runs per measurement; the median is reported. */
  runs?: number;
  lookups?: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const ms = (value: number): string => `${value.toFixed(0)} ms`;

/** Wall time of one child process, or null when it cannot run or fails. */
function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv): number | null {
  const start = performance.now();
  const run = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  const elapsed = performance.now() - start;
  return run.error || run.status !== 0 ? null : elapsed;
}

export async function benchOsinfo(options: OsinfoBenchOptions = {}): Promise<BenchFigure[]> {
  const dir = options.dir ?? resolveOsinfoDir();
  const runs = options.runs ?? 7;
  const lookups = options.lookups ?? 2_000_000;
  const queryEnv = { ...process.env, OSINFO_SYSTEM_DIR: dir, LC_ALL: 'C' };
  const gc = (globalThis as { gc?: () => void }).gc;

  const coldStart = performance.now();
  let index = await OsInfoIndex.load(dir);
  const firstLoad = performance.now() - coldStart;

  // Interleaved, so both sides share whatever else the machine is doing.
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < runs; i++) {
    gc?.();
    const start = performance.now();
    index = await OsInfoIndex.load(dir);
    ours.push(performance.now() - start);
    const query = timeProcess('osinfo-query', ['os'], queryEnv);
    if (query !== null) theirs.push(query);
  }

  const figures: BenchFigure[] = [];
  const libosinfo = theirs.length === runs ? median(theirs) : null;
  const versus = libosinfo === null ? 'osinfo-query unavailable' : `osinfo-query os ${ms(libosinfo)}`;
  figures.push({
    name: `osinfo index load, in process (median of ${runs}; first load ${ms(firstLoad)})`,
    figure: `${ms(median(ours))} vs ${versus}`,
    ratio: libosinfo === null ? null : median(ours) / libosinfo,
  });

  // A whole process each, as osinfo-query is: what one CLI command pays.
  const moduleFile = fileURLToPath(new URL('../src/osinfo/index.js', import.meta.url));
  if (fs.existsSync(moduleFile)) {
    const script = `const m = await import(${JSON.stringify(moduleFile)}); await m.OsInfoIndex.load(${JSON.stringify(dir)});`;
    const nodeRuns: number[] = [];
    const queryRuns: number[] = [];
    for (let i = 0; i < runs; i++) {
      const node = timeProcess(process.execPath, ['--input-type=module', '-e', script], process.env);
      if (node !== null) nodeRuns.push(node);
      const query = timeProcess('osinfo-query', ['os'], queryEnv);
      if (query !== null) queryRuns.push(query);
    }
    const fresh = nodeRuns.length === runs ? median(nodeRuns) : null;
    const query = queryRuns.length === runs ? median(queryRuns) : null;
    figures.push({
      name: `osinfo index load, fresh node process (median of ${runs})`,
      figure: `${fresh === null ? 'failed' : ms(fresh)} vs ${query === null ? 'osinfo-query unavailable' : `osinfo-query os ${ms(query)}`}`,
      ratio: fresh === null || query === null ? null : fresh / query,
    });
  }

  const db = await readOsinfoDb(dir);
  const names = [...db.oses.values()].flatMap((os) => [os.id, ...os.shortIds]).concat(['unknown-os', '']);
  let found = 0;
  const start = performance.now();
  for (let i = 0; i < lookups; i++) if (index.lookup(names[i % names.length]!) !== null) found++;
  const seconds = (performance.now() - start) / 1000;
  figures.push({
    name: `osinfo lookups per second (${names.length} names, ${found} hits)`,
    figure: `${(lookups / seconds / 1e6).toFixed(1)} M/s`,
    ratio: null,
  });
  figures.push({ name: 'osinfo OSes indexed', figure: String(index.osCount), ratio: null });
  return figures;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const runs = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const figures = await benchOsinfo(runs === undefined ? {} : { runs });
  for (const f of figures) console.log(`${f.name}: ${f.figure}${f.ratio === null ? '' : ` (ratio ${f.ratio.toFixed(2)})`}`);
}
