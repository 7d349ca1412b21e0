/**
 * Opening the database at start as oslo.db does: an unreachable server is tried again after
 * 0.5 s, doubling up to [database] retry_interval, at most [database] max_retries times (-1: for
 * ever). Anything but "unreachable" (bad credentials, a TLS failure) is not retried.
 */
import { sleep } from '../bus/wait.js';
import { DatabaseUnavailableError } from './errors.js';

export interface OpenRetryingOptions {
  /** [database] max_retries; -1 retries for ever. */
  maxRetries: number;
  /** [database] retry_interval, seconds: the cap of the doubling back-off. */
  retryInterval: number;
  signal?: AbortSignal;
  /** Told before each wait. */
  onRetry?: (err: DatabaseUnavailableError, delayMs: number) => void;
}

export async function openRetrying<T>(open: () => Promise<T>, o: OpenRetryingOptions): Promise<{ opened: T; retries: number }> {
  let delay = Math.min(500, o.retryInterval * 1000);
  for (let retries = 0; ; retries++) {
    try {
      return { opened: await open(), retries };
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError) || o.signal?.aborted) throw err;
      if (o.maxRetries >= 0 && retries >= o.maxRetries) {
        throw new Error(`${err.message} (gave up after ${retries} retries: [database] max_retries = ${o.maxRetries})`);
      }
      o.onRetry?.(err, delay);
      await sleep(delay, o.signal);
      delay = Math.min(delay * 2, o.retryInterval * 1000);
    }
  }
}
