/**
 * Asking a real Nova (test/core/nova-oracle.py: Nova's own functions) for the 11 decisions of a
 * batch of `defaults --batch` lines: Zed from this machine's python3-nova (/usr/bin/python3, not
 * the python3 on PATH), 2025.1 from the Debian 13 tree through chroot, each with its own
 * libosinfo and osinfo-db.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ORACLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'core', 'nova-oracle.py');

export interface NovaAnswer {
  id: string;
  properties: Record<string, string | null>;
  errors: Record<string, string>;
}

/** Nova's answers, in the lines' order; `root` is `/` (Zed) or the Debian 13 tree (2025.1). */
export function askNova(root: string, lines: ReadonlyArray<Record<string, unknown>>): NovaAnswer[] {
  // The oracle must be inside the tree it runs in.
  const dir = root === '/' ? null : mkdtempSync(join(root, 'tmp', 'hwstash-oracle-'));
  try {
    const oracle = dir ? join(dir, 'nova-oracle.py') : ORACLE;
    if (dir) copyFileSync(ORACLE, oracle);
    const argv = root === '/' ? ['/usr/bin/python3', oracle] : ['chroot', root, '/usr/bin/python3', `/${oracle.slice(root.length).replace(/^\/+/, '')}`];
    const res = spawnSync(argv[0]!, [...argv.slice(1), '--host-arch', 'x86_64'], {
      input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
      env: { ...process.env, LC_ALL: 'C', LANG: 'C', PYTHONWARNINGS: 'ignore' },
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`nova-oracle.py under ${root} failed (${res.status}): ${res.stderr}`);
    const answers = res.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as NovaAnswer);
    if (answers.length !== lines.length) throw new Error(`nova-oracle.py answered ${answers.length} of ${lines.length} lines`);
    return answers;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
