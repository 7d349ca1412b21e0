/**
 * One instance's operator change (`image-property set`, `revert`, and each instance of a bulk
 * set): the value, machine-type and host checks after the instance was found in an allowed
 * state, then the write in one transaction under the instance's row lock, where the state and
 * the stash are checked again so that nothing changed between the checks and the write.
 */
import { stashFromStored, unifiedDiff } from '../agent/domain-sync.js';
import { domainIdentity, machineSatisfies, type Stash } from '../core/domain-xml/index.js';
import { ImageMetaError, coerceImageProps } from '../core/image-meta.js';
import type { HostProfile } from '../core/inputs.js';
import {
  checkRequestedValues,
  emptyFindings,
  machineTypeUpdateProblem,
  stateProblem,
  type HostFindings,
  type RequestedValue,
  type ValueToCheck,
} from '../core/property-checks.js';
import { CoercionError, FIELD_TYPES, PROPERTY_NAMES, coerceField, type PropertyName } from '../core/properties.js';
import { resolve } from '../core/resolve.js';
import type { InstanceRow, LiveInstance, PropertyWrite, Store, StoredProperty } from '../store/index.js';
import { InstanceNotFoundError } from '../store/errors.js';
import { imagePropertiesFromSysmeta, sysmetaDict } from '../store/sysmeta.js';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './errors.js';
import { capabilityFindings, domainSyncFor, type LibvirtLink } from './libvirt-link.js';

/** What the operator wants for one property: a value (null: "no such device") or no row at all. */
export interface Wanted {
  property: PropertyName;
  value: string | null;
  remove: boolean;
}

export interface ChangeEnv {
  ctx: CliContext;
  store: Store;
  profile: HostProfile;
  link: LibvirtLink;
  /** Override nova-manage's machine-type guards. */
  force: boolean;
  /** Skip the check against this host's libvirt capabilities. */
  skipHostCheck: boolean;
  /** The command, as messages name it: `image-property set`. */
  command: string;
}

export type Stored = Record<PropertyName, StoredProperty>;

/** The change checked against the instance as read (`LiveInstance`), which the write re-checks. */
export interface Evaluation extends LiveInstance {
  wanted: Wanted[];
  /** Refused values (exit 6), each naming the property, the value and what is allowed. */
  problems: string[];
  findings: HostFindings;
  /** The persistent domain definition, when libvirt was asked and the instance has one. */
  domainXml: string | null;
}

export function notFound(uuid: string, store: Store): CliError {
  return new CliError(EXIT.notFound, `instance ${uuid} not found: no live instance with this uuid in ${store.where}`);
}

/** The instance, live, with its system_metadata, or exit 2. */
export async function liveInstance(store: Store, uuid: string): Promise<LiveInstance> {
  const live = await store.liveInstance(uuid);
  if (!live) throw notFound(uuid, store);
  return live;
}

/** Exit 3 unless the vm_state allows a change. */
export function requireAllowedState(instance: InstanceRow, command: string, wanted = ''): void {
  const problem = stateProblem(instance.vmState, command, instance.taskState);
  if (problem) throw new CliError(EXIT.notSetOrBadState, `instance ${instance.uuid} ${problem}${wanted ? ` (requested: ${wanted})` : ''}; nothing written`);
}

/** Exit 6 listing every refused value. */
export function refusal(uuid: string, problems: readonly string[]): CliError {
  const head = `instance ${uuid}:`;
  if (problems.length === 1) return new CliError(EXIT.invalidValue, `${head} ${problems[0]}; nothing written`);
  return new CliError(EXIT.invalidValue, `${head} ${problems.length} values refused; nothing written:\n  ${problems.join('\n  ')}`);
}

/** Canonical values for the requested ones, or exit 6 (enum, `=`, virt type). */
export function checkedWanted(uuid: string, requested: readonly RequestedValue[], profile: HostProfile): Wanted[] {
  const { values, problems } = checkRequestedValues(requested, profile.virtType, profile.release);
  if (problems.length) throw refusal(uuid, problems.map((p) => p.message));
  return values.map((v) => ({ property: v.property, value: v.value, remove: false }));
}

