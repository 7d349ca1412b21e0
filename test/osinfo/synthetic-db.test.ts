/**
 * Each rule of RULES.md §8 on a tiny synthetic db. Every expected answer is derived by hand from
 * the start buckets RULES.md lists (size 8, mod 7: virtio-net 0, lsi 1, e1000/e1000e/ne2k_pci/
 * virtio-scsi 2, rtl8139 3, virtio-block 4; a second key starting at 2 moves to 3, a third to 5)
 * and, on top, compared with the real libosinfo run on the same directory.
 */
import { DeviceLineage } from '../../src/osinfo/device-order.js';
import { OsInfoIndex } from '../../src/osinfo/index.js';
import { readOsinfoDb } from '../../src/osinfo/osinfo-db-reader.js';
import { DEV, FixtureDb, TEST_DEV, TEST_OS } from './fixture-db.js';
import { novaAnswer, runLibosinfoOracle, type OracleResult } from './oracle.js';

const fx = new FixtureDb();
const MANY = [8, 9, 15, 16, 17, 33, 40];
const nic = (k: number): string => `${TEST_DEV}nic-${k}`;

let index: OsInfoIndex;
let oracle: OracleResult;

beforeAll(async () => {
  for (const d of Object.values(DEV)) fx.device(d);

  // .d fragments: processed after the master, in sorted file-name order.
  fx.os('frag', [DEV.e1000.id]);
  fx.write('os/hwstash.test/frag.d/10-alias.xml', `  <os id="${TEST_OS}frag">\n    <short-id>frag-alias</short-id>\n    <devices><device id="${DEV.e1000e.id}"/></devices>\n  </os>`);
  fx.os('order');
  fx.write('os/hwstash.test/order.d/20-b.xml', `  <os id="${TEST_OS}order"><devices><device id="${DEV.e1000.id}"/></devices></os>`);
  fx.write('os/hwstash.test/order.d/10-a.xml', `  <os id="${TEST_OS}order"><devices><device id="${DEV.ne2k.id}"/></devices></os>`);

  // Relations.
  fx.os('parent-e1000', [DEV.e1000.id]);
  fx.os('parent-ne2k', [DEV.ne2k.id]);
  fx.os('mixed', [], `    <clones id="${TEST_OS}parent-ne2k"/>\n    <derives-from id="${TEST_OS}parent-e1000"/>`);
  fx.os('clone-only', [], `    <clones id="${TEST_OS}parent-ne2k"/>`);
  fx.os('two-parents', [], `    <derives-from id="${TEST_OS}parent-e1000"/>\n    <derives-from id="${TEST_OS}parent-ne2k"/>`);
  fx.os('grandchild', [DEV.rtl8139.id], `    <derives-from id="${TEST_OS}mixed"/>`);
  fx.os('upgrader', [], `    <upgrades id="${TEST_OS}parent-e1000"/>`);
  fx.os('orphan', [DEV.rtl8139.id], `    <derives-from id="${TEST_OS}missing"/>`);

  // Own links.
  fx.os('repeat', [DEV.e1000.id, DEV.ne2k.id, DEV.e1000.id]);
  fx.write(
    'os/hwstash.test/unsupported.xml',
    `  <os id="${TEST_OS}unsupported">\n    <short-id>unsupported</short-id>\n    <devices><device id="${DEV.virtioNet.id}" supported="false"/></devices>\n  </os>`,
  );
  fx.os('blocky', [DEV.virtioScsi.id, DEV.lsi.id, DEV.virtioBlock.id]);
  fx.os('scsi-only', [DEV.virtioScsi.id]);
  fx.os('web', [DEV.rtl8139.id], '    <short-id>httpd</short-id>');
  // A DOCTYPE's entities are substituted in device names (libosinfo reads string(./name)).
  fx.writeRaw(
    'device/hwstash.test/dev-doctype.xml',
    `<?xml version="1.0"?>\n<!DOCTYPE libosinfo [\n  <!ENTITY e "e1000">\n]>\n<libosinfo version="0.0.1">\n  <device id="${TEST_DEV}doctype">\n    <name>&e;e</name>\n    <class>net</class>\n  </device>\n</libosinfo>\n`,
  );
  fx.os('doctype', [`${TEST_DEV}doctype`]);
  fx.write('os/hwstash.test/ent.xml', `  <os id="${TEST_OS}ent">\n    <short-id>ent&#x2D;ref&amp;co</short-id>\n    <devices><device id="${DEV.rtl8139.id}"/></devices>\n  </os>`);

  // Device properties.
  // Device properties. Ids http://hwstash.test/dev/<x> belong in device/hwstash.test/dev-<x>.
  const dev = (id: string, body: string): string => `  <device id="${TEST_DEV}${id}">\n${body}\n  </device>`;
  fx.write('device/hwstash.test/dev-loc-after.xml', dev('loc-after', '    <name>e1000</name>\n    <name xml:lang="fi">verkko</name>\n    <class>net</class>'));
  fx.write('device/hwstash.test/dev-loc-first.xml', dev('loc-first', '    <name xml:lang="fi">rtl8139</name>\n    <name>pcnet</name>\n    <class>net</class>'));
  fx.write('device/hwstash.test/dev-two-classes.xml', dev('two-classes', '    <name>virtio-block</name>\n    <class>block</class>\n    <class>net</class>'));
  fx.write('device/hwstash.test/dev-override.xml', dev('override', '    <name>rtl8139</name>\n    <class>net</class>'));
  fx.write('device/hwstash.test/dev-override.d/class.xml', dev('override', '    <name>pcnet</name>'));
  fx.os('loc-after', [`${TEST_DEV}loc-after`]);
  fx.os('loc-first', [`${TEST_DEV}loc-first`]);
  fx.os('two-classes', [`${TEST_DEV}two-classes`]);
  fx.os('override', [`${TEST_DEV}override`]);

  // Entities filed where their id does not belong are skipped by libosinfo 1.10.
  fx.os('misplaced', [DEV.e1000.id], '', 'os/hwstash.test/elsewhere.xml');
  fx.write('device/hwstash.test/misfiled.xml', dev('stray', '    <name>e1000</name>\n    <class>net</class>'));
  fx.os('stray-link', [`${TEST_DEV}stray`]);

  // Growth: more devices than GLib's first 8 buckets hold.
  for (let k = 1; k <= 40; k++) fx.device({ id: nic(k), name: `nic-${k}`, cls: 'net' });
  for (const n of MANY) {
    const ids = Array.from({ length: n }, (_, i) => nic(n - i));
    fx.os(`many-${n}`, ids);
  }
  fx.os('many-child', [DEV.e1000.id, nic(3)], `    <derives-from id="${TEST_OS}many-40"/>`);

  index = await OsInfoIndex.load(fx.dir);
  oracle = runLibosinfoOracle(fx.dir, ['', 'unknown', 'FRAG', 'misplaced', `${TEST_OS}misplaced`, `${TEST_OS}missing`, `${TEST_OS}frag`]);
}, 60_000);

