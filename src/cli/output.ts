/** Terminal tables for people, JSON for scripts: one switch, `--format`, defaulting by TTY. */
import type Table from 'cli-table3';
import { lazyRequire } from '../lazy-require.js';
import type { Writable } from 'node:stream';
import { CliError } from './errors.js';

/** cli-table3 and its string-width helpers load only when a table is drawn. */
const cliTable = lazyRequire<typeof Table>('cli-table3');

export type Format = 'table' | 'json';

export interface Out extends Writable {
  isTTY?: boolean;
}

export function chooseFormat(requested: string | undefined, out: Out): Format {
  if (requested === undefined) return out.isTTY ? 'table' : 'json';
  if (requested === 'table' || requested === 'json') return requested;
  throw new CliError(1, `--format: ${JSON.stringify(requested)} is not allowed; allowed: table, json`);
}

/** Commander's accumulator for a repeatable option (`--property a=1 --property b=2`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function writeJson(out: Writable, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text from the database or a notification shown on a terminal: control characters (an escape
 * sequence in an operator's --reason, say) are shown as \xNN instead of acting on the terminal.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A plain table; cells are stringified, null shown as "-" unless told otherwise. */
export function renderTable(head: string[], rows: ReadonlyArray<ReadonlyArray<unknown>>, nullText = '-'): string {
  const table = new (cliTable())({
    head,
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? nullText : printable(String(c)))));
  return `${table.toString()}\n`;
}
