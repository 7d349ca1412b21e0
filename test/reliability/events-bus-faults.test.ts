/**
 * 10,000 instance.create.end events, for 10,000 distinct instances, with a cut of the agent's
 * link to RabbitMQ (a TCP proxy the test controls: fault injection, the shared broker cannot
 * drop one client) and a full broker restart (`rabbitmqctl stop_app; start_app`) in the middle.
 *
 * Nova's exchange is not durable: whatever Nova publishes between the restart and the agent's
 * re-bind is dropped by the broker, not by hwstash. The publisher here behaves as Nova's does
 * (confirms, resend until confirmed) and learns, through `mandatory`, which events the broker
 * dropped; those instances are stashed by the reconcile the agent runs after each reconnect.
 *
 * Exactly once is visible in the data: each instance gets its 11 rows and 11 history rows, so an
 * event applied twice would show 22. Then redelivery: the same events sent again, to the same
 * agent (which remembers their ids) and to a fresh one (which does not): nothing is written.
 */
import { randomUUID } from 'node:crypto';
import { insertInstances } from '../../src/store/seed.js';
import { TRANSPORT_URL, TestBroker } from '../bus/helpers/rabbit.js';
import { AgentHarness, queueCounts, sleep, waitFor } from '../agent/helpers/harness.js';
import { novaFixture } from '../agent/helpers/nova-fixtures.js';
import { TcpProxy } from '../agent/helpers/tcp-proxy.js';
import { restartBroker, type BrokerRestart } from './helpers/broker.js';
import { NovaNotifier, type Outgoing } from './helpers/nova-notifier.js';
import { figure } from './helpers/figures.js';
import { SideDb } from './helpers/side-db.js';

const N = 10_000;
const CHUNK = 250;
/** Unhandled events the publisher lets pile up before it waits for the agent: a stream, not a dump. */
const AHEAD = 1500;
const PROPERTIES = 11;

