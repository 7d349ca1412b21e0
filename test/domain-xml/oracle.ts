/** Runs nova-oracle.py: Nova Zed's own naming and device formatting, as the reference. */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ORACLE = join(dirname(fileURLToPath(import.meta.url)), 'nova-oracle.py');
// Debian's python3-nova lives beside the system interpreter, not a pyenv one.
const PYTHON = process.env['HWSTASH_NOVA_PYTHON'] ?? '/usr/bin/python3';

export function askNova<T = string>(requests: readonly object[]): T[] {
  const run = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`nova-oracle.py failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T[];
}
