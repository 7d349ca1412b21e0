/**
 * Capped exponential backoff with jitter, for reconnecting and for retrying a handler.
 * Jitter spreads the reconnects of every compute host after a broker restart, so the broker
 * is not hit by all of them in the same instant.
 */

export interface BackoffPolicy {
  /** Delay before the second attempt, in ms. */
  initialMs: number;
  /** No delay exceeds this, jitter included. */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
  /**
   * When set, the delay grows linearly instead (kombu's interval_start + n·interval_step, as
   * oslo.messaging's rabbit_retry_interval and rabbit_retry_backoff): initialMs + (attempt−1)·stepMs.
   */
  stepMs?: number;
  /** 0..1: the delay is drawn from [d·(1−jitter), d]. */
  jitter: number;
}

export const DEFAULT_RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.3 };

export function validateBackoff(p: BackoffPolicy, name: string): BackoffPolicy {
  const bad = (field: string, allowed: string, v: number) =>
    new RangeError(`${name}.${field}: must be ${allowed}, got ${v}`);
  if (!(p.initialMs >= 0) || !Number.isFinite(p.initialMs)) throw bad('initialMs', 'a finite number ≥ 0', p.initialMs);
  if (!(p.maxMs >= p.initialMs) || !Number.isFinite(p.maxMs)) throw bad('maxMs', `a finite number ≥ initialMs (${p.initialMs})`, p.maxMs);
  if (!(p.factor >= 1) || !Number.isFinite(p.factor)) throw bad('factor', 'a finite number ≥ 1', p.factor);
  if (!(p.jitter >= 0 && p.jitter <= 1)) throw bad('jitter', 'between 0 and 1', p.jitter);
  if (p.stepMs !== undefined && (!(p.stepMs >= 0) || !Number.isFinite(p.stepMs))) throw bad('stepMs', 'a finite number ≥ 0', p.stepMs);
  return p;
}

/**
 * The wait after failed attempt number `attempt` (1 = the first failure).
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const raw = policy.stepMs !== undefined ? policy.initialMs + policy.stepMs * exponent : policy.initialMs * policy.factor ** exponent;
  const capped = Math.min(policy.maxMs, raw);
  return Math.round(capped * (1 - policy.jitter * random()));
}
