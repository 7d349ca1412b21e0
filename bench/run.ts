/**
 * `npm run bench`: every benchmark, each figure with its same-run baseline and ratio (these
 * machines are noisy, so absolute numbers alone mean little). `npm run bench -- osinfo xml` runs
 * only the named groups.
 */
import { benchAgent } from './agent.js';
import { benchDefaults } from './defaults.js';
import { benchDomainXml } from './domain-xml.js';
import { benchMemory } from './memory.js';
import { benchOsinfo } from './osinfo.js';
import { benchReconcile } from './reconcile.js';
import { benchStartup } from './startup.js';
import { benchFootprint } from './footprint.js';
import { benchFleet } from './fleet.js';

interface Figure {
  name: string;
  value: number | string;
  unit?: string;
  baseline?: number;
  ratio?: number | null;
}

const GROUPS: Record<string, () => Promise<Figure[]>> = {
  osinfo: async () => (await benchOsinfo()).map((f) => ({ name: f.name, value: f.figure, ratio: f.ratio })),
  defaults: () => benchDefaults(),
  xml: () => benchDomainXml(),
  memory: () => benchMemory(),
  reconcile: () => benchReconcile(),
  agent: () => benchAgent(),
  startup: () => benchStartup(),
  footprint: () => benchFootprint(),
  fleet: () => benchFleet(),
};

const fmt = (v: number | string | undefined | null): string =>
  v === undefined || v === null ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v;

const wanted = process.argv.slice(2);
const unknown = wanted.filter((g) => !Object.keys(GROUPS).includes(g));
if (unknown.length) {
  console.error(`unknown benchmark group(s): ${unknown.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`);
  process.exit(2);
}
for (const [group, run] of Object.entries(GROUPS)) {
  if (wanted.length && !wanted.includes(group)) continue;
  console.log(`== ${group}`);
  for (const f of await run()) {
    const base = f.baseline === undefined ? '' : `  baseline ${fmt(f.baseline)}`;
    const ratio = f.ratio === undefined || f.ratio === null ? '' : `  ratio ${fmt(f.ratio)}`;
    console.log(`${f.name}: ${fmt(f.value)}${f.unit ? ` ${f.unit}` : ''}${base}${ratio}`);
  }
}
