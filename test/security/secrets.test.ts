/**
 * No secret ever shows: the real `hwstash` command and agent run with a database URL and a
 * transport URL holding distinctive passwords — against servers that are unreachable, that
 * refuse the password, that accept it, and with URLs that are wrong — and every line they write
 * (stdout, stderr, JSON logs at debug level, /healthz, /metrics) and every `--help` of every
 * command is searched for the passwords: as written, percent-encoded, decoded, base64 (alone, as
 * HTTP basic `user:password`, as AMQP PLAIN `\0user\0password`), hex, and their distinctive parts.
 *
 * The accepting servers are real: a MariaDB user and a RabbitMQ user created for this test with
 * those passwords (and removed after it).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Sequelize } from 'sequelize';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { CliContext } from '../../src/cli/context.js';
import { Store } from '../../src/store/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { AgentProcess, ensureBuilt } from '../agent/helpers/cli.js';
import { httpGet } from '../agent/helpers/harness.js';
import { novaFixture } from '../agent/helpers/nova-fixtures.js';
import { TestBroker, testNames } from '../bus/helpers/rabbit.js';
import { Sink } from '../cli/helpers.js';
import { createTestDatabase, type TestDatabase } from '../store/databases.js';

const run = promisify(execFile);
const tag = randomBytes(4).toString('hex');
const DB_USER = `hws_sec_${tag}`;
const DB_PASSWORD = `Db-S3cr3t@Kq9/Zt${tag}`;
const BUS_USER = `hwstash-sec-${tag}`;
const BUS_PASSWORD = `Mq-S3cr3t@Wx7/Pv${tag}`;
const enc = encodeURIComponent;
const HOST = 'sec-host';
const UUID = '0a538123-7143-4461-b258-dc394b17a536';

/** Every form of a password a careless message could carry. */
function forms(user: string, password: string): string[] {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64').replace(/=+$/, '');
  const out = new Set([
    password,
    enc(password),
    password.replace('@', '%40'),
    password.replace('/', '%2F'),
    b64(password),
    b64(`${user}:${password}`),
    b64(`\u0000${user}\u0000${password}`),
    Buffer.from(password, 'utf8').toString('hex'),
    JSON.stringify(password).slice(1, -1),
  ]);
  // Distinctive parts, in case something redacts only up to a special character.
  for (const part of password.split(/[@/]/)) if (part.length >= 6) out.add(part);
  return [...out];
}
const FORBIDDEN = [...forms(DB_USER, DB_PASSWORD), ...forms(BUS_USER, BUS_PASSWORD), ...forms('root', DB_PASSWORD), ...forms('guest', BUS_PASSWORD)];

/** Fails naming the scenario and the form found, with the text around it. */
function expectClean(label: string, text: string): void {
  for (const f of new Set(FORBIDDEN)) {
    const at = text.indexOf(f);
    if (at >= 0) throw new Error(`${label}: a password shows (as ${JSON.stringify(f)}): …${text.slice(Math.max(0, at - 120), at + f.length + 40)}…`);
  }
}

let tdb: TestDatabase;
let dir: string;
let closedPort: number;
const scanned: string[] = [];
const names = testNames();

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function mariadbAdmin(sql: string): Promise<void> {
  const s = new Sequelize({ dialect: 'mysql', host: '127.0.0.1', port: 3306, username: 'root', logging: false });
  try {
    await s.query(sql);
  } finally {
    await s.close();
  }
}

async function rabbitmqctl(...args: string[]): Promise<void> {
  await run('rabbitmqctl', args, { timeout: 60_000 });
}