function canonicalArch(raw: string | null | undefined): string | null {
  if (!raw) return null;
  try {
    return coerceField('architecture', FIELD_TYPES.Architecture, raw);
  } catch (err) {
    if (err instanceof CoercionError) return null;
    throw err;
  }
}

/**
 * The arch and machine type a guest runs on: the domain's arch, else the image's, the
 * instance's, the host's; the stashed machine type, else the domain's, else the resolver's default.
 */
export function guestPlatform(profile: HostProfile, live: LiveInstance, domainXml: string | null): { arch: string; machine: string | null } {
  const { instance, stored } = live;
  const identity = domainXml ? domainIdentity(domainXml) : null;
  const image = imagePropertiesFromSysmeta(sysmetaDict(live.sysmeta)).properties;
  let imageArch: string | null = null;
  try {
    imageArch = coerceImageProps(image).hw_architecture ?? null;
  } catch (err) {
    if (!(err instanceof ImageMetaError)) throw err;
  }
  const arch = identity?.arch ?? imageArch ?? canonicalArch(instance.architecture) ?? profile.arch;
  const stashed = stored.hw_machine_type;
  let machine = stashed.present && stashed.value ? stashed.value : identity?.machine ?? null;
  if (machine === null) {
    const resolution = resolve({
      imageProperties: image,
      instance: { vmMode: instance.vmMode },
      host: { ...profile, arch },
      osinfo: null,
    });
    machine = resolution.properties.hw_machine_type?.value ?? null;
  }
  return { arch, machine };
}

/**
 * Every check after the instance was found in an allowed state: nova-manage's machine-type
 * guards, then this host's capabilities for the machine type and arch the guest will run on.
 * With a new machine type the values that stay are checked too: they must run on it as well.
 */
export async function evaluateChange(env: ChangeEnv, live: LiveInstance, wanted: Wanted[]): Promise<Evaluation> {
  const { instance, stored } = live;
  const uuid = instance.uuid;
  const problems: string[] = [];
  let findings = emptyFindings();
  const newMachine = wanted.find((w) => w.property === 'hw_machine_type' && !w.remove && w.value !== null)?.value ?? null;
  const stashedMachine = stored.hw_machine_type.present ? stored.hw_machine_type.value : null;
  if (newMachine !== null && !env.force && stashedMachine) {
    const problem = machineTypeUpdateProblem(stashedMachine, newMachine, 'stash');
    // Refused whatever libvirt would say: do not make its absence the answer.
    if (problem) return { ...live, wanted, problems: [problem], findings, domainXml: null };
  }

  const useLibvirt = !env.skipHostCheck;
  const domainXml = useLibvirt ? await env.link.call((hv) => hv.persistentXml(uuid)) : null;
  if (newMachine !== null && !env.force && !stashedMachine && domainXml) {
    const domainMachine = domainIdentity(domainXml).machine;
    const problem = domainMachine && !machineSatisfies(newMachine, domainMachine) ? machineTypeUpdateProblem(domainMachine, newMachine, 'domain') : null;
    if (problem) problems.push(problem);
  }

  if (useLibvirt) {
    const platform = guestPlatform(env.profile, live, domainXml);
    const machine = newMachine ?? platform.machine;
    const values: ValueToCheck[] = wanted
      .filter((w) => !w.remove && w.value !== null)
      .map((w) => ({ property: w.property, value: w.value, changed: true }));
    // With a new machine type the values that stay must run on it too.
    if (newMachine !== null && newMachine !== platform.machine) {
      for (const name of PROPERTY_NAMES) {
        const s = stored[name];
        if (wanted.some((w) => w.property === name) || !s.present || s.value === null) continue;
        values.push({ property: name, value: s.value, changed: false });
      }
    }
    findings = await capabilityFindings(env.link, env.profile, platform.arch, machine, values);
  }
  problems.push(...findings.unsupported.map((f) => f.message));
  return { ...live, wanted, problems, findings, domainXml };
}

