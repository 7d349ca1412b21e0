/**
 * What `image-property revert` restores, from an instance's history (pure). Reverting undoes
 * history entries: each property they touched goes back to its state before the earliest of
 * them — a value, NULL ("no such device"), or no row at all ("not stashed").
 *
 * - without `--to`: the latest write (the trailing entries written together: same time, actor
 *   and source), so a multi-property `set` is undone as a whole;
 * - with `--to ENTRY`: every entry after ENTRY, i.e. back to the state right after ENTRY.
 */
import { isPropertyName, PROPERTY_NAMES, type PropertyName } from '../core/properties.js';
import type { HistoryRecord } from '../store/index.js';

export interface RevertTarget {
  property: PropertyName;
  present: boolean;
  value: string | null;
  /** The entry whose old state this restores. */
  entry: number;
}

export interface RevertPlan {
  /** The entries undone, oldest first. */
  undone: HistoryRecord[];
  /** In the property table's order. */
  targets: RevertTarget[];
}

export class RevertEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RevertEntryError';
  }
}

function latestWrite(history: readonly HistoryRecord[]): HistoryRecord[] {
  const last = history[history.length - 1];
  if (!last) return [];
  const group: HistoryRecord[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i]!;
    if (h.time !== last.time || h.actor !== last.actor || h.source !== last.source) break;
    group.unshift(h);
  }
  return group;
}

/** `history` oldest first, as the store lists it. */
export function revertPlan(history: readonly HistoryRecord[], to: number | null): RevertPlan {
  let undone: HistoryRecord[];
  if (to === null) {
    undone = latestWrite(history);
  } else {
    if (!history.some((h) => h.id === to)) {
      const ids = history.map((h) => h.id);
      throw new RevertEntryError(
        ids.length
          ? `--to ${to}: no such history entry for this instance; allowed: one of its entries (${ids[0]}…${ids[ids.length - 1]}, see image-property history)`
          : `--to ${to}: this instance has no history entries`,
      );
    }
    undone = history.filter((h) => h.id > to);
  }
  const earliest = new Map<PropertyName, HistoryRecord>();
  for (const h of undone) if (isPropertyName(h.property) && !earliest.has(h.property)) earliest.set(h.property, h);
  const targets = PROPERTY_NAMES.flatMap((property): RevertTarget[] => {
    const h = earliest.get(property);
    return h ? [{ property, present: h.oldPresent, value: h.oldPresent ? h.oldValue : null, entry: h.id }] : [];
  });
  return { undone, targets };
}
