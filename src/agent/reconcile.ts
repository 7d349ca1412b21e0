/**
 * Reconcile a host: stash what is missing for every live instance on it, and put back what a
 * stale save of Nova's erased or reverted (store/repair-plan.ts). What the agent does at start,
 * on nova-compute's service events and periodically (the audit), and what `hwstash reconcile`
 * runs once.
 *
 * Goes through the host's live instances in id order, one batch at a time; each batch is its own
 * transaction, so a kill mid-way leaves whole batches and nothing partial, and the next run
 * picks up the rest. Per batch: one query finds the instances with a property missing, the
 * domain facts of those only are read (from the caller: this module knows no libvirt), then the
 * whole batch is stashed in one transaction (which also reports stored values Nova cannot load).
 */
import type { Logger } from 'pino';
import type { DomainFacts, HostProfile, OsInfoLookup } from '../core/inputs.js';
import type { Source } from '../core/resolve.js';
import { mapLimit } from '../map-limit.js';
import type { BadStoredValue, StashRow, Store } from '../store/index.js';
import type { Adopt, Restore } from '../store/repair-plan.js';

/** What a run put back, or accepted as Nova's, for one instance. */
export interface InstanceRepairs {
  instanceUuid: string;
  restored: Restore[];
  adopted: Adopt[];
}

export interface ReconcileProgress {
  /** Instances looked at so far. */
  done: number;
  /** Live instances on the host when the run started. */
  total: number;
  propertiesStashed: number;
}

export interface ReconcileOptions {
  store: Store;
  host: string;
  profile: HostProfile;
  osinfo: OsInfoLookup | null;
  /** The instance's libvirt domain as it is now, or null when it has none. */
  domainFacts: (uuid: string) => Promise<DomainFacts | null>;
  /** Instances per transaction. */
  batchSize: number;
  dryRun?: boolean;
  /** Only this instance (still only if it is on `host`). */
  instanceUuid?: string;
  /** Who writes, for the history. */
  actor?: string;
  onProgress?: (progress: ReconcileProgress) => void;
  logger?: Logger;
  /** Checked between batches: a stopping agent finishes the batch in flight and returns. */
  signal?: AbortSignal;
  /** The image properties of an instance's RequestSpec (store/repair-plan.ts); absent without an API database. */
  requestSpecOf?: (uuid: string) => Promise<Readonly<Record<string, string>> | null>;
}

export interface ReconcileError {
  instanceUuid: string;
  property: string;
  code: string;
  message: string;
}

export interface ReconcileSummary {
  host: string;
  dryRun: boolean;
  /** Live instances of the host looked at. */
  instancesSeen: number;
  /** Instances that got rows (or would, in a dry run). */
  instancesStashed: number;
  /** Instances that already had all 11 properties. */
  instancesComplete: number;
  /** Instances left with missing properties (see errors). */
  instancesIncomplete: number;
  /** Instances gone, or moved to another host, between listing and locking. */
  instancesSkipped: number;
  /** Instances with a Nova operation in progress (task_state set): left for its .end event or the next run. */
  instancesDeferred: number;
  propertiesStashed: number;
  stashedBySource: Partial<Record<Source, number>>;
  /** Rows put back to the history's value after a stale save of Nova's erased or reverted them. */
  propertiesRestored: number;
  /** Changes of Nova's (a rebuild, nova-manage's set) recorded as the new values. */
  propertiesAdopted: number;
  /** Per instance, what was restored or adopted. */
  repairs: InstanceRepairs[];
  /** property → error code → count. */
  errorsByProperty: Record<string, Record<string, number>>;
  errors: ReconcileError[];
  badStoredValues: BadStoredValue[];
  /** Rows written (in a dry run: that would be written), listed only for a dry run. */
  rows?: StashRow[];
  batches: number;
  queries: number;
  durationMs: number;
  /** True when a stop request ended the run before the last batch. */
  interrupted: boolean;
}

function emptySummary(host: string, dryRun: boolean): ReconcileSummary {
  return {
    host,
    dryRun,
    instancesSeen: 0,
    instancesStashed: 0,
    instancesComplete: 0,
    instancesIncomplete: 0,
    instancesSkipped: 0,
    instancesDeferred: 0,
    propertiesStashed: 0,
    stashedBySource: {},
    propertiesRestored: 0,
    propertiesAdopted: 0,
    repairs: [],
    errorsByProperty: {},
    errors: [],
    badStoredValues: [],
    rows: dryRun ? [] : undefined,
    batches: 0,
    queries: 0,
    durationMs: 0,
    interrupted: false,
  };
}

function addError(summary: ReconcileSummary, error: ReconcileError): void {
  summary.errors.push(error);
  const byCode = (summary.errorsByProperty[error.property] ??= {});
  byCode[error.code] = (byCode[error.code] ?? 0) + 1;
}

