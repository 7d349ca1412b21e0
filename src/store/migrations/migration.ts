import type { OwnSchema } from '../own-schema.js';

/** One versioned change to hwstash's own tables (prefix `hwstash_`); never to Nova's. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The DDL for the dialect of `own`, on tables qualified by it, run in order. */
  statements(own: OwnSchema): readonly string[];
}
