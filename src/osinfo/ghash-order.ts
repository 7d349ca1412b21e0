/**
 * GLib's GHashTable bucket layout (ghash.c as of GLib 2.74), simulated for string keys.
 *
 * This is the fragile fact behind Nova's osinfo answers (RULES.md §8, step 4): libosinfo
 * rebuilds an OS's device list by walking `g_hash_table_get_values()` of another list, so the
 * device Nova reads first is the one GLib happened to store in the highest occupied bucket.
 * Nothing here is a general hash table: it reproduces where GLib puts each key, and only that.
 * A GLib release that changes its probing, its index function or its growth rule changes
 * Nova's answers, and this module with it.
 *
 * Only insertion is simulated (libosinfo's lists never remove), so tombstones never exist.
 */

/** Hash values GLib reserves for empty and deleted buckets. */
const UNUSED_HASH = 0;
const TOMBSTONE_HASH = 1;
/** GLib never shrinks below 1 << 3 = 8 buckets. */
const MIN_SHIFT = 3;

const utf8 = new TextEncoder();

/**
 * `g_str_hash`: djb2 (`h = h * 33 + c`, from 5381, modulo 2^32) over the key's UTF-8 bytes read
 * as *signed* chars, so bytes >= 0x80 subtract.
 */
export function gStrHash(key: string): number {
  let h = 5381;
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    if (unit >= 0x80) return hashBytes(h, utf8.encode(key.slice(i)));
    h = (Math.imul(h, 33) + unit) >>> 0;
  }
  return h;
}

function hashBytes(seed: number, bytes: Uint8Array): number {
  let h = seed;
  for (const byte of bytes) h = (Math.imul(h, 33) + (byte >= 0x80 ? byte - 0x100 : byte)) >>> 0;
  return h;
}

const primeCache = new Map<number, number>();

/** GLib's `prime_mod[shift]`: the largest prime below 2^shift (7, 13, 31, 61, 127, …). */
export function primeModForShift(shift: number): number {
  if (!Number.isInteger(shift) || shift < 2 || shift > 31) {
    throw new RangeError(`shift must be an integer from 2 to 31, got ${shift}`);
  }
  const cached = primeCache.get(shift);
  if (cached !== undefined) return cached;
  let candidate = 2 ** shift - 1;
  while (!isPrime(candidate)) candidate--;
  primeCache.set(shift, candidate);
  return candidate;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** `g_hash_table_find_closest_shift`: the bit length of n. */
function bitLength(n: number): number {
  let bits = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) bits++;
  return bits;
}

/**
 * The bucket arrays of one GHashTable whose keys are strings (a map: libosinfo's entity lists
 * store values apart from keys, so GLib resizes them with `resize_map`).
 */
export class GHashTableLayout {
  private size = 0;
  private mod = 0;
  private mask = 0;
  private hashes: number[] = [];
  private keys: (string | undefined)[] = [];
  private nnodes = 0;
  private noccupied = 0;

  /** `hashFn` is `g_str_hash` unless a test needs chosen hash values. */
  constructor(private readonly hashFn: (key: string) => number = gStrHash) {
    this.setShift(MIN_SHIFT);
    this.hashes = new Array<number>(this.size).fill(UNUSED_HASH);
    this.keys = new Array<string | undefined>(this.size).fill(undefined);
  }

  get bucketCount(): number {
    return this.size;
  }

  get length(): number {
    return this.nnodes;
  }

  /** The bucket a key with this hash probes first: `(hash * 11) % mod`, in 32-bit arithmetic. */
  startBucket(key: string): number {
    return this.hashToIndex(this.realHash(key));
  }