/**
 * The host's live instances in id order. Listed once (id and uuid only): paging with
 * `host = ? AND id > ? ORDER BY id LIMIT n` scans and sorts the host's whole index range on
 * every page with Nova's indexes, which grows with the square of the host's size.
 */
async function instancesToVisit(options: ReconcileOptions): Promise<Array<{ id: number; uuid: string }>> {
  const { store, host } = options;
  if (options.instanceUuid === undefined) return store.instanceIdsOnHost(host);
  const instance = await store.instance(options.instanceUuid);
  return instance && instance.host === host ? [{ id: instance.id, uuid: instance.uuid }] : [];
}

/** Why an instance complete when its batch was looked at has no domain facts. */
const COMPLETE_WHEN_LISTED = 'not read, every property was stashed when the batch was listed; run the reconcile again';

/** Domain reads in flight at once: libvirt serves them from one connection. */
const DOMAIN_CONCURRENCY = 8;

/**
 * The domain facts of a batch, read before its transaction so no libvirt call happens while
 * instance rows are locked (a hung libvirt would otherwise stall Nova's own updates).
 */
async function domainsOf(
  uuids: readonly string[],
  domainFacts: ReconcileOptions['domainFacts'],
): Promise<{ domains: Map<string, DomainFacts | null>; unreadable: Map<string, string> }> {
  const domains = new Map<string, DomainFacts | null>();
  const unreadable = new Map<string, string>();
  await mapLimit(uuids, DOMAIN_CONCURRENCY, async (uuid) => {
    try {
      domains.set(uuid, await domainFacts(uuid));
    } catch (err) {
      unreadable.set(uuid, (err as Error).message);
    }
  });
  return { domains, unreadable };
}

export async function reconcileHost(options: ReconcileOptions): Promise<ReconcileSummary> {
  const started = Date.now();
  const { store, host, logger } = options;
  const dryRun = options.dryRun ?? false;
  const actor = options.actor ?? `hwstash@${host}`;
  const summary = emptySummary(host, dryRun);
  const queriesBefore = store.queries.count;

  const visit = await instancesToVisit(options);
  const total = visit.length;
  options.onProgress?.({ done: 0, total, propertiesStashed: 0 });

  for (let start = 0; start < visit.length; start += Math.max(1, options.batchSize)) {
    const page = visit.slice(start, start + Math.max(1, options.batchSize));
    if (options.signal?.aborted) {
      summary.interrupted = true;
      break;
    }
    summary.batches += 1;
    summary.instancesSeen += page.length;
    const uuids = page.map((i) => i.uuid);
    // A fully stashed instance needs no domain facts: reading libvirt for each would dominate a
    // reconcile of a host that is already done.
    const incomplete = await store.instancesMissingProperties(uuids);
    const { domains, unreadable } = await domainsOf(uuids.filter((u) => incomplete.has(u)), options.domainFacts);
    // One that lost a row since the look (an operator's revert) has no facts: it is reported and
    // left for the next run rather than stashed with today's defaults over what its guest runs.
    for (const uuid of uuids) if (!incomplete.has(uuid)) unreadable.set(uuid, COMPLETE_WHEN_LISTED);
    const report = await store.stash(uuids, { profile: options.profile, osinfo: options.osinfo, domains, unreadableDomains: unreadable, host, dryRun, actor, requestSpecOf: options.requestSpecOf });
    for (const inst of report.instances) {
      if (inst.status === 'stashed') summary.instancesStashed += 1;
      else if (inst.status === 'complete') summary.instancesComplete += 1;
      else if (inst.status === 'incomplete') summary.instancesIncomplete += 1;
      else if (inst.status === 'deferred') summary.instancesDeferred += 1;
      else summary.instancesSkipped += 1;
      for (const [property, failure] of Object.entries(inst.errors)) {
        addError(summary, { instanceUuid: inst.uuid, property, code: failure.code, message: failure.message });
      }
      summary.badStoredValues.push(...inst.badStoredValues);
      if (inst.restored.length || inst.adopted.length) {
        summary.repairs.push({ instanceUuid: inst.uuid, restored: inst.restored, adopted: inst.adopted });
        summary.propertiesRestored += inst.restored.length;
        summary.propertiesAdopted += inst.adopted.length;
      }
    }
    for (const row of report.rows) {
      summary.propertiesStashed += 1;
      summary.stashedBySource[row.source] = (summary.stashedBySource[row.source] ?? 0) + 1;
    }
    if (dryRun) summary.rows!.push(...report.rows);
    options.onProgress?.({ done: summary.instancesSeen, total, propertiesStashed: summary.propertiesStashed });
  }

  summary.queries = store.queries.count - queriesBefore;
  summary.durationMs = Date.now() - started;
  // The caller logs the summary (the agent with its metrics, the CLI as its report).
  for (const bad of summary.badStoredValues) {
    logger?.warn({ instance_uuid: bad.instanceUuid, key: bad.key, value: bad.value }, `stored value Nova cannot load: ${bad.message}`);
  }
  return summary;
}
