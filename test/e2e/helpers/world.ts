/**
 * One end-to-end world: a real database with Nova's tables, a real RabbitMQ exchange declared as
 * Nova declares `nova` (topic, non-durable) with the agent's own queues, a real libvirt (the
 * machine's libvirtd with QEMU under TCG, or the in-process test driver), a directory of guest
 * disks libvirt's QEMU user can read, a configuration file written as an operator writes it, and
 * an in-process `Agent` built from that file exactly as `hwstash agent` builds it.
 *
 * Everything the world creates is named `hwstash-e2e-<id>…` and removed by `cleanup()`: every
 * domain whose uuid was registered or whose name carries the id is destroyed and undefined.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { pino, type Logger } from 'pino';
import { QueryTypes } from 'sequelize';
import { Agent } from '../../../src/agent/agent.js';
import { runCli } from '../../../src/cli/main.js';
import { loadSettings } from '../../../src/config/load.js';
import { hostProfileFromSettings } from '../../../src/config/profile.js';
import type { Settings } from '../../../src/config/settings.js';
import type { OsInfoLookup } from '../../../src/core/inputs.js';
import { Hypervisor } from '../../../src/hypervisor/index.js';
import { OsInfoIndex } from '../../../src/osinfo/index.js';
import { Store } from '../../../src/store/index.js';
import { insertInstances, type NewInstance } from '../../../src/store/seed.js';
import { notificationFixturesDir } from '../../bus/helpers/fixtures.js';
import { TRANSPORT_URL, TestBroker, testNames, waitFor, type TestNames } from '../../bus/helpers/rabbit.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from '../../store/databases.js';

export { waitFor } from '../../bus/helpers/rabbit.js';

const execFileP = promisify(execFile);
const capsParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => ['enum', 'value', 'machine', 'guest'].includes(n) });

export const QEMU_URI = 'qemu:///system';
export const TEST_URI = 'test:///default';
export const OSINFO_DIR = '/usr/share/osinfo';
/** Where libvirt's QEMU user (libvirt-qemu, DAC with dynamic ownership) can open disk images. */
export const IMAGES_ROOT = '/var/lib/libvirt/images';
export const ROUTING_KEY = 'versioned_notifications.info';

let osinfoIndex: Promise<OsInfoLookup> | null = null;
function osinfo(): Promise<OsInfoLookup> {
  osinfoIndex ??= OsInfoIndex.load(OSINFO_DIR);
  return osinfoIndex;
}

/** pino's JSON lines, parsed. */
export class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly stream = {
    write: (s: string) => {
      for (const line of s.split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  logger(): Logger {
    return pino({ level: 'debug', base: { service: 'hwstash-agent' } }, this.stream);
  }
  find(msg: string): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l['msg'] === msg);
  }
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface WorldOptions {
  dialect: TestDialect;
  libvirtUri: string;
  /** [libvirt] virt_type: qemu on the real libvirtd (TCG), kvm on the test driver. */
  virtType: 'qemu' | 'kvm';
  startDomains?: boolean;
}

/** A Nova notification as Nova Zed sent it, re-addressed to this world's instance and host. */
export interface NovaEvent {
  body: Buffer;
  messageId: string;
}

/** How the agent settled an event: its effect committed, sent to the dead-letter queue, or not for it. */
export type Outcome = 'done' | 'dead_lettered' | 'skipped';
const OUTCOMES: readonly Outcome[] = ['done', 'dead_lettered', 'skipped'];

const FIXTURE_INSTANCE = '0a538123-7143-4461-b258-dc394b17a536';
const FIXTURE_HOST = 'compute-0';
const FIXTURE_FILES: Readonly<Record<string, string>> = {
  'instance.create.end': 'instance-create-end.json',
  'instance.power_on.start': 'instance-power_on-start.json',
  'instance.power_on.end': 'instance-power_on-end.json',
  'instance.unshelve.end': 'instance-unshelve-end.json',
};

export class World {
  agent: Agent | null = null;
  readonly logs = new LogCapture();
  /** Domains (by uuid) to destroy and undefine at cleanup. */
  private readonly domains = new Set<string>();
  /** Files added with addConfFile, read after the world's own (later files override, as oslo.config does). */
  private readonly moreConf: string[] = [];

