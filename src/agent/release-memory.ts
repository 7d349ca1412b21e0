/**
 * The Nova release the agent followed at its last start, kept in its state directory, so that a
 * change between two starts — Nova was upgraded under it — is noticed, logged and announced.
 * Written beside and renamed (never half a file); an unreadable or unwritable file means "not
 * known", never an error: the agent's job does not depend on it.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RememberedRelease {
  nova_release: string;
  services_version: number | null;
  at: string;
}

const FILE = 'nova-release.json';

export function readRememberedRelease(stateDir: string): RememberedRelease | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(stateDir, FILE), 'utf8')) as Partial<RememberedRelease>;
    return typeof parsed.nova_release === 'string' ? { nova_release: parsed.nova_release, services_version: parsed.services_version ?? null, at: String(parsed.at ?? '') } : null;
  } catch {
    return null;
  }
}

/** Returns false when the state directory cannot be written (read-only, missing). */
export function rememberRelease(stateDir: string, release: string, servicesVersion: number | null, now = new Date()): boolean {
  const file = path.join(stateDir, FILE);
  const partial = `${file}.${process.pid}.partial`;
  try {
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(partial, JSON.stringify({ nova_release: release, services_version: servicesVersion, at: now.toISOString() }) + '\n', { mode: 0o640 });
    fs.renameSync(partial, file);
    return true;
  } catch {
    fs.rmSync(partial, { force: true });
    return false;
  }
}
