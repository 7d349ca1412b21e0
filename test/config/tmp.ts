// Temporary config files for the config tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  dir: string;
  /** Write `name` with `text` and mode (default 0640), return its path. */
  write(name: string, text: string, mode?: number): string;
  remove(): void;
}

export function tempDir(): TempDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-config-'));
  return {
    dir,
    write(name, text, mode = 0o640) {
      const file = path.join(dir, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      fs.chmodSync(file, mode);
      return file;
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
