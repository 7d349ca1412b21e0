/**
 * Group commit for event stashes. Every event's stash is one transaction with a fixed set of
 * statements whatever the number of instances in it (store/stash.ts), so events handled at the
 * same time share one: while a transaction runs, new requests queue and go together into the
 * next one. An idle agent therefore flushes at once (a batch of one); a busy one commits as many
 * instances per transaction as it has events in flight, up to `maxBatch`. One transaction at a
 * time: the event stashes hold at most one pooled connection, leaving the others to the
 * handlers' reads, and never wait for each other's row locks.
 *
 * Each caller's promise settles with its own instance's report once the shared transaction has
 * committed (so the message is still acked only after its effect is committed), or with the
 * transaction's error, which every caller of that batch then retries on its own.
 */
import type { DomainFacts } from '../core/inputs.js';
import type { InstanceStashReport } from '../store/index.js';

export interface StashRequest {
  uuid: string;
  /** The instance's current domain, read before the transaction; null when it has none. */
  facts: DomainFacts | null;
  /** Why, for the history of what this stash writes. */
  reason?: string;
}

/** Stashes a batch in one transaction; returns a report per uuid (absent: unknown to the store). */
export type StashBatchRunner = (batch: readonly StashRequest[]) => Promise<ReadonlyMap<string, InstanceStashReport>>;

interface Pending extends StashRequest {
  resolve: (report: InstanceStashReport | null) => void;
  reject: (err: unknown) => void;
}

export class StashBatcher {
  private queue: Pending[] = [];
  private draining = false;

  constructor(
    private readonly runBatch: StashBatchRunner,
    /** Instances per transaction at most ([hwstash] batch_size). */
    private readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch: must be a whole number ≥ 1, got ${maxBatch}`);
  }

  /** Resolves with the instance's report once its stash is committed (null: not in the batch's answer). */
  stash(request: StashRequest): Promise<InstanceStashReport | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      // One turn of the event loop lets the requests of messages delivered together join.
      await new Promise((r) => setImmediate(r));
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        try {
          const reports = await this.runBatch(batch);
          for (const p of batch) p.resolve(reports.get(p.uuid) ?? null);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Up to maxBatch requests, one per instance: a second request for the same instance waits for the next batch. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const seen = new Set<string>();
    const rest: Pending[] = [];
    for (const p of this.queue) {
      if (batch.length < this.maxBatch && !seen.has(p.uuid)) {
        seen.add(p.uuid);
        batch.push(p);
      } else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }
}
