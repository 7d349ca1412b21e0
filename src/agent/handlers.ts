/**
 * What the agent does for each event of the event table. Every handler resolves only once its
 * effect is committed (database row, domain definition), so the consumer can ack after it.
 */
import type { Logger } from 'pino';
import type { DeliveryContext, HandlerOutcome } from '../bus/consumer.js';
import type { Notification } from '../bus/envelope.js';
import { AbandonError, PermanentError, TransientError } from '../bus/errors.js';
import type { NotificationPublisher } from '../bus/publisher.js';
import { reportRepairs } from './repairs.js';
import type { HostProfile, OsInfoLookup } from '../core/inputs.js';
import { isHypervisorError } from '../hypervisor/index.js';
import type { InstanceStashReport, Store } from '../store/index.js';
import type { DatabaseGate } from './database-gate.js';
import { InstanceGoneError, type DomainSync, type FollowResult, type VerifyResult } from './domain-sync.js';
import { decide, type Action, type EventRule } from './events.js';
import { eventTypeLabel, type AgentMetrics } from './metrics.js';
import type { ReconcileSummary } from './reconcile.js';
import { StashBatcher } from './stash-batcher.js';

export interface HandlerDeps {
  host: string;
  store: Store;
  profile: HostProfile;
  osinfo: OsInfoLookup | null;
  /** null while libvirt is unreachable: stash, follow and verify fail (retried) until it is back. */
  domains: () => DomainSync | null;
  gate: DatabaseGate;
  metrics: AgentMetrics;
  logger: Logger;
  publisher: NotificationPublisher | null;
  /** Start the domain after following the stash (standalone hosts, the demo). */
  startDomains: boolean;
  /**
   * The host-wide reconcile, shared with start-up and the other callers: it runs on the agent's
   * lifetime, not on any one delivery, and waits out database outages itself.
   */
  reconcileHost: (reason: string) => Promise<ReconcileSummary>;
  actor: string;
  /** Instances per stash transaction ([hwstash] batch_size); events in flight together share one. */
  batchSize?: number;
  /** The image properties of an instance's RequestSpec (Nova's API database), when configured. */
  requestSpecOf?: (uuid: string) => Promise<Readonly<Record<string, string>> | null>;
}

export class EventHandlers {
  private readonly batcher: StashBatcher;

  constructor(private readonly deps: HandlerDeps) {
    this.batcher = new StashBatcher(async (batch) => {
      const report = await deps.store.stash(
        batch.map((b) => b.uuid),
        {
          profile: deps.profile,
          osinfo: deps.osinfo,
          domains: new Map(batch.map((b) => [b.uuid, b.facts])),
          reasons: new Map(batch.filter((b) => b.reason !== undefined).map((b) => [b.uuid, b.reason!])),
          host: deps.host,
          actor: deps.actor,
          requestSpecOf: deps.requestSpecOf,
        },
      );
      return new Map(report.instances.map((i) => [i.uuid, i]));
    }, deps.batchSize ?? 200);
  }

  /** The consumer's handler. */
  readonly handle = async (n: Notification, ctx: DeliveryContext): Promise<HandlerOutcome> => {
    const d = decide(n, this.deps.host);
    if (!d.act) {
      this.deps.metrics.events.inc({ event_type: eventTypeLabel(n.eventType), outcome: 'skipped' });
      return 'skipped';
    }
    const log = this.deps.logger.child({
      event_type: n.eventType,
      message_id: n.messageId,
      ...(d.instanceUuid ? { instance_uuid: d.instanceUuid } : {}),
    });
    log.info({ attempt: ctx.attempt, actions: d.rule.actions }, 'handling event');
    try {
      for (const action of d.rule.actions) await this.run(action, d.rule, d.instanceUuid, n, ctx.signal, log);
    } catch (err) {
      log.warn({ err: String((err as Error).message ?? err), attempt: ctx.attempt }, 'event failed');
      throw err;
    }
    this.deps.metrics.events.inc({ event_type: n.eventType, outcome: 'done' });
    return 'done';
  };

  private async run(action: Action, rule: EventRule, uuid: string | null, n: Notification, signal: AbortSignal, log: Logger): Promise<void> {
    const { gate } = this.deps;
    if (action === 'reconcile-host') {
      const summary = await abandonOnAbort(this.deps.reconcileHost(`${n.eventType} of nova-compute`), signal);
      // Stopped between batches: part of the host is not reconciled, so the event is not done.
      if (summary.interrupted) throw new AbandonError('the host reconcile was interrupted by a stop');
      return;
    }
    if (uuid === null) throw new PermanentError(`${n.eventType}: no instance uuid`);
    switch (action) {
      case 'stash':
        await gate.run(() => this.stash(uuid, log, rule.stashReason), signal);
        return;
      case 'follow':
        await gate.run(() => this.follow(uuid, n, log), signal);
        return;
      case 'verify':
        await gate.run(() => this.verify(uuid, log), signal);
        return;
    }
  }

