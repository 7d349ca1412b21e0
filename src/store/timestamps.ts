/**
 * Nova stores naive UTC datetimes (oslo's timeutils.utcnow(), no zone). hwstash writes them as
 * plain `YYYY-MM-DD HH:MM:SS.ffffff` strings so no driver applies its own time zone, and each
 * column type (MySQL DATETIME, PostgreSQL timestamp without time zone, SQLite text) stores the
 * same wall-clock UTC time SQLAlchemy would.
 */

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

export function naiveUtc(date: Date): string {
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds() * 1000, 6)}`
  );
}

/**
 * A naive UTC datetime as read back (a string, or a Date a driver built) as an ISO-8601 UTC
 * string. Strings are read as UTC whatever the process's zone.
 */
export function isoFromNaiveUtc(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?/.exec(String(value));
  if (!m) return String(value);
  const ms = m[7] ? Number(m[7].padEnd(6, '0').slice(0, 3)) : 0;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms)).toISOString();
}

/**
 * A naive UTC datetime column (or expression) read as text, so no driver shifts it by the
 * process's time zone; isoFromNaiveUtc reads the result.
 */
export function naiveUtcText(dialect: 'mysql' | 'postgres' | 'sqlite', expr: string): string {
  if (dialect === 'mysql') return `DATE_FORMAT(${expr}, '%Y-%m-%d %H:%i:%s.%f')`;
  if (dialect === 'postgres') return `to_char(${expr}, 'YYYY-MM-DD HH24:MI:SS.US')`;
  return expr;
}
