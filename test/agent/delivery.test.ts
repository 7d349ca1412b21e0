/**
 * How the agent treats its messages: acknowledged only after the effect is committed, and what
 * cannot be processed dead-lettered with a reason while the agent goes on. Real RabbitMQ, real
 * MariaDB; the broker's own counters (rabbitmqctl) say what is unacknowledged.
 */
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { encodeNotification, versionedObject } from '../../src/bus/envelope.js';
import { insertInstances } from '../../src/store/seed.js';
import { AgentHarness, httpGet, instanceLockWaiters, queueCounts, sleep, waitFor } from './helpers/harness.js';
import { novaFixture } from './helpers/nova-fixtures.js';
import { parseExposition, valueOf } from './helpers/prometheus.js';

let h: AgentHarness;

beforeAll(async () => {
  h = await AgentHarness.create();
  await h.startAgent();
}, 60_000);

afterAll(async () => {
  await h?.cleanup();
});

async function imageKeys(uuid: string): Promise<string[]> {
  return (await h.store.systemMetadata(uuid)).filter((r) => r.key.startsWith('image_hw_')).map((r) => r.key);
}

/** The test database, seen by a connection of its own (not the agent's pool). */
async function sideConnection(): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: h.db.name });
}

test('a message stays unacknowledged while its handler waits on the database, and is acked once the stash is committed', async () => {
  const uuid = randomUUID();
  await insertInstances(h.store, [{ uuid, host: h.host }]);
  const side = await sideConnection();
  try {
    // Another writer (an operator's `set`, another agent) holds the instance row.
    await side.beginTransaction();
    await side.query('SELECT id FROM instances WHERE uuid = ? FOR UPDATE', [uuid]);
    h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body);

    // The handler is inside its transaction, waiting for the lock.
    const lockWaits = () => instanceLockWaiters(side, h.db.name);
    await waitFor(async () => (await lockWaits()) === 1, 15_000, 'the handler to wait for the row lock');
    expect(await queueCounts(h.names.queue)).toEqual({ ready: 0, unacked: 1 });
    await sleep(1500);
    expect(await lockWaits()).toBe(1);
    expect(await queueCounts(h.names.queue)).toEqual({ ready: 0, unacked: 1 });
    expect(await imageKeys(uuid)).toEqual([]);

    await side.rollback();
    await waitFor(async () => (await imageKeys(uuid)).length === 11, 15_000, 'the stash');
    await waitFor(async () => (await queueCounts(h.names.queue))?.unacked === 0, 15_000, 'the ack');
    expect(await queueCounts(h.names.queue)).toEqual({ ready: 0, unacked: 0 });
  } finally {
    await side.end();
  }
}, 60_000);

test('poison messages are dead-lettered with a reason while the agent goes on', async () => {
  const before = parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
  const good = randomUUID();
  await insertInstances(h.store, [{ uuid: good, host: h.host }]);
  const unknown = randomUUID();

  const valid = novaFixture('instance-create-end.json', { uuid: unknown, host: h.host }).body.toString('utf8');
  const brokenJson = valid.slice(0, 200);
  const wrongVersion = valid.replace('"oslo.version": "2.0"', '"oslo.version": "1.0"');
  const noUuid = encodeNotification({
    eventType: 'instance.create.end',
    publisherId: `nova-compute:${h.host}`,
    payload: versionedObject('InstanceCreatePayload', '1.12', { host: h.host, state: 'active' }),
  }).body;
  expect(wrongVersion).not.toBe(valid);

  h.publishRaw(brokenJson);
  h.publishRaw(wrongVersion);
  h.publishRaw(noUuid);
  // An instance this cell database does not have: retried (a replica may lag), then given up.
  h.publishRaw(valid);
  // Meanwhile a good event is handled.
  h.publishRaw(novaFixture('instance-create-end.json', { uuid: good, host: h.host }).body);
  await waitFor(async () => (await imageKeys(good)).length === 11, 15_000, 'the good event');
  // The undecodable ones are dead-lettered at once; the unknown instance is still being retried.
  await waitFor(async () => (await h.broker!.ready(h.names.deadLetterQueue)) === 3, 10_000, 'three dead letters');
  expect(h.logs.find('event failed').filter((l) => l['instance_uuid'] === unknown).length).toBeGreaterThanOrEqual(1);
  expect(await h.broker!.ready(h.names.deadLetterQueue)).toBe(3);

  await waitFor(async () => (await h.broker!.ready(h.names.deadLetterQueue)) === 4, 30_000, 'four dead letters');
  const dead = await h.broker!.drain(h.names.deadLetterQueue);
  const reasons = dead.map((m) => String(m.properties.headers?.['x-hwstash-reason']));
  expect(reasons[0]).toMatch(/^body: not valid JSON/);
  expect(reasons[1]).toMatch(/^oslo\.version: expected "2\.0", got a string \("1\.0"\)/);
  expect(reasons[2]).toMatch(/^payload\.nova_object\.data\.uuid: missing/);
  expect(reasons[3]).toContain(`instance ${unknown} not found in the database`);
  // The original bodies, byte for byte, so they can be replayed.
  expect(dead.map((m) => m.content.toString('utf8'))).toEqual([brokenJson, wrongVersion, noUuid.toString('utf8'), valid]);
  expect(dead[3]!.properties.headers?.['x-hwstash-attempts']).toBe(5);
  expect(dead[3]!.properties.headers?.['x-hwstash-event-type']).toBe('instance.create.end');

  const after = parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
  const delta = (labels: Record<string, string>) => valueOf(after, 'hwstash_events_total', labels) - valueOf(before, 'hwstash_events_total', labels);
  expect(delta({ event_type: 'instance.create.end', outcome: 'dead_lettered' })).toBe(1);
  expect(delta({ event_type: 'instance.create.end', outcome: 'retried' })).toBe(4);
  expect(delta({ event_type: 'instance.create.end', outcome: 'done' })).toBe(1);
  // Undecodable bodies have no event type of their own: they count as malformed.
  expect(delta({ event_type: 'malformed', outcome: 'dead_lettered' })).toBe(3);
  expect(await queueCounts(h.names.queue)).toEqual({ ready: 0, unacked: 0 });
  const errorLines = h.logs.find('event dead-lettered');
  expect(errorLines.map((l) => l['reason']).sort()).toEqual([...reasons].sort());
}, 60_000);
