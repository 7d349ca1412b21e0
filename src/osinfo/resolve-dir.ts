/** Where the OS database lives, decided as libosinfo decides it for Nova. */

export const DEFAULT_OSINFO_DIR = '/usr/share/osinfo';

/**
 * `OSINFO_SYSTEM_DIR` in the environment wins (libosinfo honours it, so Nova does too), then
 * the configured directory, then osinfo-db's install location. Empty values count as unset.
 */
export function resolveOsinfoDir(configured?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.OSINFO_SYSTEM_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (configured !== undefined && configured !== '') return configured;
  return DEFAULT_OSINFO_DIR;
}
