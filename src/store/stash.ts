/**
 * The batched never-overwrite stash. Per batch of instances, one transaction and a fixed set of
 * statements whatever the batch size: lock the instances rows, read all their system_metadata
 * (one query), decide per instance (stash-plan.ts), then one multi-row INSERT of the new
 * `image_<property>` rows and one of their history rows. Block devices are not read: none of
 * the 11 properties depends on them (they matter only when Nova builds a guest).
 *
 * Nova's table has no unique key on (instance_uuid, key), so the lock is what keeps two
 * stashers (two agents, or an agent and an operator's `set`) from both inserting a key: the
 * second waits on the first's instance rows, then reads its committed rows and adds nothing.
 * On a Galera cluster that lock holds on one node only; claimInstances makes writers on two nodes
 * conflict at certification instead (transaction.ts: one read per batch, one write per batch that writes).
 * Domain facts are gathered by the caller before the transaction: no libvirt call under a lock.
 */
import type { Transaction } from 'sequelize';
import type { DomainFacts, HostProfile, OsInfoLookup } from '../core/inputs.js';
import { PROPERTIES, propertySpec } from '../core/properties.js';
import type { Source } from '../core/resolve.js';
import type { Database } from './database.js';
import { appendHistory, historyOf, type HistoryEntry, type HistoryRecord } from './history.js';
import { liveInstanceRefsByUuid, type InstanceRef } from './instances.js';
import { ADOPT_REASONS, RESTORE_REASONS, planRepair, type Adopt, type RepairPlan, type Restore } from './repair-plan.js';
import { novaRegistrationDefaults, planInstanceStash, type InstancePlan } from './stash-plan.js';
import { storedProperties, sysmetaDict, type SysmetaRow } from './sysmeta.js';
import { lastRebuilds, putPropertyRow, sysmetaRowsOf } from './system-metadata.js';
import { naiveUtc } from './timestamps.js';
import { claimInstances, readClaims, writeTransaction } from './transaction.js';

export interface StashOptions {
  profile: HostProfile;
  osinfo: OsInfoLookup | null;
  /** The current libvirt domain of each instance that has one (RULES.md §9.2). */
  domains?: ReadonlyMap<string, DomainFacts | null>;
  /**
   * Instances whose domain could not be read, with why. Their missing properties are left
   * unstashed: today's defaults could contradict what the guest actually runs.
   */
  unreadableDomains?: ReadonlyMap<string, string>;
  /** Stash only instances still on this host, as checked under the lock. */
  host?: string;
  /** Read and decide, write nothing. */
  dryRun?: boolean;
  /** Who writes, for the history (`hwstash-agent@compute-1`, an operator). */
  actor: string;
  /** Why, per instance, for the history (e.g. after Nova's rebuild). */
  reasons?: ReadonlyMap<string, string>;
  now?: () => Date;
  /** Awaited after the reads, before the writes (with the locks held): lets tests hold a stasher mid-way. */
  afterRead?: () => Promise<void>;
  /** Awaited after the writes, before the commit: lets tests commit two writers at the same moment. */
  beforeCommit?: () => Promise<void>;
  /**
   * The image properties of an instance's RequestSpec in Nova's API database (null: none, or no
   * API database): tells nova-manage's `image_property set` from a stale save of Nova's.
   */
  requestSpecOf?: (uuid: string) => Promise<Readonly<Record<string, string>> | null>;
}

export type InstanceStashStatus =
  /** Rows were (or, in a dry run, would be) added. */
  | 'stashed'
  /** All 11 properties were already stored. */
  | 'complete'
  /** Nothing could be added and some properties are still missing (see errors). */
  | 'incomplete'
  /** Deleted, unknown, or no longer on the host. */
  | 'skipped'
  /**
   * A Nova operation is in progress (task_state set): Nova holds the instance in memory and will
   * save its whole system_metadata, erasing or reverting what is written now; its `.end` event
   * (or the next reconcile) stashes it.
   */
  | 'deferred';

export interface InstanceStashReport extends InstancePlan {
  status: InstanceStashStatus;
  /** For `deferred`: Nova's task in progress. */
  task?: string;
  /** Rows put back to the history's value after a stale save of Nova's erased or reverted them. */
  restored: Restore[];
  /** Changes of Nova's (a rebuild, nova-manage's set) recorded as the new values. */
  adopted: Adopt[];
}

export interface StashRow {
  instanceUuid: string;
  key: string;
  value: string | null;
  source: Source;
}

export interface StashBatchReport {
  instances: InstanceStashReport[];
  /** The `image_<property>` rows added (or that would be added). */
  rows: StashRow[];
  /** Statements sent for this batch. */
  queries: number;
}