afterAll(() => fx.remove());

const answer = (networkModel: string | null, diskModel: string | null = null) => ({ networkModel, diskModel });

/** Nova's answer on libosinfo for a name the oracle looked up (every id and short-id, and the extras). */
const nova = (name: string) => {
  if (!(name in oracle.lookups)) throw new Error(`the oracle did not look up ${JSON.stringify(name)}: add it to the extra names`);
  return novaAnswer(oracle.lookups[name]!);
};

test('the whole synthetic db answers as Nova on libosinfo does', () => {
  const names = Object.keys(oracle.lookups);
  expect(names.length).toBeGreaterThan(30);
  const mismatches = names.filter((name) => JSON.stringify(index.lookup(name)) !== JSON.stringify(nova(name)));
  expect(mismatches).toEqual([]);
  expect(index.osCount).toBe(oracle.oses.length);
});

test('.d fragments extend the master, after it, in sorted file-name order', () => {
  // master e1000 (2), fragment e1000e (2 → 3): e1000e holds the highest bucket.
  expect(index.lookup('frag')).toEqual(answer('e1000e'));
  expect(index.lookup('frag-alias')).toEqual(answer('e1000e'));
  // 10-a.xml ne2k_pci (2) before 20-b.xml e1000 (2 → 3).
  expect(index.lookup('order')).toEqual(answer('e1000'));
});

test('derives-from is followed before clones, whatever the document order', () => {
  // mixed: parent-e1000 first (e1000 at 2), then parent-ne2k (ne2k_pci moves to 3).
  expect(index.lookup('mixed')).toEqual(answer('ne2k_pci'));
  expect(index.lookup('clone-only')).toEqual(answer('ne2k_pci'));
});

test('relations of one kind are walked in reverse document order (libosinfo prepends them)', () => {
  // two-parents names parent-e1000 then parent-ne2k; walked ne2k_pci (2) then e1000 (→ 3).
  expect(index.lookup('two-parents')).toEqual(answer('e1000'));
});

