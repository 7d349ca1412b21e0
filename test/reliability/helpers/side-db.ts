/**
 * The test's own look at the agent's MariaDB database, through a connection of its own (not the
 * agent's pool, not hwstash's store code): the invariants are checked with plain SQL.
 */
import mysql from 'mysql2/promise';
import { mariadbHistory } from '../../store/databases.js';

export interface SysmetaRow {
  id: number;
  instance_uuid: string;
  key: string;
  value: string | null;
  deleted: number | null;
  created_at: string | null;
  updated_at: string | null;
  deleted_at: string | null;
}

export interface HistoryRow {
  id: number;
  instance_uuid: string;
  property: string;
  source: string;
  new_value: string | null;
  actor: string;
}

export class SideDb {
  private constructor(
    private readonly conn: mysql.Connection,
    private readonly database: string,
  ) {}

  /** hwstash's history table, in its own database beside the cell database. */
  get historyTable(): string {
    return mariadbHistory(this.database);
  }

  static async open(database: string): Promise<SideDb> {
    // Dates as text: a value that changed by a microsecond must show.
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database, dateStrings: true });
    return new SideDb(conn, database);
  }

  async query<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    return (await this.conn.query(sql, values))[0] as T[];
  }

  async count(sql: string, values: unknown[] = []): Promise<number> {
    const [row] = await this.query<{ n: number | string }>(sql, values);
    return Number(row!.n);
  }

  sysmeta(): Promise<SysmetaRow[]> {
    return this.query<SysmetaRow>('SELECT id, instance_uuid, `key`, value, deleted, created_at, updated_at, deleted_at FROM instance_system_metadata ORDER BY id');
  }

  history(): Promise<HistoryRow[]> {
    return this.query<HistoryRow>(`SELECT id, instance_uuid, property, source, new_value, actor FROM ${this.historyTable} ORDER BY id`);
  }

  /** (instance, key) pairs held by more than one row: Nova's table does not prevent them. */
  duplicates(): Promise<Array<{ instance_uuid: string; key: string; n: number }>> {
    return this.query('SELECT instance_uuid, `key`, COUNT(*) AS n FROM instance_system_metadata GROUP BY instance_uuid, `key` HAVING COUNT(*) > 1');
  }

  /** How many `image_hw_*` rows each instance has (instances without any included, as 0). */
  async imageKeyCounts(): Promise<Map<string, number>> {
    const rows = await this.query<{ uuid: string; n: number }>(
      "SELECT i.uuid, COUNT(m.id) AS n FROM instances i LEFT JOIN instance_system_metadata m ON m.instance_uuid = i.uuid AND m.`key` LIKE 'image\\_hw\\_%' GROUP BY i.uuid",
    );
    return new Map(rows.map((r) => [r.uuid, Number(r.n)]));
  }

  /** Instance uuids in id order: the order a reconcile visits them in. */
  async instanceUuidsById(): Promise<string[]> {
    return (await this.query<{ uuid: string }>('SELECT uuid FROM instances ORDER BY id')).map((r) => r.uuid);
  }

  close(): Promise<void> {
    return this.conn.end();
  }
}

/** Rows of `before` that are gone or differ in `after` (by id). */
export function changedRows(before: readonly SysmetaRow[], after: readonly SysmetaRow[]): Array<{ before: SysmetaRow; after: SysmetaRow | null }> {
  const now = new Map(after.map((r) => [r.id, r]));
  const out: Array<{ before: SysmetaRow; after: SysmetaRow | null }> = [];
  for (const b of before) {
    const a = now.get(b.id) ?? null;
    if (!a || JSON.stringify(a) !== JSON.stringify(b)) out.push({ before: b, after: a });
  }
  return out;
}
