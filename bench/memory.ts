/**
 * Resident memory of the agent's long-lived state: a process with the osinfo index loaded and the
 * resolver, libvirt binding and database driver imported, against a bare Node process measured the
 * same way in the same run.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './domain-xml.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function rssOf(script: string): number {
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: here, encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

export async function benchMemory(): Promise<BenchResult[]> {
  const report = 'globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); globalThis.gc(); console.log(process.memoryUsage().rss);';
  const baseline = rssOf(report);
  const agent = rssOf(`
    const { OsInfoIndex, resolveOsinfoDir } = await import(${JSON.stringify(path.join(here, '../src/osinfo/index.js'))});
    await import(${JSON.stringify(path.join(here, '../src/agent/agent.js'))});
    globalThis.index = await OsInfoIndex.load(resolveOsinfoDir());
    ${report}`);
  const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
  return [{ name: 'agent resident memory with the osinfo index loaded', value: mib(agent), unit: 'MiB', baseline: mib(baseline), ratio: agent / baseline }];
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const r of await benchMemory()) console.log(JSON.stringify(r));
}
