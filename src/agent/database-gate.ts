/**
 * Database outages are waited out, not dead-lettered: an event that fails because the database
 * is unreachable is retried, with backoff, until the database answers again (or the agent
 * stops). Health reports the outage meanwhile.
 */
import type { Logger } from 'pino';
import { AbandonError } from '../bus/errors.js';
import { DatabaseUnavailableError } from '../store/index.js';

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

  /** Mark the database as down (a failure seen elsewhere, e.g. the start-up reconcile). */
  markDown(reason: string): void {
    this.set(false, reason);
  }

  /**
   * Run `fn`; while it fails with DatabaseUnavailableError, wait for the database and run it
   * again. Aborting the signal gives up with an AbandonError (the message is redelivered later).
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      try {
        const result = await fn();
        this.set(true);
        return result;
      } catch (err) {
        if (!(err instanceof DatabaseUnavailableError)) throw err;
        this.set(false, err.message);
        await this.waitUntilUp(signal);
      }
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
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
      delay = Math.min(max, delay * 2);
    }
  }
}
