/**
 * From parsed files to validated Settings, as oslo.config merges them: for a single-valued
 * option the last assignment in the last file that sets it wins, a multi-valued option collects
 * every assignment of every file in order, an `OS_<GROUP>__<OPTION>` environment variable beats
 * the files, `$` references are substituted, then each value is checked against the option table.
 * Pure: files are read by load.ts.
 */
import path from 'node:path';
import { ConfigError } from './errors.js';
import { valuesOf, normalizeSectionName, type IniDocument } from './ini.js';
import { InterpolationError, interpolate } from './interpolate.js';
import { OPTIONS, OptionValueError, allowedText, convertOptionValue, findOption, type OptionSpec, type OptionValue } from './options.js';
import { DatabaseUrlError, parseDatabaseUrl } from './database-url.js';
import { passwordsInUrl, redactSecretValue, redactText } from './redact.js';
import type { LogLevel, RabbitSettings, Settings } from './settings.js';
import type { PointerModelOption, VirtType } from '../core/inputs.js';
import { resolveOsinfoDir } from '../osinfo/resolve-dir.js';

export interface ConfigSource {
  /** The file's path, for messages and Settings.files. */
  readonly file: string;
  readonly doc: IniDocument;
}

export interface ResolveContext {
  /** Default of [DEFAULT] host, as Nova's socket.gethostname(). */
  readonly hostname: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base of a relative [hwstash] state_dir. */
  readonly cwd: string;
  /** True when `sources` is the shipped defaults file only. */
  readonly embedded: boolean;
}

/** Where an effective value came from. */
interface Origin {
  /** A file path, or "environment variable OS_…". */
  readonly where: string;
  readonly line?: number;
}

interface RawValue {
  readonly values: readonly string[];
  readonly origins: readonly Origin[];
}

/** oslo.config's environment source: OS_<GROUP>__<OPTION>, both upper-cased. */
export function environmentVariableName(section: string, name: string): string {
  return `OS_${section.toUpperCase()}__${name.toUpperCase()}`;
}

/** The raw assignments of an option across sources (env first), or undefined when nothing sets it. */
function rawValue(sources: readonly ConfigSource[], env: ResolveContext['env'], section: string, name: string, multi: boolean): RawValue | undefined {
  const envName = environmentVariableName(section, name);
  const fromEnv = env[envName];
  if (fromEnv !== undefined) return { values: [fromEnv], origins: [{ where: `environment variable ${envName}` }] };
  const values: string[] = [];
  const origins: Origin[] = [];
  for (const source of sources) {
    const found = valuesOf(source.doc, section, name);
    if (found.length === 0) continue;
    const taken = multi ? found : found.slice(-1);
    if (!multi) {
      values.length = 0;
      origins.length = 0;
    }
    for (const v of taken) {
      values.push(v.value);
      origins.push({ where: source.file, line: v.line });
    }
  }
  return values.length > 0 ? { values, origins } : undefined;
}

/** Every password found in the credential-bearing options of the sources (for redaction). */
export function secretsIn(sources: readonly ConfigSource[], env: ResolveContext['env'] = {}): string[] {
  const found: string[] = [];
  for (const spec of OPTIONS.filter((o) => o.secret)) {
    for (const source of sources) for (const v of valuesOf(source.doc, spec.section, spec.name)) found.push(...passwordsInUrl(v.value));
    const fromEnv = env[environmentVariableName(spec.section, spec.name)];
    if (fromEnv !== undefined) found.push(...passwordsInUrl(fromEnv));
  }
  return found;
}

export interface Resolved {
  settings: Settings;
  warnings: string[];
}

export function resolveSettings(sources: readonly ConfigSource[], ctx: ResolveContext): Resolved {
  const secrets = secretsIn(sources, ctx.env);
  try {
    return resolve(sources, ctx);
  } catch (err) {
    // Last line of defence: whatever went wrong, the message must not carry a password.
    if (err instanceof Error) err.message = redactText(err.message, secrets);
    throw err;
  }
}

