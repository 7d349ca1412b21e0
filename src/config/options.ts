/**
 * The option table: every option hwstash reads, with its type, default and help. Nova's options
 * keep Nova's (Zed) names, sections and defaults so hwstash reads nova.conf as Nova does; its own
 * live in `[hwstash]`. Loading, validation, the sample files and their test all read this table.
 */
import { isIP } from 'node:net';
import { FIELD_TYPES, coerceField } from '../core/properties.js';
import { POINTER_MODEL_OPTIONS, VIRT_TYPES } from '../core/inputs.js';
import type { LogLevel } from './settings.js';
import { RELEASE_NAMES } from '../core/releases.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const satisfies readonly LogLevel[];
export const NOTIFICATION_FORMATS = ['unversioned', 'versioned', 'both'] as const;
/** oslo.messaging's ssl_version values that Node.js's OpenSSL still speaks (TLSv1, TLSv1_1 are gone). */
export const SSL_VERSIONS = ['TLSv1_2', 'TLSv1_3', 'SSLv23'] as const;
/** oslo.messaging's kombu_failover_strategy choices. */
export const FAILOVER_STRATEGIES = ['round-robin', 'shuffle'] as const;

/** oslo.config's Boolean type: these words, any case. */
export const TRUE_WORDS = ['true', '1', 'on', 'yes'] as const;
export const FALSE_WORDS = ['false', '0', 'off', 'no'] as const;

export type OptionType =
  /** Free text; `nonEmpty` refuses the empty string. */
  | { readonly kind: 'string'; readonly nonEmpty?: boolean }
  | { readonly kind: 'bool' }
  /** oslo.config Integer: an empty value means "unset", i.e. the default. */
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  /** One of `choices`, case-sensitive; with `emptyIsNull` an empty value means null. */
  | { readonly kind: 'choice'; readonly choices: readonly string[]; readonly emptyIsNull?: boolean; readonly ignoreCase?: boolean }
  /** oslo.config ListOpt: comma-separated, items trimmed, trailing commas dropped. */
  | { readonly kind: 'list' }
  /** oslo.config MultiStrOpt: every assignment in every file, in order; no comma splitting. */
  | { readonly kind: 'multi' }
  /** Nova's Architecture field, canonicalised (amd64 → x86_64); empty = unset. */
  | { readonly kind: 'architecture' }
  /** host:port or [v6addr]:port; empty = disabled. */
  | { readonly kind: 'address' }
  /** oslo.config HostDomain (Nova's [DEFAULT] host): an IP address or a DNS name that may hold `_`. */
  | { readonly kind: 'hostdomain' }
  /** A database or schema name that needs no quoting anywhere; empty = computed. */
  | { readonly kind: 'identifier' };

export type OptionValue = string | boolean | number | readonly string[] | null;

export interface OptionSpec {
  readonly section: string;
  readonly name: string;
  readonly type: OptionType;
  /** The default; null where it is computed when loading (then `defaultText` says how). */
  readonly default: OptionValue;
  readonly defaultText?: string;
  /** The value may carry a password: redacted in messages, and its file must not be world-readable. */
  readonly secret: boolean;
  readonly help: string;
}

const opt = (
  section: string,
  name: string,
  type: OptionType,
  dflt: OptionValue,
  help: string,
  extra: { secret?: boolean; defaultText?: string } = {},
): OptionSpec => ({ section, name, type, default: dflt, help, secret: extra.secret ?? false, ...(extra.defaultText ? { defaultText: extra.defaultText } : {}) });

const STRING = { kind: 'string' } as const;
const NON_EMPTY = { kind: 'string', nonEmpty: true } as const;
const BOOL = { kind: 'bool' } as const;

