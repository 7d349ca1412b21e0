/**
 * A small seeded generator (mulberry32), so a run of the reliability suite can be repeated
 * exactly: each test prints its seed, and HWSTASH_RELIABILITY_SEED=<n> replays it.
 */

export interface Random {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Whole number in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** A new array, shuffled (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[];
  chance(p: number): boolean;
}

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed,
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick: no items');
      return items[int(0, items.length - 1)]!;
    },
    shuffle: <T>(items: readonly T[]): T[] => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
    chance: (p: number): boolean => next() < p,
  };
}

/** The seed of this test: HWSTASH_RELIABILITY_SEED when set, else a fresh one (printed by the caller). */
export function testSeed(): number {
  const given = process.env['HWSTASH_RELIABILITY_SEED'];
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`HWSTASH_RELIABILITY_SEED: expected a whole number from 0 to 4294967295, got ${JSON.stringify(given)}`);
    return n;
  }
  return Math.floor(Math.random() * 0xffffffff);
}
