import { mapLimit } from '../src/map-limit.js';

const tick = () => new Promise((r) => setImmediate(r));

test('results come in the order of the items, with at most `limit` calls in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    for (let i = 0; i < n; i++) await tick();
    inFlight -= 1;
    return n * 10;
  });
  expect(out).toEqual([50, 10, 40, 20, 30, 0]);
  expect(most).toBe(2);
  expect(await mapLimit([], 4, async () => 1)).toEqual([]);
});

test('the first failure rejects the map and no further call starts', async () => {
  const started: number[] = [];
  await expect(
    mapLimit([1, 2, 3, 4, 5], 1, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('two');
      return n;
    }),
  ).rejects.toThrow('two');
  expect(started).toEqual([1, 2]);
});

test('a limit below 1 is refused', async () => {
  await expect(mapLimit([1], 0, async (n) => n)).rejects.toThrow(/limit/);
});
