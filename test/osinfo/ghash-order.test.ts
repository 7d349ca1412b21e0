/**
 * The GHashTable simulation, with expectations worked out by hand from GLib 2.74's ghash.c
 * (the real GLib, through libosinfo, checks larger tables in synthetic-db.test.ts).
 */
import { GHashTableLayout, gStrHash, ghashValuesOrder, primeModForShift } from '../../src/osinfo/ghash-order.js';

/** Keys whose hash is their own number: bucket arithmetic stays checkable by hand. */
const numericHash = (key: string): number => Number(key);

describe('g_str_hash', () => {
  test('is djb2 from 5381 over signed chars', () => {
    expect(gStrHash('')).toBe(5381);
    expect(gStrHash('a')).toBe(5381 * 33 + 97); // 177670
    expect(gStrHash('ab')).toBe((5381 * 33 + 97) * 33 + 98); // 5863208
    // "é" is UTF-8 C3 A9, read as the signed chars -61 and -87.
    expect(gStrHash('é')).toBe((5381 * 33 - 61) * 33 - 87); // 5857809
  });

  test('wraps modulo 2^32', () => {
    // 5381 * 33^7 overflows 32 bits well before the last character.
    let expected = 5381n;
    for (const c of 'abcdefgh') expected = (expected * 33n + BigInt(c.charCodeAt(0))) % 2n ** 32n;
    expect(gStrHash('abcdefgh')).toBe(Number(expected));
  });
});

test("GLib's prime_mod: the largest prime below 2^shift", () => {
  expect([3, 4, 5, 6, 7, 8, 16].map(primeModForShift)).toEqual([7, 13, 31, 61, 127, 251, 65521]);
  expect(() => primeModForShift(32)).toThrow(/shift must be an integer from 2 to 31/);
});

test('start buckets of the osinfo-db devices are those RULES.md §8 lists', () => {
  const table = new GHashTableLayout();
  const starts: Record<string, number> = {
    'http://pcisig.com/pci/1af4/1000': 0, // virtio-net
    'http://pcisig.com/pci/1af4/1041': 0, // virtio1.0-net
    'http://pcisig.com/pci/10ec/8029': 2, // ne2k_pci
    'http://pcisig.com/pci/8086/100e': 2, // e1000
    'http://pcisig.com/pci/8086/10d3': 2, // e1000e
    'http://pcisig.com/pci/10ec/8139': 3, // rtl8139
    'http://pcisig.com/pci/1022/2000': 4, // pcnet
    'http://xen.org/xen/vif': 6,
    'http://pcisig.com/pci/1af4/1048': 0, // virtio1.0-scsi
    'http://xen.org/xen/vscsi': 0,
    'http://pcisig.com/pci/1000/0012': 1, // lsi
    'http://pcisig.com/pci/1af4/1004': 2, // virtio-scsi
    'http://pcisig.com/pci/1af4/1001': 4, // virtio-block
    'http://pcisig.com/pci/1af4/1042': 4, // virtio1.0-block
    'http://xen.org/xen/vbd': 5,
  };
  for (const [id, bucket] of Object.entries(starts)) expect([id, table.startBucket(id)]).toEqual([id, bucket]);
});

test('a collision: the key inserted second moves up a bucket and comes out first', () => {
  const e1000 = 'http://pcisig.com/pci/8086/100e';
  const e1000e = 'http://pcisig.com/pci/8086/10d3';
  expect(ghashValuesOrder([e1000, e1000e])).toEqual([e1000e, e1000]);
  expect(ghashValuesOrder([e1000e, e1000])).toEqual([e1000, e1000e]);
});

test('probing is quadratic: start, +1, +2 (mod size)', () => {
  // Size 8, mod 7: bucket = (11h) % 7. Hashes 2, 9 and 16 all start at 1.
  const table = new GHashTableLayout(numericHash);
  for (const key of ['2', '9', '16']) table.insert(key);
  // 2 → 1; 9 → 1 taken, +1 → 2; 16 → 1, 2 taken, +2 → 4.
  expect(table.buckets()).toEqual([undefined, '2', '9', undefined, '16', undefined, undefined, undefined]);
  expect(table.valuesOrder()).toEqual(['16', '9', '2']);
});

test('hashes 0 and 1 (GLib\'s empty and deleted markers) are stored as 2', () => {
  const table = new GHashTableLayout(numericHash);
  table.insert('0');
  table.insert('1');
  // Both become hash 2 → bucket 1, then 1 + 1 = 2.
  expect(table.buckets().slice(0, 3)).toEqual([undefined, '0', '1']);
});

test('inserting a key already present changes nothing', () => {
  const table = new GHashTableLayout(numericHash);
  for (const key of ['2', '9', '2']) table.insert(key);
  expect(table.length).toBe(2);
  expect(table.valuesOrder()).toEqual(['9', '2']);
});

test('growth at 8 occupied buckets re-places nodes in place, evicting as GLib does', () => {
  const table = new GHashTableLayout(numericHash);
  const keys = ['7', '5', '17', '12', '9', '10', '20', '4'];
  for (const key of keys.slice(0, 7)) table.insert(key);
  // size <= occupied + occupied/16 first holds at 8: 7 keys stay in 8 buckets.
  expect(table.bucketCount).toBe(8);
  // Mod 7, bucket (11h) % 7: 7 → 0; 5 → 6; 17 → 5; 12 → 6, +1 → 7; 9 → 1;
  // 10 → 5, 6, 0 taken, +3 → 3; 20 → 3 taken, +1 → 4.
  expect(table.buckets()).toEqual(['7', '9', undefined, '10', '20', '17', '5', '12']);

  table.insert('4'); // 4 → 2: the 8th bucket; 8 * 1.333 = 10 → bit length 4 → 16 buckets, mod 13.
  expect(table.bucketCount).toBe(16);
  // New buckets (11h) % 13: 7 → 12, 9 → 8, 4 → 5, 10 → 6, 20 → 12, 17 → 5, 5 → 3, 12 → 2.
  // Old bucket 0 (7) → 12. Old 1 (9) → 8. Old 2 (4) → 5, evicting 17 (old 5), which goes to
  // 5 (re-placed) +1 → 6, evicting 5 (old 6) → 3, evicting 10 (old 3) → 6 (re-placed) +1 → 7,
  // evicting 12 (old 7) → 2, empty since 4 left it. Old 3, 5, 6, 7 were re-placed. Old 4 (20)
  // → 12 (re-placed) +1 → 13.
  // A plain re-insertion in old bucket order would have put 17 at 11 and 10 at 6 instead.
  expect(table.buckets()).toEqual([
    undefined, undefined, '12', '5', undefined, '4', '17', '10', '9', undefined, undefined, undefined, '7', '20', undefined, undefined,
  ]);
  expect(table.valuesOrder()).toEqual(['20', '7', '9', '10', '17', '4', '5', '12']);
});

test('grows again past 15 of 16 and keeps every key', () => {
  const table = new GHashTableLayout();
  const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
  const sizes: number[] = [];
  for (const key of keys) {
    table.insert(key);
    sizes.push(table.bucketCount);
  }
  // 8 until the 8th key; 16 (16 <= 16 + 1 at 16 keys) until the 16th; 32 until 31 + 31/16 >= 32
  // at the 31st; then 64 (bit length of int(31 * 1.333) = 41 is 6).
  expect(sizes.indexOf(16)).toBe(7);
  expect(sizes.indexOf(32)).toBe(15);
  expect(sizes.indexOf(64)).toBe(30);
  expect(table.valuesOrder().sort()).toEqual([...keys].sort());
});