export const OPTIONS: readonly OptionSpec[] = [
  // ---- Nova's options, read from nova.conf ----
  opt('DEFAULT', 'host', { kind: 'hostdomain' }, null, 'Name of this compute host as Nova knows it (instances.host); hwstash handles the instances and notifications of this host only.', {
    defaultText: "this machine's hostname",
  }),
  opt('DEFAULT', 'transport_url', STRING, 'rabbit://127.0.0.1:5672/', "Nova's message bus, rabbit://user:password@host:port[,user:password@host2:port]/vhost. Nova's default rabbit:// means the same.", {
    secret: true,
  }),
  opt('DEFAULT', 'control_exchange', NON_EMPTY, 'nova', 'The exchange Nova sends its notifications to.'),
  opt('DEFAULT', 'state_path', NON_EMPTY, '/var/lib/nova', "Nova's top-level state directory (nova.conf refers to it as $state_path)."),
  opt('DEFAULT', 'instances_path', NON_EMPTY, '$state_path/instances', "Where Nova keeps instance disks (<instances_path>/<uuid>/disk); used when hwstash builds a domain for an unshelved instance."),
  opt('DEFAULT', 'instance_name_template', NON_EMPTY, 'instance-%08x', "Nova's domain name template; %08x (or %d, %x) is the instance's database id."),
  opt('DEFAULT', 'pointer_model', { kind: 'choice', choices: POINTER_MODEL_OPTIONS, emptyIsNull: true }, 'usbtablet', 'Generic pointer device of guests (decides hw_pointer_model and hw_input_bus).'),
  opt('database', 'connection', STRING, null, "SQLAlchemy URL of Nova's cell database (mysql+pymysql://…, postgresql://…, sqlite:///…).", {
    secret: true,
    defaultText: 'none: required with configuration files (here or [hwstash] database_connection); the embedded defaults use a SQLite file hwstash.sqlite in [hwstash] state_dir',
  }),
  opt('database', 'max_pool_size', { kind: 'int', min: 1 }, 5, "oslo.db: connections kept open to the cell database per process (hwstash's pool size)."),
  opt('database', 'connection_recycle_time', { kind: 'int', min: 0 }, 3600, 'oslo.db: seconds after which a pooled connection is closed and replaced when next taken (before a proxy or the server drops it); 0 = never.'),
  opt('database', 'max_retries', { kind: 'int', min: -1 }, 10, 'oslo.db: connection attempts at agent start-up before it gives up; -1 = retry for ever. Commands do not retry.'),
  opt('database', 'retry_interval', { kind: 'int', min: 0 }, 10, 'oslo.db: seconds between those attempts (hwstash starts at half a second and doubles up to this).'),
  opt('database', 'mysql_sql_mode', STRING, 'TRADITIONAL', "oslo.db: the sql_mode of every MySQL/MariaDB session, as Nova's; empty = the server's own."),
  opt('api_database', 'connection', STRING, '', "SQLAlchemy URL of Nova's API database: image-property set and revert update the instance's RequestSpec there, as nova-manage does (the scheduler reads it on the next move). Empty: they say it was not updated.", {
    secret: true,
  }),
  opt('libvirt', 'virt_type', { kind: 'choice', choices: VIRT_TYPES }, 'kvm', 'Libvirt domain type; decides the allowed buses and the driver defaults.'),
  opt('libvirt', 'connection_uri', STRING, '', "Libvirt connection URI; empty means the default for virt_type (qemu:///system, lxc:///, parallels:///system)."),
  opt('libvirt', 'hw_machine_type', { kind: 'list' }, [], 'Default machine type per architecture, as arch=machine entries (x86_64=q35,aarch64=virt).'),
  opt('libvirt', 'use_virtio_for_bridges', BOOL, true, 'Use virtio network interfaces where neither the image nor libosinfo names a model.'),
  opt('libvirt', 'rng_dev_path', NON_EMPTY, '/dev/urandom', 'Host file behind the guests\' virtio RNG device.'),
  opt('spice', 'enabled', BOOL, false, 'SPICE consoles; affects the default video model and pointer.'),
  opt('spice', 'agent_enabled', BOOL, true, 'SPICE guest agent; with SPICE on and VNC off there is no tablet.'),
  opt('vnc', 'enabled', BOOL, true, 'VNC consoles; with neither VNC nor SPICE a guest has no video device.'),
  opt('oslo_messaging_rabbit', 'amqp_durable_queues', BOOL, false, 'Whether Nova declares its exchanges durable; hwstash must declare them the same way.'),
  opt('oslo_messaging_rabbit', 'ssl', BOOL, false, 'Connect to RabbitMQ over TLS (as ?ssl=1 in the transport_url). hwstash always verifies the broker\'s certificate and host name, and never falls back to plain text.'),
  opt('oslo_messaging_rabbit', 'ssl_version', { kind: 'choice', choices: SSL_VERSIONS, emptyIsNull: true, ignoreCase: true }, '', "TLS version to use (only with TLS): TLSv1_2 or TLSv1_3 pin that version; SSLv23 or empty negotiate the highest both sides speak (at least TLS 1.2). TLSv1 and TLSv1_1 are refused: Node.js's OpenSSL no longer speaks them."),
  opt('oslo_messaging_rabbit', 'ssl_key_file', STRING, '', 'Private key of the client certificate (PEM), for brokers that require one. Its content is never logged.'),
  opt('oslo_messaging_rabbit', 'ssl_cert_file', STRING, '', 'Client certificate (PEM), with ssl_key_file.'),
  opt('oslo_messaging_rabbit', 'ssl_ca_file', STRING, '', "CA certificates (PEM) the broker's certificate must chain to; empty means the system's trusted CAs."),
  opt('oslo_messaging_rabbit', 'heartbeat_timeout_threshold', { kind: 'int', min: 0 }, 60, 'Seconds after which a silent broker connection counts as dead (AMQP heartbeats at half this interval); 0 disables heartbeats.'),
  opt('oslo_messaging_rabbit', 'kombu_failover_strategy', { kind: 'choice', choices: FAILOVER_STRATEGIES }, 'round-robin', 'How the next broker of a multi-host transport_url is chosen when the current one fails: round-robin (in order) or shuffle (random order).'),
  opt('oslo_messaging_rabbit', 'rabbit_retry_interval', { kind: 'int', min: 1 }, 1, 'Seconds to wait before retrying after every broker of transport_url has failed once.'),
  opt('oslo_messaging_rabbit', 'rabbit_retry_backoff', { kind: 'int', min: 0 }, 2, 'Seconds added to that wait after each further failed round.'),
  opt('oslo_messaging_rabbit', 'rabbit_interval_max', { kind: 'int', min: 1 }, 30, 'The longest wait between reconnection rounds, in seconds.'),
  opt('oslo_messaging_rabbit', 'rabbit_quorum_queue', BOOL, false, "Declare hwstash's queue and its dead-letter queue as quorum queues (replicated on the cluster's nodes; survive the loss of a minority). An existing classic queue of the same name is migrated to a quorum queue on start, without losing a message."),
  opt('oslo_messaging_rabbit', 'rabbit_quorum_delivery_limit', { kind: 'int', min: 0 }, 0, 'With quorum queues: deliveries of a message after which the broker drops it (x-delivery-limit); 0 means no limit.'),
  opt('oslo_messaging_rabbit', 'rabbit_quorum_max_memory_length', { kind: 'int', min: 0 }, 0, 'With quorum queues: messages kept in memory (x-max-in-memory-length); 0 means no limit.'),
  opt('oslo_messaging_rabbit', 'rabbit_quorum_max_memory_bytes', { kind: 'int', min: 0 }, 0, 'With quorum queues: bytes of messages kept in memory (x-max-in-memory-bytes); 0 means no limit.'),
  opt('oslo_messaging_notifications', 'driver', { kind: 'multi' }, [], 'Notification drivers; Nova sends versioned notifications on the bus only with messagingv2.'),
  opt('oslo_messaging_notifications', 'transport_url', STRING, '', 'A separate message bus for notifications; empty means [DEFAULT] transport_url. The [oslo_messaging_rabbit] options (TLS, quorum queues, heartbeats, failover, retries) apply to it as they do to Nova.', {
    secret: true,
  }),
  opt('notifications', 'notification_format', { kind: 'choice', choices: NOTIFICATION_FORMATS }, 'unversioned', 'Nova sends versioned notifications only with versioned or both.'),
  opt('notifications', 'versioned_notifications_topics', { kind: 'list' }, ['versioned_notifications'], 'Topics of versioned notifications; the first one names hwstash\'s routing key.'),

  // ---- hwstash's own options ----
  opt('hwstash', 'state_dir', NON_EMPTY, '/var/lib/hwstash', 'Directory for hwstash\'s own state (the embedded defaults\' SQLite database); relative paths are resolved against the working directory.'),
  opt('hwstash', 'osinfo_dir', NON_EMPTY, '/usr/share/osinfo', 'The osinfo-db directory (OSINFO_SYSTEM_DIR in the environment overrides it, as for libosinfo).'),
  opt('hwstash', 'database_connection', STRING, '', "SQLAlchemy URL of Nova's cell database with hwstash's own account (`hwstash db grants` prints its statements); overrides [database] connection when set. A compute host's nova.conf has no [database] connection, so one of the two is required.", { secret: true }),
  opt('hwstash', 'schema', { kind: 'identifier' }, '', "Where hwstash's own tables live, never in Nova's schema (nova-manage db archive_deleted_rows fails on tables it does not know): on MySQL/MariaDB a database of that name on the cell database's server, on PostgreSQL a schema of that name in the cell database. Ignored for SQLite, which keeps them in the same file.", {
    defaultText: '<cell database>_hwstash on MySQL/MariaDB, hwstash on PostgreSQL',
  }),
  opt('hwstash', 'nova_release', { kind: 'choice', choices: ['auto', ...RELEASE_NAMES] }, 'auto', "Whose rules hwstash follows: auto reads the version this host's nova-compute wrote in Nova's services table (no row: the newest release); or a release name."),
  opt('hwstash', 'transport_url', STRING, '', 'Message bus URL; overrides [oslo_messaging_notifications] and [DEFAULT] transport_url when set.', { secret: true }),
  opt('hwstash', 'libvirt_uri', STRING, '', 'Libvirt URI; overrides [libvirt] connection_uri when set.'),
  opt('hwstash', 'host_arch', { kind: 'architecture' }, '', "Host architecture (Nova's names: x86_64, aarch64, ppc64le, s390x …); empty means uname -m."),
  opt('hwstash', 'exchange', STRING, '', 'Exchange to bind to; empty means [DEFAULT] control_exchange (nova).'),
  opt('hwstash', 'routing_key', STRING, '', 'Routing key to bind; empty means the first [notifications] versioned_notifications_topics entry + ".info" (versioned_notifications.info).'),
  opt('hwstash', 'queue', NON_EMPTY, 'hwstash.{host}', "hwstash's own durable queue; {host} is replaced by [DEFAULT] host. Never nova-compute's queues."),
  opt('hwstash', 'dead_letter_queue', NON_EMPTY, 'hwstash.{host}.dead', 'Where messages that cannot be processed go, with the reason; {host} as for queue.'),
  opt('hwstash', 'metrics_address', { kind: 'address' }, '127.0.0.1:9465', 'host:port of the /healthz and /metrics listener; empty disables it.'),
  opt('hwstash', 'start_domains', BOOL, false, 'Build a missing domain at unshelve and start domains after power-on/unshelve rewrites (standalone hosts and demos; with Nova, Nova builds and starts them).'),
  opt('hwstash', 'batch_size', { kind: 'int', min: 1, max: 10000 }, 200, 'Instances per stash transaction.'),
  opt('hwstash', 'prefetch', { kind: 'int', min: 1, max: 1000 }, 32, 'Messages in flight per consumer (AMQP prefetch).'),
  opt('hwstash', 'log_level', { kind: 'choice', choices: LOG_LEVELS }, 'info', 'Log level.'),
  opt('hwstash', 'audit_interval', { kind: 'int', min: 0 }, 300, "Seconds between audits of the host: every instance's image_hw_* rows compared with hwstash's history, and what a stale save of Nova's erased or reverted put back (the audit is a reconcile). 0 disables it; the events and the start-up reconcile still repair."),
  opt('hwstash', 'startup_jitter', { kind: 'int', min: 0, max: 3600 }, 60, "Seconds: the agent's first reconcile waits a random delay below this, so a fleet-wide restart does not send every host's reconcile to the cell database in the same second (npm run bench -- fleet measures it). Events are handled and READY is sent meanwhile; the hwstash-reconcile oneshot, which runs before nova-compute, is not delayed. 0 reconciles at once, before READY."),
  opt('hwstash', 'profile_interval', { kind: 'int', min: 0 }, 300, "Seconds between refreshes of this host's profile in hwstash_hosts (its libvirt and QEMU versions, machine types and device models: what `hwstash fleet hosts`, `move-check` and `what-if` read), which also serve as its heartbeat; a profile older than 3 intervals shows as stale. 0 records it at start only."),
  opt('hwstash', 'shutdown_timeout', { kind: 'int', min: 0 }, 20, 'Seconds a SIGTERM waits for in-flight work before exiting.'),
  opt('hwstash', 'publish_notifications', BOOL, true, "Publish hwstash's own notifications on the exchange."),
];