  async stash(uuid: string, log: Logger, reason?: string): Promise<InstanceStashReport | null> {
    const domains = this.deps.domains();
    // Without the domain, a stash would record today's defaults instead of what the guest uses:
    // better to retry (then dead-letter with the reason) than to stash the wrong hardware.
    if (!domains) throw new TransientError('libvirt is unreachable');
    let facts;
    try {
      facts = await domains.facts(uuid);
    } catch (err) {
      if (!isHypervisorError(err)) throw err;
      throw new TransientError(`libvirt: ${(err as Error).message}`);
    }
    const inst = await this.batcher.stash({ uuid, facts, ...(reason ? { reason } : {}) });
    if (inst?.status === 'deferred') {
      // Nova holds the instance for its operation and will save its whole system_metadata: a
      // stash now would be erased or reverted. The operation's .end event stashes it.
      log.info({ task_state: inst.task }, "stash deferred: a Nova operation is in progress; its .end event stashes it");
      return inst;
    }
    if (!inst || inst.status === 'skipped') {
      // Not a live instance of this host. Unknown (retried, then dead-lettered), or moved to
      // another host or deleted since (nothing to do here).
      if (!(await this.deps.store.instance(uuid))) throw instanceMissing(uuid);
      return inst;
    }
    this.count(inst);
    const repaired = reportRepairs(this.deps.metrics, log, this.deps.host, uuid, inst.restored, inst.adopted);
    if (repaired) await this.notify(repaired.eventType, repaired.payloadName, repaired.data, log);
    const stashed = Object.keys(inst.toStash);
    if (stashed.length) {
      log.info({ stashed: inst.toStash, errors: inst.errors }, 'stashed');
      await this.notify('hwstash.stash.end', 'HwstashStashPayload', {
        instance_uuid: uuid,
        host: this.deps.host,
        stashed: inst.toStash,
        errors: inst.errors,
      }, log);
    } else if (Object.keys(inst.errors).length) {
      log.warn({ errors: inst.errors }, 'properties left unstashed');
    }
    for (const bad of inst.badStoredValues) log.warn({ key: bad.key, value: bad.value, reason: bad.message }, 'stored value Nova cannot load');
    return inst;
  }

  private count(inst: InstanceStashReport): void {
    for (const v of Object.values(inst.toStash)) this.deps.metrics.stashed.inc({ source: v.source });
    for (const [property, e] of Object.entries(inst.errors)) this.deps.metrics.resolveErrors.inc({ property, code: e.code });
  }

  async follow(uuid: string, n: Notification, log: Logger): Promise<FollowResult | null> {
    const domains = this.deps.domains();
    if (!domains) throw new TransientError('libvirt is unreachable');
    // An offloaded instance that lands here may have no definition yet on a standalone host.
    const build = this.deps.startDomains && n.eventType === 'instance.unshelve.end';
    try {
      const result = await domains.follow(uuid, { build, start: this.deps.startDomains });
      this.deps.metrics.domainsRedefined.inc({ outcome: result.outcome });
      if (result.notChecked.length) log.info({ not_checked: result.notChecked }, 'capabilities did not cover every device');
      if (result.outcome === 'redefined' || result.outcome === 'built') {
        await this.notify('hwstash.domain.update', 'HwstashDomainPayload', {
          instance_uuid: uuid,
          host: this.deps.host,
          outcome: result.outcome,
          changes: result.changes,
        }, log);
      }
      return result;
    } catch (err) {
      if (err instanceof InstanceGoneError) throw instanceMissing(uuid, err);
      if ((err as { permanent?: boolean }).permanent) this.deps.metrics.domainsRedefined.inc({ outcome: 'refused' });
      if (isHypervisorError(err, 'connection')) throw new TransientError(`libvirt: ${(err as Error).message}`);
      throw err;
    }
  }

  async verify(uuid: string, log: Logger): Promise<VerifyResult | null> {
    const domains = this.deps.domains();
    if (!domains) throw new TransientError('libvirt is unreachable');
    let result: VerifyResult;
    try {
      result = await domains.verify(uuid);
    } catch (err) {
      if (err instanceof InstanceGoneError) throw instanceMissing(uuid, err);
      throw err;
    }
    if (result.drift.length) {
      for (const d of result.drift) this.deps.metrics.drift.inc({ property: d.property });
      log.warn({ drift: result.drift, compared: result.compared }, 'domain differs from the stash');
      await this.notify('hwstash.drift', 'HwstashDriftPayload', {
        instance_uuid: uuid,
        host: this.deps.host,
        compared: result.compared,
        drift: result.drift,
      }, log);
    }
    return result;
  }

  /** hwstash's own notifications are best-effort: the effect is already committed. */
  private async notify(eventType: string, payloadName: string, data: Record<string, unknown>, log: Logger): Promise<void> {
    const publisher = this.deps.publisher;
    if (!publisher) return;
    try {
      await publisher.publishEvent({ eventType, payloadName, data });
    } catch (err) {
      log.warn({ err: (err as Error).message, event_type: eventType }, 'could not publish notification');
    }
  }
}

/**
 * Nova commits the instance before it notifies, so a row missing now is either a replica that
 * lags (a retry finds it) or a database that is not this instance's cell (dead-lettered once the
 * retries are spent): retried either way, never dropped at the first miss.
 */
function instanceMissing(uuid: string, cause?: unknown): TransientError {
  return new TransientError(`instance ${uuid} not found in the database`, cause === undefined ? undefined : { cause });
}

/**
 * The work's result, or an AbandonError as soon as the delivery's signal aborts (channel closed,
 * consumer stopping): the message is left for redelivery while the shared work goes on for its
 * other callers. The listener is removed when the work settles first.
 */
function abandonOnAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbandonError('the delivery ended while the host reconcile ran'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
