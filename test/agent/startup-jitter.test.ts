/**
 * [hwstash] startup_jitter: the agent's first reconcile waits a random delay in [0, jitter), with
 * READY sent and events handled meanwhile; 0 reconciles at once, before READY. Real MariaDB and
 * RabbitMQ; the random number is injected so the delay is known without measuring time.
 */
import { randomUUID } from 'node:crypto';
import { startupDelayMs } from '../../src/agent/agent.js';
import { insertInstances } from '../../src/store/seed.js';
import { AgentHarness, httpGet, waitFor } from './helpers/harness.js';

async function imageKeys(h: AgentHarness, uuid: string): Promise<number> {
  return (await h.store.systemMetadata(uuid)).filter((r) => r.key.startsWith('image_hw_')).length;
}

async function reconciled(h: AgentHarness): Promise<unknown> {
  return (JSON.parse((await httpGet(`${h.metricsUrl}/healthz`)).body) as Record<string, unknown>)['reconciled'];
}

describe('startupDelayMs', () => {
  test('0 disables the delay whatever the random number', () => {
    expect(startupDelayMs(0, () => 0.999)).toBe(0);
  });

  test('the delay is uniform over [0, jitter) and never reaches the window\'s end', () => {
    expect(startupDelayMs(60, () => 0)).toBe(0);
    expect(startupDelayMs(60, () => 0.5)).toBe(30_000);
    // Math.random never returns 1, but an injected source might: still inside the window.
    expect(startupDelayMs(60, () => 1)).toBeLessThan(60_000);
    expect(startupDelayMs(60, () => 1.5)).toBeLessThan(60_000);
    expect(startupDelayMs(60, () => -1)).toBe(0);
    for (let i = 0; i < 1000; i++) {
      const d = startupDelayMs(3, Math.random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(3000);
    }
  });
});

test('with a jitter, start() returns ready and consuming before the first reconcile; an event is stashed meanwhile', async () => {
  const h = await AgentHarness.create({ hwstash: { startup_jitter: 3600 } });
  try {
    const [byEvent, byReconcile] = [randomUUID(), randomUUID()];
    await insertInstances(h.store, [{ uuid: byEvent, host: h.host }, { uuid: byReconcile, host: h.host }]);
    // Half of an hour's window: the reconcile cannot start during the test.
    await h.startAgent({ random: () => 0.5 });
    expect(h.logs.find('first reconcile delayed by [hwstash] startup_jitter')[0]).toMatchObject({ delay_ms: 1_800_000 });
    expect(h.logs.find('hwstash agent ready').length).toBe(1);
    expect(h.logs.find('reconciling this host').length).toBe(0);
    expect(await reconciled(h)).toBe(false);

    h.publishInstance('instance.create.end', byEvent);
    await waitFor(async () => (await imageKeys(h, byEvent)) === 11, 20_000, 'the event to be stashed during the delay');
    expect(await imageKeys(h, byReconcile)).toBe(0);
    // The stop cuts the delay short: no reconcile ever starts.
    expect(await h.agent!.stop('test')).toEqual({ drained: true });
    await h.agent!.firstReconcileDone();
    expect(h.logs.find('reconciling this host').length).toBe(0);
  } finally {
    await h.cleanup();
  }
}, 60_000);

test('after the delay the first reconcile runs and the host is reported reconciled', async () => {
  const h = await AgentHarness.create({ hwstash: { startup_jitter: 1 } });
  try {
    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host }]);
    await h.startAgent({ random: () => 0.5 });
    expect(h.logs.find('first reconcile delayed by [hwstash] startup_jitter')[0]).toMatchObject({ delay_ms: 500 });
    await h.agent!.firstReconcileDone();
    expect(await imageKeys(h, uuid)).toBe(11);
    expect(await reconciled(h)).toBe(true);
    expect(h.logs.find('reconcile done')[0]).toMatchObject({ reason: 'agent start', instances_stashed: 1 });
  } finally {
    await h.cleanup();
  }
}, 60_000);

test('startup_jitter = 0: the host is reconciled inside start(), before READY', async () => {
  const h = await AgentHarness.create({ hwstash: { startup_jitter: 0 } });
  try {
    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host }]);
    await h.startAgent({ random: () => 0.5 });
    expect(await imageKeys(h, uuid)).toBe(11);
    expect(await reconciled(h)).toBe(true);
    expect(h.logs.find('first reconcile delayed by [hwstash] startup_jitter').length).toBe(0);
    const messages = h.logs.lines.map((l) => l['msg']);
    expect(messages.indexOf('reconcile done')).toBeLessThan(messages.indexOf('hwstash agent ready'));
  } finally {
    await h.cleanup();
  }
}, 60_000);

test("with a jitter, a database without Nova's tables still fails the start, naming the table, before READY", async () => {
  const h = await AgentHarness.create({ hwstash: { startup_jitter: 3600 } });
  try {
    await h.store.db.sequelize.query('DROP TABLE instance_actions');
    const failed = await h.startAgent({ random: () => 0.5 }, { waitConsuming: false }).then(
      () => null,
      (err: Error) => err,
    );
    expect(failed?.message).toMatch(/table instance_actions does not exist in the database at .*is \[database\] connection Nova's cell database\?/);
    expect(h.logs.find('hwstash agent ready')).toHaveLength(0);
  } finally {
    await h.cleanup();
  }
});
