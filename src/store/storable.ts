/**
 * What may be written to `instance_system_metadata.value`: the value Nova's coercion gives (so
 * Nova can load it back, RULES.md §9.4), and only what the column holds — varchar(255) in
 * utf8mb3, which rejects characters outside the Basic Multilingual Plane — without NUL, which
 * PostgreSQL refuses.
 */
import { CoercionError, coerceProperty, type PropertyName } from '../core/properties.js';
import { UnstorableValueError } from './errors.js';

export const MAX_VALUE_LENGTH = 255;

/** Why the column cannot hold the string, or null when it can. */
export function columnProblem(value: string): string | null {
  if ([...value].length > MAX_VALUE_LENGTH) return `longer than ${MAX_VALUE_LENGTH} characters`;
  if (/[\u{10000}-\u{10FFFF}]/u.test(value)) return "holds characters outside the Basic Multilingual Plane, which Nova's utf8mb3 tables reject";
  if (value.includes('\u0000')) return 'holds a NUL character';
  return null;
}

/**
 * The canonical value to store for a property; null stays null ("no such device"). Throws
 * UnstorableValueError naming the property, the value and what is allowed.
 */
export function storableValue(property: PropertyName, value: string | null): string | null {
  if (value === null) return null;
  let canonical: string;
  try {
    canonical = coerceProperty(property, value);
  } catch (err) {
    if (err instanceof CoercionError) throw new UnstorableValueError(property, value, err.message.replace(/^[^:]*: /, ''));
    throw err;
  }
  const problem = columnProblem(canonical);
  if (problem) throw new UnstorableValueError(property, value, problem);
  return canonical;
}
