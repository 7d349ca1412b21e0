/**
 * `fn` over every item with at most `limit` calls in flight, results in the items' order. For
 * I/O against one server (libvirt's connection and the libuv pool behind it) that serves a few
 * requests at once well and many at once badly. The first rejection rejects the whole map and
 * no further call is started (the ones in flight run to their end).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit: must be a whole number ≥ 1, got ${limit}`);
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
