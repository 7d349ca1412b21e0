/**
 * A 3-node MariaDB Galera cluster behind HAProxy (one active node, two backups), the test's own:
 *
 * 1. writers on two nodes at once: an operator's `set` through one node and the stash through
 *    another, straight to the nodes (not through the proxy). Galera's row locks hold on one node
 *    only, so the instance lock does not keep them apart; the claims (store/transaction.ts) must
 *    make them conflict and the loser run again: no (instance, key) twice, the operator's value
 *    wins. Held mid-way with the writers' own hooks, so each path is taken for certain: the
 *    operator aborted by the stash's replicated commit, and the stash reading before the
 *    operator's commit arrived; then both at full speed on the same instances.
 * 2. kill -9 of the active node while the agent consumes a stream of Nova's notifications
 *    through the proxy: every instance complete, no duplicate, nothing overwritten, no message
 *    lost (a message is acked only after its commit, so the broker redelivers what the kill cut
 *    short), and the time to recover printed.
 *
 * One cluster for both; the writers' test runs first, while all three nodes are up.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { Agent } from '../../src/agent/agent.js';
import { loadSettings } from '../../src/config/load.js';
import { hostProfileFromSettings } from '../../src/config/profile.js';
import { Store } from '../../src/store/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { LogCapture, osinfo, queueCounts, uniqueHost, waitFor, writeConf } from '../agent/helpers/harness.js';
import { novaFixture } from '../agent/helpers/nova-fixtures.js';
import { TestBroker, testNames } from '../bus/helpers/rabbit.js';
import { KVM_X86 } from '../store/fixtures.js';
import { figure } from './helpers/figures.js';
import { GALERA_DATABASE, GALERA_PASSWORD, GALERA_USER, startGalera, type GaleraCluster, type GaleraNode } from './helpers/galera.js';
import { NovaNotifier, type Outgoing } from './helpers/nova-notifier.js';

const HW_KEYS = 11;
const HISTORY = `\`${GALERA_DATABASE}_hwstash\`.hwstash_property_history`;

let top: string;
let cluster: GaleraCluster | undefined;
beforeAll(async () => {
  top = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-galera-w-'));
  cluster = await startGalera(path.join(top, 'cluster'));
  const store = await Store.open(cluster.url);
  try {
    await store.initNovaSchema();
    await store.migrate();
  } finally {
    await store.close();
  }
}, 300_000);
afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(top, { recursive: true, force: true });
});

async function rows<T>(c: mysql.Connection, sql: string, values?: unknown[]): Promise<T[]> {
  return (await c.query(sql, values))[0] as T[];
}

/** hwstash's store straight to one node, as a writer would reach it without the proxy. */
function nodeUrl(node: GaleraNode): string {
  return `mysql+pymysql://${GALERA_USER}:${GALERA_PASSWORD}@127.0.0.1:${node.port}/${GALERA_DATABASE}?charset=utf8`;
}

/** The (instance, key) pairs stored more than once among the given instances. */
async function duplicates(c: mysql.Connection, uuids: readonly string[]): Promise<unknown[]> {
  return rows(c, 'SELECT instance_uuid, `key`, COUNT(*) AS n FROM instance_system_metadata WHERE instance_uuid IN (?) GROUP BY instance_uuid, `key` HAVING COUNT(*) > 1', [uuids]);
}

async function hwRows(c: mysql.Connection, uuid: string): Promise<Record<string, string | null>> {
  const found = await rows<{ key: string; value: string | null }>(c, "SELECT `key`, value FROM instance_system_metadata WHERE instance_uuid = ? AND `key` LIKE 'image\\_hw\\_%'", [uuid]);
  return Object.fromEntries(found.map((r) => [r.key, r.value]));
}