function resolve(sources: readonly ConfigSource[], ctx: ResolveContext): Resolved {
  const raws = new Map<string, RawValue | undefined>();
  const raw = (section: string, name: string, multi = false): RawValue | undefined => {
    const id = `${normalizeSectionName(section)}.${name}`;
    if (!raws.has(id)) raws.set(id, rawValue(sources, ctx.env, normalizeSectionName(section), name, multi));
    return raws.get(id);
  };

  // A `$reference` may name any option set in the files (Nova has hundreds hwstash does not
  // know) or one of the table's, whose default then applies.
  const lookup = (section: string, name: string): string | undefined => {
    const spec = findOption(normalizeSectionName(section), name);
    const set = raw(section, name, spec?.type.kind === 'multi');
    if (set) return set.values[set.values.length - 1];
    if (!spec) return undefined;
    if (spec.section === 'DEFAULT' && spec.name === 'host') return ctx.hostname;
    return defaultAsText(spec.default);
  };

  const describe = (spec: OptionSpec, origin: Origin): string => `${origin.where}: [${spec.section}] ${spec.name}`;
  const shown = (spec: OptionSpec, value: string): string => (spec.secret ? redactSecretValue(value) : value);

  const substituted = (spec: OptionSpec, rawText: string, origin: Origin): string => {
    try {
      return interpolate(rawText, spec.section, lookup, [`${spec.section}.${spec.name}`]);
    } catch (err) {
      if (!(err instanceof InterpolationError)) throw err;
      // The reference is part of the value: for a credential it may be part of the password.
      const ref = spec.secret ? 'a $ reference' : `$${err.reference}`;
      const why = err.reason === 'loop' ? `${ref} refers back to itself` : `${ref} names no option that is set`;
      throw new ConfigError(`${describe(spec, origin)}: ${why}; write a literal $ as $$`, details(spec, origin));
    }
  };

  const value = (spec: OptionSpec): OptionValue => {
    const set = raw(spec.section, spec.name, spec.type.kind === 'multi');
    // oslo.config substitutes defaults too: Nova's instances_path is `$state_path/instances`.
    if (!set) return typeof spec.default === 'string' ? substituted(spec, spec.default, { where: 'its default' }) : spec.default;
    const converted: string[] = [];
    let single: OptionValue | undefined;
    set.values.forEach((rawText, i) => {
      const origin = set.origins[i]!;
      const text = substituted(spec, rawText, origin);
      let out: OptionValue | undefined;
      try {
        out = convertOptionValue(spec, text);
      } catch (err) {
        if (!(err instanceof OptionValueError)) throw err;
        throw new ConfigError(`${describe(spec, origin)} = ${shown(spec, text)} is not allowed; allowed: ${allowedText(spec)}`, details(spec, origin));
      }
      if (spec.type.kind === 'multi') converted.push(...(out as string[]));
      else single = out;
    });
    if (spec.type.kind === 'multi') return converted;
    return single === undefined ? spec.default : single;
  };

  const values = new Map<string, OptionValue>();
  const origins = new Map<string, Origin | undefined>();
  for (const spec of OPTIONS) {
    const id = `${spec.section}.${spec.name}`;
    values.set(id, value(spec));
    const set = raw(spec.section, spec.name, spec.type.kind === 'multi');
    origins.set(id, set?.origins[set.origins.length - 1]);
  }
  const get = (section: string, name: string): OptionValue => values.get(`${section}.${name}`) ?? null;
  const str = (section: string, name: string): string => {
    const v = get(section, name);
    return typeof v === 'string' ? v : '';
  };
  const bool = (section: string, name: string): boolean => get(section, name) === true;
  const num = (section: string, name: string): number => get(section, name) as number;
  const list = (section: string, name: string): readonly string[] => (get(section, name) as readonly string[] | null) ?? [];

  const host = str('DEFAULT', 'host') || ctx.hostname;
  const stateDir = path.resolve(ctx.cwd, str('hwstash', 'state_dir'));
  const virtType = str('libvirt', 'virt_type') as VirtType;

  const firstSet = (...ids: Array<[string, string]>): { value: string; spec: OptionSpec; origin: Origin | undefined } | undefined => {
    for (const [section, name] of ids) {
      const v = str(section, name);
      if (v !== '') return { value: v, spec: findOption(section, name)!, origin: origins.get(`${section}.${name}`) };
    }
    return undefined;
  };

  const db = firstSet(['hwstash', 'database_connection'], ['database', 'connection']);
  // The SQLite file in state_dir is the embedded defaults' database only: with files given and no
  // database, it stays empty and whatever opens the database refuses (database-required.ts).
  const databaseConnection = db?.value ?? (ctx.embedded ? `sqlite:///${stateDir}/hwstash.sqlite` : '');
  try {
    if (databaseConnection !== '') parseDatabaseUrl(databaseConnection);
  } catch (err) {
    if (!(err instanceof DatabaseUrlError) || !db?.origin) throw err;
    throw new ConfigError(`${describe(db.spec, db.origin)} = ${err.redacted} is not allowed; ${err.reason}`, details(db.spec, db.origin));
  }

  const transportUrl =
    firstSet(['hwstash', 'transport_url'], ['oslo_messaging_notifications', 'transport_url'], ['DEFAULT', 'transport_url'])?.value ?? 'rabbit://127.0.0.1:5672/';

  const libvirtUri = firstSet(['hwstash', 'libvirt_uri'], ['libvirt', 'connection_uri'])?.value ?? NOVA_LIBVIRT_URIS[virtType];

  const topics = list('notifications', 'versioned_notifications_topics');
  const exchange = str('hwstash', 'exchange') || str('DEFAULT', 'control_exchange');
  const routingKey = str('hwstash', 'routing_key') || `${topics[0] || 'versioned_notifications'}.info`;

  const notificationFormat = str('notifications', 'notification_format');
  const notificationDrivers = list('oslo_messaging_notifications', 'driver');

  const settings: Settings = {
    files: ctx.embedded ? [] : sources.map((s) => s.file),
    embedded: ctx.embedded,
    host,
    transportUrl,
    pointerModel: get('DEFAULT', 'pointer_model') as PointerModelOption | null,
    instancesPath: str('DEFAULT', 'instances_path'),
    instanceNameTemplate: str('DEFAULT', 'instance_name_template'),
    databaseConnection,
    database: {
      maxPoolSize: num('database', 'max_pool_size'),
      connectionRecycleTime: num('database', 'connection_recycle_time'),
      maxRetries: num('database', 'max_retries'),
      retryInterval: num('database', 'retry_interval'),
      mysqlSqlMode: str('database', 'mysql_sql_mode'),
    },
    ownSchema: str('hwstash', 'schema'),
    novaRelease: str('hwstash', 'nova_release'),
    apiDatabaseConnection: str('api_database', 'connection'),
    libvirt: {
      virtType,
      connectionUri: libvirtUri,
      hwMachineType: list('libvirt', 'hw_machine_type'),
      useVirtioForBridges: bool('libvirt', 'use_virtio_for_bridges'),
      rngDevPath: str('libvirt', 'rng_dev_path'),
    },
    spice: { enabled: bool('spice', 'enabled'), agentEnabled: bool('spice', 'agent_enabled') },
    vnc: { enabled: bool('vnc', 'enabled') },
    amqpDurableQueues: bool('oslo_messaging_rabbit', 'amqp_durable_queues'),
    rabbit: {
      ssl: bool('oslo_messaging_rabbit', 'ssl'),
      sslVersion: str('oslo_messaging_rabbit', 'ssl_version'),
      sslCaFile: str('oslo_messaging_rabbit', 'ssl_ca_file'),
      sslCertFile: str('oslo_messaging_rabbit', 'ssl_cert_file'),
      sslKeyFile: str('oslo_messaging_rabbit', 'ssl_key_file'),
      heartbeatTimeoutThreshold: num('oslo_messaging_rabbit', 'heartbeat_timeout_threshold'),
      failoverStrategy: str('oslo_messaging_rabbit', 'kombu_failover_strategy') as RabbitSettings['failoverStrategy'],
      retryInterval: num('oslo_messaging_rabbit', 'rabbit_retry_interval'),
      retryBackoff: num('oslo_messaging_rabbit', 'rabbit_retry_backoff'),
      intervalMax: num('oslo_messaging_rabbit', 'rabbit_interval_max'),
      quorumQueue: bool('oslo_messaging_rabbit', 'rabbit_quorum_queue'),
      quorumDeliveryLimit: num('oslo_messaging_rabbit', 'rabbit_quorum_delivery_limit'),
      quorumMaxMemoryLength: num('oslo_messaging_rabbit', 'rabbit_quorum_max_memory_length'),
      quorumMaxMemoryBytes: num('oslo_messaging_rabbit', 'rabbit_quorum_max_memory_bytes'),
    },
    notificationFormat,
    notificationDrivers,
    hwstash: {
      stateDir,
      osinfoDir: resolveOsinfoDir(str('hwstash', 'osinfo_dir'), ctx.env),
      hostArch: str('hwstash', 'host_arch'),
      exchange,
      routingKey,
      queue: str('hwstash', 'queue').split('{host}').join(host),
      deadLetterQueue: str('hwstash', 'dead_letter_queue').split('{host}').join(host),
      metricsAddress: str('hwstash', 'metrics_address'),
      startDomains: bool('hwstash', 'start_domains'),
      batchSize: num('hwstash', 'batch_size'),
      prefetch: num('hwstash', 'prefetch'),
      logLevel: str('hwstash', 'log_level') as LogLevel,
      shutdownTimeout: num('hwstash', 'shutdown_timeout'),
      auditInterval: num('hwstash', 'audit_interval'),
      startupJitter: num('hwstash', 'startup_jitter'),
      profileInterval: num('hwstash', 'profile_interval'),
      publishNotifications: bool('hwstash', 'publish_notifications'),
    },
  };
  return { settings, warnings: notificationWarnings(notificationFormat, notificationDrivers) };
}

