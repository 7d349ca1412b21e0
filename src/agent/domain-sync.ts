/**
 * Making a domain follow its stash, and checking that it does: the service behind the agent's
 * power-on/unshelve handling and `hwstash domain diff|sync`. Pure decisions come from core/
 * (rewrite, build, capability checks); this module only reads and defines through the gateway.
 */
import { ZED, rootDeviceType } from '../core/releases.js';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { lazyRequire } from '../lazy-require.js';
import type { Logger } from 'pino';
import {
  checkDomain,
  checkMachineType,
  parseDomainCapabilities,
  parseHostCapabilities,
  type CapabilityProblem,
  type DomainCapabilities,
  type HostCapabilities,
} from '../core/capabilities.js';
import {
  buildDomain,
  domainIdentity,
  readDomainFacts,
  rewriteDomain,
  type Change,
  type DomainSpec,
  type Stash,
} from '../core/domain-xml/index.js';
import type { DomainFacts, HostProfile } from '../core/inputs.js';
import { PROPERTY_NAMES, type PropertyName } from '../core/properties.js';
import type { DomainCapabilitiesQuery, Hypervisor } from '../hypervisor/index.js';
import { isHypervisorError } from '../hypervisor/errors.js';
import type { InstanceRow, LiveInstance, Store, StoredProperty } from '../store/index.js';

const differ = lazyRequire<typeof import('diff')>('diff');

export interface DomainSyncOptions {
  store: Store;
  hypervisor: Hypervisor;
  profile: HostProfile;
  logger: Logger;
  /** [DEFAULT] instances_path: where a built domain finds the instance's root disk. */
  instancesPath: string;
  /** [DEFAULT] instance_name_template. */
  instanceNameTemplate: string;
  /** [libvirt] rng_dev_path. */
  rngDevPath: string;
}

export interface DomainPlan {
  uuid: string;
  instance: InstanceRow;
  /** The stashed values (only properties that are stashed and load in Nova). */
  stash: Stash;
  /** The persistent definition now; null when the instance has no domain. */
  currentXml: string | null;
  /** What the definition should be; equal to currentXml when nothing changes. */
  targetXml: string;
  changes: Change[];
  /** No domain existed: targetXml is a new one built from the instance and its stash. */
  built: boolean;
  /** What this host's QEMU cannot run (blocks a define), and what it could not check. */
  unsupported: CapabilityProblem[];
  notChecked: string[];
}

export interface FollowResult {
  uuid: string;
  outcome: 'unchanged' | 'redefined' | 'built' | 'refused' | 'no-domain';
  changes: Change[];
  unsupported: CapabilityProblem[];
  notChecked: string[];
  started: boolean;
  diff: string;
}

export interface Drift {
  property: PropertyName;
  stashed: string | null;
  domain: string | null;
}

export interface VerifyResult {
  uuid: string;
  /** Which definition was compared: the running one, or the persistent one when shut off. */
  compared: 'live' | 'persistent' | 'none';
  drift: Drift[];
  /** Properties with no stashed value yet. */
  notStashed: PropertyName[];
  /** Values the domain shows that Nova cannot load (ignored readings). */
  unreadable: string[];
}

export class InstanceGoneError extends Error {
  readonly permanent = true;
  constructor(readonly uuid: string) {
    super(`instance ${uuid} is not a live instance in the database`);
    this.name = 'InstanceGoneError';
  }
}

/** Refused: the target definition has devices this host's QEMU cannot run. Never retried. */
export class UnsupportedDomainError extends Error {
  readonly permanent = true;
  constructor(
    readonly uuid: string,
    readonly problems: CapabilityProblem[],
  ) {
    super(`instance ${uuid}: not defined, this host cannot run it: ${problems.map((p) => p.message).join('; ')}`);
    this.name = 'UnsupportedDomainError';
  }
}

/** libvirt refused the definition; the existing one (if any) is untouched. Never retried. */
export class DefineRefusedError extends Error {
  readonly permanent = true;
  constructor(
    readonly uuid: string,
    reason: string,
  ) {
    super(`instance ${uuid}: libvirt refused the definition that follows the stash: ${reason}`);
    this.name = 'DefineRefusedError';
  }
}