  private constructor(
    readonly id: string,
    readonly host: string,
    readonly names: TestNames,
    readonly db: TestDatabase,
    /** The test's own connection to the database. */
    readonly store: Store,
    readonly broker: TestBroker,
    /** The test's own queue bound to every key of the exchange: what the agent publishes. */
    private readonly tap: string,
    /** The test's own connection to libvirt. */
    readonly hv: Hypervisor,
    /** Config and state; private to the test. */
    readonly dir: string,
    /** `[DEFAULT] instances_path`: disks live at <imagesDir>/<uuid>/disk. */
    readonly imagesDir: string,
    readonly confFile: string,
    readonly options: WorldOptions,
  ) {}

  static async create(options: WorldOptions): Promise<World> {
    const id = randomBytes(4).toString('hex');
    const host = `e2e-${id}`;
    const names = testNames();
    const parts: Array<() => Promise<unknown>> = [];
    try {
      const db = await createTestDatabase(options.dialect);
      parts.push(() => db.drop());
      const store = await Store.open(db.url);
      parts.push(() => store.close());
      await store.initNovaSchema();
      await store.migrate();
      const broker = await TestBroker.open();
      parts.push(async () => {
        await broker.cleanup(names);
        await broker.close();
      });
      await broker.declareNovaExchange(names.exchange);
      const tap = await broker.tap(names.exchange, '#');
      const hv = await Hypervisor.open(options.libvirtUri);
      parts.push(() => hv.close());
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-e2e-'));
      parts.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
      // The test driver opens no files: its disks need not be where QEMU could read them.
      const imagesDir = path.join(options.libvirtUri === QEMU_URI ? IMAGES_ROOT : dir, `hwstash-e2e-${id}`);
      fs.mkdirSync(imagesDir, { recursive: true, mode: 0o755 });
      const confFile = writeConf(dir, { id, host, names, databaseUrl: db.url, imagesDir, ...options });
      return new World(id, host, names, db, store, broker, tap, hv, dir, imagesDir, confFile, options);
    } catch (err) {
      for (const undo of parts.reverse()) await undo().catch(() => undefined);
      throw err;
    }
  }

  settings(): Settings {
    return loadSettings({ configFiles: this.configFiles(), env: {} }).settings;
  }

  private configFiles(): string[] {
    return [this.confFile, ...this.moreConf];
  }

