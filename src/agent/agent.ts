/**
 * The agent's lifecycle: parts start in order (database, libvirt, the `prepare` hook where the
 * demo seeds, health, bus), the host is reconciled (the restart hook), then events are consumed;
 * on stop, in-flight work drains within a bounded time and the parts close in reverse order.
 *
 * With [hwstash] startup_jitter, the first reconcile instead waits a random delay while events
 * are consumed and READY is sent: a fleet-wide restart would otherwise send every host's
 * reconcile to the one cell database at once. The delay is safe to take because the
 * hwstash-reconcile oneshot has already stashed the host before nova-compute started, and every
 * event's stash takes the same locks as the reconcile's.
 */
import { readRememberedRelease, rememberRelease } from './release-memory.js';
import { chooseRelease, type NovaRelease } from '../core/releases.js';
import type { Logger } from 'pino';
import { ConnectionManager, rabbitConnectionOptions } from '../bus/connection.js';
import type { ConnectedEvent } from '../bus/connection.js';
import { parseTransportUrl } from '../bus/transport-url.js';
import { NotificationConsumer, consumerSettings } from '../bus/consumer.js';
import { NotificationPublisher } from '../bus/publisher.js';
import { settlesWithin, sleep } from '../bus/wait.js';
import type { HostProfile, OsInfoLookup } from '../core/inputs.js';
import { redactUrl } from '../config/redact.js';
import type { Settings } from '../config/settings.js';
import { Hypervisor } from '../hypervisor/index.js';
import { MissingTableError, Store } from '../store/index.js';
import { openRetrying } from '../store/open-retrying.js';
import { DatabaseGate } from './database-gate.js';
import { DomainSync } from './domain-sync.js';
import type { FleetProfiles } from './fleet.js';
import { EventHandlers } from './handlers.js';
import { HealthServer } from './health.js';
import { AgentMetrics, eventTypeLabel } from './metrics.js';
import { reconcileHost, type ReconcileSummary } from './reconcile.js';
import { Systemd } from './systemd.js';
import { reportRepairs } from './repairs.js';
import { databaseOpenOptions, openDatabase, type Database } from '../store/database.js';
import { requireDatabaseConnection } from '../config/database-required.js';
import { requestSpecImageProperties } from '../store/request-spec.js';

export interface AgentOptions {
  settings: Settings;
  profile: HostProfile;
  osinfo: OsInfoLookup | null;
  logger: Logger;
  /** Runs after the database is open and before the start-up reconcile (the demo seeds here). */
  prepare?: (store: Store, hypervisor: Hypervisor | null) => Promise<void>;
  systemd?: Systemd;
  /** Override [hwstash] metrics_address (tests use port 0). */
  metricsAddress?: string;
  /** How often an idle agent checks that its database answers, for /healthz (default 5 s). */
  databaseProbeMs?: number;
  /** How often an unreachable libvirt is tried again (default 10 s). */
  libvirtRetryMs?: number;
  /** A number in [0, 1) that picks the start-up delay (default Math.random): tests pin it. */
  random?: () => number;
}

/** The first reconcile's delay: uniform in [0, jitter seconds); 0 when the jitter is off. */
export function startupDelayMs(jitterSeconds: number, random: () => number = Math.random): number {
  if (jitterSeconds <= 0) return 0;
  // Clamped: a random() of exactly 1 (or a bad injected one) must not reach or pass the window.
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(r * jitterSeconds * 1000);
}

