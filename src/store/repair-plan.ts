/**
 * What Nova's own writes did to an instance's stash, decided from its rows and hwstash's history
 * alone (pure). Nova saves an instance's system_metadata as a whole dict: a dict loaded before
 * hwstash wrote hard-deletes the rows hwstash added and puts back the values hwstash replaced
 * (nova/db/main/api.py `_instance_metadata_update_in_place`). The history holds the last value
 * hwstash wrote or accepted for each property, so a row that disagrees with it was written by
 * someone else, and the question is who:
 *
 * - the row is gone: only a stale whole-dict save deletes a system_metadata row of a live
 *   instance (nova-manage's `image_property set` only adds and updates), so it is restored;
 * - Nova's rebuild since the last entry (an instance action): the rebuild replaced the image
 *   properties on purpose, its values are the new truth (a missing one is stashed anew);
 * - the value went back to one the history held before: a stale dict put it back; restored;
 * - another row of the same instance is gone: the same stale save wrote this one; restored;
 * - the value is what Nova's start-up registration computes for a property it registers
 *   (`_register_undefined_instance_details`), over a value hwstash recorded: restored;
 * - but when the RequestSpec in Nova's API database holds the new value, nova-manage's
 *   `image_property set` wrote it (from 2024.1 it updates both; a stale save touches neither):
 *   the operator's value is the new truth, and so is any other change no rule explains.
 *
 * Restoring writes exactly the history's last value, never a recomputed one.
 */
import { PROPERTIES, type PropertyName } from '../core/properties.js';
import type { HistoryRecord } from './history.js';
import type { StoredProperty } from './sysmeta.js';

/** The properties Nova's libvirt driver registers at start (REGISTER_IMAGE_PROPERTY_DEFAULTS). */
export const NOVA_REGISTERED_PROPERTIES: readonly PropertyName[] = [
  'hw_machine_type', 'hw_cdrom_bus', 'hw_disk_bus', 'hw_input_bus', 'hw_pointer_model', 'hw_video_model', 'hw_vif_model',
];

export type RestoreCause = 'erased' | 'reverted' | 'stale-save' | 'registration';

/** Why, in the words the history and the logs use. */
export const RESTORE_REASONS: Record<RestoreCause, string> = {
  erased: "the row was deleted by a save of Nova's with a system_metadata loaded before hwstash wrote it",
  reverted: "the value went back to an older one with no hwstash write behind it (a stale save of Nova's)",
  'stale-save': "overwritten by the same stale save of Nova's that deleted another of the instance's rows",
  registration: "Nova's start-up registration wrote its computed default over the recorded value",
};

export const ADOPT_REASONS = {
  rebuild: "Nova's rebuild replaced the instance's image properties",
  requestSpec: "nova-manage image_property set (the RequestSpec holds the new value)",
  unexplained: 'changed outside hwstash (not by a stale save of Nova\'s): kept as the new value',
} as const;
export type AdoptCause = keyof typeof ADOPT_REASONS;

export interface RecordedState {
  present: boolean;
  value: string | null;
}

export interface Restore {
  property: PropertyName;
  /** What the row holds now (present=false: the row is gone). */
  found: RecordedState;
  /** The history's last value, written back. */
  value: string | null;
  cause: RestoreCause;
}

export interface Adopt {
  property: PropertyName;
  /** The history's last value. */
  recorded: RecordedState;
  /** What Nova wrote, recorded as the new truth. */
  found: RecordedState;
  cause: AdoptCause;
}

export interface RepairPlan {
  restore: Restore[];
  adopt: Adopt[];
  /** Properties a rebuild removed: not restored, stashed anew. */
  rebuiltAway: PropertyName[];
}

export interface RepairInput {
  stored: Record<PropertyName, StoredProperty>;
  /** The instance's history, oldest first. */
  history: readonly HistoryRecord[];
  /** ISO time of Nova's latest rebuild of the instance, if any. */
  rebuiltAt: string | null;
  /** What Nova's registration would compute today, per registered property (omitted: not known). */
  registrationDefaults?: Partial<Record<PropertyName, string | null>>;
  /** The image properties of the instance's RequestSpec (null: no API database, or no RequestSpec). */
  requestSpec?: Readonly<Record<string, string>> | null;
}

interface Recorded {
  last: HistoryRecord;
  /** Values the property held before its last entry (as written, null meaning "no such device"). */
  earlier: Set<string | null>;
}

function recordedByProperty(history: readonly HistoryRecord[]): Map<PropertyName, Recorded> {
  const out = new Map<PropertyName, Recorded>();
  for (const entry of history) {
    const property = entry.property as PropertyName;
    const prev = out.get(property);
    const earlier = prev?.earlier ?? new Set<string | null>();
    if (prev?.last.newPresent) earlier.add(prev.last.newValue);
    if (entry.oldPresent) earlier.add(entry.oldValue);
    out.set(property, { last: entry, earlier });
  }
  return out;
}

const stateOf = (s: StoredProperty): RecordedState => ({ present: s.present, value: s.raw });

/** Properties whose rows the history says should be there (or hold another value) and do not. */
export function planRepair(input: RepairInput): RepairPlan {
  const plan: RepairPlan = { restore: [], adopt: [], rebuiltAway: [] };
  const recorded = recordedByProperty(input.history);
  const differing: Array<{ property: PropertyName; rec: Recorded; found: RecordedState }> = [];
  for (const spec of PROPERTIES) {
    const rec = recorded.get(spec.name);
    // Never recorded, or last reverted to "not stashed" by an operator: nothing to hold on to.
    if (!rec || !rec.last.newPresent) continue;
    const found = stateOf(input.stored[spec.name]);
    if (found.present && found.value === rec.last.newValue) continue;
    differing.push({ property: spec.name, rec, found });
  }
  if (differing.length === 0) return plan;

  const rebuilt = (rec: Recorded) => input.rebuiltAt !== null && Date.parse(input.rebuiltAt) >= Date.parse(rec.last.time);
  const erasedHere = differing.some((d) => !d.found.present && !rebuilt(d.rec));
  for (const { property, rec, found } of differing) {
    const recordedState = { present: true, value: rec.last.newValue };
    if (rebuilt(rec)) {
      if (found.present) plan.adopt.push({ property, recorded: recordedState, found, cause: 'rebuild' });
      else plan.rebuiltAway.push(property);
      continue;
    }
    if (!found.present) {
      plan.restore.push({ property, found, value: rec.last.newValue, cause: 'erased' });
      continue;
    }
    const specValue = input.requestSpec?.[property];
    if (specValue !== undefined && specValue === found.value) {
      plan.adopt.push({ property, recorded: recordedState, found, cause: 'requestSpec' });
      continue;
    }
    const cause: RestoreCause | null = rec.earlier.has(found.value)
      ? 'reverted'
      : erasedHere
        ? 'stale-save'
        : NOVA_REGISTERED_PROPERTIES.includes(property) &&
            input.registrationDefaults !== undefined &&
            property in input.registrationDefaults &&
            input.registrationDefaults[property] === found.value
          ? 'registration'
          : null;
    if (cause) plan.restore.push({ property, found, value: rec.last.newValue, cause });
    else plan.adopt.push({ property, recorded: recordedState, found, cause: 'unexplained' });
  }
  return plan;
}
