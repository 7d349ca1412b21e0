/**
 * `[hwstash] routing_key` is one key, used everywhere: the agent binds its queue with it, its own
 * notifications go out on it (its last word replaced by their priority), and `hwstash emit`
 * publishes to it, so what emit sends reaches the agent.
 */
import { randomUUID } from 'node:crypto';
import { decodeNotification } from '../../src/bus/envelope.js';
import { insertInstances } from '../../src/store/seed.js';
import { run } from '../cli/helpers.js';
import { AgentHarness, waitFor } from './helpers/harness.js';
import { novaFixture } from './helpers/nova-fixtures.js';

const TOPIC = 'hwstash_test_notifications';
let h: AgentHarness;
let tap: string;

beforeAll(async () => {
  h = await AgentHarness.create({ hwstash: { routing_key: `${TOPIC}.info` } });
  tap = await h.broker!.tap(h.names.exchange, `${TOPIC}.*`);
  await h.startAgent();
}, 60_000);

afterAll(async () => {
  await h?.cleanup();
});

async function tapped(): Promise<Array<{ eventType: string; routingKey: string; data: Record<string, unknown> }>> {
  return (await h.broker!.drain(tap)).map((m) => {
    const n = decodeNotification(m.content);
    return { eventType: n.eventType, routingKey: m.fields.routingKey, data: n.data };
  });
}

test("the agent consumes the configured key and publishes its own notifications on that key's topic", async () => {
  const uuid = randomUUID();
  await insertInstances(h.store, [{ uuid, host: h.host }]);
  h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body, `${TOPIC}.info`);
  const seen: Array<{ eventType: string; routingKey: string; data: Record<string, unknown> }> = [];
  await waitFor(async () => {
    seen.push(...(await tapped()));
    return seen.some((n) => n.eventType === 'hwstash.stash.end');
  }, 30_000, 'hwstash.stash.end on the configured topic');
  expect(seen.find((n) => n.eventType === 'hwstash.stash.end')).toMatchObject({ routingKey: `${TOPIC}.info`, data: { instance_uuid: uuid } });
}, 60_000);

test('hwstash emit publishes to the configured key, where the agent reads', async () => {
  await tapped();
  const r = await run(['--config-file', h.confFile, 'emit', 'service.update', '--format', 'json']);
  expect([r.code, r.stderr]).toEqual([0, '']);
  expect(JSON.parse(r.stdout)).toMatchObject({ event_type: 'service.update' });
  await waitFor(async () => h.logs.find('handling event').some((l) => l['event_type'] === 'service.update'), 30_000, 'the agent to handle it');
  expect((await tapped()).filter((n) => n.eventType === 'service.update').map((n) => n.routingKey)).toEqual([`${TOPIC}.info`]);
}, 60_000);

test('hwstash emit refuses a --format it does not have, before publishing anything', async () => {
  await tapped();
  const r = await run(['--config-file', h.confFile, 'emit', 'service.update', '--format', 'yaml']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/--format: "yaml" is not allowed; allowed: table, json/);
  expect(r.stdout).toBe('');
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await tapped()).toEqual([]);
});