/** Say what was not checked and what will not last, on stderr. */
export function reportFindings(ctx: CliContext, uuid: string, findings: HostFindings): void {
  for (const w of findings.warnings) ctx.warn(`instance ${uuid}: ${w.message}`);
  for (const n of findings.notChecked) ctx.warn(`instance ${uuid}: not checked: ${n.message}`);
}

function sameStored(a: Stored, b: Stored): boolean {
  return PROPERTY_NAMES.every((n) => a[n].present === b[n].present && a[n].raw === b[n].raw);
}

/** The stored state as old → new pairs, without writing. */
export function plannedWrites(ev: Evaluation): PropertyWrite[] {
  return ev.wanted.map((w) => {
    const s = ev.stored[w.property];
    // As the writer compares: the stored string as written, so a raw `VirtualE1000` is rewritten as `e1000`.
    const old = { present: s.present, value: s.present ? s.raw : null };
    const next = { present: !w.remove, value: w.remove ? null : w.value };
    return { property: w.property, old, new: next, changed: old.present !== next.present || old.value !== next.value };
  });
}

export function actor(ctx: CliContext, command: string): string {
  const user = ctx.io.env['SUDO_USER'] || ctx.io.env['USER'] || ctx.io.env['LOGNAME'] || 'unknown';
  return `${user} (hwstash ${command})`;
}

/** Refuses to write into a database whose hwstash tables were never created. */
export async function requireHistoryTable(store: Store): Promise<void> {
  const status = await store.status();
  if (status.schemaVersion === null) {
    throw new CliError(EXIT.unexpected, `hwstash's own tables are missing in ${store.where}: run \`hwstash db migrate\` first; nothing written`);
  }
}

/** Another writer (usually the agent stashing the instance) committed between the checks and the write. */
export class StashChangedError extends CliError {
  constructor(uuid: string) {
    super(EXIT.unexpected, `instance ${uuid}: its stash was changed by another writer while hwstash checked it; nothing written; run the command again`);
  }
}

/**
 * How often a change is read, checked and written again after another writer got in between.
 * The agent stashes an instance once (a stash only adds keys), so a second attempt normally
 * succeeds; the bound only stops a writer that keeps changing the stash.
 */
export const CHANGE_ATTEMPTS = 5;

/**
 * Runs `attempt` (read the instance, check, write) again while it fails with StashChangedError:
 * the operator's value must win over a stash that committed while it was being checked, with the
 * checks run against what is written over.
 */
export async function retryOnStashChange<T>(attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof StashChangedError) || n >= CHANGE_ATTEMPTS) throw err;
    }
  }
}

/**
 * Write the change: one transaction, under the instance's row lock, with history. The state and
 * the stash are checked again under the lock: a start of the instance aborts it with nothing
 * written; another writer in between throws StashChangedError (callers check again and retry).
 */
export async function writeChange(
  env: ChangeEnv,
  ev: Evaluation,
  options: { source: 'set' | 'revert'; reason: string | null },
): Promise<PropertyWrite[]> {
  const uuid = ev.instance.uuid;
  let result;
  try {
    result = await env.store.writeProperties(
      uuid,
      ev.wanted.map((w) => (w.remove ? { property: w.property, remove: true as const } : { property: w.property, value: w.value })),
      {
        source: options.source,
        actor: actor(env.ctx, env.command),
        reason: options.reason,
        check: (instance, storedNow) => {
          requireAllowedState(instance, env.command);
          if (!sameStored(storedNow, ev.stored)) throw new StashChangedError(uuid);
        },
        beforeCommit: (writes) => requestSpecStep(env, uuid, writes),
      },
    );
  } catch (err) {
    // Deleted since it was checked: found no more under the lock, nothing written.
    if (err instanceof InstanceNotFoundError) throw notFound(uuid, env.store);
    throw err;
  }
  await announce(env, uuid, result.writes, options.source);
  return result.writes;
}

/**
 * The instance's RequestSpec follows the stash, as nova-manage's set does, so the scheduler's next
 * move honours the change. Runs inside the stash's transaction, after its rows and before its
 * history: the history says the RequestSpec was updated only when it was, and a RequestSpec that
 * cannot be updated aborts the whole change (nothing written). Every value given is written,
 * changed or not: running the command again mends a RequestSpec left behind.
 */
