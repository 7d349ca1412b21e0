/**
 * The reference for the osinfo tests: Nova's own lookup code run on the real libosinfo
 * (libosinfo_oracle.py), with Nova's name mapping written here from RULES.md §8, apart from the
 * code under test.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OsInfoAnswer } from '../../src/core/inputs.js';
import { DISK_BUSES, VIF_MODELS } from '../../src/core/properties.js';

/** Debian's python3 carries the gi bindings; a pyenv python3 earlier on PATH does not. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./libosinfo_oracle.py', import.meta.url));

/** [device id, device name] in the order libosinfo's get_nth() returns them. */
export type DeviceEntry = [string, string | null];

export interface OracleLookup {
  id: string;
  net: DeviceEntry[];
  block: DeviceEntry[];
}

export interface OracleResult {
  oses: { id: string; shortIds: string[] }[];
  /** Every OS id, every short-id and the extra names; null where Nova finds no OS. */
  lookups: Record<string, OracleLookup | null>;
}

export class OracleFailed extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * Runs Nova's lookups on the db under `dir`, in the environment Nova's answers are defined for
 * (RULES.md §8: C locale; no LANGUAGE, which GLib honours even under C).
 */
export function runLibosinfoOracle(dir: string, extraNames: readonly string[] = [], root = '/'): OracleResult {
  // With another root (the Debian 13 tree, libosinfo 1.12), the oracle runs there through chroot;
  // `dir` is then a path inside that root.
  const inRoot = (p: string) => (root === '/' ? p : `/${path.relative(root, p)}`);
  const empty = fs.mkdtempSync(path.join(root === '/' ? os.tmpdir() : path.join(root, 'tmp'), 'hwstash-osinfo-none-'));
  const script = root === '/' ? SCRIPT : path.join(empty, 'libosinfo_oracle.py');
  if (root !== '/') fs.copyFileSync(SCRIPT, script);
  const argv = root === '/' ? [SYSTEM_PYTHON, script] : ['/usr/sbin/chroot', root, SYSTEM_PYTHON, inRoot(script)];
  try {
    const run = spawnSync(argv[0]!, argv.slice(1), {
      input: JSON.stringify(extraNames),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: {
        PATH: '/usr/bin:/bin',
        HOME: inRoot(empty),
        LC_ALL: 'C',
        LANG: 'C',
        OSINFO_SYSTEM_DIR: dir,
        OSINFO_LOCAL_DIR: inRoot(empty),
        OSINFO_USER_DIR: inRoot(empty),
      },
    });
    if (run.error) throw new OracleFailed(`cannot run ${SYSTEM_PYTHON} ${SCRIPT}: ${run.error.message}`, '');
    if (run.status !== 0) {
      throw new OracleFailed(`libosinfo oracle failed on ${dir} (exit ${run.status}): ${run.stderr.trim()}`, run.stderr);
    }
    return JSON.parse(run.stdout) as OracleResult;
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
}

/** Nova's mapping (RULES.md §8): the virtio names, then enum membership, else None. */
export function novaAnswer(lookup: OracleLookup | null): OsInfoAnswer | null {
  if (lookup === null) return null;
  const first = (list: DeviceEntry[]): string | null => list[0]?.[1] ?? null;
  const map = (name: string | null, virtioNames: string[], allowed: readonly string[]): string | null => {
    if (name === null) return null;
    if (virtioNames.includes(name)) return 'virtio';
    return allowed.includes(name) ? name : null;
  };
  return {
    networkModel: map(first(lookup.net), ['virtio-net', 'virtio1.0-net'], VIF_MODELS),
    diskModel: map(first(lookup.block), ['virtio-block', 'virtio1.0-block'], DISK_BUSES),
  };
}
