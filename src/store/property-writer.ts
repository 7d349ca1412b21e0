/**
 * The operator's write (`image-property set`, and `revert` from history) for one instance: all
 * given properties in one transaction, under the same instance row lock the stash takes, with
 * history; on any failure nothing is written. The CLI's checks (state, enum, virt type, host)
 * belong to the CLI; they can run here under the lock through `check`, so the state they saw is
 * the state written over.
 *
 * A key stored more than once (Nova's table allows it; Nova reads the highest id) is collapsed:
 * the highest-id row is updated and the others hard-deleted, as Nova's own save does. Removing a
 * key is a hard DELETE: Nova reads soft-deleted system_metadata rows too.
 */
import { PROPERTIES, propertySpec, type PropertyName } from '../core/properties.js';
import type { Database } from './database.js';
import { InstanceNotFoundError } from './errors.js';
import { appendHistory, type HistoryEntry } from './history.js';
import { liveInstancesByUuid } from './instances.js';
import type { InstanceRow, NovaModels } from './nova-models.js';
import { storableValue } from './storable.js';
import { storedProperties, sysmetaDict, type StoredProperty, type SysmetaRow } from './sysmeta.js';
import { putPropertyRow, sysmetaRowsForKeys } from './system-metadata.js';
import { naiveUtc } from './timestamps.js';
import { claimInstances, readClaims, writeTransaction } from './transaction.js';

/** Store a value (null: "no such device"), or remove the row (back to "not stashed"). */
export type PropertyChange = { property: PropertyName; value: string | null } | { property: PropertyName; remove: true };

export interface WritePropertiesOptions {
  source: 'set' | 'revert';
  actor: string;
  reason?: string | null;
  now?: () => Date;
  /** Runs under the row lock before anything is written; throw to abort with nothing written. */
  check?: (instance: InstanceRow, stored: Record<PropertyName, StoredProperty>) => void | Promise<void>;
  /** Awaited after the reads, before the writes (locks held): lets tests hold a writer mid-way. */
  afterRead?: () => Promise<void>;
  /**
   * Runs after the rows are written, before the history and the commit: a write elsewhere that
   * must happen with this one (the RequestSpec in Nova's API database). What it returns is added
   * to the history's reason; throw to abort with nothing written here.
   */
  beforeCommit?: (writes: readonly PropertyWrite[]) => Promise<string | null>;
}

export interface PropertyWrite {
  property: PropertyName;
  old: { present: boolean; value: string | null };
  new: { present: boolean; value: string | null };
  /** False when the stored state already was the requested one. */
  changed: boolean;
}

export interface WritePropertiesResult {
  instance: InstanceRow;
  writes: PropertyWrite[];
}

interface Normalised {
  property: PropertyName;
  remove: boolean;
  value: string | null;
}

function normalise(changes: readonly PropertyChange[]): Normalised[] {
  const byProperty = new Map<PropertyName, Normalised>();
  for (const change of changes) {
    propertySpec(change.property); // throws for a name outside the 11
    if ('remove' in change) byProperty.set(change.property, { property: change.property, remove: true, value: null });
    else byProperty.set(change.property, { property: change.property, remove: false, value: storableValue(change.property, change.value) });
  }
  // In the property table's order, so the history reads in a familiar order.
  return PROPERTIES.map((p) => byProperty.get(p.name)).filter((c): c is Normalised => c !== undefined);
}

export async function writeProperties(
  db: Database,
  models: NovaModels,
  uuid: string,
  changes: readonly PropertyChange[],
  options: WritePropertiesOptions,
): Promise<WritePropertiesResult> {
  // Values are checked before anything is read or locked.
  const wanted = normalise(changes);
  const now = options.now ?? (() => new Date());
  return writeTransaction(db, async (transaction) => {
    const [instance] = await liveInstancesByUuid(db, [uuid], { transaction });
    if (!instance) throw new InstanceNotFoundError(uuid);
    const rows = await sysmetaRowsForKeys(db, uuid, PROPERTIES.map((p) => p.key), transaction);
    const claims = await readClaims(db, [uuid], transaction);
    const stored = storedProperties(sysmetaDict(rows));
    await options.check?.(instance, stored);
    await options.afterRead?.();

    // One reading of the clock: the rows and their history carry the same time.
    const writtenAt = now();
    if (wanted.length > 0) await claimInstances(db, claims, [uuid], transaction);
    const at = naiveUtc(writtenAt);
    const writes: PropertyWrite[] = [];
    const history: HistoryEntry[] = [];
    const inserts: Array<Record<string, unknown>> = [];
    for (const change of wanted) {
      const key = propertySpec(change.property).key;
      const ofKey: SysmetaRow[] = rows.filter((r) => r.key === key).sort((a, b) => a.id - b.id);
      const top = ofKey[ofKey.length - 1];
      const old = { present: top !== undefined, value: top?.value ?? null };
      const next = { present: !change.remove, value: change.remove ? null : change.value };
      const clean = ofKey.length <= 1 && (top === undefined || top.deleted === 0);
      const same = old.present === next.present && old.value === next.value && clean;
      writes.push({ property: change.property, old, new: next, changed: !same });
      if (same) continue;

      const insert = await putPropertyRow(db, uuid, key, ofKey, change.remove ? { remove: true } : { remove: false, value: change.value }, at, transaction);
      if (insert) inserts.push(insert);
      history.push({
        instanceUuid: uuid,
        property: change.property,
        oldValue: old.value,
        oldPresent: old.present,
        newValue: next.value,
        newPresent: next.present,
        source: options.source,
        valueSource: null,
        actor: options.actor,
        reason: options.reason ?? null,
      });
    }
    if (inserts.length) await db.sequelize.getQueryInterface().bulkInsert('instance_system_metadata', inserts, { transaction });
    const note = (await options.beforeCommit?.(writes)) ?? null;
    if (note) for (const h of history) h.reason = h.reason ? `${h.reason}; ${note}` : note;
    await appendHistory(db, history, { transaction, now: writtenAt });
    return { instance, writes };
  });
}
