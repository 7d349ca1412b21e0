/**
 * What a command needs, opened lazily and closed once: settings, host profile, osinfo index,
 * logger. Commands ask for what they use, so `hwstash defaults` never opens a database — and
 * no module is even loaded before a command asks: the database (sequelize), libvirt's binding,
 * the bus (amqplib), the osinfo index and the logger are imported on first use, so `--help` or
 * `image-property list` pays only for what it touches.
 */
import type { Database } from '../store/database.js';
import { RELEASE_NAMES, chooseRelease, findRelease, type NovaRelease, type ReleaseChoice } from '../core/releases.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { HostProfile, OsInfoLookup } from '../core/inputs.js';
import { loadSettings } from '../config/load.js';
import { hostProfileFromSettings } from '../config/profile.js';
import type { Settings } from '../config/settings.js';
import type { Hypervisor } from '../hypervisor/index.js';
import type { Store } from '../store/index.js';
import { DatabaseUnavailableError } from '../store/errors.js';
import { CliError } from './errors.js';
import type { ConnectionManager } from '../bus/connection.js';
import type { NotificationPublisher } from '../bus/publisher.js';
import type { Out } from './output.js';
import { requireDatabaseConnection } from '../config/database-required.js';

/** $XDG_CACHE_HOME/hwstash, else ~/.cache/hwstash: where a user's own caches go. */
function userCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(env['XDG_CACHE_HOME'] || path.join(env['HOME'] || os.homedir(), '.cache'), 'hwstash');
}

export interface CliIO {
  stdout: Out;
  stderr: Out;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
}

export class CliContext {
  configFiles: string[] = [];
  private releaseChoice: ReleaseChoice | undefined;
  private apiDatabaseCache: Promise<Database> | undefined;
  private releaseOverride: NovaRelease | undefined;
  /** What the command wants the process to exit with when it did not throw. */
  exitCode = 0;
  /** What loading the configuration found worth saying (the agent logs it). */
  settingsWarnings: string[] = [];
  private settingsCache?: Settings;
  private osinfoCache?: Promise<OsInfoLookup | null>;
  private loggerCache?: Promise<Logger>;
  private storeCache?: Promise<Store>;
  private hypervisorCache?: Promise<Hypervisor>;
  private publisherCache?: Promise<NotificationPublisher>;
  private readonly closers: Array<() => Promise<void>> = [];

  constructor(readonly io: CliIO) {}

  settings(): Settings {
    if (!this.settingsCache) {
      const { settings, warnings } = loadSettings({
        configFiles: this.configFiles.length ? this.configFiles : undefined,
        env: this.io.env,
      });
      this.settingsCache = settings;
      // Only the agent cares whether Nova sends it anything; operators' commands stay quiet.
      this.settingsWarnings = warnings;
    }
    return this.settingsCache;
  }

  /**
   * This host's profile, with the Nova release whose rules apply: [hwstash] nova_release, or for
   * `auto` what this host's nova-compute row says once the command opened the database (see
   * store()); a command that never does (defaults) gets the newest release, as a standalone host.
   */
  profile(): HostProfile {
    const settings = this.settings();
    const release = this.releaseOverride ?? this.releaseChoice?.release ?? chooseRelease(settings.novaRelease, null).release;
    return { ...hostProfileFromSettings(settings), release };
  }

  /** `--nova-release R` of a command: R's rules, whatever the configuration says. */
  useRelease(name: string): void {
    const found = findRelease(name);
    if (!found) throw new CliError(1, `--nova-release ${JSON.stringify(name)}: allowed: ${RELEASE_NAMES.join(', ')}`);
    this.releaseOverride = found;
  }

  /**
   * Logs go to stderr so stdout stays clean for tables and JSON. [hwstash] log_level is the
   * agent's; a command only says what went wrong, unless HWSTASH_DEBUG asks for more.
   */
  logger(): Promise<Logger> {
    this.loggerCache ??= import('pino').then(({ pino }) =>
      pino({ level: this.io.env['HWSTASH_DEBUG'] ? 'debug' : 'warn', base: undefined }, pino.destination({ dest: 2, sync: true })),
    );
    return this.loggerCache;
  }