/** Nova's instance_name_template with the instance id (`instance-%08x` → instance-0000002a). */
export function instanceName(template: string, id: number): string {
  return template.replace(/%(0?\d*)([xXd])/, (_m, width: string, conv: string) => {
    const digits = conv === 'd' ? String(id) : id.toString(16);
    const s = conv === 'X' ? digits.toUpperCase() : digits;
    const w = Number(width || '0');
    return width.startsWith('0') ? s.padStart(w, '0') : s.padStart(w, ' ');
  });
}

export class DomainSync {
  constructor(private readonly opts: DomainSyncOptions) {}

  /** The devices the instance's current domain uses, or null when it has none. */
  async facts(uuid: string): Promise<DomainFacts | null> {
    const xml = await this.opts.hypervisor.persistentXml(uuid);
    if (xml === null) return null;
    const reading = readDomainFacts(xml);
    for (const ignored of reading.ignored) {
      this.opts.logger.warn({ instance_uuid: uuid, ...ignored }, 'domain value Nova cannot load; not stashed from the domain');
    }
    return { osType: reading.osType, values: reading.values };
  }

  /** The instance and its stash: `live` when the caller has just read it, else read now. */
  private async stashOf(
    uuid: string,
    live?: LiveInstance,
  ): Promise<{ instance: InstanceRow; stash: Stash; notStashed: PropertyName[]; imageDiskFormat: string | null }> {
    const read = live ?? (await this.opts.store.liveInstance(uuid));
    if (!read) throw new InstanceGoneError(uuid);
    // Nova keeps the image's disk_format as image_disk_format; the last row of a key wins, as in Nova.
    const formats = read.sysmeta.filter((r) => r.key === 'image_disk_format');
    return { instance: read.instance, ...stashFromStored(read.stored), imageDiskFormat: formats[formats.length - 1]?.value ?? null };
  }

  private async capabilityCheck(xml: string): Promise<{ unsupported: CapabilityProblem[]; notChecked: string[] }> {
    const id = domainIdentity(xml);
    const query = {
      virtType: id.virtType ?? this.opts.profile.virtType,
      arch: id.arch ?? this.opts.profile.arch,
      ...(id.machine ? { machine: id.machine } : {}),
      ...(id.emulator ? { emulator: id.emulator } : {}),
    };
    const dom = await domainCapabilitiesOf(this.opts.hypervisor, query);
    if (!dom.caps) return { unsupported: [], notChecked: [dom.notChecked] };
    const problems = checkDomain(xml, dom.caps);
    const notChecked: string[] = [];
    // Domain capabilities answer for a machine type QEMU lacks with an error or a fallback; the
    // host's machine list is the authority on whether it exists at all.
    if (id.machine) {
      const host = await hostCapabilitiesOf(this.opts.hypervisor);
      if (!host.caps) notChecked.push(`hw_machine_type=${id.machine}: ${host.notChecked}`);
      else {
        const hostProblem = checkMachineType(host.caps, query.arch, id.machine);
        if (hostProblem) problems.push(hostProblem);
      }
    }
    return {
      unsupported: problems.filter((p) => p.kind === 'unsupported'),
      notChecked: [...problems.filter((p) => p.kind === 'not-checked').map((p) => p.message), ...notChecked],
    };
  }

  private buildSpec(instance: InstanceRow, stash: Stash, imageDiskFormat: string | null): DomainSpec {
    const vt = this.opts.profile.virtType;
    if (vt !== 'kvm' && vt !== 'qemu') throw new Error(`cannot build a ${vt} domain: only kvm and qemu`);
    return {
      name: instanceName(this.opts.instanceNameTemplate, instance.id),
      uuid: instance.uuid,
      vcpus: Math.max(1, instance.vcpus ?? 1),
      memoryMb: Math.max(16, instance.memoryMb ?? 512),
      virtType: vt,
      arch: instance.architecture ?? this.opts.profile.arch,
      stash,
      disks: [
        {
          deviceType: rootDeviceType(this.opts.profile.release ?? ZED, imageDiskFormat),
          path: `${this.opts.instancesPath}/${instance.uuid}/disk`,
          format: 'qcow2',
          bootIndex: 0,
        },
      ],
      interfaces: [],
      graphics: this.opts.profile.vncEnabled ? 'vnc' : this.opts.profile.spiceEnabled ? 'spice' : null,
      rngBackendPath: this.opts.rngDevPath,
    };
  }

