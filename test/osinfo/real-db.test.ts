/**
 * The index against the real libosinfo on the installed osinfo-db: every OS id and every
 * short-id must give exactly Nova's answer (RULES.md §8).
 */
import type { OsInfoAnswer } from '../../src/core/inputs.js';
import { DeviceLineage } from '../../src/osinfo/device-order.js';
import { OsInfoIndex } from '../../src/osinfo/index.js';
import type { OsinfoDb } from '../../src/osinfo/osinfo-db.js';
import { readOsinfoDb } from '../../src/osinfo/osinfo-db-reader.js';
import { novaAnswer, runLibosinfoOracle, type OracleResult } from './oracle.js';

const DB_DIR = '/usr/share/osinfo';
const NOT_FOUND = ['', 'Fedora36', 'FEDORA36', 'fedora36 ', ' fedora36', 'fedora', 'unknown-os', 'httpfedora36', 'http://fedoraproject.org/fedora/36/', 'HTTP://fedoraproject.org/fedora/36'];

let oracle: OracleResult;
let index: OsInfoIndex;
let db: OsinfoDb;

beforeAll(async () => {
  oracle = runLibosinfoOracle(DB_DIR, NOT_FOUND);
  index = await OsInfoIndex.load(DB_DIR);
  db = await readOsinfoDb(DB_DIR);
}, 60_000);

test('lists the same OSes as libosinfo', () => {
  expect(index.osCount).toBe(oracle.oses.length);
  expect([...db.oses.keys()].sort()).toEqual(oracle.oses.map((o) => o.id).sort());
  expect(index.ambiguousShortIds).toEqual([]);
});

test("answers every OS id and every short-id exactly as Nova on libosinfo does", () => {
  const names = Object.keys(oracle.lookups);
  // 790 ids + 850 distinct short-ids (60 of them aliases) + the names that must not be found.
  expect(names.length).toBeGreaterThanOrEqual(oracle.oses.length * 2);
  const mismatches = names
    .map((name) => ({ name, nova: novaAnswer(oracle.lookups[name]!), ours: index.lookup(name) }))
    .filter((row) => JSON.stringify(row.nova) !== JSON.stringify(row.ours));
  expect(mismatches).toEqual([]);
});

test('unknown, empty and differently-cased names are not found, as in Nova', () => {
  for (const name of NOT_FOUND) {
    expect(oracle.lookups[name]).toBeNull();
    expect(index.lookup(name)).toBeNull();
  }
});

test("reproduces libosinfo's whole device order, not only element 0", () => {
  const lineages = { net: new DeviceLineage(db, 'net'), block: new DeviceLineage(db, 'block') };
  const differences: string[] = [];
  for (const { id } of oracle.oses) {
    const lookup = oracle.lookups[id]!;
    for (const cls of ['net', 'block'] as const) {
      const theirs = lookup[cls].map(([deviceId]) => deviceId);
      if (JSON.stringify(lineages[cls].ordered(id)) !== JSON.stringify(theirs)) differences.push(`${id} ${cls}`);
    }
  }
  expect(differences).toEqual([]);
});

test('the well-known answers of RULES.md §8', () => {
  for (const distro of ['fedora36', 'rhel8.0', 'debian11', 'ubuntu20.04', 'centos7.0', 'opensuse15.3']) {
    expect([distro, index.lookup(distro)?.networkModel]).toEqual([distro, 'e1000e']);
  }
  expect(index.lookup('fedora36')).toEqual({ networkModel: 'e1000e', diskModel: 'virtio' });
  expect(index.lookup('win10')).toEqual({ networkModel: 'e1000', diskModel: null });
  // Aliases answer as their OS does.
  expect(index.lookup('centos7')).toEqual(index.lookup('centos7.0'));
  expect(index.lookup('debianbullseye')).toEqual(index.lookup('debian11'));
  expect(index.lookup('http://fedoraproject.org/fedora/36')).toEqual(index.lookup('fedora36'));
});

test('the counts table of RULES.md §8, over all 790 OSes', () => {
  const count = (pick: (a: OsInfoAnswer) => string | null): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const { id } of oracle.oses) {
      const key = String(pick(index.lookup(id)!));
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  };
  expect(oracle.oses).toHaveLength(790);
  expect(count((a) => a.networkModel)).toEqual({ e1000e: 243, virtio: 123, ne2k_pci: 35, pcnet: 22, e1000: 16, null: 351 });
  expect(count((a) => a.diskModel)).toEqual({ virtio: 400, null: 390 });
});

test("the naive 'first device in inheritance order' is wrong for many OSes: the hash order decides", () => {
  const lineages = { net: new DeviceLineage(db, 'net'), block: new DeviceLineage(db, 'block') };
  const naiveAnswer = (id: string): OsInfoAnswer => {
    const first = (cls: 'net' | 'block'): string | null => {
      const device = lineages[cls].inherited(id)[0];
      return device === undefined ? null : (db.devices.get(device)?.name ?? null);
    };
    // Feed the naive names through the oracle's mapping, so only the order differs.
    const entry = (name: string | null): [string, string | null][] => (name === null ? [] : [['', name]]);
    return novaAnswer({ id, net: entry(first('net')), block: entry(first('block')) })!;
  };
  const wrong = oracle.oses.filter(({ id }) => JSON.stringify(naiveAnswer(id)) !== JSON.stringify(novaAnswer(oracle.lookups[id]!)));
  // RULES.md says about one lookup in five; any at all shows the order cannot be skipped.
  expect(wrong.length).toBeGreaterThan(oracle.oses.length / 10);
  for (const { id } of wrong) expect(index.lookup(id)).toEqual(novaAnswer(oracle.lookups[id]!));
});
