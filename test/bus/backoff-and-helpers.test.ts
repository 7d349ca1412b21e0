import { backoffDelay, validateBackoff } from '../../src/bus/backoff.js';
import { settlesWithin, sleep } from '../../src/bus/wait.js';
import { KeyedSerial } from '../../src/bus/keyed-serial.js';
import { RecentIds } from '../../src/bus/recent-ids.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };

  test('doubles from the initial delay and stops at the cap (no jitter drawn)', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5, 6, 50].map((a) => backoffDelay(a, policy, noJitter))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  test('jitter only shortens, by at most the jitter fraction, and never exceeds the cap', () => {
    expect(backoffDelay(2, policy, () => 0.999999)).toBe(100);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(10, policy);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });

  test('bad policies are refused with the field named', () => {
    expect(() => validateBackoff({ ...policy, factor: 0.5 }, 'retry')).toThrow('retry.factor: must be a finite number ≥ 1, got 0.5');
    expect(() => validateBackoff({ ...policy, maxMs: 10 }, 'retry')).toThrow(/retry\.maxMs/);
    expect(() => validateBackoff({ ...policy, jitter: 2 }, 'retry')).toThrow(/retry\.jitter: must be between 0 and 1/);
  });

  test('sleep resolves false when aborted', async () => {
    const ctl = new AbortController();
    const t0 = Date.now();
    const p = sleep(5000, ctl.signal);
    ctl.abort();
    expect(await p).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await sleep(1)).toBe(true);
  });

  test('settlesWithin says whether the work finished in time, failures included', async () => {
    expect(await settlesWithin(sleep(10), 1000)).toBe(true);
    expect(await settlesWithin(Promise.reject(new Error('x')), 1000)).toBe(true);
    const t0 = Date.now();
    expect(await settlesWithin(new Promise(() => undefined), 50)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });
});

describe('RecentIds', () => {
  test('forgets the least recently used id beyond its capacity', () => {
    const r = new RecentIds(3);
    ['a', 'b', 'c'].forEach((id) => r.add(id));
    expect(r.has('a')).toBe(true); // a is now the most recent
    r.add('d');
    expect(r.has('b')).toBe(false);
    expect(r.has('a')).toBe(true);
    expect(r.has('c')).toBe(true);
    expect(r.has('d')).toBe(true);
    expect(r.size).toBe(3);
    expect(() => new RecentIds(0)).toThrow(/capacity/);
  });
});

describe('KeyedSerial', () => {
  test('one key runs in order, different keys overlap, a failure does not block the key', async () => {
    const s = new KeyedSerial();
    const log: string[] = [];
    const step = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const a1 = s.run('a', step('a1', 40, true));
    const a2 = s.run('a', step('a2', 5));
    const b1 = s.run('b', step('b1', 5));
    await expect(a1).rejects.toThrow('a1');
    expect(await a2).toBe('a2');
    expect(await b1).toBe('b1');
    expect(log.indexOf('start a2')).toBeGreaterThan(log.indexOf('end a1'));
    expect(log.indexOf('end b1')).toBeLessThan(log.indexOf('end a1'));
    await sleep(1);
    expect(s.activeKeys).toBe(0);
  });
});