async function requestSpecStep(env: ChangeEnv, uuid: string, writes: readonly PropertyWrite[]): Promise<string | null> {
  const { ctx } = env;
  let api;
  try {
    api = await ctx.apiDatabase();
  } catch (err) {
    throw new CliError(EXIT.unexpected, `instance ${uuid}: the RequestSpec cannot be updated (${(err as Error).message}); nothing written`);
  }
  if (!api) {
    if (writes.some((w) => w.changed)) {
      ctx.warnOnce(
        'no-api-database',
        "the instances' RequestSpecs were not updated: no [api_database] connection is configured, so Nova's scheduler keeps the old image properties on the next move",
      );
    }
    return null;
  }
  const { updateRequestSpecImage } = await import('../store/request-spec.js');
  let outcome;
  try {
    outcome = await updateRequestSpecImage(
      api,
      uuid,
      writes.map((w) => ({ property: w.property, value: w.new.present ? w.new.value : null })),
      env.profile.release?.imageMetaProps ?? '1.34',
    );
  } catch (err) {
    throw new CliError(EXIT.unexpected, `instance ${uuid}: the RequestSpec cannot be updated (${(api.translate(err) as Error).message}); nothing written`);
  }
  if (outcome === 'no-request-spec' || outcome === 'no-image') {
    ctx.warn(`instance ${uuid}: its RequestSpec was not updated: ${outcome === 'no-image' ? 'it holds no image' : 'none in the API database'}`);
    return null;
  }
  return outcome === 'updated' ? 'RequestSpec updated in the API database' : null;
}

/**
 * `hwstash.property.update` on Nova's exchange, so existing notification consumers see the
 * operator's change. Best-effort: the write is committed whether or not the bus answers.
 */
async function announce(env: ChangeEnv, uuid: string, writes: readonly PropertyWrite[], source: 'set' | 'revert'): Promise<void> {
  const settings = env.ctx.settings();
  const changed = writes.filter((w) => w.changed);
  if (!settings.hwstash.publishNotifications || changed.length === 0) return;
  try {
    const publisher = await env.ctx.publisher(3000);
    await publisher.publishEvent({
      eventType: 'hwstash.property.update',
      payloadName: 'HwstashPropertyUpdatePayload',
      data: {
        instance_uuid: uuid,
        host: settings.host,
        source,
        actor: actor(env.ctx, env.command),
        changes: changed.map((w) => ({ property: w.property, old: w.old.present ? w.old.value : null, new: w.new.present ? w.new.value : null, removed: !w.new.present })),
      },
    });
  } catch (err) {
    env.ctx.warnOnce('property-update-notification', `changes written, but hwstash.property.update not published: ${(err as Error).message}`);
  }
}

/** The stash after the change, as the domain code takes it. */
export function proposedStash(ev: Evaluation): Stash {
  const { stash } = stashFromStored(ev.stored);
  for (const w of ev.wanted) {
    if (w.remove) delete stash[w.property];
    else stash[w.property] = w.value;
  }
  return stash;
}

/**
 * The diff of the domain definition the change would lead to: null when the instance has no
 * domain or libvirt is not available, '' when the definition would not change.
 */
export async function domainDiff(env: ChangeEnv, ev: Evaluation): Promise<{ diff: string | null; notes: string[] }> {
  const hv = await env.link.hypervisor();
  if (!hv) return { diff: null, notes: [] };
  const plan = await env.link.call(async () => (await domainSyncFor(env.ctx, env.store, hv)).plan(ev.instance.uuid, { stash: proposedStash(ev), live: ev }));
  if (!plan || plan.currentXml === null) return { diff: null, notes: [] };
  const diff = plan.currentXml === plan.targetXml ? '' : unifiedDiff(ev.instance.uuid, plan.currentXml, plan.targetXml);
  return { diff, notes: plan.unsupported.map((p) => `the rewritten domain would not run here: ${p.message}`) };
}