  /**
   * What following the stash would do; changes nothing. `stash` replaces the stored one: what
   * a proposed change (`image-property set --dry-run`) would do to the domain. `live`: the
   * instance as the caller just read it, so it is not read again.
   */
  async plan(uuid: string, options: { build?: boolean; stash?: Stash; live?: LiveInstance } = {}): Promise<DomainPlan | null> {
    const stored = await this.stashOf(uuid, options.live);
    const instance = stored.instance;
    const stash = options.stash ?? stored.stash;
    const currentXml = await this.opts.hypervisor.persistentXml(uuid);
    let targetXml: string;
    let changes: Change[] = [];
    if (currentXml === null) {
      if (!options.build) return null;
      targetXml = buildDomain(this.buildSpec(instance, stash, stored.imageDiskFormat));
    } else {
      ({ xml: targetXml, changes } = rewriteDomain(currentXml, stash, { rngBackendPath: this.opts.rngDevPath }));
    }
    const needsDefine = currentXml === null || changes.length > 0;
    const check = needsDefine ? await this.capabilityCheck(targetXml) : { unsupported: [], notChecked: [] };
    return { uuid, instance, stash, currentXml, targetXml, changes, built: currentXml === null, ...check };
  }

  /**
   * Rewrite (or, with `build`, create) the persistent definition to follow the stash, checked
   * against this host's domain capabilities first; an unsupported definition is refused and the
   * existing one is left as it is. With `start`, a shut-off domain is started afterwards.
   */
  async follow(uuid: string, options: { build?: boolean; start?: boolean; dryRun?: boolean; live?: LiveInstance } = {}): Promise<FollowResult> {
    const plan = await this.plan(uuid, { build: options.build, live: options.live });
    if (!plan) {
      return { uuid, outcome: 'no-domain', changes: [], unsupported: [], notChecked: [], started: false, diff: '' };
    }
    const diff = plan.currentXml === plan.targetXml ? '' : unifiedDiff(uuid, plan.currentXml ?? '', plan.targetXml);
    const base = { uuid, changes: plan.changes, unsupported: plan.unsupported, notChecked: plan.notChecked, diff };
    if (plan.unsupported.length > 0) {
      if (options.dryRun) return { ...base, outcome: 'refused', started: false };
      throw new UnsupportedDomainError(uuid, plan.unsupported);
    }
    const outcome: FollowResult['outcome'] = plan.built ? 'built' : plan.changes.length ? 'redefined' : 'unchanged';
    if (options.dryRun) return { ...base, outcome, started: false };
    if (outcome !== 'unchanged') {
      if (plan.built) await this.requireRootDisk(uuid);
      try {
        await this.opts.hypervisor.define(plan.targetXml);
      } catch (err) {
        // libvirt refusing the definition itself (an unsupported configuration the capabilities
        // could not describe, e.g. a SCSI model) will refuse it again: do not retry.
        if (isHypervisorError(err, 'unsupported') || isHypervisorError(err, 'invalid')) {
          throw new DefineRefusedError(uuid, (err as Error).message);
        }
        throw err;
      }
      this.opts.logger.info({ instance_uuid: uuid, outcome, changes: plan.changes.length }, 'domain definition follows the stash');
    }
    let started = false;
    if (options.start) {
      const summary = await this.opts.hypervisor.domain(uuid);
      if (summary && summary.state !== 'running' && summary.state !== 'paused') {
        await this.opts.hypervisor.start(uuid);
        started = true;
      }
    }
    return { ...base, outcome, started };
  }

  /**
   * A built domain boots from the instance's root disk under instances_path; defining one whose
   * disk is not there would leave a domain that cannot start (volume-backed instances, a
   * different storage backend). libvirt's test driver never opens disks, so it is not asked.
   */
  private async requireRootDisk(uuid: string): Promise<void> {
    if (this.opts.hypervisor.uri.startsWith('test:')) return;
    const disk = `${this.opts.instancesPath}/${uuid}/disk`;
    try {
      await access(disk, constants.R_OK);
    } catch {
      throw new DefineRefusedError(uuid, `no root disk at ${disk} to build a domain on (a volume-backed instance, or another storage backend?)`);
    }
  }

