/**
 * The event table: which Nova notifications the agent acts on and what it does for each
 * (DESIGN.md "Events and what they do"). The one place that maps events to actions.
 */
import { eventHost, type Notification } from '../bus/envelope.js';

export type Action =
  /** Stash what is missing for every instance on this host. */
  | 'reconcile-host'
  /** Stash what is missing for the event's instance. */
  | 'stash'
  /** Make the instance's domain definition follow its stash (before it boots). */
  | 'follow'
  /** Compare the running domain with the stash and report drift. */
  | 'verify';

export interface EventRule {
  scope: 'service' | 'instance';
  actions: readonly Action[];
  why: string;
  /** Recorded in the history of what the event's stash writes. */
  stashReason?: string;
}

export const EVENT_TABLE: Readonly<Record<string, EventRule>> = {
  'service.create': {
    scope: 'service',
    actions: ['reconcile-host'],
    why: 'nova-compute registered on this host for the first time',
  },
  'service.update': {
    scope: 'service',
    actions: ['reconcile-host'],
    why: "nova-compute's service record changed (enabled, disabled, forced down)",
  },
  'instance.create.end': {
    scope: 'instance',
    actions: ['stash'],
    why: 'a new instance spawned: record what it got',
  },
  'instance.power_on.start': {
    scope: 'instance',
    actions: ['follow'],
    why: 'the guest is about to boot: its definition must follow the stash first',
  },
  'instance.power_on.end': {
    scope: 'instance',
    actions: ['stash', 'verify'],
    why: 'the guest booted (also how a SHELVED instance unshelves): check it runs what is stashed',
  },
  'instance.unshelve.end': {
    scope: 'instance',
    actions: ['stash', 'follow', 'verify'],
    why: 'an offloaded instance landed on this host with a fresh definition',
  },
  'instance.rebuild.end': {
    scope: 'instance',
    actions: ['stash', 'verify'],
    why: "Nova's rebuild (or an evacuation to this host) replaced every image_* row with the new image's: stash anew from the new domain",
    stashReason: "after Nova's rebuild reset the previous values (instance.rebuild.end)",
  },
  'instance.live_migration_post_dest.end': {
    scope: 'instance',
    actions: ['verify'],
    why: 'the instance arrived by live migration: check its new domain against the stash',
  },
  'instance.resize_finish.end': {
    scope: 'instance',
    actions: ['stash', 'verify'],
    why: 'the instance arrived by resize or cold migration: check its new domain against the stash',
  },
  // The end of an operation during which a stash was deferred (Nova held the instance and would
  // have saved over it): stash what is still missing now that task_state is clear.
  ...Object.fromEntries(
    ['instance.power_off.end', 'instance.reboot.end', 'instance.shelve.end', 'instance.rescue.end', 'instance.unrescue.end', 'instance.resize_confirm.end', 'instance.resize_revert.end'].map(
      (type): [string, EventRule] => [type, { scope: 'instance', actions: ['stash'], why: 'a Nova operation ended: stash what waited for it' }],
    ),
  ),
};

export type Decision =
  | { act: true; rule: EventRule; instanceUuid: string | null }
  | { act: false; why: string };

/**
 * Whether this agent (on `host`) acts on a notification. Cheap: no I/O, so events of other hosts
 * and types are acknowledged at once.
 */
export function decide(n: Notification, host: string): Decision {
  if (n.eventType.startsWith('hwstash.')) return { act: false, why: "hwstash's own notification" };
  const rule = EVENT_TABLE[n.eventType];
  if (!rule) return { act: false, why: 'not an event hwstash acts on' };
  if (rule.scope === 'service') {
    if (!n.service) return { act: false, why: 'service event without a service payload' };
    if (n.service.binary !== 'nova-compute') return { act: false, why: `service ${n.service.binary}, not nova-compute` };
    if (n.service.serviceHost !== host) return { act: false, why: `service of host ${n.service.serviceHost}` };
    return { act: true, rule, instanceUuid: null };
  }
  if (!n.instance) return { act: false, why: 'instance event without an instance payload' };
  const where = eventHost(n);
  if (where !== host) return { act: false, why: `instance on host ${where ?? 'unknown'}` };
  return { act: true, rule, instanceUuid: n.instance.instanceUuid };
}