test('10,000 events through a cut connection and a broker restart: every event processed, none applied twice; redelivered events write nothing', async () => {
  const target = new URL(TRANSPORT_URL.replace(/^rabbit:/, 'http:'));
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5672) });
  const h = await AgentHarness.create({
    transportUrl: TRANSPORT_URL.replace(/@[^/]+\//, `@127.0.0.1:${proxy.port}/`),
    hwstash: { publish_notifications: false, log_level: 'info', prefetch: 64 },
  });
  const db = await SideDb.open(h.db.name);
  const nova = new NovaNotifier(h.names.exchange);
  const faults: { restart: BrokerRestart | null } = { restart: null };
  const started = Date.now();
  try {
    await h.startAgent();
    const handled = () => h.logs.find('handling event');
    const events: Array<Outgoing & { uuid: string }> = Array.from({ length: N }, () => {
      const uuid = randomUUID();
      return { uuid, ...novaFixture('instance-create-end.json', { uuid, host: h.host }) };
    });

    let cutAt = 0;
    let cutNoticedMs = 0;
    for (let c = 0; c * CHUNK < N; c++) {
      const chunk = events.slice(c * CHUNK, (c + 1) * CHUNK);
      // Nova commits the instance before it notifies.
      await insertInstances(h.store, chunk.map((e) => ({ uuid: e.uuid, host: h.host })));
      if (c === Math.floor(N / CHUNK / 3)) {
        proxy.cut();
        cutAt = Date.now();
        // Restored 1.5 s after the agent noticed, while the stream goes on.
        void waitFor(() => h.logs.find('RabbitMQ unreachable; retrying with backoff').length > 0, 30_000, 'the cut')
          .then(() => {
            cutNoticedMs = Date.now() - cutAt;
          })
          .finally(() => setTimeout(() => proxy.restore(), 1500))
          .catch(() => undefined);
      }
      if (c === Math.floor((2 * N) / CHUNK / 3)) {
        // The next sends meet a stopped broker: Nova keeps notifying through a restart.
        const r = restartBroker(2000);
        faults.restart = r;
        await waitFor(() => r.stoppedAt !== null, 60_000, 'the broker to stop');
      }
      await nova.send(chunk);
      // Keep the stream going while the agent is away; otherwise let it keep up.
      const sent = (c + 1) * CHUNK;
      const until = Date.now() + 20_000;
      while (handled().length < sent - AHEAD && Date.now() < until) await sleep(50);
    }
    const publishedMs = Date.now() - started;
    const restart = faults.restart!;
    await restart.done;

    const imageRows = () => db.count("SELECT COUNT(*) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'");
    await waitFor(async () => (await imageRows()) === N * PROPERTIES, 240_000, 'every instance stashed');
    await waitFor(async () => {
      const q = await queueCounts(h.names.queue);
      return q !== null && q.ready === 0 && q.unacked === 0;
    }, 120_000, 'the queue to drain');
    const doneMs = Date.now() - started;

    // Exactly once: 11 rows, 11 history rows per instance; no key twice.
    expect(await db.duplicates()).toEqual([]);
    expect(await db.count(`SELECT COUNT(*) AS n FROM ${db.historyTable}`)).toBe(N * PROPERTIES);
    expect(
      await db.query(`SELECT instance_uuid, COUNT(*) AS n FROM ${db.historyTable} GROUP BY instance_uuid HAVING COUNT(*) <> 11`),
    ).toEqual([]);
    expect(await db.count(`SELECT COUNT(DISTINCT instance_uuid) AS n FROM ${db.historyTable}`)).toBe(N);

    // Every event the broker routed was handled (at least once: redeliveries after the cut and
    // the restart are expected); those it dropped were stashed by a reconcile after reconnect.
    const handledIds = new Set(handled().map((l) => String(l['message_id'])));
    expect(nova.routed.size + nova.unroutable.size).toBe(N);
    expect([...nova.routed].filter((id) => !handledIds.has(id))).toEqual([]);
    const reconciles = h.logs.find('reconciling this host').map((l) => String(l['reason']));
    expect(reconciles.filter((r) => r.startsWith('bus reconnected')).length).toBeGreaterThanOrEqual(2);
    expect(h.logs.find('RabbitMQ connected').length).toBeGreaterThanOrEqual(3);
    expect(nova.failures).toBeGreaterThan(0);
    const broker = await TestBroker.open();
    try {
      expect(await broker.ready(h.names.deadLetterQueue)).toBe(0);
    } finally {
      await broker.close();
    }
    const redeliveries = handled().length - handledIds.size;
    const rowsBefore = await db.sysmeta();
    const historyBefore = await db.count(`SELECT COUNT(*) AS n FROM ${db.historyTable}`);

    // Redelivery, same agent: it remembers the ids it committed (the latest 10,000) and acks
    // without running the handler again.
    const again = events.slice(-300).filter((e) => nova.routed.has(e.messageId));
    const handledBefore = handled().length;
    await nova.send(again);
    await waitFor(async () => (await queueCounts(h.names.queue))?.unacked === 0 && (await readyCount(h.names.queue)) === 0, 60_000, 'the repeats');
    expect(handled().length).toBe(handledBefore);

    // Redelivery to a fresh agent, which has to run the handler: it finds the stash complete.
    await h.agent!.stop('test: a new agent process');
    const fresh = events.slice(0, 300);
    await nova.send(fresh);
    const stashedBefore = h.logs.find('stashed').length;
    const handledMark = h.logs.lines.length;
    await h.startAgent();
    await waitFor(async () => (await queueCounts(h.names.queue))?.unacked === 0 && (await readyCount(h.names.queue)) === 0, 60_000, 'the redelivered events');
    const rehandled = new Set(h.logs.lines.slice(handledMark).filter((l) => l['msg'] === 'handling event').map((l) => String(l['message_id'])));
    expect(fresh.filter((e) => nova.routed.has(e.messageId) && !rehandled.has(e.messageId))).toEqual([]);
    expect(h.logs.find('stashed').length).toBe(stashedBefore);
    expect(await db.sysmeta()).toEqual(rowsBefore);
    expect(await db.count(`SELECT COUNT(*) AS n FROM ${db.historyTable}`)).toBe(historyBefore);

    figure(
      'bus-faults',
      `${N} events (${nova.routed.size} routed, ${nova.unroutable.size} dropped by the broker while the binding was gone, stashed by the reconcile after reconnect); ` +
        `connection cut for ${((cutNoticedMs + 1500) / 1000).toFixed(1)} s (noticed in ${cutNoticedMs} ms), broker down ${(((restart.backAt ?? 0) - (restart.stoppedAt ?? 0)) / 1000).toFixed(1)} s; ` +
        `${nova.resends} resends by the publisher, ${redeliveries} redeliveries handled again; 0 applied twice, 0 duplicate rows, 0 dead-lettered; ` +
        `published in ${(publishedMs / 1000).toFixed(1)} s, all applied after ${(doneMs / 1000).toFixed(1)} s (${Math.round(N / (doneMs / 1000))} events/s); ` +
        `${again.length} repeated ids acked without handling, ${fresh.length} redelivered to a fresh agent wrote nothing`,
    );
  } finally {
    await faults.restart?.done.catch(() => undefined);
    await nova.close();
    await db.close();
    const cleaner = await TestBroker.open().catch(() => null);
    await cleaner?.cleanup(h.names);
    await cleaner?.close();
    await h.cleanup().catch(() => undefined);
    await proxy.close();
  }
}, 300_000);

/** Ready messages of a queue, on a connection of the test's own (the harness's went with the restart). */
async function readyCount(queue: string): Promise<number | null> {
  const b = await TestBroker.open();
  try {
    return await b.ready(queue);
  } finally {
    await b.close();
  }
}