export class Agent {
  readonly metrics = new AgentMetrics();
  private store: Store | null = null;
  private hypervisor: Hypervisor | null = null;
  private domainSync: DomainSync | null = null;
  private connection: ConnectionManager | null = null;
  private consumer: NotificationConsumer | null = null;
  private publisher: NotificationPublisher | null = null;
  private health: HealthServer | null = null;
  private gate: DatabaseGate | null = null;
  private readonly stopCtl = new AbortController();
  private reconciled = false;
  /** READY=1 sent: systemd's start timeout no longer applies. */
  private readySent = false;
  /** The first reconcile, when the start-up jitter delays it past start(). */
  private firstReconcile: Promise<void> | null = null;
  /** The host profile with the Nova release chosen at start. */
  private profile: HostProfile;
  private release: NovaRelease | null = null;
  /** A release change found at start, announced once the bus is up. */
  private releaseChange: { old_release: string; new_release: string; services_version: number | null } | null = null;
  private reconciling: Promise<ReconcileSummary> | null = null;
  /** A reconcile left instances unstashed because libvirt was unreachable: redo it once it is back. */
  private reconcileMissedLibvirt = false;
  private libvirtRetry: NodeJS.Timeout | undefined;
  private databaseProbe: NodeJS.Timeout | undefined;
  private audit: NodeJS.Timeout | undefined;
  private profileTimer: NodeJS.Timeout | undefined;
  private profiling: Promise<void> | null = null;
  private fleetProfiles: FleetProfiles | null = null;
  private apiDb: Promise<Database> | undefined;
  private readonly systemd: Systemd;
  readonly log: Logger;
  /** Where /healthz and /metrics listen, once started. */
  metricsUrl: string | null = null;

  constructor(private readonly opts: AgentOptions) {
    this.systemd = opts.systemd ?? new Systemd();
    this.profile = opts.profile;
    this.log = opts.logger.child({ host: opts.settings.host });
  }

  get settings(): Settings {
    return this.opts.settings;
  }

  /** The open store (after start). */
  get db(): Store {
    if (!this.store) throw new Error('agent not started');
    return this.store;
  }