test('lineages are walked depth-first, the OS itself first', () => {
  // grandchild: rtl8139 (3), then via mixed e1000 (2), then ne2k_pci (2 → 3 → 5).
  expect(index.lookup('grandchild')).toEqual(answer('ne2k_pci'));
});

test('upgrades is not followed', () => {
  expect(index.lookup('upgrader')).toEqual(answer(null));
});

test('a device linked twice by one OS counts at its last place', () => {
  // e1000, ne2k_pci, e1000 → [ne2k_pci, e1000]: e1000 moves to 3.
  expect(index.lookup('repeat')).toEqual(answer('e1000'));
});

test('supported="false" links count', () => {
  expect(index.lookup('unsupported')).toEqual(answer('virtio'));
});

test('block devices: virtio-block maps to virtio, virtio-scsi gives no disk model', () => {
  // virtio-block (4) above virtio-scsi (2) and lsi (1).
  expect(index.lookup('blocky')).toEqual(answer(null, 'virtio'));
  expect(index.lookup('scsi-only')).toEqual(answer(null, null));
});

test('a device takes its first <class>, and a later file overrides an earlier one', () => {
  expect(index.lookup('two-classes')).toEqual(answer(null, 'virtio'));
  expect(index.lookup('override')).toEqual(answer('pcnet'));
});

test('translated <name>s after the plain one are ignored', () => {
  expect(index.lookup('loc-after')).toEqual(answer('e1000'));
});

test("under the C locale libosinfo takes the first <name> whatever its language", () => {
  // RULES.md §8 says "first un-localised <name>"; libosinfo 1.10 evaluates string(./name).
  expect(nova('loc-first')).toEqual(answer('rtl8139'));
  expect(index.lookup('loc-first')).toEqual(answer('rtl8139'));
});

test('lookup by id for names starting with http, by short-id otherwise; exact match only', () => {
  expect(index.lookup(`${TEST_OS}parent-e1000`)).toEqual(answer('e1000'));
  expect(index.lookup(`${TEST_OS}frag`)).toEqual(index.lookup('frag'));
  // "httpd" is a short-id of web, but Nova filters on id for anything starting with "http".
  expect(nova('httpd')).toBeNull();
  expect(index.lookup('httpd')).toBeNull();
  expect(index.lookup('web')).toEqual(answer('rtl8139'));
  for (const name of ['', 'unknown', 'FRAG']) {
    expect(nova(name)).toBeNull();
    expect(index.lookup(name)).toBeNull();
  }
});

test('entities filed where their id does not belong are skipped', () => {
  expect(nova('misplaced')).toBeNull();
  expect(index.lookup('misplaced')).toBeNull();
  expect(nova(`${TEST_OS}misplaced`)).toBeNull();
  expect(index.lookup(`${TEST_OS}misplaced`)).toBeNull();
  expect(index.lookup('stray-link')).toEqual(answer(null));
});

test('character and entity references are decoded, as libxml2 does', () => {
  expect(nova('ent-ref&co')).toEqual(answer('rtl8139'));
  expect(index.lookup('ent-ref&co')).toEqual(answer('rtl8139'));
  expect(index.lookup('ent&#x2D;ref&amp;co')).toBeNull();
  // With a DOCTYPE, its internal entities too.
  expect(nova('doctype')).toEqual(answer('e1000e'));
  expect(index.lookup('doctype')).toEqual(answer('e1000e'));
});

test('an OS only named by a relation exists, with no devices', () => {
  expect(nova(`${TEST_OS}missing`)).toEqual(answer(null));
  expect(index.lookup(`${TEST_OS}missing`)).toEqual(answer(null));
  expect(index.lookup('orphan')).toEqual(answer('rtl8139'));
});

test("GLib's table growth: the whole device order matches libosinfo for 8 to 40 devices", async () => {
  const db = await readOsinfoDb(fx.dir);
  const net = new DeviceLineage(db, 'net');
  for (const name of [...MANY.map((n) => `many-${n}`), 'many-child']) {
    if (!(name in oracle.lookups)) throw new Error(`the oracle did not look up ${name}`);
    const theirs = oracle.lookups[name]!.net.map(([id]) => id);
    expect([name, net.ordered(`${TEST_OS}${name}`)]).toEqual([name, theirs]);
  }
  // Without growth, 9 keys could not even fit: the oracle really grew its table.
  expect(oracle.lookups['many-40']!.net).toHaveLength(40);
});