let confs = 0;
function conf(o: { db: string; bus: string; extra?: string }): string {
  const file = path.join(dir, `hwstash-${++confs}.conf`);
  const text = [
    '[DEFAULT]',
    `host = ${HOST}`,
    `transport_url = ${o.bus}`,
    '[database]',
    `connection = ${o.db}`,
    '[libvirt]',
    'virt_type = kvm',
    'connection_uri = test:///default',
    '[notifications]',
    'notification_format = versioned',
    '[oslo_messaging_notifications]',
    'driver = messagingv2',
    '[hwstash]',
    `state_dir = ${dir}`,
    'osinfo_dir = /usr/share/osinfo',
    'startup_jitter = 0',
    'log_level = debug',
    'metrics_address = 127.0.0.1:0',
    `exchange = ${names.exchange}`,
    `queue = ${names.queue}`,
    `dead_letter_queue = ${names.deadLetterQueue}`,
    'shutdown_timeout = 2',
    o.extra ?? '',
    '',
  ].join('\n');
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** The real command, to its end (or killed after `timeoutMs`): everything it wrote. */
async function hwstash(label: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<{ code: number | null; out: string }> {
  const p = AgentProcess.spawn(args, env);
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  const out = `${p.lines.map((l) => (l['unparsed'] ? String(l['msg']) : JSON.stringify(l))).join('\n')}\n${p.stderr}`;
  scanned.push(label);
  expectClean(label, out);
  return { code: exit.code, out };
}

/** Runs `work` over `items`, `width` at a time (each item is a separate process). */
async function pool<T>(items: readonly T[], work: (item: T) => Promise<void>, width = 3): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** The agent until it says `until` (or `ms` pass), then SIGTERM: every line, plus /healthz and /metrics. */
async function agent(label: string, confFile: string, until: string | null, o: { ms?: number; env?: NodeJS.ProcessEnv; duringRun?: (p: AgentProcess) => Promise<void> } = {}): Promise<AgentProcess> {
  const p = AgentProcess.spawn(['--config-file', confFile, 'agent'], o.env ?? {});
  try {
    if (until) await p.waitForLog(until, o.ms ?? 30_000);
    else await new Promise((r) => setTimeout(r, o.ms ?? 3000));
    const listening = p.find('health and metrics listening')[0];
    let http = '';
    if (listening) {
      const url = String(listening['url']);
      http = (await httpGet(`${url}/healthz`)).body + (await httpGet(`${url}/metrics`)).body;
    }
    await o.duringRun?.(p);
    p.kill('SIGTERM');
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))]);
    p.kill('SIGKILL');
    await p.exited;
    const out = `${p.lines.map((l) => (l['unparsed'] ? String(l['msg']) : JSON.stringify(l))).join('\n')}\n${p.stderr}\n${http}`;
    scanned.push(label);
    expectClean(label, out);
    return p;
  } finally {
    p.kill('SIGKILL');
  }
}

beforeAll(async () => {
  await ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-secrets-'));
  closedPort = await freePort();
  tdb = await createTestDatabase('mariadb');
  const store = await Store.open(tdb.url);
  await store.initNovaSchema();
  await store.migrate();
  await insertInstances(store, [{ uuid: UUID, host: HOST, vmState: 'stopped' }]);
  await store.close();
  await mariadbAdmin(`CREATE USER '${DB_USER}'@'%' IDENTIFIED BY '${DB_PASSWORD}'`);
  await mariadbAdmin(`GRANT ALL PRIVILEGES ON \`${tdb.name}\`.* TO '${DB_USER}'@'%'`);
  await mariadbAdmin(`GRANT ALL PRIVILEGES ON \`${tdb.name}_hwstash\`.* TO '${DB_USER}'@'%'`);
  await rabbitmqctl('add_user', BUS_USER, BUS_PASSWORD);
  await rabbitmqctl('set_permissions', '-p', '/', BUS_USER, '.*', '.*', '.*');
}, 240_000);

afterAll(async () => {
  await mariadbAdmin(`DROP USER IF EXISTS '${DB_USER}'@'%'`).catch(() => undefined);
  await rabbitmqctl('delete_user', BUS_USER).catch(() => undefined);
  const broker = await TestBroker.open().catch(() => null);
  await broker?.cleanup(names);
  await broker?.close();
  await tdb?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  console.log(`SECURITY secrets: ${scanned.length} runs scanned for ${new Set(FORBIDDEN).size} forms of the two passwords, none found`);
}, 60_000);

const goodDb = () => `mysql+pymysql://${DB_USER}:${enc(DB_PASSWORD)}@127.0.0.1:3306/${tdb.name}?charset=utf8`;
const goodBus = () => `rabbit://${BUS_USER}:${enc(BUS_PASSWORD)}@127.0.0.1:5672/`;

