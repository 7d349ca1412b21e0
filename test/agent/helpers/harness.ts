/**
 * One agent under test, wired to the real services: a fresh MariaDB database with Nova's tables,
 * its own exchange (declared as Nova declares `nova`: topic, non-durable) and queues on the real
 * RabbitMQ, libvirt's in-process test driver, and a config file written as an operator would.
 * Log lines are captured as parsed JSON.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino, type Logger } from 'pino';
import { Agent, type AgentOptions } from '../../../src/agent/agent.js';
import { encodeNotification, instancePayload, servicePayload } from '../../../src/bus/envelope.js';
import { loadSettings } from '../../../src/config/load.js';
import { hostProfileFromSettings } from '../../../src/config/profile.js';
import type { Settings } from '../../../src/config/settings.js';
import type { OsInfoLookup } from '../../../src/core/inputs.js';
import { OsInfoIndex } from '../../../src/osinfo/index.js';
import { Store } from '../../../src/store/index.js';
import { createTestDatabase, type TestDatabase } from '../../store/databases.js';
import { TRANSPORT_URL, TestBroker, testNames, waitFor, type TestNames } from '../../bus/helpers/rabbit.js';

export { waitFor } from '../../bus/helpers/rabbit.js';

export const ROUTING_KEY = 'versioned_notifications.info';
export const OSINFO_DIR = '/usr/share/osinfo';

let osinfoCache: Promise<OsInfoLookup> | null = null;
/** The real osinfo-db index, loaded once per test file. */
export function osinfo(): Promise<OsInfoLookup> {
  osinfoCache ??= OsInfoIndex.load(OSINFO_DIR);
  return osinfoCache;
}

export function uniqueHost(): string {
  return `cmp-${randomBytes(4).toString('hex')}`;
}