/** A promise and the function that settles it: a writer held at one of its hooks. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

const stashOpts = { profile: KVM_X86, osinfo: null, actor: 'hwstash-agent@galera' };
const SET = [{ property: 'hw_disk_bus' as const, value: 'sata' }];

test("writers on two Galera nodes at once: no (instance, key) twice, the operator's value wins", async () => {
  const c = cluster!;
  const [, second, third] = c.nodes as [GaleraNode, GaleraNode, GaleraNode];
  const operator = await Store.open(nodeUrl(second));
  const agent = await Store.open(nodeUrl(third));
  const look = await c.connect(second);
  const host = uniqueHost();
  try {
    // (a) The operator holds its transaction after writing; the stash commits on the other node
    // meanwhile. Its replicated write set meets the operator's claim: the operator is aborted and
    // runs again, now over the stashed row.
    const uuidA = randomUUID();
    await insertInstances(operator, [{ uuid: uuidA, host }]);
    const held = gate();
    const reached = gate();
    let attempts = 0;
    const setA = operator.writeProperties(uuidA, SET, {
      source: 'set',
      actor: 'operator',
      beforeCommit: async () => {
        attempts += 1;
        if (attempts === 1) {
          reached.open();
          await held.wait;
        }
        return null;
      },
    });
    await reached.wait;
    const stashA = await agent.stash([uuidA], stashOpts);
    expect(stashA.instances[0]!.status).toBe('stashed');
    held.open();
    const wroteA = await setA;
    expect(attempts).toBe(2);
    // The retry saw the stashed row and changed it: the stash's value is what it replaced.
    expect(wroteA.writes[0]).toMatchObject({ property: 'hw_disk_bus', changed: true, new: { present: true, value: 'sata' } });
    expect(wroteA.writes[0]!.old.present).toBe(true);
    expect(await duplicates(look, [uuidA])).toEqual([]);
    expect(await hwRows(look, uuidA)).toMatchObject({ image_hw_disk_bus: 'sata' });
    expect(Object.keys(await hwRows(look, uuidA))).toHaveLength(HW_KEYS);
    const operatorAborts = operator.queries.retries['ER_LOCK_DEADLOCK'] ?? 0;
    expect(operatorAborts).toBeGreaterThanOrEqual(1);

    // (b) The stash holds after its reads; the operator commits on the other node meanwhile.
    // The stash's snapshot misses that commit; its claim's locking re-read does not, and it runs
    // again, leaving the operator's row alone.
    const uuidB = randomUUID();
    await insertInstances(operator, [{ uuid: uuidB, host }]);
    const readDone = gate();
    const resume = gate();
    let reads = 0;
    const stashB = agent.stash([uuidB], {
      ...stashOpts,
      afterRead: async () => {
        reads += 1;
        if (reads === 1) {
          readDone.open();
          await resume.wait;
        }
      },
    });
    await readDone.wait;
    await operator.writeProperties(uuidB, SET, { source: 'set', actor: 'operator' });
    // Replication is synchronous at commit, but applying on the other node is not: wait until it shows there.
    const thirdLook = await c.connect(third);
    try {
      await waitFor(async () => (await hwRows(thirdLook, uuidB))['image_hw_disk_bus'] === 'sata', 10_000, "the operator's row on the stash's node");
    } finally {
      await thirdLook.end();
    }
    resume.open();
    const reportB = await stashB;
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(reportB.rows.map((r) => r.key)).not.toContain('image_hw_disk_bus');
    expect(await duplicates(look, [uuidB])).toEqual([]);
    expect(await hwRows(look, uuidB)).toMatchObject({ image_hw_disk_bus: 'sata' });
    expect(Object.keys(await hwRows(look, uuidB))).toHaveLength(HW_KEYS);
    const staleReads = agent.queries.retries['HWSTASH_STALE_READ'] ?? 0;
    const stashAborts = agent.queries.retries['ER_LOCK_DEADLOCK'] ?? 0;
    expect(staleReads + stashAborts).toBeGreaterThanOrEqual(1);
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    const beforeTogether = sum(operator.queries.retries) + sum(agent.queries.retries);

    // (c) Both held after writing and committed at the same moment, on 10 instances. Neither
    // node's transaction is there for the other's to wait on: only certification can tell them
    // apart, and it does only because both wrote the instance's claim (the instance lock is
    // node-local, and the rows' reference to the instance is a shared key, which never conflicts).
    const together = Array.from({ length: 10 }, () => randomUUID());
    await insertInstances(operator, together.map((uuid) => ({ uuid, host })));
    for (const uuid of together) {
      const [opAt, stAt, go] = [gate(), gate(), gate()];
      let opTries = 0;
      let stTries = 0;
      const op = operator.writeProperties(uuid, SET, {
        source: 'set',
        actor: 'operator',
        beforeCommit: async () => {
          if (++opTries === 1) {
            opAt.open();
            await go.wait;
          }
          return null;
        },
      });
      const st = agent.stash([uuid], {
        ...stashOpts,
        beforeCommit: async () => {
          if (++stTries === 1) {
            stAt.open();
            await go.wait;
          }
        },
      });
      await Promise.all([opAt.wait, stAt.wait]);
      go.open();
      await Promise.all([op, st]);
      // One of the two ran again.
      expect(opTries + stTries).toBeGreaterThanOrEqual(3);
    }
    expect(await duplicates(look, together)).toEqual([]);
    for (const uuid of together) expect(await hwRows(look, uuid)).toMatchObject({ image_hw_disk_bus: 'sata' });
    const certification = sum(operator.queries.retries) + sum(agent.queries.retries) - beforeTogether;

    // (d) Both at full speed on the same 200 instances: the operator sets each one while the
    // stash goes through them in batches of 20 on the other node.
    const before = { op: { ...operator.queries.retries }, ag: { ...agent.queries.retries } };
    const many = Array.from({ length: 200 }, () => randomUUID());
    await insertInstances(operator, many.map((uuid) => ({ uuid, host })));
    const stashing = (async () => {
      for (let i = 0; i < many.length; i += 20) await agent.stash(many.slice(i, i + 20), stashOpts);
    })();
    const setting = (async () => {
      for (const uuid of many) await operator.writeProperties(uuid, SET, { source: 'set', actor: 'operator' });
    })();
    await Promise.all([stashing, setting]);
    expect(await duplicates(look, many)).toEqual([]);
    const wrong = await rows(look, "SELECT i.uuid, m.value FROM instances i LEFT JOIN instance_system_metadata m ON m.instance_uuid = i.uuid AND m.`key` = 'image_hw_disk_bus' WHERE i.uuid IN (?) AND NOT (m.value <=> 'sata')", [many]);
    expect(wrong).toEqual([]);
    const incomplete = await rows(look, "SELECT instance_uuid, COUNT(*) AS n FROM instance_system_metadata WHERE instance_uuid IN (?) AND `key` LIKE 'image\\_hw\\_%' GROUP BY instance_uuid HAVING COUNT(*) <> ?", [many, HW_KEYS]);
    expect(incomplete).toEqual([]);
    const delta = (now: Record<string, number>, then: Record<string, number>) =>
      Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (then[k] ?? 0)]).filter(([, v]) => Number(v) > 0));
    figure(
      'galera two writers',
      `held: the operator aborted by the stash's replicated commit and retried (${operatorAborts} ER_LOCK_DEADLOCK), ` +
        `the stash held after its reads retried (${stashAborts} ER_LOCK_DEADLOCK, ${staleReads} HWSTASH_STALE_READ); ` +
        `10 instances committed by both at the same moment: ${certification} certification conflicts retried; ` +
        `200 instances at full speed: operator retries ${JSON.stringify(delta(operator.queries.retries, before.op))}, ` +
        `stash retries ${JSON.stringify(delta(agent.queries.retries, before.ag))}; 0 duplicates, the operator's value on all`,
    );
  } finally {
    await operator.close();
    await agent.close();
    await look.end();
  }
}, 300_000);

test('kill -9 of the active node during a stream of Nova notifications: complete, no duplicates, nothing overwritten, no message lost', async () => {
  const c = cluster!;
  const N = 600;
  const CHUNK = 50;
  const host = uniqueHost();
  const names = testNames();
  const broker = await TestBroker.open();
  const side = await c.connect(c.nodes[1]!);
  const third = await c.connect(c.nodes[2]!);
  const nova = new NovaNotifier(names.exchange);
  // Nova's side writes its instances straight to a node that survives: the test is about the
  // agent's recovery, not about Nova's own retries through the proxy.
  const store = await Store.open(nodeUrl(c.nodes[1]!));
  const logs = new LogCapture();
  let agent: Agent | null = null;
  try {
    await broker.declareNovaExchange(names.exchange);
    // No audit and nothing on the host at start: only the events can stash these instances, so
    // a lost message shows as an incomplete instance.
    const confFile = writeConf(fs.mkdtempSync(path.join(top, 'agent-')), {
      host,
      names,
      databaseUrl: c.url,
      hwstash: { log_level: 'info', audit_interval: 0, publish_notifications: false, prefetch: 16 },
    });
    const settings = loadSettings({ configFiles: [confFile], env: {} }).settings;
    agent = new Agent({ settings, profile: hostProfileFromSettings(settings), osinfo: await osinfo(), logger: logs.logger('info') });
    await agent.start();
    await waitFor(() => logs.find('consuming').length > 0, 15_000, 'the agent to consume');

    const events: Array<Outgoing & { uuid: string }> = Array.from({ length: N }, () => {
      const uuid = randomUUID();
      return { uuid, ...novaFixture('instance-create-end.json', { uuid, host }) };
    });
    const stashed = async () =>
      Number((await rows<{ n: number }>(side, `SELECT COUNT(DISTINCT h.instance_uuid) AS n FROM ${HISTORY} h JOIN instances i ON i.uuid = h.instance_uuid WHERE i.host = ?`, [host]))[0]!.n);
    let killedAt = 0;
    let before = 0;
    for (let i = 0; i < N; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK);
      // Nova commits the instance before it notifies.
      await insertInstances(store, chunk.map((e) => ({ uuid: e.uuid, host })));
      await nova.send(chunk);
      if (killedAt === 0 && i + CHUNK >= N / 3) {
        // Once the agent is writing: kill while events are in flight and more keep coming.
        await waitFor(async () => (before = await stashed()) >= N / 6, 60_000, 'the first stashes');
        killedAt = Date.now();
        await c.kill9(c.nodes[0]!);
      }
    }
    expect(before).toBeLessThan(N);
    await waitFor(async () => (await stashed()) === N, 180_000, 'every instance stashed');
    const recoveredMs = Date.now() - killedAt;
    await waitFor(async () => {
      const q = await queueCounts(names.queue);
      return q !== null && q.ready === 0 && q.unacked === 0;
    }, 60_000, 'the queue to drain');

    const uuids = events.map((e) => e.uuid);
    const counts = await rows<{ uuid: string; n: number }>(
      side,
      "SELECT i.uuid, COUNT(m.id) AS n FROM instances i LEFT JOIN instance_system_metadata m ON m.instance_uuid = i.uuid AND m.`key` LIKE 'image\\_hw\\_%' WHERE i.uuid IN (?) GROUP BY i.uuid",
      [uuids],
    );
    expect(counts).toHaveLength(N);
    expect(counts.filter((r) => Number(r.n) !== HW_KEYS)).toEqual([]);
    expect(await duplicates(side, uuids)).toEqual([]);
    // Nothing overwritten: one history entry per stashed (instance, property), and the row holds its value.
    expect(await rows(side, `SELECT instance_uuid, property FROM ${HISTORY} WHERE instance_uuid IN (?) GROUP BY instance_uuid, property HAVING COUNT(*) > 1`, [uuids])).toEqual([]);
    expect(
      await rows(side, `SELECT h.instance_uuid FROM ${HISTORY} h JOIN instance_system_metadata m ON m.instance_uuid = h.instance_uuid AND m.\`key\` = CONCAT('image_', h.property) WHERE h.instance_uuid IN (?) AND NOT (m.value <=> h.new_value)`, [uuids]),
    ).toEqual([]);
    // No message lost: the broker routed every one, none was dead-lettered, none is left.
    expect(events.filter((e) => !nova.routed.has(e.messageId))).toEqual([]);
    expect(await broker.ready(names.deadLetterQueue)).toBe(0);
    expect(logs.find('event dead-lettered')).toEqual([]);
    // Both surviving nodes hold the same rows.
    const digest = 'SELECT COUNT(*) AS n, SUM(CRC32(CONCAT(instance_uuid, `key`, COALESCE(value, \'\')))) AS s FROM instance_system_metadata';
    expect(await rows(third, digest)).toEqual(await rows(side, digest));
    expect(logs.find('database unreachable: events wait until it answers').length).toBeGreaterThanOrEqual(1);
    figure(
      'galera kill -9 during events',
      `${N} create.end events in chunks of ${CHUNK}; killed the active node after ${before} instances were stashed; ` +
        `every instance complete ${recoveredMs} ms after the kill; 0 duplicates, 0 overwritten, 0 lost, 0 dead-lettered; ` +
        `retries: ${JSON.stringify(agent.db.queries.retries)}`,
    );
  } finally {
    await agent?.stop('test done').catch(() => undefined);
    await nova.close();
    await store.close().catch(() => undefined);
    await side.end().catch(() => undefined);
    await third.end().catch(() => undefined);
    await broker.cleanup(names).catch(() => undefined);
    await broker.close();
  }
}, 400_000);