/** The operator commands that touch the database or the bus. */
const COMMANDS: string[][] = [
  ['db', 'status'],
  ['db', 'status', '--format', 'json'],
  ['db', 'migrate'],
  ['reconcile', '--format', 'json'],
  ['reconcile', '--dry-run', '--format', 'table'],
  ['image-property', 'list', UUID],
  ['image-property', 'show', UUID, 'hw_video_model'],
  ['image-property', 'set', UUID, '--property', 'hw_video_model=vga', '--skip-host-check'],
  ['image-property', 'history', UUID],
  ['drift'],
  ['domain', 'diff', UUID],
  ['emit', 'instance.create.end', '--instance', UUID],
];

/** For URLs that do not parse: the database, the bus. */
const SHORT: string[][] = [['db', 'status'], ['reconcile'], ['emit', 'service.update']];

describe('operator commands', () => {
  test('with servers that accept the passwords: everything works and nothing shows them', async () => {
    const file = conf({ db: goodDb(), bus: goodBus() });
    for (const args of COMMANDS) {
      const r = await hwstash(`accepting servers: ${args.join(' ')}`, ['--config-file', file, ...args], { HWSTASH_DEBUG: '1' });
      // Each ran to its end on its own (a refusal such as "not stashed" is an answer too).
      expect([args.join(' '), r.code === null]).toEqual([args.join(' '), false]);
    }
    // It did reach them: the status names the database (without the password).
    const status = await hwstash('accepting servers: db status (json)', ['--config-file', file, 'db', 'status', '--format', 'json']);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`${DB_USER}:***@127.0.0.1:3306/${tdb.name}`);
  }, 120_000);

  test('unreachable servers, refused passwords, a trusting PostgreSQL, bad URLs, credentials from the environment: errors, never a password', async () => {
    const bus = (user: string, port: number | string) => `rabbit://${user}:${enc(BUS_PASSWORD)}@127.0.0.1:${port}/`;
    const db = (user: string, port: number | string, name = 'nova') => `mysql+pymysql://${user}:${enc(DB_PASSWORD)}@127.0.0.1:${port}/${name}`;
    const scenarios: Array<[label: string, urls: { db: string; bus: string }, commands: string[][], env?: NodeJS.ProcessEnv]> = [
      ['unreachable servers', { db: db(DB_USER, closedPort), bus: bus(BUS_USER, closedPort) }, COMMANDS],
      ['servers that refuse the passwords', { db: db('root', 3306, tdb.name), bus: bus('guest', 5672) }, COMMANDS],
      ['PostgreSQL, which trusts and so ignores the password', { db: `postgresql://postgres:${enc(DB_PASSWORD)}@127.0.0.1:5432/postgres`, bus: goodBus() }, COMMANDS.filter((c) => c[0] !== 'emit')],
      ['a port out of range', { db: db(DB_USER, 99999), bus: bus(BUS_USER, 99999) }, SHORT],
      ['an unsupported scheme', { db: `oracle://${DB_USER}:${enc(DB_PASSWORD)}@db/nova`, bus: `kafka://${BUS_USER}:${enc(BUS_PASSWORD)}@mq:9092/` }, SHORT],
      ['unencoded special characters', { db: `mysql+pymysql://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${closedPort}/nova`, bus: `rabbit://${BUS_USER}:${BUS_PASSWORD}@127.0.0.1:${closedPort}/` }, SHORT],
      ['a missing scheme separator', { db: `mysql+pymysql:/${DB_USER}:${enc(DB_PASSWORD)}@db/nova`, bus: `rabbit:/${BUS_USER}:${enc(BUS_PASSWORD)}@mq/` }, SHORT],
      ['a broken IPv6 host', { db: `mysql+pymysql://${DB_USER}:${enc(DB_PASSWORD)}@[fd00::1/nova`, bus: `rabbit://${BUS_USER}:${enc(BUS_PASSWORD)}@[fd00::1:5672/` }, SHORT],
      [
        'a password with a comma and several hosts',
        { db: `mysql+pymysql://${DB_USER}:${enc(DB_PASSWORD)},x@h1,h2/nova`, bus: `${bus(BUS_USER, closedPort).slice(0, -1)},${BUS_USER}:${enc(BUS_PASSWORD)}@127.0.0.2:${closedPort}/` },
        SHORT,
      ],
      [
        'credentials in the environment (OS_DATABASE__CONNECTION, OS_DEFAULT__TRANSPORT_URL)',
        { db: 'sqlite:///unused.sqlite', bus: 'rabbit://127.0.0.1:1/' },
        SHORT,
        { OS_DATABASE__CONNECTION: db('root', 3306, tdb.name), OS_DEFAULT__TRANSPORT_URL: bus('guest', 5672) },
      ],
    ];
    const runs = scenarios.flatMap(([label, urls, commands, env]) => {
      const file = conf(urls);
      return commands.map((args) => ({ label: `${label}: ${args.join(' ')}`, args: ['--config-file', file, ...args], env: { HWSTASH_DEBUG: '1', ...env } }));
    });
    // The slow ones (a publisher waiting for an absent broker) first, so the rest fill in around them.
    runs.sort((a, b) => Number(b.args.includes('emit')) - Number(a.args.includes('emit')));
    await pool(runs, async (r) => {
      await hwstash(r.label, r.args, r.env);
    }, 5);
  }, 180_000);
});

