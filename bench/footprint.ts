/**
 * The agent's footprint on a compute host, as the real `hwstash agent` process (bin/hwstash.js
 * over dist/) against the real MariaDB, RabbitMQ and libvirt's test driver:
 * - start → READY (its /healthz says reconciled) with 1,000 instances to stash;
 * - resident memory (VmRSS) after 10,000 events, and again after 10,000 more: the slope says
 *   whether it grows (goal ≤ 80 MiB, no growth);
 * baseline: a bare Node.js process idling, measured the same way in the same run.
 * The agent runs twice: with the environment its systemd unit sets (what a host runs, e.g. the
 * young generation's size in NODE_OPTIONS) and with none of it, so each tuning shows its worth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Channel } from 'amqplib';
import mysql from 'mysql2/promise';
import { parseDatabaseUrl } from '../src/config/database-url.js';
import { Store } from '../src/store/index.js';
import { insertInstances } from '../src/store/seed.js';
import { MYSQL_URL, TRANSPORT_URL, amqp, createEvent, databaseUrl, publishAll, waitQueueEmpty } from './agent.js';
import type { BenchResult } from './domain-xml.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function get(url: string): Promise<string | null> {
  try {
    const r = await fetch(url);
    return await r.text();
  } catch {
    return null;
  }
}

async function until(what: string, timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const eventsDone = (metrics: string | null): number =>
  [...(metrics ?? '').matchAll(/^hwstash_events_total\{event_type="instance\.create\.end",outcome="done"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);

/** `Environment=` of the agent's systemd unit: the process settings a host runs it with. */
export function unitEnvironment(unitText: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unitText.split('\n')) {
    // Environment=K=V or Environment="K=V W" (one assignment per line in hwstash's units).
    const m = /^Environment="?(\w+)=(.*?)"?$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

const AGENT_UNIT = path.join(REPO, 'systemd/hwstash-agent.service');

export async function benchFootprint(instances = 1000, events = 10_000): Promise<BenchResult[]> {
  const shipped = unitEnvironment(fs.readFileSync(AGENT_UNIT, 'utf8'));
  console.log(`agent as shipped: ${Object.entries(shipped).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const asShipped = await measureAgent(instances, events, shipped, 'as shipped');
  const plain = await measureAgent(instances, events, {}, 'without the unit\'s environment');
  return [
    ...asShipped,
    ...plain,
  ];
}

async function measureAgent(instances: number, events: number, unitEnv: Record<string, string>, label: string): Promise<BenchResult[]> {
  const id = randomBytes(4).toString('hex');
  const host = `footprint-${id}`;
  const names = { exchange: `nova-footprint-${id}`, queue: `hwstash-footprint-${id}` };
  const dbName = `hwstash_footprint_${id}`;
  const url = databaseUrl(MYSQL_URL, dbName);
  const server = parseDatabaseUrl(MYSQL_URL);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-footprint-'));
  const admin = await mysql.createConnection({
    host: server.host, port: server.port, user: server.username, password: server.password,
    ...(server.dialectOptions['socketPath'] ? { socketPath: server.dialectOptions['socketPath'] } : {}),
  });
  const model = await amqp();
  let agent: ChildProcess | null = null;
  let bare: ChildProcess | null = null;
  try {
    await admin.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb3`);
    const store = await Store.open(url);
    await store.initNovaSchema();
    await store.migrate();
    const uuids = Array.from({ length: instances }, () => randomUUID());
    await insertInstances(store, uuids.map((uuid, i) => ({ uuid, host, imageProperties: (i % 2 ? { os_distro: 'win10' } : {}) as Record<string, string> })));
    await store.close();
    const setup = await model.createChannel();
    await setup.assertExchange(names.exchange, 'topic', { durable: false, autoDelete: false });
    const conf = path.join(dir, 'hwstash.conf');
    fs.writeFileSync(conf, [
      '[DEFAULT]', `host = ${host}`, `transport_url = ${TRANSPORT_URL}`,
      '[database]', `connection = ${url}`,
      '[libvirt]', 'connection_uri = test:///default',
      '[hwstash]', `exchange = ${names.exchange}`, `queue = ${names.queue}`, `dead_letter_queue = ${names.queue}.dead`,
      `metrics_address = 127.0.0.1:${port}`, `state_dir = ${dir}`, 'log_level = warn', 'audit_interval = 0', 'startup_jitter = 0', '',
    ].join('\n'), { mode: 0o600 });

    const started = performance.now();
    const nodeFlags = (process.env['HWSTASH_BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
    const env = { ...process.env, ...unitEnv };
    if (!('NODE_OPTIONS' in unitEnv)) delete env['NODE_OPTIONS'];
    agent = spawn(process.execPath, [...nodeFlags, path.join(REPO, 'bin/hwstash.js'), '--config-file', conf, 'agent'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    await until('READY', 120_000, async () => (await get(`http://127.0.0.1:${port}/healthz`))?.includes('"reconciled":true') ?? false);
    const readyMs = performance.now() - started;
    const afterReconcile = rssMiB(agent.pid!);

    const pub = await model.createConfirmChannel();
    const round = async (n: number) => {
      const before = eventsDone(await get(`http://127.0.0.1:${port}/metrics`));
      const t0 = performance.now();
      await publishAll(pub, names.exchange, Array.from({ length: n }, (_, i) => createEvent(uuids[i % uuids.length]!, host)));
      await until('the events', 600_000, async () => eventsDone(await get(`http://127.0.0.1:${port}/metrics`)) >= before + n);
      await waitQueueEmpty(model, names.queue);
      const perSecond = (n / (performance.now() - t0)) * 1000;
      await new Promise((r) => setTimeout(r, 1000));
      const heap = /^hwstash_nodejs_heap_size_used_bytes (\d+)/m.exec((await get(`http://127.0.0.1:${port}/metrics`)) ?? '')?.[1];
      if (process.env['HWSTASH_BENCH_VERBOSE']) console.error(`rss ${rssMiB(agent!.pid!).toFixed(1)} MiB, heap used ${(Number(heap) / 1048576).toFixed(1)} MiB`);
      return { rss: rssMiB(agent!.pid!), perSecond };
    };
    const { rss: first, perSecond } = await round(events);
    const { rss: second } = await round(events);
    await pub.close();
    await setup.close();

    bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1500));
    const baseline = rssMiB(bare.pid!);
    const r1 = (v: number) => Math.round(v * 10) / 10;
    return [
      { name: `${label}: agent start → READY (reconciled ${instances} instances)`, value: Math.round(readyMs), unit: 'ms' },
      { name: `${label}: events handled (first ${events})`, value: Math.round(perSecond), unit: 'events/s' },
      { name: `${label}: agent RSS after the start-up reconcile`, value: r1(afterReconcile), unit: 'MiB', baseline: r1(baseline), ratio: afterReconcile / baseline },
      { name: `${label}: agent RSS after ${events} events (goal ≤ 80 MiB)`, value: r1(first), unit: 'MiB', baseline: r1(baseline), ratio: first / baseline },
      { name: `${label}: agent RSS after ${2 * events} events`, value: r1(second), unit: 'MiB', baseline: r1(baseline), ratio: second / baseline },
      { name: `${label}: agent RSS slope over the second ${events} events (goal: no growth)`, value: r1(((second - first) / events) * 10_000), unit: 'MiB per 10,000 events' },
    ];
  } finally {
    agent?.kill('SIGTERM');
    bare?.kill('SIGKILL');
    if (agent) await new Promise((r) => agent!.once('exit', r));
    // Only once the agent is gone: a consumer still running declares its queues again.
    for (const drop of [(c: Channel) => c.deleteExchange(names.exchange), (c: Channel) => c.deleteQueue(names.queue), (c: Channel) => c.deleteQueue(`${names.queue}.dead`)]) {
      // A channel each: a failed delete closes the channel it ran on.
      const ch = await model.createChannel();
      await drop(ch).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await admin.query(`DROP DATABASE IF EXISTS \`${dbName}_hwstash\``);
    await admin.end();
    await model.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const r of await benchFootprint()) console.log(JSON.stringify(r));
}
