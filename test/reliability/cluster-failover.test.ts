/**
 * A 3-node RabbitMQ cluster of the test's own (its own ports, data directories and Erlang
 * cookie; the machine's broker is not touched), nova.conf with all three nodes in
 * transport_url and rabbit_quorum_queue = true. While 10,000 Nova notifications flow, the node
 * leading hwstash's quorum queue is killed with kill -9, brought back, and then the node the
 * consumer is connected to is killed. Counted at the end: events lost (confirmed by the broker
 * but never applied), applied twice (the handler completed twice for one message id),
 * dead-lettered. The time to resume is printed for each kill: from the kill to the first event
 * applied that was published after the kill.
 *
 * The handler only records what it applied (the database side of at-least-once is the agent's
 * and is covered by kill-9.test.ts); everything on the bus path is real.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { ConnectionManager, rabbitConnectionOptions } from '../../src/bus/connection.js';
import { NotificationConsumer } from '../../src/bus/consumer.js';
import { NotificationPublisher } from '../../src/bus/publisher.js';
import { encodeNotification, instancePayload } from '../../src/bus/envelope.js';
import { queueArguments } from '../../src/bus/queues.js';
import { loadSettings } from '../../src/config/load.js';
import { waitFor } from '../bus/helpers/rabbit.js';
import { figure } from './helpers/figures.js';
import { NodeGroup, nodeName, waitPort, type RabbitNode } from './helpers/rabbit-nodes.js';
import mysql from 'mysql2/promise';
import { AgentHarness, httpGet } from '../agent/helpers/harness.js';
import { novaFixture } from '../agent/helpers/nova-fixtures.js';
import { parseExposition } from '../agent/helpers/prometheus.js';
import { insertInstances } from '../../src/store/seed.js';
import { mariadbHistory } from '../store/databases.js';

const TOTAL = Number(process.env['HWSTASH_CLUSTER_EVENTS'] ?? 10_000);
const RATE_PER_S = 300;
const HOST = 'compute-cluster';
const EXCHANGE = 'nova';
const QUEUE = `hwstash.${HOST}`;
const DLQ = `hwstash.${HOST}.dead`;

let group: NodeGroup;
let nodes: RabbitNode[] = [];

let formedInS = 0;
beforeAll(async () => {
  const t0 = Date.now();
  await startCluster();
  formedInS = (Date.now() - t0) / 1000;
  figure('cluster-start', `3-node cluster formed in ${formedInS.toFixed(1)} s`);
}, 120_000);

afterAll(() => {
  group?.destroy();
});

async function startCluster(): Promise<void> {
  group = NodeGroup.create('cluster');
  const names = [nodeName('hwca'), nodeName('hwcb'), nodeName('hwcc')];
  const peers = names.map((n, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${n}@localhost`);
  for (const name of names) {
    nodes.push(await group.add({ name, conf: ['cluster_formation.peer_discovery_backend = classic_config', ...peers] }));
  }
  // The first node forms the cluster; the others find it and join.
  await nodes[0]!.start();
  await Promise.all(nodes.slice(1).map((n) => n.start()));
  await waitFor(async () => {
    const out = await nodes[0]!.ctl('-q', 'eval', 'length(rabbit_nodes:all_running()).');
    return out.trim() === '3';
  }, 60_000, 'three running nodes in the cluster');
}

async function leaderOf(queue: string): Promise<string> {
  for (const n of nodes) {
    if (!n.child && n.beamPid() === null) continue;
    try {
      const out = await n.ctl('-q', 'eval', `{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"${queue}">>)), {_, Leader} = amqqueue:get_pid(Q), Leader.`);
      return out.trim();
    } catch {
      /* try the next node */
    }
  }
  throw new Error('no node answers for the queue leader');
}

function nodeByPort(port: number): RabbitNode {
  const n = nodes.find((x) => x.amqpPort === port);
  if (!n) throw new Error(`no node on port ${port}`);
  return n;
}