  /** Another `--config-file` after the world's own (an operator's override file); mode 0600. */
  addConfFile(text: string): string {
    const file = path.join(this.dir, `override-${this.moreConf.length + 1}.conf`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    this.moreConf.push(file);
    return file;
  }

  /** `instance_name_template`: every domain hwstash builds here is named hwstash-e2e-<id>-…. */
  get domainPrefix(): string {
    return `hwstash-e2e-${this.id}-`;
  }

  /** Starts the agent; resolves once its start-up reconcile is done and it consumes. */
  async startAgent(osinfoLookup?: OsInfoLookup): Promise<Agent> {
    const settings = this.settings();
    this.agent = new Agent({ settings, profile: hostProfileFromSettings(settings), osinfo: osinfoLookup ?? (await osinfo()), logger: this.logs.logger() });
    await this.agent.start();
    // Until the queue is declared and bound, a published message has nowhere to go.
    await waitFor(() => this.logs.find('consuming').length > 0, 15_000, 'the agent to consume');
    return this.agent;
  }

  /** `hwstash --config-file <conf> ...args`, as an operator runs it. */
  async cli(args: string[]): Promise<Ran> {
    const stdout = new Sink();
    const stderr = new Sink();
    const code = await runCli([...this.configFiles().flatMap((f) => ['--config-file', f]), ...args], { stdout, stderr, stdin: new PassThrough(), env: { USER: 'operator' } });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  seed(instances: NewInstance[]): Promise<string[]> {
    return insertInstances(this.store, instances.map((i) => ({ memoryMb: 64, vcpus: 1, ...i })));
  }

  /** A fresh uuid whose domain (if any) is removed at cleanup. */
  newUuid(): string {
    const uuid = randomUUID();
    this.domains.add(uuid);
    return uuid;
  }

  /** An empty qcow2 disk `<imagesDir>/<name>` (root-owned 0644; libvirt relabels it for QEMU). */
  async createDisk(name: string, size = '64M'): Promise<string> {
    const file = path.join(this.imagesDir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    await execFileP('qemu-img', ['create', '-q', '-f', 'qcow2', file, size]);
    fs.chmodSync(file, 0o644);
    return file;
  }

  /** The instance's `image_hw_*` rows as stored, read with the test's own SQL. */
  async stashRows(uuid: string): Promise<Record<string, string | null>> {
    const rows = await this.store.db.sequelize.query<{ key: string; value: string | null }>(
      'SELECT * FROM instance_system_metadata WHERE instance_uuid = :uuid ORDER BY id',
      { replacements: { uuid }, type: QueryTypes.SELECT },
    );
    return Object.fromEntries(rows.filter((r) => r.key.startsWith('image_hw_')).map((r) => [r.key.slice('image_'.length), r.value]));
  }

  /** hwstash's history rows of the instance, oldest first. */
  async historyRows(uuid: string): Promise<Array<Record<string, unknown>>> {
    return this.store.db.sequelize.query<Record<string, unknown>>(
      `SELECT * FROM ${this.store.db.own.table('hwstash_property_history')} WHERE instance_uuid = :uuid ORDER BY id`,
      { replacements: { uuid }, type: QueryTypes.SELECT },
    );
  }

  /** Changes a stored row behind hwstash's back, as a misconfigured tool or old Nova could. */
  async overwriteRow(uuid: string, key: string, value: string | null): Promise<void> {
    await this.store.db.sequelize.getQueryInterface().bulkUpdate('instance_system_metadata', { value }, { instance_uuid: uuid, key });
  }

  /** `virsh -c <uri> ...args`: libvirt's own client, independent of hwstash's gateway. */
  async virsh(...args: string[]): Promise<string> {
    const { stdout } = await execFileP('virsh', ['-c', this.options.libvirtUri, ...args], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  }

  /** `virsh domstate`: running, shut off, … */
  async domstate(uuid: string): Promise<string> {
    return (await this.virsh('domstate', uuid)).trim();
  }

  /** What libvirt's host capabilities say a machine alias (`q35`) stands for on x86_64. */
  async canonicalMachine(alias: string): Promise<string> {
    const caps = capsParser.parse(await this.virsh('capabilities')).capabilities as { guest: Array<Record<string, any>> };
    for (const guest of caps.guest) {
      if (guest['arch']['@name'] !== 'x86_64') continue;
      for (const m of (guest['arch']['machine'] ?? []) as Array<string | Record<string, string>>) {
        if (typeof m === 'object' && m['#text'] === alias && m['@canonical']) return m['@canonical'];
      }
    }
    throw new Error(`libvirt lists no machine alias ${alias} for x86_64`);
  }

  /** The disk buses this QEMU runs for a machine type, as `virsh domcapabilities` lists them. */
  async diskBusesFor(machine: string): Promise<string[]> {
    const caps = capsParser.parse(await this.virsh('domcapabilities', '--virttype', 'qemu', '--arch', 'x86_64', '--machine', machine)).domainCapabilities;
    return (caps.devices.disk.enum as Array<{ '@name': string; value?: string[] }>).find((e) => e['@name'] === 'bus')?.value ?? [];
  }

  async defineDomain(uuid: string, xml: string): Promise<void> {
    this.domains.add(uuid);
    await this.hv.define(xml);
  }

  /** Nova's own notification of `eventType`, for this instance on this host, with a new message id. */
  novaEvent(eventType: keyof typeof FIXTURE_FILES | string, uuid: string): NovaEvent {
    const file = FIXTURE_FILES[eventType];
    if (!file) throw new Error(`no Nova fixture for ${eventType}`);
    let text = fs.readFileSync(path.join(notificationFixturesDir(), file), 'utf8');
    const oldId = /\\"message_id\\": \\"([0-9a-f-]{36})\\"/.exec(text)?.[1];
    if (!oldId) throw new Error(`${file}: no message_id`);
    const messageId = randomUUID();
    text = text.split(oldId).join(messageId).split(FIXTURE_INSTANCE).join(uuid).split(FIXTURE_HOST).join(this.host);
    return { body: Buffer.from(text, 'utf8'), messageId };
  }

  /** Publishes Nova's notification on the world's exchange; resolves once the agent has settled it. */
  async publish(eventType: string, uuid: string, timeoutMs = 120_000): Promise<Outcome> {
    const before = await this.eventCounts(eventType);
    const event = this.novaEvent(eventType, uuid);
    this.broker.publish(this.names.exchange, ROUTING_KEY, event.body);
    let outcome: Outcome | null = null;
    await waitFor(
      async () => {
        const now = await this.eventCounts(eventType);
        outcome = OUTCOMES.find((o) => now[o] > before[o]) ?? null;
        return outcome !== null;
      },
      timeoutMs,
      `the agent to settle ${eventType}`,
    );
    return outcome!;
  }

  /** hwstash's own notifications published so far (`hwstash.*`), oldest first. */
  async ownEvents(): Promise<Array<{ eventType: string; data: Record<string, unknown> }>> {
    for (const m of await this.broker.drain(this.tap)) {
      const outer = JSON.parse(m.content.toString('utf8')) as { 'oslo.message': string };
      const msg = JSON.parse(outer['oslo.message']) as { event_type: string; payload: { 'nova_object.data': Record<string, unknown> } };
      if (msg.event_type.startsWith('hwstash.')) this.published.push({ eventType: msg.event_type, data: msg.payload['nova_object.data'] });
    }
    return [...this.published];
  }

  private readonly published: Array<{ eventType: string; data: Record<string, unknown> }> = [];

  /** The agent's own count of events of this type, by outcome (its Prometheus counter). */
  async eventCounts(eventType: string): Promise<Record<Outcome | 'retried', number>> {
    const counts = { done: 0, dead_lettered: 0, skipped: 0, retried: 0 };
    if (!this.agent) return counts;
    for (const v of (await this.agent.metrics.events.get()).values) {
      if (v.labels['event_type'] !== eventType) continue;
      const outcome = String(v.labels['outcome']);
      if (outcome in counts) counts[outcome as keyof typeof counts] += v.value;
    }
    return counts;
  }

  async cleanup(): Promise<void> {
    if (this.agent) await this.agent.stop('test cleanup').catch(() => undefined);
    this.agent = null;
    await this.removeDomains();
    await this.hv.close().catch(() => undefined);
    await this.store.close().catch(() => undefined);
    await this.broker.cleanup(this.names).catch(() => undefined);
    await this.broker.close();
    await this.db.drop().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.rmSync(this.imagesDir, { recursive: true, force: true });
  }

  /** Destroy and undefine every domain of this world, whatever state a failed test left. */
  async removeDomains(): Promise<void> {
    const mine = new Set(this.domains);
    for (const d of await this.hv.listDomains().catch(() => [])) if (d.name.startsWith(this.domainPrefix)) mine.add(d.uuid);
    for (const uuid of mine) {
      await this.hv.destroy(uuid).catch(() => undefined);
      await this.hv.undefine(uuid).catch(() => undefined);
    }
  }
}

interface ConfValues extends WorldOptions {
  id: string;
  host: string;
  names: TestNames;
  databaseUrl: string;
  imagesDir: string;
}

/** The operator's file (mode 0600: it holds the broker's password). */
function writeConf(dir: string, c: ConfValues): string {
  const text = [
    '[DEFAULT]',
    `host = ${c.host}`,
    `transport_url = ${TRANSPORT_URL}`,
    `instances_path = ${c.imagesDir}`,
    `instance_name_template = hwstash-e2e-${c.id}-%08x`,
    '[database]',
    `connection = ${c.databaseUrl}`,
    '[libvirt]',
    `virt_type = ${c.virtType}`,
    `connection_uri = ${c.libvirtUri}`,
    '[notifications]',
    'notification_format = versioned',
    '[oslo_messaging_notifications]',
    'driver = messagingv2',
    '[hwstash]',
    `exchange = ${c.names.exchange}`,
    `queue = ${c.names.queue}`,
    `dead_letter_queue = ${c.names.deadLetterQueue}`,
    `start_domains = ${c.startDomains ?? true}`,
    'metrics_address = 127.0.0.1:0',
    `osinfo_dir = ${OSINFO_DIR}`,
    `state_dir = ${dir}`,
    'shutdown_timeout = 10',
    // The scenarios look for the start-up reconcile's work as soon as the agent is ready.
    'startup_jitter = 0',
    // The operator CLI logs to stderr at this level; the agent logs into the test's capture.
    'log_level = error',
    '',
  ].join('\n');
  const file = path.join(dir, 'hwstash.conf');
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}