  async start(): Promise<void> {
    const { settings } = this.opts;
    const signal = this.stopCtl.signal;
    this.log.info({ files: settings.files, embedded: settings.embedded }, 'hwstash agent starting');

    this.store = await this.openStore(signal);
    this.gate = new DatabaseGate({
      // One SELECT 1: the probe runs every few seconds, often against Nova's shared cell database.
      ping: () => this.db.ping(),
      logger: this.log,
      onChange: (up) => this.metrics.databaseConnected.set(up ? 1 : 0),
    });
    this.metrics.databaseConnected.set(1);
    // Moving tables out of Nova's schema is an operator's decision (it needs rights on Nova's
    // schema that the agent's account should not have), never done behind their back.
    const misplaced = await this.gate.run(() => this.db.misplacedTables(), signal);
    if (misplaced.length > 0) {
      throw new Error(
        `hwstash table(s) ${misplaced.join(', ')} are still in Nova's schema, where they make nova-manage db archive_deleted_rows fail; ` +
          `run \`hwstash db migrate\` once (with an account that may rename them) to move them to ${this.db.ownLocation}`,
      );
    }
    const migrated = await this.gate.run(() => this.db.migrate(), signal);
    // Checked before READY: the first reconcile, which would otherwise be the one to find them
    // missing, may come a startup_jitter later, with the agent reported healthy meanwhile.
    const [missingNova] = await this.gate.run(() => this.db.missingNovaTables(), signal);
    if (missingNova !== undefined) throw new MissingTableError(missingNova, this.db.where);
    await this.chooseRelease(signal);
    if (migrated.applied.length || migrated.createdSchema) {
      this.log.info({ applied: migrated.applied, location: migrated.location }, 'hwstash tables migrated');
    }
    this.startDatabaseProbe();

    await this.openHypervisor();
    await this.opts.prepare?.(this.db, this.hypervisor);

    const address = this.opts.metricsAddress ?? settings.hwstash.metricsAddress;
    if (address) {
      this.health = new HealthServer(this.metrics, () => ({
        database: this.gate?.up ?? false,
        // Consuming, not merely connected: a queue that cannot be set up receives nothing.
        bus: this.consumer?.consuming ?? false,
        libvirt: this.hypervisor !== null,
        reconciled: this.reconciled,
        nova_release: this.release?.name ?? null,
      }));
      const bound = await this.health.listen(address);
      this.metricsUrl = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
      this.log.info({ url: this.metricsUrl }, 'health and metrics listening');
    }

    this.startBus();
    const delayMs = startupDelayMs(settings.hwstash.startupJitter, this.opts.random);
    if (delayMs > 0) {
      // READY is not held for the delay: systemd's start timeout and nova-compute's restart must
      // not wait on a sleep. Events are handled meanwhile; the first reconcile comes after.
      this.consumer?.start();
      this.sendReady();
      this.firstReconcile = this.reconcileAfterDelay(delayMs);
      return;
    }
    this.systemd.status('reconciling this host');
    try {
      await this.reconcile('agent start');
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    this.reconciled = true;
    this.consumer?.start();
    this.startPeriodicWork();
    this.sendReady();
  }

  private sendReady(): void {
    this.readySent = true;
    this.systemd.ready(`consuming Nova notifications for ${this.opts.settings.host}`);
    this.log.info('hwstash agent ready');
  }

  /**
   * The jittered first reconcile. It cannot fail the start any more (READY is sent), so a
   * failure is logged and left to the periodic audit, which is a reconcile too.
   */
  private async reconcileAfterDelay(delayMs: number): Promise<void> {
    const signal = this.stopCtl.signal;
    this.log.info({ delay_ms: delayMs, startup_jitter: this.opts.settings.hwstash.startupJitter }, 'first reconcile delayed by [hwstash] startup_jitter');
    this.systemd.status(`consuming Nova notifications for ${this.opts.settings.host}; first reconcile in ${Math.ceil(delayMs / 1000)} s`);
    if (!(await sleep(delayMs, signal))) return;
    try {
      await this.reconcile('agent start');
      this.reconciled = true;
    } catch (err) {
      if (signal.aborted) return;
      this.log.error({ reason: (err as Error).message }, 'first reconcile failed; the periodic audit retries');
    }
    if (signal.aborted) return;
    this.startPeriodicWork();
    this.systemd.status(`consuming Nova notifications for ${this.opts.settings.host}`);
  }

  /** Settles once the first reconcile has run (at once when it ran inside start()). */
  async firstReconcileDone(): Promise<void> {
    await this.firstReconcile;
  }

  /** Whose rules apply: [hwstash] nova_release, or (auto) what this host's nova-compute row says. */
  private async chooseRelease(signal: AbortSignal): Promise<void> {
    const { settings } = this.opts;
    const version = settings.novaRelease === 'auto' ? await this.gate!.run(() => this.db.novaComputeVersion(settings.host), signal) : null;
    const choice = chooseRelease(settings.novaRelease, version);
    this.release = choice.release;
    this.profile = { ...this.opts.profile, release: choice.release };
    this.metrics.novaRelease.set({ release: choice.release.name }, 1);
    this.log.info(
      { nova_release: choice.release.name, source: choice.source, services_version: version, ...(choice.note ? { note: choice.note } : {}) },
      `following the rules of Nova ${choice.release.name} (${choice.release.codename})`,
    );
    const stateDir = settings.hwstash.stateDir;
    const before = readRememberedRelease(stateDir);
    if (before && before.nova_release !== choice.release.name) {
      this.releaseChange = { old_release: before.nova_release, new_release: choice.release.name, services_version: version };
      this.log.warn({ ...this.releaseChange, host: settings.host }, `Nova's release changed since the last start: ${before.nova_release} → ${choice.release.name}`);
    }
    if (!rememberRelease(stateDir, choice.release.name, version)) this.log.debug({ state_dir: stateDir }, 'cannot remember the Nova release: state directory not writable');
  }

  /**
   * hwstash.release.update, once consuming (Nova's exchange is there then); best-effort like every
   * notification of hwstash's, tried again at the next re-bind until one is confirmed.
   */
  private announceReleaseChange(): void {
    const change = this.releaseChange;
    const publisher = this.publisher;
    if (!change || !publisher) return;
    publisher
      .publishEvent({ eventType: 'hwstash.release.update', payloadName: 'HwstashReleasePayload', data: { host: this.opts.settings.host, ...change } })
      .then(
        () => {
          if (this.releaseChange === change) this.releaseChange = null;
        },
        (err: Error) => this.log.warn({ err: err.message, event_type: 'hwstash.release.update' }, 'could not publish notification'),
      );
  }

  /**
   * The periodic audit: a reconcile, which compares every instance's rows with the history and
   * puts back what a stale save of Nova's erased or reverted (store/repair-plan.ts).
   */
  private startAudit(): void {
    const seconds = this.opts.settings.hwstash.auditInterval;
    if (seconds <= 0) return;
    this.audit = setInterval(() => {
      if (this.stopCtl.signal.aborted) return;
      this.reconcile('periodic audit').catch((err: Error) => this.log.warn({ err: err.message }, 'periodic audit failed; the next one retries'));
    }, seconds * 1000);
    this.audit.unref();
  }

  /**
   * This host's profile in hwstash_hosts: recorded once the host is reconciled (its instances'
   * stashes are then what the stranded gauge counts), then every profile_interval as a heartbeat.
   * A failure is logged and retried at the next beat; it never stops the agent.
   */
  /** What follows the first reconcile, whether it ran before READY or after the jitter. */
  private startPeriodicWork(): void {
    this.startAudit();
    this.startProfileHeartbeat();
  }

  private startProfileHeartbeat(): void {
    const beat = (why: string) => {
      if (this.stopCtl.signal.aborted || this.profiling) return;
      this.profiling = this.recordProfile(why)
        .catch((err: Error) => this.log.warn({ err: err.message }, 'recording the host profile failed; the next heartbeat retries'))
        .finally(() => (this.profiling = null));
    };
    beat('agent start');
    const seconds = this.opts.settings.hwstash.profileInterval;
    if (seconds <= 0) return;
    this.profileTimer = setInterval(() => beat('heartbeat'), seconds * 1000);
    this.profileTimer.unref();
  }

  /** Collect this host's profile from libvirt, record it, and recount the stranded instances. */
  async recordProfile(why = 'requested'): Promise<void> {
    const hv = this.hypervisor;
    if (!hv) return;
    const { collectProfile, strandedCount, FleetProfiles } = await import('./fleet.js');
    this.fleetProfiles ??= new FleetProfiles();
    const { settings } = this.opts;
    const profile = await collectProfile(hv, {
      host: settings.host,
      arch: this.profile.arch,
      virtType: this.profile.virtType,
      novaRelease: this.release?.name ?? null,
    });
    const result = await this.db.recordHostProfile(profile);
    this.metrics.profileRecorded.set(Date.now() / 1000);
    if (result.outcome !== 'heartbeat') {
      this.log.info(
        { why, outcome: result.outcome, libvirt: profile.libvirtVersion, qemu: profile.qemuVersion, machine_types: profile.machines.length, families: profile.families.map((f) => f.machine) },
        'host profile recorded',
      );
    }
    const profiles = await this.fleetProfiles.current(this.db);
    this.metrics.stranded.set(await strandedCount(this.db, profiles, settings.host, this.profile.arch, new Date(), settings.hwstash.profileInterval));
  }

  /** RequestSpecs tell nova-manage's set from a stale save; read only when an API database is configured. */
  private requestSpecReader(): ((uuid: string) => Promise<Readonly<Record<string, string>> | null>) | undefined {
    const url = this.opts.settings.apiDatabaseConnection;
    if (!url) return undefined;
    return async (uuid) => {
      this.apiDb ??= openDatabase(url, { logger: this.log });
      return requestSpecImageProperties(await this.apiDb, uuid);
    };
  }

  private startDatabaseProbe(): void {
    const every = this.opts.databaseProbeMs ?? 5000;
    let running = false;
    this.databaseProbe = setInterval(() => {
      if (running || this.stopCtl.signal.aborted) return;
      running = true;
      void this.gate!.probe(Math.max(1000, every)).finally(() => (running = false));
    }, every);
    this.databaseProbe.unref();
  }

  private async openStore(signal: AbortSignal): Promise<Store> {
    const { settings } = this.opts;
    const url = requireDatabaseConnection(settings);
    const { maxRetries, retryInterval } = settings.database;
    const { opened } = await openRetrying(() => Store.open(url, { logger: this.log, ownSchema: settings.ownSchema, ...databaseOpenOptions(settings.database) }), {
      maxRetries,
      retryInterval,
      signal,
      onRetry: (err, delayMs) => {
        this.metrics.databaseConnected.set(0);
        this.log.error({ reason: err.message, retry_in_ms: delayMs }, 'database unreachable at start; retrying');
        this.systemd.status(`waiting for the database: ${err.message}`);
      },
    });
    return opened;
  }

  private async openHypervisor(): Promise<void> {
    const { settings } = this.opts;
    const uri = redactUrl(settings.libvirt.connectionUri);
    try {
      this.hypervisor = await Hypervisor.open(settings.libvirt.connectionUri, { logger: this.log });
      this.domainSync = new DomainSync({
        store: this.db,
        hypervisor: this.hypervisor,
        profile: this.profile,
        logger: this.log,
        instancesPath: settings.instancesPath,
        instanceNameTemplate: settings.instanceNameTemplate,
        rngDevPath: settings.libvirt.rngDevPath,
      });
      this.log.info({ uri }, 'libvirt connected');
      if (this.reconcileMissedLibvirt) this.reconcileAfterLibvirt();
    } catch (err) {
      const retryMs = this.opts.libvirtRetryMs ?? 10_000;
      this.log.error({ uri, reason: (err as Error).message, retry_in_ms: retryMs }, 'libvirt unreachable; retrying (stashing waits for it)');
      this.libvirtRetry = setTimeout(() => {
        if (!this.stopCtl.signal.aborted) void this.openHypervisor();
      }, retryMs);
      this.libvirtRetry.unref();
    }
  }

  /**
   * A reconcile without libvirt leaves every instance it could not read unstashed (stashing
   * today's defaults over what the guests run would be worse), and nothing else would come back
   * for them: reconcile again now that the domains can be read, after the one running, if any.
   */
  private reconcileAfterLibvirt(): void {
    this.reconcileMissedLibvirt = false;
    void (async () => {
      await this.reconciling?.catch(() => undefined);
      if (this.stopCtl.signal.aborted) return;
      await this.reconcile('libvirt reachable again: instances left unstashed without it');
    })().catch((err: Error) => {
      if (!this.stopCtl.signal.aborted) this.log.error({ reason: err.message }, 'reconcile after libvirt came back failed');
    });
  }

  private startBus(): void {
    const { settings } = this.opts;
    const connection = ConnectionManager.fromTransportUrl(settings.transportUrl, {
      connectionName: `hwstash-agent@${settings.host}`,
      ...rabbitConnectionOptions(settings.rabbit),
    });
    this.connection = connection;
    connection.on('connected', (e: ConnectedEvent) => {
      this.metrics.busConnected.set(1);
      this.metrics.busNode.reset();
      this.metrics.busNode.set({ endpoint: e.endpoint, cluster_name: e.broker.clusterName, version: e.broker.version }, 1);
      this.log.info(
        { endpoint: e.endpoint, cluster_name: e.broker.clusterName, broker_version: e.broker.version, tls: e.endpoint.startsWith('amqps:') },
        'RabbitMQ connected',
      );
    });
    connection.on('disconnected', (e: { reason?: string }) => {
      this.metrics.busConnected.set(0);
      this.metrics.busNode.reset();
      this.log.warn({ reason: e?.reason, transport_url: redactUrl(settings.transportUrl) }, 'RabbitMQ unreachable; retrying with backoff');
    });
    this.metrics.busConnected.set(0);
    connection.start();

    if (settings.hwstash.publishNotifications) {
      this.publisher = new NotificationPublisher({
        connection,
        host: settings.host,
        exchange: settings.hwstash.exchange,
        exchangeDurable: settings.amqpDurableQueues,
        routingKey: settings.hwstash.routingKey,
      });
    }
    const handlers = new EventHandlers({
      host: settings.host,
      store: this.db,
      profile: this.profile,
      osinfo: this.opts.osinfo,
      domains: () => this.domainSync,
      gate: this.gate!,
      metrics: this.metrics,
      logger: this.log,
      publisher: this.publisher,
      startDomains: settings.hwstash.startDomains,
      reconcileHost: (reason) => this.reconcile(reason),
      actor: `hwstash-agent@${settings.host}`,
      batchSize: settings.hwstash.batchSize,
      requestSpecOf: this.requestSpecReader(),
    });
    this.consumer = new NotificationConsumer({
      connection,
      handler: handlers.handle,
      host: settings.host,
      ...consumerSettings(settings),
      vhost: parseTransportUrl(settings.transportUrl)[0]?.vhost ?? '/',
    });
    this.consumer.on('queue-notice', (n: { level: 'info' | 'warn'; message: string }) => {
      if (n.level === 'warn') this.log.warn({ queue: settings.hwstash.queue }, n.message);
      else this.log.info({ queue: settings.hwstash.queue }, n.message);
    });
    this.consumer.on('dead-lettered', (e: { eventType: string | null; reason: string; messageId: string | null; instanceUuid: string | null; attempts: number }) => {
      this.metrics.events.inc({ event_type: eventTypeLabel(e.eventType), outcome: 'dead_lettered' });
      this.log.error(
        { event_type: e.eventType, message_id: e.messageId, ...(e.instanceUuid ? { instance_uuid: e.instanceUuid } : {}), attempts: e.attempts, reason: e.reason },
        'event dead-lettered',
      );
    });
    this.consumer.on('retried', (e: { eventType: string; reason: string; attempt: number }) => {
      this.metrics.events.inc({ event_type: eventTypeLabel(e.eventType), outcome: 'retried' });
    });
    this.consumer.on('setup-failed', (e: { reason: string }) => this.log.error({ reason: e.reason }, 'could not set up the queue; retrying'));
    let readies = 0;
    this.consumer.on('ready', (e: { queue: string }) => {
      this.log.info({ queue: e.queue }, 'consuming');
      this.announceReleaseChange();
      readies += 1;
      // Nova's exchange is not durable: a broker restart takes it and the queue's binding with
      // it, and whatever Nova publishes before this agent has bound again is dropped by the
      // broker. Reconciling after each re-bind stashes what those events would have stashed.
      if (readies > 1 && this.reconciled && !this.stopCtl.signal.aborted) {
        this.reconcile('bus reconnected: events sent while the binding was gone are lost').catch((err: Error) => {
          if (!this.stopCtl.signal.aborted) this.log.error({ reason: err.message }, 'reconcile after reconnect failed');
        });
      }
    });
  }

  /**
   * One host reconcile at a time; a second request joins the one running. It runs on the agent's
   * lifetime, never on the caller's: an event's delivery ending (its channel closed) must not cut
   * short the reconcile that start-up or a re-bind also waits for.
   */
  reconcile(reason: string): Promise<ReconcileSummary> {
    this.reconciling ??= this.runReconcile(reason).finally(() => {
      this.reconciling = null;
    });
    return this.reconciling;
  }

  private async runReconcile(reason: string): Promise<ReconcileSummary> {
    const { settings } = this.opts;
    const signal = this.stopCtl.signal;
    const end = this.metrics.reconcileDuration.startTimer();
    this.log.info({ reason }, 'reconciling this host');
    const summary = await this.gate!.run(
      () =>
        reconcileHost({
          store: this.db,
          host: settings.host,
          profile: this.profile,
          osinfo: this.opts.osinfo,
          // Without libvirt the stash would record today's defaults over what each guest really
          // uses: unreadable domains leave their instances unstashed (reported) instead.
          domainFacts: async (uuid) => {
            if (!this.domainSync) {
              this.reconcileMissedLibvirt = true;
              throw new Error(`libvirt at ${redactUrl(settings.libvirt.connectionUri)} is unreachable`);
            }
            return this.domainSync.facts(uuid);
          },
          batchSize: settings.hwstash.batchSize,
          actor: `hwstash-agent@${settings.host}`,
          requestSpecOf: this.requestSpecReader(),
          logger: this.log,
          signal,
          // Before READY=1 there are no watchdog pings: keep systemd's start timeout ahead of
          // the first reconcile of a large host while it makes progress.
          onProgress: (p) => {
            if (this.reconciled || this.readySent) return;
            this.systemd.extendStartTimeout(120);
            this.systemd.status(`reconciling this host: ${p.done}/${p.total} instances`);
          },
        }),
      signal,
    );
    end();
    for (const [source, n] of Object.entries(summary.stashedBySource)) this.metrics.stashed.inc({ source }, n ?? 0);
    for (const r of summary.repairs) {
      const notice = reportRepairs(this.metrics, this.log, settings.host, r.instanceUuid, r.restored, r.adopted);
      if (notice && this.publisher) {
        this.publisher
          .publishEvent(notice)
          .catch((err: Error) => this.log.warn({ err: err.message, event_type: notice.eventType }, 'could not publish notification'));
      }
    }
    for (const [property, codes] of Object.entries(summary.errorsByProperty)) {
      for (const [code, n] of Object.entries(codes)) this.metrics.resolveErrors.inc({ property, code }, n);
    }
    this.log.info(
      {
        reason,
        instances_seen: summary.instancesSeen,
        instances_stashed: summary.instancesStashed,
        properties_stashed: summary.propertiesStashed,
        properties_restored: summary.propertiesRestored,
        properties_adopted: summary.propertiesAdopted,
        by_source: summary.stashedBySource,
        errors: summary.errorsByProperty,
        duration_ms: summary.durationMs,
        interrupted: summary.interrupted,
      },
      'reconcile done',
    );
    return summary;
  }

  /**
   * Stop: no new deliveries, in-flight handlers get up to `shutdown_timeout` to commit, then
   * everything closes. Unfinished messages stay unacked and are redelivered to the next agent.
   */
  async stop(reason = 'stop requested'): Promise<{ drained: boolean }> {
    if (this.stopCtl.signal.aborted) return { drained: true };
    const timeoutMs = this.opts.settings.hwstash.shutdownTimeout * 1000;
    this.log.info({ reason, timeout_ms: timeoutMs }, 'hwstash agent stopping');
    this.systemd.stopping(`stopping: ${reason}`);
    if (this.libvirtRetry) clearTimeout(this.libvirtRetry);
    if (this.databaseProbe) clearInterval(this.databaseProbe);
    if (this.audit) clearInterval(this.audit);
    if (this.profileTimer) clearInterval(this.profileTimer);
    let drained = true;
    if (this.consumer) {
      const r = await this.consumer.stop(timeoutMs);
      drained = r.drained;
      if (!drained) this.log.warn({ unfinished: r.unfinished }, 'stopped with events unfinished; the broker will redeliver them');
    }
    this.stopCtl.abort();
    // Each part gets a bounded time to close: a statement stuck past the drain (a handler
    // waiting on a row lock) would otherwise hold the pool's close, and the process, forever.
    // Its transaction is rolled back by the server when the process exits.
    const closing: Array<[string, () => Promise<unknown> | undefined]> = [
      ['reconcile', () => this.reconciling ?? this.firstReconcile ?? undefined],
      ['host profile', () => this.profiling ?? undefined],
      ['publisher', () => this.publisher?.close()],
      ['bus', () => this.connection?.close(2000)],
      ['health', () => this.health?.close()],
      ['libvirt', () => this.hypervisor?.close()],
      ['database', () => this.store?.close()],
      ['api database', () => this.apiDb?.then((db) => db.close())],
    ];
    for (const [part, close] of closing) {
      const work = close();
      if (work && !(await settlesWithin(work, 3000))) this.log.warn({ part }, 'did not close in time; leaving it to the exit');
    }
    this.log.info({ drained }, 'hwstash agent stopped');
    return { drained };
  }
}
