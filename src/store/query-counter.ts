/**
 * Counts the statements a store sends (BEGIN and COMMIT included), so tests and the benchmark can
 * hold the stash to a constant number of queries per batch.
 */
export class QueryCounter {
  private n = 0;

  /** Statements sent since the store was opened. */
  get count(): number {
    return this.n;
  }

  record(): void {
    this.n += 1;
  }

  /** Run `fn` and return its result with the statements it sent. */
  async measure<T>(fn: () => Promise<T>): Promise<{ result: T; queries: number }> {
    const before = this.n;
    const result = await fn();
    return { result, queries: this.n - before };
  }
}