function statusOf(plan: InstancePlan): InstanceStashStatus {
  if (Object.keys(plan.toStash).length > 0) return 'stashed';
  return Object.keys(plan.present).length === PROPERTIES.length ? 'complete' : 'incomplete';
}

function skipped(uuid: string): InstanceStashReport {
  return { uuid, status: 'skipped', present: {}, toStash: {}, errors: {}, badStoredValues: [], restored: [], adopted: [] };
}

interface InstanceDecision {
  plan: InstancePlan;
  repair: RepairPlan;
  /** The instance's rows before any write (for the repair's updates). */
  rows: readonly SysmetaRow[];
}

/** The rows as they will be once the repair is written: what the stash then plans from. */
function rowsAfterRepair(rows: readonly SysmetaRow[], restores: readonly Restore[]): SysmetaRow[] {
  if (restores.length === 0) return [...rows];
  const keys = new Set<string>(restores.map((r) => propertySpec(r.property).key));
  const maxId = rows.reduce((m, r) => Math.max(m, r.id), 0);
  return [
    ...rows.filter((r) => !keys.has(r.key)),
    ...restores.map((r, i) => ({ id: maxId + 1 + i, instanceUuid: rows[0]?.instanceUuid ?? '', key: propertySpec(r.property).key, value: r.value, deleted: 0 })),
  ];
}

async function repairOf(
  instance: InstanceRef,
  rows: readonly SysmetaRow[],
  history: readonly HistoryRecord[],
  rebuiltAt: string | null,
  options: StashOptions,
): Promise<RepairPlan> {
  const stored = storedProperties(sysmetaDict(rows));
  const first = planRepair({ stored, history, rebuiltAt });
  // Only a value Nova changed (not one it erased) needs more to tell who changed it.
  const changed = [...first.restore, ...first.adopt].some((d) => d.found.present && !('cause' in d && d.cause === 'rebuild'));
  if (!changed) return first;
  const recorded = new Set(history.map((h) => `image_${h.property}`));
  return planRepair({
    stored,
    history,
    rebuiltAt,
    registrationDefaults: novaRegistrationDefaults(instance.vmMode, rows, recorded, options.profile, options.osinfo),
    requestSpec: (await options.requestSpecOf?.(instance.uuid)) ?? null,
  });
}

async function decide(
  db: Database,
  instances: readonly InstanceRef[],
  options: StashOptions,
  transaction: Transaction | undefined,
): Promise<InstanceDecision[]> {
  const uuids = instances.map((i) => i.uuid);
  const sysmeta = await sysmetaRowsOf(db, uuids, transaction);
  const history = await historyOf(db, uuids, transaction);
  // Nova's rebuild actions are needed only where the history and the rows disagree; one query
  // for the batch all the same, so the cost does not depend on what Nova did.
  const rebuilds = [...history.values()].some((h) => h.length > 0) ? await lastRebuilds(db, uuids, transaction) : new Map<string, string>();
  const out: InstanceDecision[] = [];
  for (const instance of instances) {
    const rows = sysmeta.get(instance.uuid) ?? [];
    const repair = await repairOf(instance, rows, history.get(instance.uuid) ?? [], rebuilds.get(instance.uuid) ?? null, options);
    const plan = planInstanceStash({
      uuid: instance.uuid,
      vmMode: instance.vmMode,
      rows: rowsAfterRepair(rows, repair.restore),
      profile: options.profile,
      osinfo: options.osinfo,
      domain: options.domains?.get(instance.uuid) ?? null,
      domainError: options.unreadableDomains?.get(instance.uuid),
    });
    out.push({ plan, repair, rows });
  }
  return out;
}

/** Write the restores and record the adoptions, with their history. */
async function writeRepairs(
  db: Database,
  decisions: readonly InstanceDecision[],
  actor: string,
  now: Date,
  transaction: Transaction,
): Promise<void> {
  const at = naiveUtc(now);
  const inserts: Array<Record<string, unknown>> = [];
  const history: HistoryEntry[] = [];
  for (const { plan, repair, rows } of decisions) {
    for (const r of repair.restore) {
      const key = propertySpec(r.property).key;
      const insert = await putPropertyRow(db, plan.uuid, key, rows.filter((row) => row.key === key), { remove: false, value: r.value }, at, transaction);
      if (insert) inserts.push(insert);
      history.push({
        instanceUuid: plan.uuid, property: r.property, oldValue: r.found.value, oldPresent: r.found.present,
        newValue: r.value, newPresent: true, source: 'restore', valueSource: null, actor, reason: RESTORE_REASONS[r.cause],
      });
    }
    for (const a of repair.adopt) {
      history.push({
        instanceUuid: plan.uuid, property: a.property, oldValue: a.recorded.value, oldPresent: a.recorded.present,
        newValue: a.found.value, newPresent: a.found.present, source: 'nova', valueSource: null, actor, reason: ADOPT_REASONS[a.cause],
      });
    }
  }
  if (inserts.length) await db.sequelize.getQueryInterface().bulkInsert('instance_system_metadata', inserts, { transaction });
  await appendHistory(db, history, { transaction, now });
}

