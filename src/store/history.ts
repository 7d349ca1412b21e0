/**
 * `hwstash_property_history`: every write of an `image_<property>` row — stash, operator set,
 * revert — appended in the same transaction as the write, so history and data never disagree.
 */
import { QueryTypes, type Transaction } from 'sequelize';
import type { Source } from '../core/resolve.js';
import type { Database } from './database.js';
import { isoFromNaiveUtc, naiveUtc, naiveUtcText } from './timestamps.js';

export const HISTORY_TABLE = 'hwstash_property_history';

/**
 * stash: hwstash added a missing row; set/revert: an operator through hwstash; restore: hwstash
 * put back what a stale save of Nova's erased or reverted; nova: a change of Nova's (a rebuild,
 * nova-manage's set) recorded as the new value.
 */
export type HistorySource = 'stash' | 'set' | 'revert' | 'restore' | 'nova';

export interface HistoryEntry {
  instanceUuid: string;
  property: string;
  /** The value before; null with oldPresent=false means there was no row. */
  oldValue: string | null;
  oldPresent: boolean;
  newValue: string | null;
  /** False when the write removed the row (a revert to "not stashed"). */
  newPresent: boolean;
  source: HistorySource;
  /** For a stash: where the value came from (image, domain, osinfo, driver, config). */
  valueSource?: Source | null;
  actor: string;
  reason?: string | null;
}

export interface HistoryRecord extends Required<HistoryEntry> {
  id: number;
  /** ISO-8601 UTC. */
  time: string;
}

/**
 * Free text fit for a varchar(255) that may be utf8mb3 on the connection. NUL goes too: the SQL
 * Sequelize sends for SQLite ends at it (the statement fails), and for PostgreSQL it is stored as
 * the two characters `\0`.
 */
function text255(s: string): string {
  const bmp = s.replace(/[\u{10000}-\u{10FFFF}\u0000]/gu, '\uFFFD');
  const chars = [...bmp];
  return chars.length <= 255 ? bmp : `${chars.slice(0, 254).join('')}…`;
}

export function historyRow(entry: HistoryEntry, now: Date): Record<string, unknown> {
  return {
    instance_uuid: entry.instanceUuid,
    property: entry.property,
    old_value: entry.oldValue,
    old_present: entry.oldPresent,
    new_value: entry.newValue,
    new_present: entry.newPresent,
    source: entry.source,
    value_source: entry.valueSource ?? null,
    actor: text255(entry.actor),
    reason: entry.reason === undefined || entry.reason === null ? null : text255(entry.reason),
    created_at: naiveUtc(now),
  };
}

/**
 * Append entries with one INSERT. Written by hand: sequelize's bulkInsert cannot name a table in
 * another MySQL database (it quotes `db.table` as one identifier).
 */
export async function appendHistory(
  db: Database,
  entries: readonly HistoryEntry[],
  options: { transaction?: Transaction; now: Date },
): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => historyRow(e, options.now));
  const columns = Object.keys(rows[0]!);
  const replacements: Record<string, unknown> = {};
  const tuples = rows.map((row, i) => {
    for (const c of columns) replacements[`r${i}_${c}`] = row[c];
    return `(${columns.map((c) => `:r${i}_${c}`).join(', ')})`;
  });
  await db.sequelize.query(`INSERT INTO ${db.own.table(HISTORY_TABLE)} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, {
    replacements,
    transaction: options.transaction,
  });
}


const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';

export interface ListHistoryOptions {
  property?: string;
}

function historyColumns(db: Database): string {
  return (
    'id, instance_uuid, property, old_value, old_present, new_value, new_present, source, value_source, actor, reason, ' +
    `${naiveUtcText(db.dialect, 'created_at')} AS time`
  );
}

function toRecord(r: Record<string, unknown>): HistoryRecord {
  return {
    id: Number(r['id']),
    instanceUuid: String(r['instance_uuid']),
    property: String(r['property']),
    oldValue: (r['old_value'] ?? null) as string | null,
    oldPresent: bool(r['old_present']),
    newValue: (r['new_value'] ?? null) as string | null,
    newPresent: bool(r['new_present']),
    source: String(r['source']) as HistorySource,
    valueSource: (r['value_source'] ?? null) as Source | null,
    actor: String(r['actor']),
    reason: (r['reason'] ?? null) as string | null,
    time: isoFromNaiveUtc(r['time']) ?? '',
  };
}

/** An instance's history, oldest first. */
export async function listHistory(db: Database, instanceUuid: string, options: ListHistoryOptions = {}): Promise<HistoryRecord[]> {
  const where = ['instance_uuid = :uuid'];
  if (options.property !== undefined) where.push('property = :property');
  const rows = await db.sequelize.query<Record<string, unknown>>(
    `SELECT ${historyColumns(db)} FROM ${db.own.table(HISTORY_TABLE)} WHERE ${where.join(' AND ')} ORDER BY id`,
    { type: QueryTypes.SELECT, replacements: { uuid: instanceUuid, property: options.property } },
  );
  return rows.map(toRecord);
}

/** The history of several instances with one query, grouped by instance, oldest first. */
export async function historyOf(db: Database, uuids: readonly string[], transaction?: Transaction): Promise<Map<string, HistoryRecord[]>> {
  const out = new Map<string, HistoryRecord[]>(uuids.map((u) => [u, []]));
  if (uuids.length === 0) return out;
  const rows = await db.sequelize.query<Record<string, unknown>>(
    `SELECT ${historyColumns(db)} FROM ${db.own.table(HISTORY_TABLE)} WHERE instance_uuid IN (:uuids) ORDER BY id`,
    { type: QueryTypes.SELECT, replacements: { uuids: [...uuids] }, transaction },
  );
  for (const r of rows) out.get(String(r['instance_uuid']))?.push(toRecord(r));
  return out;
}
