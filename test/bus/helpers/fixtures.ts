import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The recorded Nova notifications: HWSTASH_NOTIFICATION_FIXTURES, else test/fixtures/notifications. */
export function notificationFixturesDir(): string {
  const dir = process.env['HWSTASH_NOTIFICATION_FIXTURES'] ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/notifications');
  if (!existsSync(resolve(dir, 'README.md'))) {
    throw new Error(`notification fixtures not found in ${dir}; set HWSTASH_NOTIFICATION_FIXTURES`);
  }
  return dir;
}
