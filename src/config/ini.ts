/**
 * INI parsing with oslo.config's semantics (oslo_config/iniparser.py + cfg.ConfigParser), so a
 * nova.conf means to hwstash exactly what it means to Nova:
 *
 * - `[section]`; names other than `DEFAULT` are lower-cased (oslo's _normalize_group_name), so
 *   `[LIBVIRT]` is `[libvirt]` but `[default]` is not `[DEFAULT]`.
 * - `key = value` or `key: value`, split at whichever of `=` and `:` comes first; keys are
 *   case-sensitive and trimmed, values trimmed.
 * - One pair of matching surrounding quotes on the first line of a value is removed
 *   (`host = "a"` is `a`); nothing else is interpreted: no types, no escapes, no inline comments.
 * - Full-line comments start with `#` or `;`.
 * - A line starting with a space or tab continues the previous value (joined with a newline); a
 *   blank line, comment or section header ends the value, and a continuation after one is an error.
 * - Repeated keys are all kept, in order: single-valued options take the last, multi-valued all.
 */
import { ConfigError } from './errors.js';

export interface IniValue {
  readonly value: string;
  /** 1-based line of the key. */
  readonly line: number;
}

export interface IniDocument {
  /** Where the text came from, for messages. */
  readonly file: string;
  /** Normalised section name → key → every assignment of that key, in file order. */
  readonly sections: ReadonlyMap<string, ReadonlyMap<string, readonly IniValue[]>>;
}

export class IniParseError extends ConfigError {
  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`, { origin: file, line });
    this.name = 'IniParseError';
  }
}

export function normalizeSectionName(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

function splitKeyValue(line: string): { key: string; value: string } | null {
  const colon = line.indexOf(':');
  const equal = line.indexOf('=');
  if (colon < 0 && equal < 0) return null;
  const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
  let value = line.slice(at + 1).trim();
  const first = value[0];
  if (value !== '' && (first === '"' || first === "'") && value[value.length - 1] === first) {
    value = value.slice(1, -1);
  }
  return { key: line.slice(0, at).trim(), value };
}

/**
 * Parse INI text. `file` names the source in error messages. Messages never repeat the
 * offending line's text (it may hold a password); they give file and line number.
 */
export function parseIni(text: string, file: string): IniDocument {
  const sections = new Map<string, Map<string, IniValue[]>>();
  let section: string | null = null;
  let pending: { key: string; parts: string[]; line: number } | null = null;

  const flush = (): void => {
    if (!pending) return;
    if (section === null) {
      throw new IniParseError(file, pending.line, 'a section header such as [DEFAULT] must come before the first option');
    }
    const keys = sections.get(section)!;
    const list = keys.get(pending.key) ?? [];
    list.push({ value: pending.parts.join('\n'), line: pending.line });
    keys.set(pending.key, list);
    pending = null;
  };

  // A byte-order mark would otherwise make the first line an invalid assignment.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trimEnd();
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!pending) {
        throw new IniParseError(file, lineNo, 'unexpected continuation line (an indented line must follow an option line)');
      }
      pending.parts.push(line.trimStart());
      continue;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new IniParseError(file, lineNo, 'invalid section header (must end with ])');
      if (line.length <= 2) throw new IniParseError(file, lineNo, 'empty section name');
      section = normalizeSectionName(line.slice(1, -1));
      if (!sections.has(section)) sections.set(section, new Map());
    } else if (line.startsWith('#') || line.startsWith(';')) {
      // comment
    } else {
      const kv = splitKeyValue(line);
      if (!kv) throw new IniParseError(file, lineNo, "no '=' or ':' found in assignment");
      if (kv.key === '') throw new IniParseError(file, lineNo, 'option name cannot be empty');
      pending = { key: kv.key, parts: [kv.value], line: lineNo };
    }
  }
  flush();
  return { file, sections };
}

/** Every assignment of `section`/`key` in the document, in order (section name normalised). */
export function valuesOf(doc: IniDocument, section: string, key: string): readonly IniValue[] {
  return doc.sections.get(normalizeSectionName(section))?.get(key) ?? [];
}
