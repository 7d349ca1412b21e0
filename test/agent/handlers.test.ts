/**
 * The event handlers with stand-ins for the store, libvirt and the host reconcile, for what the
 * end-to-end tests cannot time: a reconcile cut short, a delivery ending while it runs, an
 * instance that disappears between Nova's notification and the handler.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { DatabaseGate } from '../../src/agent/database-gate.js';
import { InstanceGoneError, type DomainSync } from '../../src/agent/domain-sync.js';
import { EventHandlers, type HandlerDeps } from '../../src/agent/handlers.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import type { ReconcileSummary } from '../../src/agent/reconcile.js';
import type { DeliveryContext } from '../../src/bus/consumer.js';
import { decodeNotification, type Notification } from '../../src/bus/envelope.js';
import { isAbandon, isPermanent } from '../../src/bus/errors.js';
import { NOVA_DEFAULT_PROFILE } from '../../src/core/inputs.js';
import type { Store } from '../../src/store/index.js';
import { novaFixture } from './helpers/nova-fixtures.js';

const HOST = 'compute-test';
const quiet = pino({ level: 'silent' });

function summary(interrupted: boolean): ReconcileSummary {
  return { host: HOST, instancesSeen: 0, interrupted } as unknown as ReconcileSummary;
}

function handlers(deps: Partial<HandlerDeps> = {}): { h: EventHandlers; metrics: AgentMetrics } {
  const metrics = new AgentMetrics();
  const h = new EventHandlers({
    host: HOST,
    // The instance row is there (and already stashed); only DomainSync's own read says whether
    // it is live.
    store: {
      instance: async (uuid: string) => ({ uuid }),
      stash: async (uuids: string[]) => ({
        instances: uuids.map((uuid) => ({ uuid, status: 'complete', present: {}, toStash: {}, errors: {}, badStoredValues: [], restored: [], adopted: [] })),
        rows: [],
      }),
    } as unknown as Store,
    profile: { ...NOVA_DEFAULT_PROFILE, arch: 'x86_64' },
    osinfo: null,
    domains: () => null,
    gate: new DatabaseGate({ ping: async () => undefined, logger: quiet }),
    metrics,
    logger: quiet,
    publisher: null,
    startDomains: false,
    reconcileHost: async () => summary(false),
    actor: 'test',
    ...deps,
  });
  return { h, metrics };
}

function notification(file: string, uuid?: string): Notification {
  return decodeNotification(novaFixture(file, { host: HOST, ...(uuid ? { uuid } : {}) }).body);
}

function delivery(signal: AbortSignal = new AbortController().signal): DeliveryContext {
  return { redelivered: false, attempt: 1, routingKey: 'versioned_notifications.info', signal };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the handler to fail');
}

describe('service.update: the host reconcile', () => {
  test('a complete reconcile is done', async () => {
    const { h } = handlers();
    expect(await h.handle(notification('service-update.json'), delivery())).toBe('done');
  });

  test('a reconcile a stop cut short is not done: the message is abandoned for redelivery, not acked', async () => {
    const { h } = handlers({ reconcileHost: async () => summary(true) });
    const err = await failure(h.handle(notification('service-update.json'), delivery()));
    expect(isAbandon(err)).toBe(true);
  });

  test("the delivery ending abandons the message but not the reconcile, which is not the delivery's to stop", async () => {
    let finish!: (s: ReconcileSummary) => void;
    const reconcile = new Promise<ReconcileSummary>((resolve) => (finish = resolve));
    const calls: unknown[][] = [];
    const { h } = handlers({
      reconcileHost: (...args: unknown[]) => {
        calls.push(args);
        return reconcile;
      },
    });
    const channel = new AbortController();
    const handled = failure(h.handle(notification('service-update.json'), delivery(channel.signal)));
    channel.abort();
    expect(isAbandon(await handled)).toBe(true);
    // Only the reason is handed over: no signal of this delivery reaches the shared reconcile.
    expect(calls).toEqual([['service.update of nova-compute']]);
    finish(summary(false));
    await reconcile;
  });
});

describe('follow and verify of an instance DomainSync does not find live', () => {
  const gone = (uuid: string) => ({
    facts: async () => null,
    follow: async () => {
      throw new InstanceGoneError(uuid);
    },
    verify: async () => {
      throw new InstanceGoneError(uuid);
    },
  }) as unknown as DomainSync;

  test.each([
    ['instance.power_on.start', 'instance-power_on-start.json'],
    ['instance.power_on.end', 'instance-power_on-end.json'],
  ])('%s is retried (a lagging replica), not dead-lettered at once', async (_type, file) => {
    const uuid = randomUUID();
    const { h, metrics } = handlers({ domains: () => gone(uuid) });
    const err = await failure(h.handle(notification(file, uuid), delivery()));
    expect(isPermanent(err)).toBe(false);
    expect(isAbandon(err)).toBe(false);
    expect((err as Error).message).toBe(`instance ${uuid} not found in the database`);
    // Not a definition refused by libvirt.
    expect((await metrics.registry.getSingleMetricAsString('hwstash_domains_redefined_total')).includes('refused')).toBe(false);
  });
});