describe('the agent', () => {
  test('with servers that accept the passwords, at debug level, handling an event', async () => {
    const file = conf({ db: goodDb(), bus: goodBus() });
    const p = await agent('agent, accepting servers', file, 'consuming', {
      duringRun: async (p) => {
        const broker = await TestBroker.open();
        try {
          broker.publish(names.exchange, 'versioned_notifications.info', novaFixture('instance-create-end.json', { uuid: UUID, host: HOST }).body);
          const until = Date.now() + 10_000;
          while (p.find('handling event').length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        } finally {
          await broker.close();
        }
      },
    });
    expect(p.find('RabbitMQ connected').length).toBeGreaterThan(0);
    expect(p.find('handling event').length).toBeGreaterThan(0);
  }, 60_000);

  test('with an unreachable database', async () => {
    const file = conf({ db: `mysql+pymysql://${DB_USER}:${enc(DB_PASSWORD)}@127.0.0.1:${closedPort}/nova`, bus: goodBus() });
    await agent('agent, unreachable database', file, 'database unreachable at start; retrying');
  }, 60_000);

  test('with a database that refuses the password', async () => {
    const file = conf({ db: `mysql+pymysql://root:${enc(DB_PASSWORD)}@127.0.0.1:3306/${tdb.name}`, bus: goodBus() });
    await agent('agent, refused database password', file, null, { ms: 4000 });
  }, 60_000);

  test.each([
    ['an unreachable broker', () => `rabbit://${BUS_USER}:${enc(BUS_PASSWORD)}@127.0.0.1:${closedPort}/`],
    ['a broker that refuses the password', () => `rabbit://guest:${enc(BUS_PASSWORD)}@127.0.0.1:5672/`],
  ])('with %s', async (label, bus) => {
    const file = conf({ db: goodDb(), bus: bus() });
    const p = await agent(`agent, ${label}`, file, 'RabbitMQ unreachable; retrying with backoff');
    expect(p.find('RabbitMQ connected')).toEqual([]);
  }, 60_000);

  test('with a bad URL', async () => {
    const file = conf({ db: `oracle://${DB_USER}:${enc(DB_PASSWORD)}@db/nova`, bus: goodBus() });
    const r = await hwstash('agent, bad database URL', ['--config-file', file, 'agent'], {}, 20_000);
    expect(r.code).not.toBe(0);
  }, 60_000);
});

/** Every command path of the CLI, from the program itself: [], ['db'], ['db', 'migrate'], … */
async function commandPaths(): Promise<string[][]> {
  const ctx = new CliContext({ stdout: new Sink(), stderr: new Sink(), stdin: process.stdin, env: {} });
  const out: string[][] = [[]];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...prefix, sub.name()];
      out.push(p);
      walk(sub, p);
    }
  };
  walk(await buildProgram(ctx), []);
  return out;
}

test('--help of every command and subcommand, with secrets in the configuration and the environment', async () => {
  const file = conf({ db: goodDb(), bus: goodBus() });
  const env = { OS_DATABASE__CONNECTION: goodDb(), OS_DEFAULT__TRANSPORT_URL: goodBus() };
  const paths = await commandPaths();
  expect(paths.length).toBeGreaterThan(15);
  await pool(paths, async (p) => {
    const r = await hwstash(`--help of ${['hwstash', ...p].join(' ')}`, ['--config-file', file, ...p, '--help'], env);
    expect([p.join(' '), r.code]).toEqual([p.join(' '), 0]);
    expect(r.out).toMatch(/Usage: hwstash/);
  });
}, 120_000);
