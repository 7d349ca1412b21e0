/**
 * The agent's event path, RabbitMQ → committed stash on MariaDB, on the real services:
 *
 * (a) sustained throughput: N `instance.create.end` events for N distinct seeded instances,
 *     published as fast as the broker confirms them while the agent consumes; events per second
 *     from the first publish to the last committed stash. Baseline, in the same run on the same
 *     broker: a bare amqplib consume-and-ack loop over the same number of messages with the same
 *     prefetch (goal: agent ≥ 0.5 × baseline).
 * (b) latency at a steady 500 events/s for about 10 s: publish → committed stash, p50 and p99.
 *
 * "Committed" is when the agent logs `stashed` for the instance, which it does right after the
 * stash transaction commits; the log lines are read from the agent's own pino stream.
 *
 * Standalone: `npm run build && node dist/bench/agent.js [events] [seconds] [prefetch]`. RabbitMQ:
 * HWSTASH_BENCH_TRANSPORT_URL (default rabbit://guest:guest@127.0.0.1:5672/); MariaDB:
 * HWSTASH_BENCH_MYSQL_URL (default mysql+pymysql://root@127.0.0.1:3306/?charset=utf8), where a
 * database hwstash_bench_<random> is created and dropped afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { Agent } from '../src/agent/agent.js';
import { encodeNotification, instancePayload } from '../src/bus/envelope.js';
import { parseTransportUrl, toConnectOptions } from '../src/bus/transport-url.js';
import { parseDatabaseUrl } from '../src/config/database-url.js';
import { loadSettings } from '../src/config/load.js';
import { hostProfileFromSettings } from '../src/config/profile.js';
import { OsInfoIndex, resolveOsinfoDir } from '../src/osinfo/index.js';
import { Store } from '../src/store/index.js';
import { insertInstances, type NewInstance } from '../src/store/seed.js';
import type { BenchResult } from './domain-xml.js';

export interface AgentBenchOptions {
  /** Events of the throughput run. */
  events?: number;
  /** Length of the steady-rate run, in seconds. */
  steadySeconds?: number;
  /** Events per second of the steady-rate run. */
  steadyRate?: number;
  /** [hwstash] prefetch for the agent (and so for the baseline); default: the option's default. */
  prefetch?: number;
}

export const TRANSPORT_URL = process.env['HWSTASH_BENCH_TRANSPORT_URL'] ?? 'rabbit://guest:guest@127.0.0.1:5672/';
export const MYSQL_URL = process.env['HWSTASH_BENCH_MYSQL_URL'] ?? 'mysql+pymysql://root@127.0.0.1:3306/?charset=utf8';
const ROUTING_KEY = 'versioned_notifications.info';

/** A few images in a cloud's proportions: osinfo lookups, image buses, nothing at all. */
const IMAGES: ReadonlyArray<Record<string, string>> = [
  { os_distro: 'win10' },
  { os_distro: 'fedora36' },
  { os_distro: 'ubuntu20.04' },
  { hw_disk_bus: 'scsi', hw_scsi_model: 'virtio-scsi', hw_video_model: 'qxl' },
  {},
];

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export function createEvent(uuid: string, host: string): Buffer {
  return encodeNotification({
    eventType: 'instance.create.end',
    publisherId: `nova-compute:${host}`,
    payload: instancePayload({ uuid, host, state: 'active', powerState: 'running' }),
  }).body;
}

/**
 * The server URL with `name` as its database, credentials and query kept. The host starts after
 * the credentials, whose password may hold an unencoded '/' or '?'.
 */
export function databaseUrl(serverUrl: string, name: string): string {
  const hostStart = Math.max(serverUrl.indexOf('://') + 3, serverUrl.lastIndexOf('@') + 1);
  const rest = serverUrl.slice(hostStart);
  const hostEnd = rest.search(/[/?]/);
  const q = rest.indexOf('?');
  return `${serverUrl.slice(0, hostStart)}${hostEnd < 0 ? rest : rest.slice(0, hostEnd)}/${name}${q < 0 ? '' : rest.slice(q)}`;
}

export async function amqp(): Promise<ChannelModel> {
  const model = await connect(toConnectOptions(parseTransportUrl(TRANSPORT_URL)[0]!));
  model.on('error', () => undefined);
  return model;
}

/** Publishes with confirms, many in flight at once; resolves when all are confirmed. */
export async function publishAll(ch: ConfirmChannel, exchange: string, bodies: readonly Buffer[], onPublish?: (i: number) => void): Promise<void> {
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < bodies.length; i++) {
    onPublish?.(i);
    pending.push(
      new Promise((resolve, reject) =>
        ch.publish(exchange, ROUTING_KEY, bodies[i]!, { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2 }, (err) => (err ? reject(err) : resolve())),
      ),
    );
    // Let the socket drain now and then, as a real publisher would.
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
}