const BY_ID = new Map(OPTIONS.map((o) => [`${o.section}.${o.name}`, o]));

/** The spec of `[section] name`, or undefined when hwstash does not read that option. */
export function findOption(section: string, name: string): OptionSpec | undefined {
  return BY_ID.get(`${section}.${name}`);
}

/** What a value of this option may be, for "…; allowed: <this>". */
export function allowedText(spec: OptionSpec): string {
  const t = spec.type;
  switch (t.kind) {
    case 'string':
      return t.nonEmpty ? 'any non-empty text' : 'any text';
    case 'bool':
      return [...TRUE_WORDS, ...FALSE_WORDS].join(', ') + ' (any case)';
    case 'int': {
      if (t.min !== undefined && t.max !== undefined) return `an integer from ${t.min} to ${t.max}`;
      if (t.min !== undefined) return `an integer of at least ${t.min}`;
      if (t.max !== undefined) return `an integer of at most ${t.max}`;
      return 'an integer';
    }
    case 'choice':
      return t.choices.join(', ') + (t.ignoreCase ? ' (any case)' : '') + (t.emptyIsNull ? ', or empty for none' : '');
    case 'list':
    case 'multi':
      return 'any text';
    case 'architecture':
      return FIELD_TYPES.Architecture.values!.join(', ') + ', or empty for the machine\'s own (uname -m)';
    case 'address':
      return 'host:port or [IPv6 address]:port with a port from 0 to 65535, or empty to disable';
    case 'hostdomain':
      return 'an IP address or a host name of labels of letters, digits, - and _ (up to 63 each, 253 in all)';
    case 'identifier':
      return 'a name of up to 63 letters, digits and _ that does not start with a digit, or empty for the default';
  }
}

