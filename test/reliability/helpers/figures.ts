/** The suite's figures: one `RELIABILITY <name>: <text>` line per test, easy to grep in CI logs. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Prints one figure line. */
export function figure(name: string, text: string): void {
  console.log(`RELIABILITY ${name}: ${text}`);
}