  /** The osinfo-db index, or null (said once) when the database is not installed. */
  osinfo(): Promise<OsInfoLookup | null> {
    this.osinfoCache ??= (async () => {
      // The settings already applied OSINFO_SYSTEM_DIR over [hwstash] osinfo_dir.
      const settings = this.settings();
      const dir = settings.hwstash.osinfoDir;
      const { loadIndexCached, OsInfoUnavailableError } = await import('../osinfo/index.js');
      try {
        // Built once per osinfo-db: cached in the state directory where there is one (a command
        // never creates it: on the embedded defaults it is ./state), else the user's cache.
        const cacheDirs = [...(fs.existsSync(settings.hwstash.stateDir) ? [settings.hwstash.stateDir] : []), userCacheDir(this.io.env)];
        const cached = await loadIndexCached(dir, cacheDirs);
        if (this.io.env['HWSTASH_DEBUG']) this.io.stderr.write(`hwstash: osinfo index ${cached.outcome}${cached.file ? ` (${cached.file})` : ''}${cached.note ? `: ${cached.note}` : ''}\n`);
        return cached.index;
      } catch (err) {
        if (!(err instanceof OsInfoUnavailableError)) throw err;
        this.warn(`osinfo-db not found at ${dir}: libosinfo's device lists are unavailable, driver defaults apply (install Debian's osinfo-db)`);
        return null;
      }
    })();
    return this.osinfoCache;
  }

  /**
   * The database, opened once. An unreachable database is one line naming where and why
   * (never the password), exit 1.
   */
  store(): Promise<Store> {
    this.storeCache ??= (async () => {
      try {
        const settings = this.settings();
        const [{ Store }, { databaseOpenOptions }] = await Promise.all([import('../store/index.js'), import('../store/database.js')]);
        const store = await Store.open(requireDatabaseConnection(settings), {
          logger: await this.logger(),
          ownSchema: settings.ownSchema,
          ...databaseOpenOptions(settings.database),
        });
        this.onClose(() => store.close());
        if (settings.novaRelease === 'auto') this.releaseChoice = chooseRelease('auto', await store.novaComputeVersion(settings.host));
        return store;
      } catch (err) {
        if (err instanceof DatabaseUnavailableError) throw new CliError(1, err.message);
        throw err;
      }
    })();
    return this.storeCache;
  }

  /** Nova's API database ([api_database] connection), opened once; null when not configured. */
  apiDatabase(): Promise<Database | null> {
    const url = this.settings().apiDatabaseConnection;
    if (!url) return Promise.resolve(null);
    this.apiDatabaseCache ??= (async () => {
      const { openDatabase } = await import('../store/database.js');
      const db = await openDatabase(url, { logger: await this.logger() });
      this.onClose(() => db.close());
      return db;
    })();
    return this.apiDatabaseCache;
  }

  /** libvirt at [hwstash] libvirt_uri / [libvirt] connection_uri, opened once. */
  hypervisor(): Promise<Hypervisor> {
    this.hypervisorCache ??= (async () => {
      const uri = this.settings().libvirt.connectionUri;
      const { Hypervisor } = await import('../hypervisor/index.js');
      const hv = await Hypervisor.open(uri, { logger: await this.logger() });
      this.onClose(() => hv.close());
      return hv;
    })();
    return this.hypervisorCache;
  }

  /**
   * A publisher on Nova's exchange ([hwstash] exchange) with the routing key the agent binds
   * ([hwstash] routing_key), connected once per command. Throws a CliError naming the broker
   * (never its password) when it cannot be reached in `timeoutMs`.
   */
  publisher(timeoutMs = 10_000): Promise<NotificationPublisher> {
    this.publisherCache ??= (async () => {
      const settings = this.settings();
      const [{ ConnectionManager: Connection, rabbitConnectionOptions }, { NotificationPublisher }] = await Promise.all([
        import('../bus/connection.js'),
        import('../bus/publisher.js'),
      ]);
      let connection: ConnectionManager;
      try {
        connection = Connection.fromTransportUrl(settings.transportUrl, { connectionName: 'hwstash-cli', ...rabbitConnectionOptions(settings.rabbit) });
      } catch (err) {
        throw new CliError(1, `RabbitMQ: ${(err as Error).message}`);
      }
      this.onClose(() => connection.close(2000));
      connection.start();
      try {
        await connection.whenConnected(timeoutMs);
      } catch (err) {
        throw new CliError(1, `RabbitMQ unreachable: ${(err as Error).message}`);
      }
      const publisher = new NotificationPublisher({
        connection,
        host: settings.host,
        exchange: settings.hwstash.exchange,
        exchangeDurable: settings.amqpDurableQueues,
        routingKey: settings.hwstash.routingKey,
      });
      this.onClose(() => publisher.close());
      return publisher;
    })();
    return this.publisherCache;
  }

  private readonly warned = new Set<string>();

  /** Warn about `key` only the first time (a bulk run would repeat it per instance). */
  warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warn(message);
  }

  warn(message: string): void {
    this.io.stderr.write(`hwstash: warning: ${message}\n`);
  }

  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.closers.reverse()) await fn().catch(() => undefined);
    this.closers.length = 0;
  }
}
