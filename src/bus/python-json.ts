/**
 * JSON text as Python's `json.dumps(obj)` writes it with its defaults (which is what
 * oslo.serialization's jsonutils and kombu send): `", "` and `": "` separators and
 * `ensure_ascii`, so every character outside printable ASCII becomes a `\uXXXX` escape (in
 * UTF-16 code units, lower-case hex). Producing the same bytes as Nova keeps `hwstash emit`
 * messages indistinguishable from Nova's for every consumer on the bus.
 *
 * Limit: a JavaScript number does not remember whether it was a Python float, so `1.0`
 * comes out as `1`.
 */

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** Every UTF-16 code unit Python's ensure_ascii escapes: `"`, `\`, controls, DEL and beyond. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/g;

function escapeUnit(ch: string): string {
  return SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

// A native regex replace: an oslo envelope is a long string of escaped JSON, and building it a
// character at a time cost more CPU per notification than the rest of the agent's handling.
function dumpString(s: string): string {
  return `"${s.replace(NEEDS_ESCAPE, escapeUnit)}"`;
}

function dumpNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return n.toFixed(0);
  // Python's repr writes two-digit exponents (1e-07) where JavaScript writes 1e-7.
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return dumpNumber(value);
    case 'string':
      return dumpString(value);
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
      const parts = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${dumpString(k)}: ${pythonJsonDumps(v)}`);
      return `{${parts.join(', ')}}`;
    }
    default:
      throw new TypeError(`cannot serialise a ${typeof value} as JSON`);
  }
}
