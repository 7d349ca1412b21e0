import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The recorded Nova notifications: HWSTASH_NOTIFICATION_FIXTURES, else ../shared beside the repository. */
export function notificationFixturesDir(): string {
  const dir = process.env['HWSTASH_NOTIFICATION_FIXTURES'] ?? resolve(process.cwd(), '../shared/fixtures/notifications');
  if (!existsSync(resolve(dir, 'README.md'))) {
    throw new Error(`notification fixtures not found in ${dir}; set HWSTASH_NOTIFICATION_FIXTURES`);
  }
  return dir;
}
