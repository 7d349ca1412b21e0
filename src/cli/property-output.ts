/** How the image-property commands show stored values and changes, as tables and as JSON. */
import type { HistoryRecord, PropertyWrite, StoredProperty } from '../store/index.js';
import { renderTable } from './output.js';

/** One stored state in words: a value, NULL, or no row. */
export function stateText(state: { present: boolean; value: string | null }): string {
  if (!state.present) return 'not stashed';
  return state.value === null ? 'NULL (no such device)' : state.value;
}

export function storedText(p: StoredProperty): string {
  if (!p.present) return 'not stashed';
  if (p.raw === null) return 'NULL (no such device)';
  if (p.error) return `${p.raw} (Nova cannot load it)`;
  return p.value === p.raw ? p.raw : `${p.value} (stored as ${p.raw})`;
}

export function storedJson(p: StoredProperty): Record<string, unknown> {
  return { stashed: p.present, value: p.value, raw: p.raw, ...(p.error ? { error: p.error } : {}) };
}

export function writesTable(writes: readonly PropertyWrite[]): string {
  return renderTable(
    ['property', 'old', 'new', ''],
    writes.map((w) => [w.property, stateText(w.old), stateText(w.new), w.changed ? 'changed' : 'already so']),
  );
}

export function writesJson(writes: readonly PropertyWrite[]): Array<Record<string, unknown>> {
  return writes.map((w) => ({ property: w.property, old: w.old, new: w.new, changed: w.changed }));
}

export function historyTable(history: readonly HistoryRecord[]): string {
  return renderTable(
    ['entry', 'time (UTC)', 'property', 'old', 'new', 'source', 'actor', 'reason'],
    history.map((h) => [
      h.id,
      h.time,
      h.property,
      stateText({ present: h.oldPresent, value: h.oldValue }),
      stateText({ present: h.newPresent, value: h.newValue }),
      h.valueSource ? `${h.source} (${h.valueSource})` : h.source,
      h.actor,
      h.reason,
    ]),
  );
}
