/**
 * A package loaded on first use instead of at import. ESM has no lazy static import, and a
 * command that never parses XML or diffs a domain should not pay for loading the parser or the
 * differ; their CommonJS builds are required when first asked for (each package is loaded in
 * one form only, so there is a single copy in memory).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
