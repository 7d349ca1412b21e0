/**
 * The agent through a full RabbitMQ restart (`rabbitmqctl stop_app; start_app`) in the middle of
 * a stream of instance.create.end events. The sender behaves as Nova's notifier does: on a lost
 * connection it reconnects, declares its (non-durable) exchange again and sends what the broker
 * had not confirmed; it does not know whether anyone was bound. Afterwards every event's effect
 * is committed, and none twice.
 */
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { insertInstances } from '../../src/store/seed.js';
import { TestBroker, rabbitmqctl } from '../bus/helpers/rabbit.js';
import { AgentHarness, sleep, waitFor } from '../agent/helpers/harness.js';
import { novaFixture } from '../agent/helpers/nova-fixtures.js';
import { restartBroker, type BrokerRestart } from './helpers/broker.js';
import { NovaNotifier } from './helpers/nova-notifier.js';
import { figure } from './helpers/figures.js';
import { mariadbHistory } from '../store/databases.js';

test('a broker restart mid-stream: every event applied, none twice', async () => {
  const h = await AgentHarness.create();
  const side = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: h.db.name });
  const count = async (sql: string) => Number(((await side.query(sql))[0] as Array<{ n: number }>)[0]!.n);
  const nova = new NovaNotifier(h.names.exchange);
  let restart: BrokerRestart | null = null;
  try {
    await h.startAgent();
    const N = 300;
    const uuids = Array.from({ length: N }, () => randomUUID());
    await insertInstances(h.store, uuids.map((uuid) => ({ uuid, host: h.host })));

    for (let i = 0; i < N; i++) {
      if (i === N / 3) {
        restart = restartBroker(2000);
      }
      await nova.send([novaFixture('instance-create-end.json', { uuid: uuids[i]!, host: h.host })]);
      await sleep(15);
    }
    await restart?.done;

    await waitFor(
      async () => (await count("SELECT COUNT(DISTINCT instance_uuid) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'")) === N,
      120_000,
      'every event applied',
    );
    // Exactly once: 11 rows and 11 history entries per instance, no key twice.
    expect(await count("SELECT COUNT(*) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'")).toBe(11 * N);
    expect(await count(`SELECT COUNT(*) AS n FROM ${mariadbHistory(h.db.name)}`)).toBe(11 * N);
    expect(await count('SELECT COUNT(*) AS n FROM (SELECT 1 FROM instance_system_metadata GROUP BY instance_uuid, `key` HAVING COUNT(*) > 1) d')).toBe(0);
    const broker = await TestBroker.open();
    try {
      expect(await broker.ready(h.names.deadLetterQueue)).toBe(0);
    } finally {
      await broker.close();
    }
    // It did go through a restart.
    expect(nova.resends).toBeGreaterThan(0);
    expect(h.logs.find('RabbitMQ connected').length).toBeGreaterThanOrEqual(2);
    expect(h.logs.find('reconciling this host').map((l) => String(l['reason']))).toContainEqual(expect.stringMatching(/^bus reconnected/));
    figure('broker-restart', `${N} events, ${nova.resends} resends, ${nova.unroutable.size} events dropped by the broker before the agent re-bound (recovered by its reconcile)`);
  } finally {
    if (restart) await restart.done.catch(() => undefined);
    else await rabbitmqctl('start_app').catch(() => undefined);
    await nova.close();
    await side.end();
    // The broker's restart dropped the harness's own channel: reopen before cleaning up.
    const cleaner = await TestBroker.open().catch(() => null);
    await cleaner?.cleanup(h.names);
    await cleaner?.close();
    await h.cleanup().catch(() => undefined);
  }
}, 300_000);