/** Thrown by convertOptionValue; the caller adds where the value came from. */
export class OptionValueError extends Error {
  constructor(readonly spec: OptionSpec) {
    super(`allowed: ${allowedText(spec)}`);
    this.name = 'OptionValueError';
  }
}

const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

/** oslo.config types.HostDomain; returns the name without a trailing dot, or null. */
function hostDomain(value: string): string | null {
  if (isIP(value)) return value;
  if (value.length === 0 || value.length > 253) return null;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  const labels = name.split('.');
  if (!/[A-Za-z-]/.test(labels[labels.length - 1]!)) return null;
  return labels.every((l) => DOMAIN_LABEL.test(l)) ? name : null;
}

/** Safe unquoted in MySQL and PostgreSQL alike; 63 is PostgreSQL's limit (MySQL's is 64). */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const ADDRESS = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/;

/**
 * Convert one raw value (already substituted) the way oslo.config's type would, or throw
 * OptionValueError. Returns undefined for "unset" (an empty integer), which means the default.
 */
export function convertOptionValue(spec: OptionSpec, raw: string): OptionValue | undefined {
  const t = spec.type;
  const refuse = (): never => {
    throw new OptionValueError(spec);
  };
  switch (t.kind) {
    case 'string':
      if (t.nonEmpty && raw === '') refuse();
      return raw;
    case 'bool': {
      const s = raw.toLowerCase();
      if ((TRUE_WORDS as readonly string[]).includes(s)) return true;
      if ((FALSE_WORDS as readonly string[]).includes(s)) return false;
      return refuse();
    }
    case 'int': {
      const s = raw.trim();
      if (s === '') return undefined;
      if (!/^[+-]?\d+$/.test(s)) refuse();
      const n = Number(s);
      if (!Number.isSafeInteger(n)) refuse();
      if (t.min !== undefined && n < t.min) refuse();
      if (t.max !== undefined && n > t.max) refuse();
      return n;
    }
    case 'choice': {
      if (raw === '' && t.emptyIsNull) return null;
      const found = t.ignoreCase ? t.choices.find((c) => c.toLowerCase() === raw.toLowerCase()) : t.choices.find((c) => c === raw);
      return found ?? refuse();
    }
    case 'list': {
      const s = raw.trim().replace(/,+$/, '');
      return s === '' ? [] : s.split(',').map((item) => item.trim());
    }
    case 'multi':
      return [raw];
    case 'architecture':
      if (raw === '') return '';
      try {
        return coerceField(`[${spec.section}] ${spec.name}`, FIELD_TYPES.Architecture, raw);
      } catch {
        return refuse();
      }
    case 'address': {
      if (raw === '') return '';
      const m = ADDRESS.exec(raw);
      if (!m || Number(m[3]) > 65535) refuse();
      return raw;
    }
    case 'hostdomain':
      return hostDomain(raw) ?? refuse();
    case 'identifier':
      return raw === '' || SQL_IDENTIFIER.test(raw) ? raw : refuse();
  }
}

/** The sections hwstash reads, in table order. */
export const OPTION_SECTIONS: readonly string[] = [...new Set(OPTIONS.map((o) => o.section))];
