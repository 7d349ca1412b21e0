/**
 * How fast a command starts, as an operator runs it: the real `hwstash` (bin/hwstash.js over
 * dist/) in a fresh process, each figure the median of interleaved runs against its baseline in
 * the same run — a bare `node -e 0`, and for `defaults` libosinfo's own `osinfo-query` for the
 * same OS. Goals: `--help` ≤ 1.5×, `image-property list` on SQLite ≤ 4× node -e 0; a cold
 * `defaults --property os_distro=…` (the osinfo index cached) ≤ 1.0× osinfo-query.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/store/index.js';
import { insertInstances } from '../src/store/seed.js';
import type { BenchResult } from './domain-xml.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HWSTASH = path.join(REPO, 'bin/hwstash.js');

function timed(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): number {
  const t0 = performance.now();
  execFileSync(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchStartup(runs = 15): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-bench-startup-'));
  try {
    const db = path.join(dir, 'nova.sqlite');
    const conf = path.join(dir, 'hwstash.conf');
    fs.writeFileSync(conf, `[DEFAULT]\nhost = bench\n[database]\nconnection = sqlite:///${db}\n[hwstash]\nstate_dir = ${dir}\n`, { mode: 0o600 });
    const store = await Store.open(`sqlite:///${db}`);
    const [uuid] = await (async () => {
      await store.initNovaSchema();
      await store.migrate();
      return insertInstances(store, [{ host: 'bench', vmState: 'stopped', imageProperties: { os_distro: 'win10' } }]);
    })().finally(() => store.close());
    const env = { ...process.env, HOME: dir, XDG_CACHE_HOME: '' };
    const cases: Record<string, [string, string[]]> = {
      node: [process.execPath, ['-e', '0']],
      help: [process.execPath, [HWSTASH, '--help']],
      list: [process.execPath, [HWSTASH, '--config-file', conf, 'image-property', 'list', uuid!, '--format', 'json']],
      defaults: [process.execPath, [HWSTASH, 'defaults', '--property', 'os_distro=win10', '--format', 'json']],
      osinfoQuery: ['osinfo-query', ['os', 'short-id=win10']],
    };
    // One untimed round: Node's compile cache (22+) and the osinfo index cache are written once,
    // as on a host after the first command.
    for (const [cmd, args] of Object.values(cases)) timed(cmd, args, env, dir);
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) for (const [name, [cmd, args]] of Object.entries(cases)) times[name]!.push(timed(cmd, args, env, dir));
    const med = (k: keyof typeof cases): number => median(times[k]!);
    const m = { node: med('node'), help: med('help'), list: med('list'), defaults: med('defaults'), osinfoQuery: med('osinfoQuery') };
    const ms = (v: number) => Math.round(v);
    return [
      { name: 'hwstash --help (goal ≤ 1.5× node -e 0)', value: ms(m.help), unit: 'ms', baseline: ms(m.node), ratio: m.help / m.node },
      { name: 'hwstash image-property list <uuid> on SQLite (goal ≤ 4× node -e 0)', value: ms(m.list), unit: 'ms', baseline: ms(m.node), ratio: m.list / m.node },
      { name: 'hwstash defaults --property os_distro=win10, index cached (goal ≤ 1.0× osinfo-query os short-id=win10)', value: ms(m.defaults), unit: 'ms', baseline: ms(m.osinfoQuery), ratio: m.defaults / m.osinfoQuery },
      { name: `Node.js ${process.version}: node -e 0 (median of ${runs})`, value: ms(m.node), unit: 'ms' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const r of await benchStartup()) console.log(JSON.stringify(r));
}