function rowsOf(plans: readonly InstancePlan[]): StashRow[] {
  const rows: StashRow[] = [];
  for (const plan of plans) {
    // In the property table's order, so rows of one instance get ids in a stable order.
    for (const spec of PROPERTIES) {
      const s = plan.toStash[spec.name];
      if (s) rows.push({ instanceUuid: plan.uuid, key: spec.key, value: s.value, source: s.source });
    }
  }
  return rows;
}

async function write(
  db: Database,
  rows: readonly StashRow[],
  actor: string,
  now: Date,
  transaction: Transaction,
  reasons?: ReadonlyMap<string, string>,
): Promise<void> {
  if (rows.length === 0) return;
  const at = naiveUtc(now);
  await db.sequelize.getQueryInterface().bulkInsert(
    'instance_system_metadata',
    rows.map((r) => ({
      instance_uuid: r.instanceUuid,
      key: r.key,
      value: r.value,
      created_at: at,
      updated_at: null,
      deleted_at: null,
      // Nullable without a default: a NULL would escape Nova's soft-delete of the instance.
      deleted: 0,
    })),
    { transaction },
  );
  const history: HistoryEntry[] = rows.map((r) => ({
    instanceUuid: r.instanceUuid,
    property: r.key.slice('image_'.length),
    oldValue: null,
    oldPresent: false,
    newValue: r.value,
    newPresent: true,
    source: 'stash',
    valueSource: r.source,
    actor,
    reason: reasons?.get(r.instanceUuid) ?? null,
  }));
  await appendHistory(db, history, { transaction, now });
}

function report(uuids: readonly string[], decisions: readonly InstanceDecision[], busy: ReadonlyMap<string, string>): InstanceStashReport[] {
  const byUuid = new Map(decisions.map((d) => [d.plan.uuid, d]));
  return [...new Set(uuids)].map((uuid) => {
    const task = busy.get(uuid);
    if (task !== undefined) return { ...skipped(uuid), status: 'deferred', task };
    const d = byUuid.get(uuid);
    return d ? { ...d.plan, status: statusOf(d.plan), restored: d.repair.restore, adopted: d.repair.adopt } : skipped(uuid);
  });
}

/** Instances free to stash, and those with a Nova task in progress (uuid → task). */
function splitBusy(instances: readonly InstanceRef[]): { free: InstanceRef[]; busy: Map<string, string> } {
  const busy = new Map<string, string>();
  for (const i of instances) if (i.taskState !== null) busy.set(i.uuid, i.taskState);
  return { free: instances.filter((i) => i.taskState === null), busy };
}

/** Stash what is missing for a batch of instances, in one transaction. */
export async function stashBatch(
  db: Database,
  uuids: readonly string[],
  options: StashOptions,
): Promise<StashBatchReport> {
  const now = options.now ?? (() => new Date());
  const unique = [...new Set(uuids)];
  const { result, queries } = await db.queries.measure(async () => {
    if (options.dryRun) {
      const { free, busy } = splitBusy(await liveInstanceRefsByUuid(db, unique, { host: options.host }));
      const decisions = await decide(db, free, options, undefined);
      await options.afterRead?.();
      return { decisions, rows: rowsOf(decisions.map((d) => d.plan)), busy };
    }
    return writeTransaction(db, async (transaction) => {
      // task_state is read under the lock: Nova sets it before it loads the instance for its work.
      const { free, busy } = splitBusy(await liveInstanceRefsByUuid(db, unique, { transaction, host: options.host }));
      const decisions = await decide(db, free, options, transaction);
      const claims = await readClaims(db, free.map((i) => i.uuid), transaction);
      await options.afterRead?.();
      const writing = decisions.filter((d) => Object.keys(d.plan.toStash).length > 0 || d.repair.restore.length > 0 || d.repair.adopt.length > 0);
      await claimInstances(db, claims, writing.map((d) => d.plan.uuid), transaction);
      const rows = rowsOf(decisions.map((d) => d.plan));
      const at = now();
      await writeRepairs(db, decisions, options.actor, at, transaction);
      await write(db, rows, options.actor, at, transaction, options.reasons);
      await options.beforeCommit?.();
      return { decisions, rows, busy };
    });
  });
  return { instances: report(unique, result.decisions, result.busy), rows: result.rows, queries };
}
