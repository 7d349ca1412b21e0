/**
 * The validated configuration every part of hwstash reads. Built by `loadSettings` from
 * nova.conf (Nova's own option names and sections) and hwstash.conf (`[hwstash]`), later
 * files overriding earlier ones as oslo.config does.
 */
import type { PointerModelOption, VirtType } from '../core/inputs.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface Settings {
  /** The files read, in order (empty when running on embedded defaults only). */
  files: readonly string[];
  /** True when no file was found and the shipped defaults in config/ are in use. */
  embedded: boolean;

  /** [DEFAULT] host, else the machine's hostname. */
  host: string;
  /** [DEFAULT] transport_url (rabbit://user:pass@h1:5672,user:pass@h2:5672/vhost). */
  transportUrl: string;
  /** [DEFAULT] pointer_model (usbtablet, ps2mouse, or empty = null). */
  pointerModel: PointerModelOption | null;
  /** [DEFAULT] instances_path: instance disks live at <instances_path>/<uuid>/disk. */
  instancesPath: string;
  /** [DEFAULT] instance_name_template: libvirt domain names (instance-%08x of instances.id). */
  instanceNameTemplate: string;

  /**
   * [hwstash] database_connection, else [database] connection, SQLAlchemy form (mysql+pymysql://…,
   * postgresql://…, sqlite:///…); on the embedded defaults an SQLite file in state_dir. Empty when
   * configuration files set neither: use requireDatabaseConnection() before opening it.
   */
  databaseConnection: string;
  /** oslo.db's [database] options, as Nova reads them. */
  database: {
    maxPoolSize: number;
    /** Seconds; 0 = never recycle. */
    connectionRecycleTime: number;
    /** Attempts at agent start-up; -1 = for ever. */
    maxRetries: number;
    /** Seconds (the cap of the back-off). */
    retryInterval: number;
    /** Empty = the server's own. */
    mysqlSqlMode: string;
  };
  /** [hwstash] schema: where hwstash's own tables live; empty = derived from the cell database. */
  ownSchema: string;
  /** [api_database] connection: Nova's API database (RequestSpecs); empty when not configured. */
  apiDatabaseConnection: string;
  /** [hwstash] nova_release: `auto` or a release name (core/releases.ts). */
  novaRelease: string;

  libvirt: {
    /** [libvirt] virt_type */
    virtType: VirtType;
    /** [libvirt] connection_uri; empty means libvirt's default for virt_type (qemu:///system). */
    connectionUri: string;
    /** [libvirt] hw_machine_type, a list of `arch=machine`. */
    hwMachineType: readonly string[];
    /** [libvirt] use_virtio_for_bridges */
    useVirtioForBridges: boolean;
    /** [libvirt] rng_dev_path: the host file behind the virtio RNG. */
    rngDevPath: string;
  };
  spice: { enabled: boolean; agentEnabled: boolean };
  vnc: { enabled: boolean };

  /** [oslo_messaging_rabbit] amqp_durable_queues: the flag Nova declares its exchange with. */
  amqpDurableQueues: boolean;
  /** The rest of [oslo_messaging_rabbit] that hwstash honours, with oslo.messaging's meanings. */
  rabbit: RabbitSettings;
  /** [notifications] notification_format (versioned, unversioned, both). */
  notificationFormat: string;
  /** [oslo_messaging_notifications] driver (list). */
  notificationDrivers: readonly string[];

  hwstash: {
    /** Where hwstash keeps its own state (the embedded SQLite database). */
    stateDir: string;
    /** osinfo-db directory; OSINFO_SYSTEM_DIR in the environment overrides it, as for libosinfo. */
    osinfoDir: string;
    /** Host architecture override (canonical Nova Architecture); empty = uname. */
    hostArch: string;
    exchange: string;
    routingKey: string;
    /** Queue name; `{host}` is replaced by the host name. */
    queue: string;
    /** Dead-letter queue name; `{host}` is replaced by the host name. */
    deadLetterQueue: string;
    /** host:port for /healthz and /metrics; empty disables the listener. */
    metricsAddress: string;
    /** Build a missing domain at unshelve and start domains after power-on/unshelve rewrites (standalone hosts, the demo). */
    startDomains: boolean;
    /** Instances per stash transaction. */
    batchSize: number;
    /** Messages in flight per consumer (AMQP prefetch). */
    prefetch: number;
    logLevel: LogLevel;
    /** Seconds a SIGTERM waits for in-flight work before exiting. */
    shutdownTimeout: number;
    /** [hwstash] startup_jitter: the first reconcile waits a random delay in [0, this) seconds; 0 = none. */
    startupJitter: number;
    /** [hwstash] audit_interval: seconds between audits of the host; 0 = none. */
    auditInterval: number;
    /** [hwstash] profile_interval: seconds between heartbeats of this host's profile; 0 = at start only. */
    profileInterval: number;
    /** Publish hwstash's own notifications on the exchange. */
    publishNotifications: boolean;
  };
}

/** [oslo_messaging_rabbit], as oslo.messaging's rabbit driver reads it. */
export interface RabbitSettings {
  /** ssl: TLS for every host of transport_url (?ssl=1 in the URL does the same). */
  ssl: boolean;
  /** ssl_version: TLSv1_2, TLSv1_3, SSLv23, or '' (negotiate). */
  sslVersion: string;
  sslCaFile: string;
  sslCertFile: string;
  sslKeyFile: string;
  /** heartbeat_timeout_threshold in seconds; 0 disables heartbeats. */
  heartbeatTimeoutThreshold: number;
  /** kombu_failover_strategy */
  failoverStrategy: 'round-robin' | 'shuffle';
  /** rabbit_retry_interval, rabbit_retry_backoff, rabbit_interval_max (seconds). */
  retryInterval: number;
  retryBackoff: number;
  intervalMax: number;
  /** rabbit_quorum_queue and its limits (0 = none). */
  quorumQueue: boolean;
  quorumDeliveryLimit: number;
  quorumMaxMemoryLength: number;
  quorumMaxMemoryBytes: number;
}