  /**
   * Compare the domain (running definition when running, else persistent) with the stash.
   * What the caller has just read is not read again: the instance (`live`) and the persistent
   * definition (`persistentXml`, null when there is none).
   */
  async verify(uuid: string, known: { live?: LiveInstance; persistentXml?: string | null } = {}): Promise<VerifyResult> {
    const { stash, notStashed } = await this.stashOf(uuid, known.live);
    const live = await this.opts.hypervisor.liveXml(uuid);
    const xml = live ?? (known.persistentXml !== undefined ? known.persistentXml : await this.opts.hypervisor.persistentXml(uuid));
    if (xml === null) return { uuid, compared: 'none', drift: [], notStashed, unreadable: [] };
    const reading = readDomainFacts(xml);
    // A no-op rewrite means the definition already follows the stash, whatever the spelling
    // (a stashed `pc` is satisfied by `pc-i440fx-7.2`); otherwise each changed property drifts.
    const { changes } = rewriteDomain(xml, stash, { rngBackendPath: this.opts.rngDevPath });
    const drifted = [...new Set(changes.map((c) => c.property).filter((p): p is PropertyName => p !== null))];
    const drift = drifted.map((property) => ({
      property,
      stashed: stash[property] ?? null,
      domain: reading.values[property] ?? null,
    }));
    return {
      uuid,
      compared: live ? 'live' : 'persistent',
      drift,
      notStashed,
      unreadable: reading.ignored.map((i) => `${i.property}=${i.value} (${i.element}): ${i.reason}`),
    };
  }
}

/** What libvirt says it can run, or why it cannot say (then nothing is checked against it). */
export type CapabilitiesAnswer<T> = { caps: T } | { caps: null; notChecked: string };

/**
 * libvirt refusing a capabilities query (a driver without them, such as the test driver; a
 * machine type or arch this QEMU lacks) will refuse it again: "not checked", not an error to
 * retry. A lost connection is still thrown.
 */
function refusalReason(err: unknown): string | null {
  return isHypervisorError(err, 'unsupported') || isHypervisorError(err, 'invalid') ? err.libvirtMessage : null;
}

/** This host's capabilities (its machine types per arch), or why they are not available. */
export async function hostCapabilitiesOf(hv: Hypervisor): Promise<CapabilitiesAnswer<HostCapabilities>> {
  try {
    return { caps: parseHostCapabilities(await hv.capabilities()) };
  } catch (err) {
    const why = refusalReason(err);
    if (why === null) throw err;
    return { caps: null, notChecked: `host capabilities unavailable from ${hv.uri}: ${why}` };
  }
}

/**
 * The domain capabilities of this host's QEMU for a guest's virt type, arch and machine type, or
 * why they are not available (a virt type without QEMU's, libvirt's test driver, a machine type
 * or arch this QEMU lacks).
 */
export async function domainCapabilitiesOf(hv: Hypervisor, query: DomainCapabilitiesQuery): Promise<CapabilitiesAnswer<DomainCapabilities>> {
  const what = `machine ${query.machine ?? "QEMU's default"}, arch ${query.arch}`;
  if (query.virtType !== 'kvm' && query.virtType !== 'qemu') {
    return { caps: null, notChecked: `virt type ${query.virtType} has no QEMU domain capabilities: device values not checked (${what})` };
  }
  try {
    return { caps: parseDomainCapabilities(await hv.domainCapabilities(query)) };
  } catch (err) {
    const why = refusalReason(err);
    if (why === null) throw err;
    return { caps: null, notChecked: `domain capabilities (${what}) unavailable from ${hv.uri}: ${why}; device values not checked` };
  }
}

/**
 * The stash as the domain code takes it, from the stored properties: stashed values Nova can
 * load (NULL included: "no such device"); the others are left out, so the domain keeps them.
 */
export function stashFromStored(stored: Record<PropertyName, StoredProperty>): { stash: Stash; notStashed: PropertyName[] } {
  const stash: Stash = {};
  const notStashed: PropertyName[] = [];
  for (const name of PROPERTY_NAMES) {
    const p = stored[name];
    if (!p.present) notStashed.push(name);
    else if (p.raw === null || p.value !== null) stash[name] = p.raw === null ? null : p.value;
  }
  return { stash, notStashed };
}

export function unifiedDiff(uuid: string, before: string, after: string): string {
  return differ().createTwoFilesPatch(`${uuid} (defined)`, `${uuid} (following the stash)`, before, after, '', '', { context: 3 });
}
