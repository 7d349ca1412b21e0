/**
 * The agent's Prometheus metrics, in one registry per agent (tests run several agents in one
 * process). Names follow Prometheus conventions: `_total` counters, base units.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The event_type label of a message: bounded, since event types come from the bus. A body that
 * could not be decoded has none (`malformed`); a name outside Nova's and hwstash's shape shares
 * `other`.
 */
export function eventTypeLabel(eventType: string | null | undefined): string {
  if (eventType === null || eventType === undefined) return 'malformed';
  return /^(instance|service|hwstash)\.[a-z_.]{1,60}$/.test(eventType) ? eventType : 'other';
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly events = new Counter({
    name: 'hwstash_events_total',
    help: 'Nova notifications handled, by event type and outcome (done, skipped, retried, dead_lettered)',
    labelNames: ['event_type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly stashed = new Counter({
    name: 'hwstash_stashed_properties_total',
    help: 'Properties written to instance_system_metadata by the stash, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly resolveErrors = new Counter({
    name: 'hwstash_resolve_errors_total',
    help: 'Properties left unstashed because they do not resolve, by property and error code',
    labelNames: ['property', 'code'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'hwstash_reconcile_duration_seconds',
    help: 'Duration of host reconciles',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly busConnected = new Gauge({
    name: 'hwstash_bus_connected',
    help: '1 when the agent is connected to RabbitMQ',
    registers: [this.registry],
  });
  readonly busNode = new Gauge({
    name: 'hwstash_bus_node_info',
    help: 'The RabbitMQ node the agent is connected to (value 1; endpoint of transport_url, cluster name, version as labels); absent while disconnected',
    labelNames: ['endpoint', 'cluster_name', 'version'] as const,
    registers: [this.registry],
  });
  readonly novaRelease = new Gauge({
    name: 'hwstash_nova_release_info',
    help: 'The Nova release whose rules the agent follows (value 1, release as a label)',
    labelNames: ['release'] as const,
    registers: [this.registry],
  });
  readonly databaseConnected = new Gauge({
    name: 'hwstash_database_connected',
    help: '1 when the last database operation succeeded',
    registers: [this.registry],
  });
  readonly drift = new Counter({
    name: 'hwstash_drift_total',
    help: 'Domains found to differ from their stash, by property',
    labelNames: ['property'] as const,
    registers: [this.registry],
  });
  readonly domainsRedefined = new Counter({
    name: 'hwstash_domains_redefined_total',
    help: 'Domain definitions rewritten to follow the stash, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly restored = new Counter({
    name: 'hwstash_properties_restored_total',
    help: "Stashed rows put back to the history's value after a stale save of Nova's erased or reverted them, by property and cause",
    labelNames: ['property', 'cause'] as const,
    registers: [this.registry],
  });
  readonly adopted = new Counter({
    name: 'hwstash_properties_adopted_total',
    help: "Changes of Nova's recorded as the new stashed value (a rebuild, nova-manage's set), by property and cause",
    labelNames: ['property', 'cause'] as const,
    registers: [this.registry],
  });

  readonly stranded = new Gauge({
    name: 'hwstash_instances_stranded',
    help: "This host's live instances whose stash no other profiled (non-stale) host in hwstash_hosts could run: they cannot be migrated or evacuated anywhere; refreshed with the host's profile",
    registers: [this.registry],
  });
  readonly profileRecorded = new Gauge({
    name: 'hwstash_host_profile_recorded_timestamp_seconds',
    help: "When this host's profile (and heartbeat) was last written to hwstash_hosts",
    registers: [this.registry],
  });

  constructor(withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'hwstash_' });
  }
}
