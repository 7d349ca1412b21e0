/**
 * The operator CLI driven as an operator drives it: `runCli(argv)` with a real configuration
 * file, a real database (SQLite file or a throwaway MariaDB database) and a real libvirt URI;
 * stdout and stderr captured. Also full dumps of the two tables a change may touch.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { QueryTypes } from 'sequelize';
import { runCli } from '../../src/cli/main.js';
import { Store } from '../../src/store/index.js';
import { insertInstances, type NewInstance } from '../../src/store/seed.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from '../store/databases.js';

export class Sink extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
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

export interface RunOptions {
  tty?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Called with the sinks before the command starts (to watch output as it comes). */
  sinks?: (out: Sink, err: Sink) => void;
}

export async function run(args: string[], options: RunOptions = {}): Promise<Ran> {
  const stdout = new Sink(options.tty ?? false);
  const stderr = new Sink(options.tty ?? false);
  options.sinks?.(stdout, stderr);
  const code = await runCli(args, { stdout, stderr, stdin: new PassThrough(), env: { USER: 'tester', ...(options.env ?? {}) } });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export interface ConfigOptions {
  /** Create hwstash's own tables (default true). */
  migrate?: boolean;
  libvirtUri?: string;
  virtType?: string;
  host?: string;
  extra?: string;
}

export function configText(dbUrl: string, stateDir: string, o: ConfigOptions = {}): string {
  return [
    '[DEFAULT]',
    `host = ${o.host ?? 'compute-1'}`,
    '[database]',
    `connection = ${dbUrl}`,
    '[libvirt]',
    `connection_uri = ${o.libvirtUri ?? 'test:///default'}`,
    `virt_type = ${o.virtType ?? 'kvm'}`,
    // Nova as hwstash needs it, so the load does not warn about notifications on every command.
    '[notifications]',
    'notification_format = versioned',
    '[oslo_messaging_notifications]',
    'driver = messagingv2',
    '[hwstash]',
    `state_dir = ${stateDir}`,
    // An agent started from this file reconciles at once, as the tests expect.
    'startup_jitter = 0',
    'log_level = error',
    o.extra ?? '',
    '',
  ].join('\n');
}

export interface CliWorld {
  dialect: TestDialect;
  dir: string;
  config: string;
  db: TestDatabase;
  store: Store;
  /** `hwstash --config-file <config> ...args` */
  cli(args: string[], options?: RunOptions): Promise<Ran>;
  /** Another configuration file for the same database. */
  writeConfig(name: string, o: ConfigOptions, mode?: number): string;
  seed(instances: NewInstance[]): Promise<string[]>;
  dump(): Promise<TableDump>;
  close(): Promise<void>;
}

export interface TableDump {
  instance_system_metadata: Array<Record<string, unknown>>;
  hwstash_property_history: Array<Record<string, unknown>>;
}

export async function cliWorld(dialect: TestDialect, o: ConfigOptions = {}): Promise<CliWorld> {
  const db = await createTestDatabase(dialect);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-cli-'));
  const store = await Store.open(db.url);
  await store.initNovaSchema();
  if (o.migrate !== false) await store.migrate();
  const writeConfig = (name: string, co: ConfigOptions, mode = 0o600): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, configText(db.url, dir, co));
    fs.chmodSync(file, mode);
    return file;
  };
  const config = writeConfig('hwstash.conf', o);
  return {
    dialect,
    dir,
    config,
    db,
    store,
    cli: (args, options) => run(['--config-file', config, ...args], options),
    writeConfig,
    seed: (instances) => insertInstances(store, instances),
    dump: async () => {
      const q = (sql: string) => store.db.sequelize.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT });
      return {
        instance_system_metadata: await q('SELECT * FROM instance_system_metadata ORDER BY id'),
        hwstash_property_history: o.migrate === false ? [] : await q(`SELECT * FROM ${store.db.own.table('hwstash_property_history')} ORDER BY id`),
      };
    },
    close: async () => {
      await store.close();
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The stored `image_<property>` values of an instance, as a plain object. */
export async function stashOf(store: Store, uuid: string): Promise<Record<string, string | null>> {
  const rows = await store.systemMetadata(uuid);
  return Object.fromEntries(rows.filter((r) => r.key.startsWith('image_hw_')).map((r) => [r.key.slice('image_'.length), r.value]));
}

/** A full stash as hwstash writes it for a plain x86 kvm guest on pc. */
export const PC_STASH: Record<string, string | null> = {
  image_hw_machine_type: 'pc',
  image_hw_cdrom_bus: 'ide',
  image_hw_disk_bus: 'virtio',
  image_hw_input_bus: 'usb',
  image_hw_pointer_model: 'usbtablet',
  image_hw_video_model: 'cirrus',
  image_hw_vif_model: 'virtio',
  image_hw_floppy_bus: 'fdc',
  image_hw_rescue_bus: 'virtio',
  image_hw_scsi_model: null,
  image_hw_rng_model: 'virtio',
};