/** JSON log lines written by pino, parsed. */
export class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stream = {
    write: (s: string) => {
      for (const line of s.split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  logger(level = 'debug'): Logger {
    return pino({ level, base: { service: 'hwstash-agent' } }, this.stream);
  }
  find(msg: string | RegExp): Array<Record<string, unknown>> {
    return this.lines.filter((l) => (typeof msg === 'string' ? l['msg'] === msg : msg.test(String(l['msg']))));
  }
}

export interface ConfOptions {
  host: string;
  names: TestNames;
  databaseUrl: string;
  transportUrl?: string;
  /** Default: libvirt's in-process test driver. */
  libvirtUri?: string;
  hwstash?: Record<string, string | number | boolean>;
  /** [oslo_messaging_rabbit] options. */
  rabbit?: Record<string, string | number | boolean>;
}

/** An operator's config file (mode 0600: it holds the broker's password). */
export function writeConf(dir: string, o: ConfOptions): string {
  const hw: Record<string, string | number | boolean> = {
    exchange: o.names.exchange,
    queue: o.names.queue,
    dead_letter_queue: o.names.deadLetterQueue,
    metrics_address: '127.0.0.1:0',
    osinfo_dir: OSINFO_DIR,
    state_dir: dir,
    shutdown_timeout: 10,
    // Tests look for the start-up reconcile's work as soon as start() returns.
    startup_jitter: 0,
    log_level: 'debug',
    ...o.hwstash,
  };
  const text = [
    '[DEFAULT]',
    `host = ${o.host}`,
    `transport_url = ${o.transportUrl ?? TRANSPORT_URL}`,
    '[database]',
    `connection = ${o.databaseUrl}`,
    '[libvirt]',
    'virt_type = kvm',
    `connection_uri = ${o.libvirtUri ?? 'test:///default'}`,
    '[notifications]',
    'notification_format = versioned',
    '[oslo_messaging_notifications]',
    'driver = messagingv2',
    ...(o.rabbit ? ['[oslo_messaging_rabbit]', ...Object.entries(o.rabbit).map(([k, v]) => `${k} = ${v}`)] : []),
    '[hwstash]',
    ...Object.entries(hw).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n');
  const file = path.join(dir, 'hwstash.conf');
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

export interface HarnessOptions {
  host?: string;
  /** Replaces the database URL in the config (a proxy in front of the test database). */
  databaseUrl?: (url: string) => string;
  transportUrl?: string;
  libvirtUri?: string;
  hwstash?: Record<string, string | number | boolean>;
  /** Skip declaring the exchange (tests where the broker is unreachable). */
  noBroker?: boolean;
  /** [oslo_messaging_rabbit] options of the agent's config. */
  rabbit?: Record<string, string | number | boolean>;
  /** The test's own connection (declaring the exchange, publishing): default the machine's broker. */
  testBrokerUrl?: string;
}

export class AgentHarness {
  agent: Agent | null = null;
  readonly logs = new LogCapture();

  private constructor(
    readonly host: string,
    readonly names: TestNames,
    readonly db: TestDatabase,
    /** The test's own connection to the database (not the agent's). */
    readonly store: Store,
    readonly broker: TestBroker | null,
    readonly dir: string,
    readonly confFile: string,
  ) {}

  static async create(opts: HarnessOptions = {}): Promise<AgentHarness> {
    const host = opts.host ?? uniqueHost();
    const names = testNames();
    const db = await createTestDatabase('mariadb');
    const store = await Store.open(db.url);
    await store.initNovaSchema();
    await store.migrate();
    const broker = opts.noBroker ? null : await TestBroker.open(opts.testBrokerUrl);
    await broker?.declareNovaExchange(names.exchange);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-agent-test-'));
    const confFile = writeConf(dir, {
      host,
      names,
      databaseUrl: opts.databaseUrl ? opts.databaseUrl(db.url) : db.url,
      transportUrl: opts.transportUrl,
      libvirtUri: opts.libvirtUri,
      hwstash: opts.hwstash,
      rabbit: opts.rabbit,
    });
    return new AgentHarness(host, names, db, store, broker, dir, confFile);
  }

  settings(): Settings {
    return loadSettings({ configFiles: [this.confFile], env: {} }).settings;
  }

  /** Starts the agent; unless told otherwise, resolves once it consumes from its queue. */
  async startAgent(extra: Partial<AgentOptions> = {}, o: { waitConsuming?: boolean } = {}): Promise<Agent> {
    const settings = this.settings();
    this.agent = new Agent({
      settings,
      profile: hostProfileFromSettings(settings),
      osinfo: await osinfo(),
      logger: this.logs.logger(settings.hwstash.logLevel),
      ...extra,
    });
    const consuming = this.logs.find('consuming').length;
    await this.agent.start();
    // Until the agent has declared and bound its queue, a published message has nowhere to go.
    if (o.waitConsuming ?? true) await waitFor(() => this.logs.find('consuming').length > consuming, 15_000, 'the agent to consume');
    return this.agent;
  }

  /** Publishes a Nova-shaped instance notification as nova-compute on `host` would. */
  publishInstance(eventType: string, uuid: string, o: { host?: string | null; state?: string; power?: string; task?: string | null } = {}): string {
    const host = o.host === undefined ? this.host : o.host;
    const encoded = encodeNotification({
      eventType,
      publisherId: `nova-compute:${host ?? this.host}`,
      payload: instancePayload({ uuid, host, state: o.state ?? 'active', powerState: o.power ?? 'running', taskState: o.task ?? null }),
    });
    this.publishRaw(encoded.body);
    return encoded.messageId;
  }

  publishService(eventType: 'service.create' | 'service.update', o: { host?: string; binary?: string } = {}): string {
    const host = o.host ?? this.host;
    const encoded = encodeNotification({
      eventType,
      publisherId: `${o.binary ?? 'nova-compute'}:${host}`,
      payload: servicePayload({ host, ...(o.binary ? { binary: o.binary } : {}) }),
    });
    this.publishRaw(encoded.body);
    return encoded.messageId;
  }

  publishRaw(body: Buffer | string, routingKey = ROUTING_KEY): void {
    if (!this.broker) throw new Error('no broker in this harness');
    this.broker.publish(this.names.exchange, routingKey, body);
  }

  get metricsUrl(): string {
    const url = this.agent?.metricsUrl;
    if (!url) throw new Error('agent has no metrics listener');
    return url;
  }

  async cleanup(): Promise<void> {
    if (this.agent) await this.agent.stop('test cleanup').catch(() => undefined);
    this.agent = null;
    await this.store.close().catch(() => undefined);
    if (this.broker) {
      // After a broker restart this connection is gone; cleaning up is then the caller's.
      try {
        await this.broker.cleanup(this.names);
      } catch {
        /* the queues go with the next cleanup or stay as harmless leftovers */
      }
      await this.broker.close();
    }
    await this.db.drop().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** GET a local URL; resolves with status and body. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const run = promisify(execFile);

/**
 * How many statements of other connections to `database` are waiting to lock `instances` rows
 * (`SELECT … FROM instances … FOR UPDATE`), as the server itself lists them.
 */
export async function instanceLockWaiters(side: { query: (sql: string, values?: unknown[]) => Promise<[unknown, unknown]> }, database: string): Promise<number> {
  const [rows] = await side.query(
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE 'SELECT%FROM%instances%FOR UPDATE'",
    [database],
  );
  return Number((rows as Array<{ n: number }>)[0]!.n);
}

export interface QueueCounts {
  ready: number;
  unacked: number;
}

/** Ready and unacknowledged messages of a queue, as the broker itself reports them. */
export async function queueCounts(queue: string): Promise<QueueCounts | null> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages_ready', 'messages_unacknowledged', '--formatter', 'json'], {
    timeout: 60_000,
  });
  const rows = JSON.parse(stdout) as Array<{ name: string; messages_ready: number; messages_unacknowledged: number }>;
  const row = rows.find((r) => r.name === queue);
  return row ? { ready: row.messages_ready, unacked: row.messages_unacknowledged } : null;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