/** The bare loop: consume and ack, nothing else. */
async function baseline(model: ChannelModel, exchange: string, bodies: readonly Buffer[], prefetch: number): Promise<number> {
  const ch: Channel = await model.createChannel();
  const queue = `hwstash-bench-bare-${randomBytes(4).toString('hex')}`;
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, exchange, ROUTING_KEY);
  await ch.prefetch(prefetch);
  let acked = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await ch.consume(queue, (msg) => {
    if (!msg) return;
    ch.ack(msg);
    acked += 1;
    if (acked === bodies.length) done();
  });
  const pub = await model.createConfirmChannel();
  const start = performance.now();
  await publishAll(pub, exchange, bodies);
  await finished;
  const seconds = (performance.now() - start) / 1000;
  await pub.close();
  await ch.deleteQueue(queue);
  await ch.close();
  return bodies.length / seconds;
}

interface AgentRun {
  agent: Agent;
  /** uuid → when its `stashed` line was logged (performance.now() clock). */
  committed: Map<string, number>;
  waitCommitted: (uuids: readonly string[], timeoutMs: number) => Promise<void>;
}

async function startAgent(dir: string, databaseUrl: string, names: { exchange: string; queue: string }, host: string, prefetch: number | undefined): Promise<AgentRun> {
  const conf = path.join(dir, 'hwstash.conf');
  fs.writeFileSync(
    conf,
    [
      '[DEFAULT]',
      `host = ${host}`,
      `transport_url = ${TRANSPORT_URL}`,
      '[database]',
      `connection = ${databaseUrl}`,
      '[libvirt]',
      'connection_uri = test:///default',
      '[hwstash]',
      `exchange = ${names.exchange}`,
      `queue = ${names.queue}`,
      `dead_letter_queue = ${names.queue}.dead`,
      'metrics_address =',
      `state_dir = ${dir}`,
      // Measures the start-up reconcile itself, not the fleet's spreading of it (bench/fleet.ts).
      'startup_jitter = 0',
      'log_level = info',
      ...(prefetch === undefined ? [] : [`prefetch = ${prefetch}`]),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const { settings } = loadSettings({ configFiles: [conf], env: {} });
  const committed = new Map<string, number>();
  // Production logs at info; the lines go nowhere but are produced and parsed for `stashed`.
  const stream = {
    write: (s: string) => {
      if (!s.includes('"msg":"stashed"')) return;
      const at = performance.now();
      const uuid = /"instance_uuid":"([0-9a-f-]{36})"/.exec(s)?.[1];
      if (uuid) committed.set(uuid, at);
    },
  };
  const agent = new Agent({
    settings,
    profile: hostProfileFromSettings(settings),
    osinfo: await OsInfoIndex.load(resolveOsinfoDir()),
    logger: pino({ level: settings.hwstash.logLevel }, stream),
  });
  await agent.start();
  const waitCommitted = async (uuids: readonly string[], timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    // Scans from the first uuid not yet seen, so a long wait costs the agent little CPU.
    let i = 0;
    for (;;) {
      while (i < uuids.length && committed.has(uuids[i]!)) i += 1;
      if (i === uuids.length) return;
      if (Date.now() > until) throw new Error(`only ${uuids.filter((u) => committed.has(u)).length} of ${uuids.length} stashes committed within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { agent, committed, waitCommitted };
}

async function waitQueueBound(model: ChannelModel, queue: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    try {
      const ok = await ch.checkQueue(queue);
      await ch.close();
      if (ok.consumerCount > 0) return;
    } catch {
      /* not declared yet: the check closed the channel */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the agent never consumed from ${queue}`);
}

export async function waitQueueEmpty(model: ChannelModel, queue: string): Promise<void> {
  const ch = await model.createChannel();
  try {
    for (let i = 0; i < 6000; i++) {
      if ((await ch.checkQueue(queue)).messageCount === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await ch.close();
  }
}

export async function benchAgent(options: AgentBenchOptions = {}): Promise<BenchResult[]> {
  const events = options.events ?? 5000;
  const steadySeconds = options.steadySeconds ?? 10;
  const steadyRate = options.steadyRate ?? 500;
  const steadyEvents = steadySeconds * steadyRate;
  const id = randomBytes(4).toString('hex');
  const host = `bench-${id}`;
  const names = { exchange: `nova-bench-${id}`, queue: `hwstash-bench-${id}` };
  const dbName = `hwstash_bench_${id}`;
  const url = databaseUrl(MYSQL_URL, dbName);
  const server = parseDatabaseUrl(MYSQL_URL);
  // Everything below is made inside the try, so whatever of it exists is removed again when a
  // step fails (RabbitMQ down, say).
  let dir: string | null = null;
  let admin: mysql.Connection | null = null;
  let store: Store | null = null;
  let model: ChannelModel | null = null;
  let run: AgentRun | null = null;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-bench-agent-'));
    admin = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: server.username,
      password: server.password,
      ...(server.dialectOptions['socketPath'] ? { socketPath: server.dialectOptions['socketPath'] } : {}),
    });
    await admin.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb3`);
    model = await amqp();
    store = await Store.open(url);
    await store.initNovaSchema();
    const setup = await model.createChannel();
    // Nova's flags: topic, not durable.
    await setup.assertExchange(names.exchange, 'topic', { durable: false, autoDelete: false });

    run = await startAgent(dir, url, names, host, options.prefetch);
    await waitQueueBound(model, names.queue);
    const prefetch = run.agent.settings.hwstash.prefetch;

    // Seeded after the start-up reconcile, so only the events stash them.
    const uuids = Array.from({ length: events + steadyEvents }, () => randomUUID());
    const seeds: NewInstance[] = uuids.map((uuid, i) => ({ uuid, host, imageProperties: IMAGES[i % IMAGES.length]! }));
    for (let i = 0; i < seeds.length; i += 1000) await insertInstances(store, seeds.slice(i, i + 1000));

    const bodies = uuids.slice(0, events).map((u) => createEvent(u, host));
    const bareRate = await baseline(model, names.exchange, bodies, prefetch);

    // (a) throughput.
    const pub = await model.createConfirmChannel();
    const start = performance.now();
    await publishAll(pub, names.exchange, bodies);
    await run.waitCommitted(uuids.slice(0, events), 600_000);
    const last = Math.max(...uuids.slice(0, events).map((u) => run!.committed.get(u)!));
    const agentRate = events / ((last - start) / 1000);

    // The agent's own hwstash.stash.end notifications of (a) come back on its queue; let it
    // work through them first, so (b) measures the steady rate alone.
    await waitQueueEmpty(model, names.queue);

    // (b) latency at a steady rate: each event sent at its scheduled time.
    const steady = uuids.slice(events);
    const sentAt = new Map<string, number>();
    const t0 = performance.now();
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < steady.length; i++) {
      const due = t0 + (i * 1000) / steadyRate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const uuid = steady[i]!;
      sentAt.set(uuid, performance.now());
      sends.push(
        new Promise((resolve, reject) =>
          pub.publish(names.exchange, ROUTING_KEY, createEvent(uuid, host), { contentType: 'application/json', deliveryMode: 2 }, (err) => (err ? reject(err) : resolve())),
        ),
      );
    }
    await Promise.all(sends);
    const achievedRate = steady.length / ((performance.now() - t0) / 1000);
    await run.waitCommitted(steady, 120_000);
    const latencies = steady.map((u) => run!.committed.get(u)! - sentAt.get(u)!).sort((a, b) => a - b);
    await pub.close();

    // Every stash really is in the database: 11 rows per instance.
    const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM \`${dbName}\`.instance_system_metadata WHERE \`key\` LIKE 'image\\_hw\\_%'`);
    const stashedRows = Number((rows as Array<{ n: number }>)[0]!.n);
    if (stashedRows !== 11 * uuids.length) throw new Error(`expected ${11 * uuids.length} image_hw_* rows, found ${stashedRows}`);

    await setup.deleteExchange(names.exchange);
    await setup.close();
    return [
      { name: `agent: RabbitMQ → committed stash on MariaDB (${events} create.end, prefetch ${prefetch})`, value: Math.round(agentRate), unit: 'events/s', baseline: Math.round(bareRate), ratio: agentRate / bareRate },
      { name: 'bare amqplib consume-and-ack loop, same broker, same messages and prefetch', value: Math.round(bareRate), unit: 'messages/s' },
      { name: `agent: publish → committed p50 at ${steadyRate} events/s (achieved ${achievedRate.toFixed(0)}/s for ${steadySeconds} s)`, value: Number(percentile(latencies, 50).toFixed(1)), unit: 'ms' },
      { name: `agent: publish → committed p99 at ${steadyRate} events/s`, value: Number(percentile(latencies, 99).toFixed(1)), unit: 'ms' },
      { name: 'agent: publish → committed max', value: Number(latencies[latencies.length - 1]!.toFixed(1)), unit: 'ms' },
    ];
  } finally {
    await run?.agent.stop('benchmark done').catch(() => undefined);
    await store?.close().catch(() => undefined);
    if (model) {
      const cleanup = await model.createChannel().catch(() => null);
      await cleanup?.deleteQueue(names.queue).catch(() => undefined);
      await cleanup?.deleteQueue(`${names.queue}.dead`).catch(() => undefined);
      await cleanup?.deleteExchange(names.exchange).catch(() => undefined);
      await model.close().catch(() => undefined);
    }
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await admin.query(`DROP DATABASE IF EXISTS \`${dbName}_hwstash\``);
      await admin.end();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await benchAgent({
    events: Number(process.argv[2] ?? 5000),
    steadySeconds: Number(process.argv[3] ?? 10),
    ...(process.argv[4] ? { prefetch: Number(process.argv[4]) } : {}),
  });
  for (const f of figures) {
    const extra = f.baseline === undefined ? '' : `  baseline ${f.baseline}  ratio ${f.ratio!.toFixed(3)}`;
    console.log(`${f.name}: ${f.value} ${f.unit}${extra}`);
  }
}
