/**
 * Database outages are waited out, not dead-lettered: an event that fails because the database
 * is unreachable is retried, with backoff, until the database answers again (or the agent
 * stops). Health reports the outage meanwhile.
 */
import type { Logger } from 'pino';
import { AbandonError } from '../bus/errors.js';
import { sleep } from '../bus/wait.js';
import { DatabaseUnavailableError } from '../store/index.js';

/** The store translates every outage (failed connect, link lost mid-statement) into this one error. */
export function isDatabaseOutage(err: unknown): boolean {
  return err instanceof DatabaseUnavailableError;
}

export interface DatabaseGateOptions {
  /** Answers when the database is reachable again; throws while it is not. */
  ping: () => Promise<void>;
  logger: Logger;
  onChange?: (up: boolean) => void;
  /** First and longest wait between pings, in ms. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export class DatabaseGate {
  private upState = true;

  constructor(private readonly opts: DatabaseGateOptions) {}

  get up(): boolean {
    return this.upState;
  }

  private set(up: boolean, reason?: string): void {
    if (up === this.upState) return;
    this.upState = up;
    if (up) this.opts.logger.info('database reachable again');
    else this.opts.logger.error({ reason }, 'database unreachable: events wait until it answers');
    this.opts.onChange?.(up);
  }

  /**
   * Run `fn`; while it fails because the database is unreachable (isDatabaseOutage), wait for
   * the database and run it again. Aborting the signal gives up with an AbandonError (the
   * message is redelivered later).
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      try {
        const result = await fn();
        this.set(true);
        return result;
      } catch (err) {
        if (!isDatabaseOutage(err)) throw err;
        this.set(false, (err as Error).message);
        await this.waitUntilUp(signal);
      }
    }
  }

  /**
   * Ping once and record the answer. An idle agent runs no query, so without this an outage
   * would show in /healthz only when the next event fails. A ping that does not answer within
   * `timeoutMs` (a link that drops packets rather than refusing) counts as down.
   */
  async probe(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.opts.ping(), timedOut]);
      this.set(true);
    } catch (err) {
      this.set(false, (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ping with capped exponential backoff until the database answers. */
  async waitUntilUp(signal?: AbortSignal): Promise<void> {
    let delay = this.opts.minDelayMs ?? 250;
    const max = this.opts.maxDelayMs ?? 5000;
    for (;;) {
      if (signal?.aborted) throw new AbandonError('stopping while the database is unreachable');
      try {
        await this.opts.ping();
        this.set(true);
        return;
      } catch (err) {
        this.set(false, (err as Error).message);
      }
      // The shared sleep removes its abort listener when it wakes: the signal may be the agent's
      // lifetime one, and an outage is many waits.
      await sleep(delay, signal);
      delay = Math.min(max, delay * 2);
    }
  }
}
