/**
 * Counts the statements a store sends (BEGIN and COMMIT included), so tests and the benchmark can
 * hold the stash to a constant number of queries per batch.
 */
export class QueryCounter {
  private n = 0;
  /**
   * Write transactions run again, by the error that made them (ER_LOCK_DEADLOCK, which is also
   * Galera's certification failure, ER_LOCK_WAIT_TIMEOUT, 40P01 …): what a fleet's contention
   * costs, for the benchmark and the tests.
   */
  readonly retries: Record<string, number> = {};

  /** Statements sent since the store was opened. */
  get count(): number {
    return this.n;
  }

  record(): void {
    this.n += 1;
  }

  recordRetry(code: string): void {
    this.retries[code] = (this.retries[code] ?? 0) + 1;
  }

  /** Run `fn` and return its result with the statements it sent. */
  async measure<T>(fn: () => Promise<T>): Promise<{ result: T; queries: number }> {
    const before = this.n;
    const result = await fn();
    return { result, queries: this.n - before };
  }
}
