/**
 * Domain XML rewrites per second on realistic (libvirt-written) domains, against a baseline
 * measured in the same run: a plain fast-xml-parser parse + build round trip of the same XML,
 * so the ratio shows what the rewrite costs beyond parsing and serialising.
 *
 * Standalone: `node dist/bench/domain-xml.js` (after `npm run build`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { readDomainFacts } from '../src/core/domain-xml/read.js';
import { rewriteDomain } from '../src/core/domain-xml/rewrite.js';
import type { Stash } from '../src/core/domain-xml/stash.js';
import { PARSER_OPTIONS } from '../src/core/domain-xml/xml-tree.js';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const FIXTURES = ['old-defaults-pc.xml', 'nova-q35.xml', 'scsi-virtio-scsi.xml'];

/** test/fixtures/domains, found from either bench/ (ts) or dist/bench/ (compiled). */
function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'test/fixtures/domains');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('bench/domain-xml: test/fixtures/domains not found above the bench file');
}

/** Operations per second of `op` over the inputs, cycling, for about `ms` milliseconds. */
function opsPerSecond(inputs: readonly string[], op: (xml: string) => unknown, ms: number): number {
  for (let i = 0; i < 200; i++) op(inputs[i % inputs.length]!);
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let k = 0; k < 50; k++) op(inputs[(n + k) % inputs.length]!);
    n += 50;
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}

export async function benchDomainXml(options: { ms?: number } = {}): Promise<BenchResult[]> {
  const ms = options.ms ?? 1500;
  const dir = fixtureDir();
  const domains = FIXTURES.map((f) => readFileSync(join(dir, f), 'utf8'));

  // Stashes that move each fixture (chipset, buses, models), as a fleet-wide change would.
  const toModern: Stash = {
    hw_machine_type: 'q35',
    hw_disk_bus: 'virtio',
    hw_cdrom_bus: 'sata',
    hw_video_model: 'virtio',
    hw_vif_model: 'virtio',
    hw_rng_model: 'virtio',
    hw_input_bus: 'usb',
    hw_pointer_model: 'usbtablet',
  };
  const toLegacy: Stash = { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_cdrom_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139', hw_rng_model: null };
  const moving = domains.map((xml) => ({ xml, stash: xml.includes("machine='pc-q35") ? toLegacy : toModern }));
  for (const m of moving) {
    if (rewriteDomain(m.xml, m.stash).changes.length === 0) throw new Error('bench/domain-xml: each moving stash must change its fixture');
  }
  // The common case at power-on: each domain already follows its stash.
  const conforming = domains.map((xml) => ({ xml, stash: readDomainFacts(xml).values as Stash }));

  const parser = new XMLParser(PARSER_OPTIONS);
  const builder = new XMLBuilder({ ...PARSER_OPTIONS, suppressEmptyNode: true });
  const roundTrip = (xml: string): string => builder.build(parser.parse(xml)) as string;

  let i = 0;
  const changeOne = (): unknown => {
    const m = moving[i++ % moving.length]!;
    return rewriteDomain(m.xml, m.stash);
  };
  const keepOne = (): unknown => {
    const c = conforming[i++ % conforming.length]!;
    return rewriteDomain(c.xml, c.stash);
  };

  // Interleaved rounds, median of each: the machine is shared, so load drifts during a run.
  const ops = [roundTrip, changeOne, keepOne, readDomainFacts] as const;
  const samples: number[][] = ops.map(() => []);
  const rounds = 5;
  for (let r = 0; r < rounds; r++) ops.forEach((op, k) => samples[k]!.push(opsPerSecond(domains, op, ms / rounds)));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [baseline, changing, unchanged, reads] = samples.map(median) as [number, number, number, number];

  const round = (v: number): number => Math.round(v);
  const ratio = (v: number): number => Math.round((v / baseline) * 100) / 100;
  const avgKb = Math.round(domains.reduce((s, d) => s + d.length, 0) / domains.length / 102.4) / 10;
  return [
    { name: `domain-xml fast-xml-parser parse+build round trip (${avgKb} KB domains)`, value: round(baseline), unit: 'ops/s' },
    { name: 'domain-xml rewrite, domain changes (pc→q35, buses, models)', value: round(changing), unit: 'rewrites/s', baseline: round(baseline), ratio: ratio(changing) },
    { name: 'domain-xml rewrite, domain already follows the stash', value: round(unchanged), unit: 'rewrites/s', baseline: round(baseline), ratio: ratio(unchanged) },
    { name: 'domain-xml readDomainFacts', value: round(reads), unit: 'reads/s', baseline: round(baseline), ratio: ratio(reads) },
  ];
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const results = await benchDomainXml();
  for (const r of results) {
    const extra = r.baseline !== undefined ? `  (baseline ${r.baseline} ops/s, ratio ${r.ratio})` : '';
    console.log(`${r.name}: ${r.value} ${r.unit}${extra}`);
  }
}