/** Nova's libvirt driver: the URI it connects to when [libvirt] connection_uri is empty. */
export const NOVA_LIBVIRT_URIS: Readonly<Record<VirtType, string>> = {
  kvm: 'qemu:///system',
  qemu: 'qemu:///system',
  lxc: 'lxc:///',
  parallels: 'parallels:///system',
};

function notificationWarnings(format: string, drivers: readonly string[]): string[] {
  const warnings: string[] = [];
  if (format !== 'versioned' && format !== 'both') {
    warnings.push(
      `hwstash hears nothing: Nova sends versioned notifications only with [notifications] notification_format = versioned or both (it is ${format})`,
    );
  }
  if (!drivers.includes('messagingv2')) {
    const now = drivers.length === 0 ? 'not set' : drivers.join(', ');
    warnings.push(
      `hwstash hears nothing: Nova sends versioned notifications only with [oslo_messaging_notifications] driver = messagingv2 (it is ${now})`,
    );
  }
  return warnings;
}

function details(spec: OptionSpec, origin: Origin) {
  return { origin: origin.where, section: spec.section, option: spec.name, ...(origin.line !== undefined ? { line: origin.line } : {}) };
}

/** A default as oslo.config would substitute it into another value. */
function defaultAsText(v: OptionValue): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}
