import type { DatabaseDialect } from '../../config/database-url.js';

/** One versioned change to hwstash's own tables (prefix `hwstash_`); never to Nova's. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The DDL for a dialect, run in order. */
  statements(dialect: DatabaseDialect): readonly string[];
}