  /**
   * `g_hash_table_insert`/`_replace`: a key already present keeps its bucket (replacing only
   * the value); a new key goes to the first free bucket on its quadratic probe sequence.
   */
  insert(key: string): void {
    const hash = this.realHash(key);
    let index = this.hashToIndex(hash);
    let step = 0;
    while (this.hashes[index] !== UNUSED_HASH) {
      if (this.hashes[index] === hash && this.keys[index] === key) return;
      step++;
      index = (index + step) & this.mask;
    }
    this.hashes[index] = hash;
    this.keys[index] = key;
    this.nnodes++;
    this.noccupied++;
    this.maybeResize();
  }

  /** Key per bucket, `undefined` where empty: the layout itself, for tests and diagnostics. */
  buckets(): (string | undefined)[] {
    return this.keys.slice();
  }

  /**
   * `g_hash_table_get_values()`: scans buckets 0..size-1 and prepends each, so the result runs
   * from the highest occupied bucket down.
   */
  valuesOrder(): string[] {
    const out: string[] = [];
    for (let i = this.size - 1; i >= 0; i--) {
      const key = this.keys[i];
      if (key !== undefined && this.hashes[i]! >= 2) out.push(key);
    }
    return out;
  }

  private realHash(key: string): number {
    const h = this.hashFn(key) >>> 0;
    return h === UNUSED_HASH || h === TOMBSTONE_HASH ? 2 : h;
  }

  private hashToIndex(hash: number): number {
    return (Math.imul(hash, 11) >>> 0) % this.mod;
  }

  private setShift(shift: number): void {
    this.size = 2 ** shift;
    this.mod = primeModForShift(shift);
    this.mask = this.size - 1;
  }

  /** `g_hash_table_maybe_resize`: shrink below 1/4 full, grow at 15/16 occupied. */
  private maybeResize(): void {
    const { size, noccupied, nnodes } = this;
    if ((size > nnodes * 4 && size > 2 ** MIN_SHIFT) || size <= noccupied + Math.floor(noccupied / 16)) {
      this.resize();
    }
  }

  /**
   * `g_hash_table_resize` + `resize_map`: GLib re-places the nodes in the same arrays, in bucket
   * order, evicting whatever sits in a target bucket that has not been re-placed yet and
   * re-placing the evicted node next. A bitmap marks buckets already re-placed.
   */
  private resize(): void {
    const oldSize = this.size;
    // C: `gint size = nnodes * 1.333` truncates the double.
    this.setShift(Math.max(bitLength(Math.trunc(this.nnodes * 1.333)), MIN_SHIFT));
    for (let i = oldSize; i < this.size; i++) {
      this.hashes.push(UNUSED_HASH);
      this.keys.push(undefined);
    }
    const placed = new Array<boolean>(Math.max(oldSize, this.size)).fill(false);

    for (let i = 0; i < oldSize; i++) {
      let nodeHash = this.hashes[i]!;
      if (nodeHash < 2) {
        this.hashes[i] = UNUSED_HASH;
        continue;
      }
      if (placed[i]) continue;

      this.hashes[i] = UNUSED_HASH;
      let key = this.keys[i];
      this.keys[i] = undefined;

      for (;;) {
        let index = this.hashToIndex(nodeHash);
        let step = 0;
        while (placed[index]) {
          step++;
          index = (index + step) & this.mask;
        }
        placed[index] = true;

        const replacedHash = this.hashes[index]!;
        this.hashes[index] = nodeHash;
        const replacedKey = this.keys[index];
        this.keys[index] = key;
        if (replacedHash < 2) break;
        nodeHash = replacedHash;
        key = replacedKey;
      }
    }

    if (this.size < oldSize) {
      this.hashes.length = this.size;
      this.keys.length = this.size;
    }
    this.noccupied = this.nnodes;
  }
}

/** The order `g_hash_table_get_values()` returns after inserting `keys` in order into a new table. */
export function ghashValuesOrder(keys: Iterable<string>, hashFn?: (key: string) => number): string[] {
  const table = new GHashTableLayout(hashFn);
  for (const key of keys) table.insert(key);
  return table.valuesOrder();
}
