/**
 * Telling operators what a stash put back after Nova's own saves (store/repair-plan.ts): a
 * warning in the log, the metrics, and `hwstash.drift` on the bus with `compared: "history"`,
 * so the same alert that watches a guest's hardware watches its stash.
 */
import type { Logger } from 'pino';
import { RESTORE_REASONS, ADOPT_REASONS, type Adopt, type Restore } from '../store/repair-plan.js';
import type { AgentMetrics } from './metrics.js';

export interface RepairNotice {
  eventType: 'hwstash.drift';
  payloadName: 'HwstashDriftPayload';
  data: Record<string, unknown>;
}

/**
 * Count and log; returns the notification to publish, or null when nothing was restored. A
 * change of Nova's that is kept (a rebuild, nova-manage's set) is logged and counted, not
 * announced as drift: nothing differs from what the stash now says.
 */
export function reportRepairs(
  metrics: AgentMetrics,
  log: Logger,
  host: string,
  uuid: string,
  restored: readonly Restore[],
  adopted: readonly Adopt[],
): RepairNotice | null {
  if (restored.length === 0 && adopted.length === 0) return null;
  for (const r of restored) metrics.restored.inc({ property: r.property, cause: r.cause });
  for (const a of adopted) metrics.adopted.inc({ property: a.property, cause: a.cause });
  const restoredOut = restored.map((r) => ({
    property: r.property,
    found: r.found.present ? r.found.value : null,
    found_present: r.found.present,
    stashed: r.value,
    cause: r.cause,
    reason: RESTORE_REASONS[r.cause],
  }));
  const adoptedOut = adopted.map((a) => ({ property: a.property, was: a.recorded.value, now: a.found.value, cause: a.cause, reason: ADOPT_REASONS[a.cause] }));
  if (restored.length) log.warn({ instance_uuid: uuid, restored: restoredOut }, "stash restored after Nova's save erased or reverted it");
  if (adopted.length) log.info({ instance_uuid: uuid, adopted: adoptedOut }, "Nova's change recorded as the stashed value");
  if (restored.length === 0) return null;
  return {
    eventType: 'hwstash.drift',
    payloadName: 'HwstashDriftPayload',
    data: {
      instance_uuid: uuid,
      host,
      compared: 'history',
      drift: restored.map((r) => ({ property: r.property, stashed: r.value, domain: null, found: r.found.present ? r.found.value : null })),
      restored: restoredOut,
      adopted: adoptedOut,
    },
  };
}
