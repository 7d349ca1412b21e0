/**
 * Nova's own notification bodies (test/fixtures/notifications, made by Nova Zed's notifier
 * code), re-addressed for a test: the instance uuid, the compute host and the message id are
 * replaced in the raw text, so every other byte stays as Nova sent it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { notificationFixturesDir } from '../../bus/helpers/fixtures.js';

export const FIXTURE_INSTANCE_A = '0a538123-7143-4461-b258-dc394b17a536';
export const FIXTURE_INSTANCE_B = '13adbc46-2f4f-436c-8e3c-43714106ec3f';
export const FIXTURE_HOST = 'compute-0';
export const FIXTURE_OTHER_HOST = 'compute-1';

export interface Readdressed {
  body: Buffer;
  messageId: string;
}

/**
 * The fixture `file` with instance A (or B) → `uuid`, compute-0 (or compute-1) → `host`, and a
 * fresh message_id (the consumer acks a repeated id as a duplicate without handling it).
 */
export function novaFixture(file: string, o: { uuid?: string; host?: string; otherHost?: string } = {}): Readdressed {
  let text = readFileSync(join(notificationFixturesDir(), file), 'utf8');
  const oldId = /\\"message_id\\": \\"([0-9a-f-]{36})\\"/.exec(text)?.[1];
  if (!oldId) throw new Error(`${file}: no message_id found`);
  const messageId = randomUUID();
  text = text.split(oldId).join(messageId);
  if (o.uuid) text = text.split(FIXTURE_INSTANCE_A).join(o.uuid).split(FIXTURE_INSTANCE_B).join(o.uuid);
  if (o.host) text = text.split(FIXTURE_HOST).join(o.host);
  if (o.otherHost) text = text.split(FIXTURE_OTHER_HOST).join(o.otherHost);
  return { body: Buffer.from(text, 'utf8'), messageId };
}
