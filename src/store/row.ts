/** Column values of a plain SELECT's row, whichever driver read them: NULL stays null. */

export function textOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function numberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
