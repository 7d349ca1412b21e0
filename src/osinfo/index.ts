export { OsInfoIndex } from './osinfo-index.js';
export { OsInfoDbError, OsInfoUnavailableError } from './errors.js';
export { DEFAULT_OSINFO_DIR, resolveOsinfoDir } from './resolve-dir.js';
export { loadIndexCached, type CachedIndex, type CacheOutcome } from './index-cache.js';
