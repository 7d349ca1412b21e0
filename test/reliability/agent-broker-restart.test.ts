/**
 * The agent through a full RabbitMQ restart (`rabbitmqctl stop_app; start_app`) in the middle of
 * a stream of instance.create.end events. The sender behaves as Nova's notifier does: on a lost
 * connection it reconnects, declares its (non-durable) exchange again and sends what the broker
 * had not confirmed; it does not know whether anyone was bound. Afterwards every event's effect
 * is committed, and none twice.
 */
import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import mysql from 'mysql2/promise';
import { parseTransportUrl, toConnectOptions } from '../../src/bus/transport-url.js';
import { insertInstances } from '../../src/store/seed.js';
import { TRANSPORT_URL, TestBroker, rabbitmqctl } from '../bus/helpers/rabbit.js';
import { AgentHarness, sleep, waitFor } from '../agent/helpers/harness.js';
import { novaFixture } from '../agent/helpers/nova-fixtures.js';

/** Nova's side: confirmed, persistent sends; reconnect and resend on failure. */
class NovaNotifier {
  private model: ChannelModel | null = null;
  private ch: ConfirmChannel | null = null;
  /** Messages the broker could not route (published with `mandatory` only to count them). */
  unroutable = 0;
  resends = 0;

  constructor(private readonly exchange: string) {}

  private async channel(): Promise<ConfirmChannel> {
    if (this.ch) return this.ch;
    const model = await connect(toConnectOptions(parseTransportUrl(TRANSPORT_URL)[0]!));
    model.on('error', () => undefined);
    model.on('close', () => {
      if (this.model === model) {
        this.model = null;
        this.ch = null;
      }
    });
    const ch = await model.createConfirmChannel();
    ch.on('error', () => undefined);
    ch.on('return', () => (this.unroutable += 1));
    await ch.assertExchange(this.exchange, 'topic', { durable: false, autoDelete: false });
    this.model = model;
    this.ch = ch;
    return ch;
  }

  async send(body: Buffer): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) this.resends += 1;
      try {
        const ch = await this.channel();
        await new Promise<void>((resolve, reject) => {
          ch.publish(this.exchange, 'versioned_notifications.info', body, { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, mandatory: true }, (err) =>
            err ? reject(err) : resolve(),
          );
        });
        return;
      } catch {
        const model = this.model;
        this.model = null;
        this.ch = null;
        await model?.close().catch(() => undefined);
        await sleep(200);
      }
    }
  }

  async close(): Promise<void> {
    await this.model?.close().catch(() => undefined);
  }
}

test('a broker restart mid-stream: every event applied, none twice', async () => {
  const h = await AgentHarness.create();
  const side = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: h.db.name });
  const count = async (sql: string) => Number(((await side.query(sql))[0] as Array<{ n: number }>)[0]!.n);
  const nova = new NovaNotifier(h.names.exchange);
  let restart: Promise<void> | null = null;
  try {
    await h.startAgent();
    const N = 300;
    const uuids = Array.from({ length: N }, () => randomUUID());
    await insertInstances(h.store, uuids.map((uuid) => ({ uuid, host: h.host })));

    for (let i = 0; i < N; i++) {
      if (i === N / 3) {
        restart = (async () => {
          try {
            await rabbitmqctl('stop_app');
            await sleep(2000);
          } finally {
            await rabbitmqctl('start_app');
            await rabbitmqctl('await_startup');
          }
        })();
      }
      await nova.send(novaFixture('instance-create-end.json', { uuid: uuids[i]!, host: h.host }).body);
      await sleep(15);
    }
    await restart;

    await waitFor(
      async () => (await count("SELECT COUNT(DISTINCT instance_uuid) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'")) === N,
      120_000,
      'every event applied',
    );
    // Exactly once: 11 rows and 11 history entries per instance, no key twice.
    expect(await count("SELECT COUNT(*) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'")).toBe(11 * N);
    expect(await count('SELECT COUNT(*) AS n FROM hwstash_property_history')).toBe(11 * N);
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
    process.stdout.write(`broker restart: ${nova.resends} resends, ${nova.unroutable} events dropped by the broker before the agent re-bound (recovered by its reconcile)\n`);
  } finally {
    if (restart) await restart.catch(() => undefined);
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