test(`kill -9 of the queue's leader, then of the consumer's node, during ${TOTAL} events: none lost, none applied twice, none dead-lettered`, async () => {
  const t0 = Date.now();
  const [a, b, c] = nodes as [RabbitNode, RabbitNode, RabbitNode];

  // Nova's exchange (non-durable, as Nova declares it) and hwstash's quorum queue, declared
  // through node B so that B leads the queue while the consumer connects to A (the first host).
  const setup = await connect(`amqp://guest:guest@127.0.0.1:${b.amqpPort}`);
  const sch = await setup.createChannel();
  await sch.assertExchange(EXCHANGE, 'topic', { durable: false, autoDelete: false });
  const spec = { quorum: true, deliveryLimit: 0, maxMemoryLength: 0, maxMemoryBytes: 0 };
  await sch.assertQueue(QUEUE, { durable: true, arguments: queueArguments(spec) });
  await setup.close();
  expect(await leaderOf(QUEUE)).toBe(b.nodename);
  nodes.forEach((n) => expect(n.child ?? n.beamPid()).toBeTruthy());

  const conf = path.join(group.dir, 'nova.conf');
  const url = `rabbit://${nodes.map((n) => `guest:guest@localhost:${n.amqpPort}`).join(',')}/`;
  fs.writeFileSync(conf, ['[DEFAULT]', `host = ${HOST}`, `transport_url = ${url}`, '[oslo_messaging_rabbit]', 'rabbit_quorum_queue = true', 'heartbeat_timeout_threshold = 10', ''].join('\n'), { mode: 0o600 });
  const { settings } = loadSettings({ configFiles: [conf], env: {} });
  expect(settings.rabbit.quorumQueue).toBe(true);

  const applied = new Map<string, number>();
  const appliedAt: Array<{ id: string; at: number }> = [];
  const conn = ConnectionManager.fromTransportUrl(settings.transportUrl, { connectTimeoutMs: 5000, ...rabbitConnectionOptions(settings.rabbit) });
  const consumer = new NotificationConsumer({
    connection: conn,
    host: HOST,
    exchange: EXCHANGE,
    prefetch: 32,
    queueSpec: spec,
    setupBackoff: { initialMs: 200, maxMs: 2000, factor: 2, jitter: 0.2 },
    handler: async (n) => {
      await new Promise((r) => setImmediate(r));
      applied.set(n.messageId, (applied.get(n.messageId) ?? 0) + 1);
      appliedAt.push({ id: n.messageId, at: Date.now() });
      return 'done';
    },
  });
  const endpoints: string[] = [];
  conn.on('connected', (e) => endpoints.push(e.endpoint));
  consumer.start();
  await consumer.whenReady(30_000);
  expect(conn.endpoint).toBe(`amqp://guest@localhost:${a.amqpPort}/`);

  // Nova: a publisher on node C (never killed), with confirms; a failed publish is sent again
  // with the same message id, as oslo.messaging's notifier retries.
  const pubConn = new ConnectionManager({
    endpoints: [{ hostname: 'localhost', port: c.amqpPort, username: 'guest', password: 'guest', vhost: '/', tls: false }],
    backoff: { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0 },
  });
  pubConn.start();
  await pubConn.whenConnected(10_000);
  const publisher = new NotificationPublisher({ connection: pubConn, host: HOST, exchange: EXCHANGE, confirmTimeoutMs: 15_000 });
  const publishedAt = new Map<string, number>();
  const confirmed = new Set<string>();
  let publishRetries = 0;
  const sendOne = async (): Promise<void> => {
    const e = encodeNotification({
      eventType: 'instance.power_on.end',
      publisherId: `nova-compute:${HOST}`,
      payload: instancePayload({ uuid: randomUUID(), host: HOST, state: 'active', powerState: 'running' }),
    });
    publishedAt.set(e.messageId, Date.now());
    for (;;) {
      try {
        await publisher.publishRaw(e.body);
        confirmed.add(e.messageId);
        return;
      } catch {
        publishRetries += 1;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const publishing = (async () => {
    const inflight = new Set<Promise<void>>();
    const start = Date.now();
    for (let i = 0; i < TOTAL; i++) {
      const due = start + (i * 1000) / RATE_PER_S;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const p = sendOne().finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= 200) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  })();

  /** ms from `killedAt` to the first applied event published after it. */
  const resumeAfter = async (killedAt: number, what: string): Promise<number> => {
    let at = 0;
    await waitFor(() => {
      const hit = appliedAt.find((x) => x.at > killedAt && (publishedAt.get(x.id) ?? 0) > killedAt);
      if (hit) at = hit.at;
      return hit !== undefined;
    }, 120_000, `consuming to resume after ${what}`);
    return at - killedAt;
  };

  // 1. kill -9 the leader of hwstash's queue (B); the consumer stays on A.
  await waitFor(() => applied.size >= TOTAL * 0.2, 120_000, '20% applied');
  const leader1 = await leaderOf(QUEUE);
  const victim1 = nodes.find((n) => n.nodename === leader1)!;
  const kill1 = Date.now();
  victim1.kill9();
  const resume1 = await resumeAfter(kill1, `killing the leader ${victim1.nodename}`);
  const newLeader = await leaderOf(QUEUE);
  figure('cluster-kill-leader', `kill -9 of ${victim1.nodename} (leader of ${QUEUE}; consumer on ${conn.endpoint}) at ${applied.size} applied: consuming resumed after ${resume1} ms; new leader ${newLeader}`);
  const back1 = Date.now();
  await victim1.start();
  await waitFor(async () => (await a.ctl('-q', 'eval', 'length(rabbit_nodes:all_running()).')).trim() === '3', 60_000, `${victim1.nodename} back in the cluster`);
  figure('cluster-rejoin', `${victim1.nodename} restarted and back in the cluster in ${((Date.now() - back1) / 1000).toFixed(1)} s`);

  // 2. kill -9 the node the consumer is connected to.
  await waitFor(() => applied.size >= TOTAL * 0.6, 120_000, '60% applied');
  const port = Number(/:(\d+)\/$/.exec(conn.endpoint ?? '')?.[1]);
  const victim2 = nodeByPort(port);
  const before2 = conn.endpoint;
  const kill2 = Date.now();
  victim2.kill9();
  const resume2 = await resumeAfter(kill2, `killing the consumer's node ${victim2.nodename}`);
  figure('cluster-kill-consumer-node', `kill -9 of ${victim2.nodename} (consumer was on ${before2}; queue leader ${await leaderOf(QUEUE)}) at ${applied.size} applied: reconnected to ${conn.endpoint}, consuming resumed after ${resume2} ms`);
  expect(conn.endpoint).not.toBe(before2);

  await publishing;
  await waitFor(() => [...confirmed].every((id) => applied.has(id)), 180_000, 'every confirmed event applied');
  await new Promise((r) => setTimeout(r, 1000)); // a late redelivery would show now

  const lost = [...publishedAt.keys()].filter((id) => !applied.has(id)).length;
  const twice = [...applied.values()].filter((n) => n > 1).length;
  const stats = consumer.stats();
  const dlqConn = await connect(`amqp://guest:guest@127.0.0.1:${c.amqpPort}`);
  const dch = await dlqConn.createChannel();
  const dlq = (await dch.checkQueue(DLQ)).messageCount;
  await dlqConn.close();
  figure(
    'cluster-totals',
    `${TOTAL} events (${publishRetries} publishes retried): lost ${lost}, applied twice ${twice}, dead-lettered ${stats.deadLettered} (dead-letter queue holds ${dlq}), redeliveries acked as duplicates ${stats.duplicate}; connections: ${endpoints.join(' → ')}; whole test ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  expect({ lost, twice, deadLettered: stats.deadLettered, dlq, published: publishedAt.size }).toEqual({ lost: 0, twice: 0, deadLettered: 0, dlq: 0, published: TOTAL });

  await consumer.stop(5000);
  await publisher.close();
  await pubConn.close(2000);
  await conn.close(2000);
  // Bring the killed node back for the next test (destroy() kills them all at the end).
  await victim2.start();
  await waitFor(async () => (await c.ctl('-q', 'eval', 'length(rabbit_nodes:all_running()).')).trim() === '3', 60_000, `${victim2.nodename} back in the cluster`);
  void waitPort;
}, 600_000);

test(`the hwstash agent itself through the same two kills: ${TOTAL} instance.create.end events, each stashed once, none dead-lettered`, async () => {
  const t0 = Date.now();
  const [, b, c] = nodes as [RabbitNode, RabbitNode, RabbitNode];
  const url = `rabbit://${nodes.map((n) => `guest:guest@localhost:${n.amqpPort}`).join(',')}/`;
  const h = await AgentHarness.create({
    transportUrl: url,
    rabbit: { rabbit_quorum_queue: 'true', heartbeat_timeout_threshold: 10 },
    testBrokerUrl: `rabbit://guest:guest@127.0.0.1:${c.amqpPort}/`,
  });
  const side = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: h.db.name });
  const count = async (sql: string): Promise<number> => Number(((await side.query(sql))[0] as Array<{ n: number }>)[0]!.n);
  let pubConn: ConnectionManager | null = null;
  let closePublisher: () => Promise<void> = async () => undefined;
  try {
    // hwstash's queue led by B while the agent connects to the first host, A.
    const setup = await connect(`amqp://guest:guest@127.0.0.1:${b.amqpPort}`);
    const sch = await setup.createChannel();
    await sch.assertQueue(h.names.queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await setup.close();
    const uuids = Array.from({ length: TOTAL }, () => randomUUID());
    for (let i = 0; i < TOTAL; i += 1000) await insertInstances(h.store, uuids.slice(i, i + 1000).map((uuid) => ({ uuid, host: h.host })));
    await h.startAgent();
    const stashed = async () => count("SELECT COUNT(DISTINCT instance_uuid) AS n FROM instance_system_metadata WHERE `key` = 'image_hw_disk_bus'");
    // The start-up reconcile stashes every instance; clear its rows so that the events do it again, one by one.
    await waitFor(async () => (await stashed()) === TOTAL, 120_000, 'the start-up reconcile');
    await side.query("DELETE FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'");
    await side.query(`DELETE FROM ${mariadbHistory(h.db.name)}`);

    pubConn = new ConnectionManager({
      endpoints: [{ hostname: 'localhost', port: c.amqpPort, username: 'guest', password: 'guest', vhost: '/', tls: false }],
      backoff: { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0 },
    });
    pubConn.start();
    await pubConn.whenConnected(10_000);
    const publisher = new NotificationPublisher({ connection: pubConn, host: h.host, exchange: h.names.exchange, confirmTimeoutMs: 15_000 });
    closePublisher = () => publisher.close();
    const publishedAt: number[] = [];
    let publishRetries = 0;
    const publishing = (async () => {
      const inflight = new Set<Promise<void>>();
      const start = Date.now();
      for (let i = 0; i < TOTAL; i++) {
        const due = start + (i * 1000) / RATE_PER_S;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        const body = novaFixture('instance-create-end.json', { uuid: uuids[i]!, host: h.host }).body;
        publishedAt[i] = Date.now();
        const p = (async () => {
          for (;;) {
            try {
              return await publisher.publishRaw(body);
            } catch {
              publishRetries += 1;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        })().finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= 200) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    })();
    /**
     * ms from the kill until the agent stashed more than the prefetch (32 events it may have held
     * at the kill) beyond what was stashed then: only new deliveries can do that. (The agent lags
     * the publisher here, so events are waiting in the queue at either kill.)
     */
    const resumeAfter = async (killedAt: number, stashedAtKill: number, what: string): Promise<number> => {
      let at = 0;
      await waitFor(async () => {
        if ((await stashed()) > stashedAtKill + 32) at = Date.now();
        return at > 0;
      }, 120_000, `stashing to resume after ${what}`);
      return at - killedAt;
    };

    await waitFor(async () => (await stashed()) >= TOTAL * 0.2, 120_000, '20% stashed');
    const leader1 = await leaderOf(h.names.queue);
    const victim1 = nodes.find((n) => n.nodename === leader1)!;
    const agentOn1 = h.logs.find('RabbitMQ connected').at(-1)?.['endpoint'];
    const at1 = await stashed();
    const kill1 = Date.now();
    victim1.kill9();
    const resume1 = await resumeAfter(kill1, at1, `killing the leader ${victim1.nodename}`);
    figure('cluster-agent-kill-leader', `agent: kill -9 of ${victim1.nodename} (leader; agent on ${String(agentOn1)}) at ${at1} stashed: stashing resumed within ${resume1} ms`);
    await victim1.start();
    await waitFor(async () => (await c.ctl('-q', 'eval', 'length(rabbit_nodes:all_running()).')).trim() === '3', 60_000, `${victim1.nodename} back`);

    await waitFor(async () => (await stashed()) >= TOTAL * 0.6, 120_000, '60% stashed');
    const endpoint = String(h.logs.find('RabbitMQ connected').at(-1)?.['endpoint']);
    const victim2 = nodeByPort(Number(/:(\d+)\/$/.exec(endpoint)![1]));
    const at2 = await stashed();
    const consumingBefore = h.logs.find('consuming').length;
    const kill2 = Date.now();
    victim2.kill9();
    // Events the agent held at the kill may still commit: count from its new consumer on.
    await waitFor(() => h.logs.find('consuming').length > consumingBefore, 120_000, 'the agent to consume again');
    const resume2 = await resumeAfter(kill2, await stashed(), `killing the agent's node ${victim2.nodename}`);
    const now = String(h.logs.find('RabbitMQ connected').at(-1)?.['endpoint']);
    figure('cluster-agent-kill-agent-node', `agent: kill -9 of ${victim2.nodename} (agent was on ${endpoint}) at ${at2} stashed: reconnected to ${now}, stashing resumed within ${resume2} ms`);
    expect(now).not.toBe(endpoint);
    const metrics = parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
    expect(metrics.samples.filter((x) => x.name === 'hwstash_bus_node_info').map((x) => x.labels['endpoint'])).toEqual([now]);

    await publishing;
    await waitFor(async () => (await stashed()) === TOTAL, 180_000, 'every instance stashed');
    await new Promise((r) => setTimeout(r, 1500)); // a late redelivery would show now
    const lost = TOTAL - (await stashed());
    // Applied twice: a property stashed twice shows as two rows or two history entries.
    const dupRows = await count("SELECT COUNT(*) AS n FROM (SELECT 1 FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%' GROUP BY instance_uuid, `key` HAVING COUNT(*) > 1) d");
    const history = await count(`SELECT COUNT(*) AS n FROM ${mariadbHistory(h.db.name)}`);
    const dlq = await h.broker!.ready(h.names.deadLetterQueue);
    const deadLettered = h.logs.find('event dead-lettered').length;
    figure('cluster-agent-totals', `agent: ${TOTAL} events (${publishRetries} publishes retried): lost ${lost}, applied twice ${dupRows} (history rows ${history} for ${TOTAL * 11} properties), dead-lettered ${deadLettered} (queue holds ${dlq}); test ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect({ lost, dupRows, history, deadLettered, dlq }).toEqual({ lost: 0, dupRows: 0, history: TOTAL * 11, deadLettered: 0, dlq: 0 });
    await victim2.start();
  } finally {
    await closePublisher().catch(() => undefined);
    await pubConn?.close(2000);
    await side.end();
    await h.cleanup();
  }
}, 600_000);
