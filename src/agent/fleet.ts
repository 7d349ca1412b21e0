/**
 * The fleet's adapters, shared by the agent and the CLI: a host's profile collected from its
 * libvirt, a live instance's stash as the core checks it, and the fleet's answers that need
 * the database (which instances of a host no other host could run).
 */
import {
  buildProfile,
  canRun,
  isStale,
  machinesToProbe,
  type HostProfileRecord,
  type StashToCheck,
  type StoredHostProfile,
} from '../core/fleet/profile.js';
import { ProfileError, parseArch } from '../core/host-profile.js';
import type { VirtType } from '../core/inputs.js';
import { PROPERTY_NAMES } from '../core/properties.js';
import type { Hypervisor } from '../hypervisor/index.js';
import { isHypervisorError } from '../hypervisor/errors.js';
import type { LiveInstance, Store } from '../store/index.js';

export interface HostFacts {
  host: string;
  arch: string;
  virtType: VirtType;
  novaRelease: string | null;
}

/** libvirt refusing a query (the test driver has no domain capabilities): nothing to record from it. */
async function unlessRefused<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (isHypervisorError(err, 'unsupported') || isHypervisorError(err, 'invalid')) return null;
    throw err;
  }
}

/** This host's profile, from its libvirt: versions, machine types, and the domain capabilities of each machine family. */
export async function collectProfile(hv: Hypervisor, facts: HostFacts): Promise<HostProfileRecord> {
  const versions = await hv.versions();
  const hostXml = await unlessRefused(() => hv.capabilities());
  const domcaps: string[] = [];
  if (hostXml !== null && (facts.virtType === 'kvm' || facts.virtType === 'qemu')) {
    for (const machine of machinesToProbe(hostXml, facts.arch)) {
      const xml = await unlessRefused(() => hv.domainCapabilities({ virtType: facts.virtType, arch: facts.arch, machine }));
      if (xml !== null) domcaps.push(xml);
    }
  }
  const qemu = versions.hypervisor?.startsWith('QEMU ') ? versions.hypervisor.slice('QEMU '.length) : null;
  return buildProfile({ ...facts, libvirtVersion: versions.libvirt, qemuVersion: qemu, hostCapabilitiesXml: hostXml, domainCapabilitiesXml: domcaps });
}

/** Every one of the 11 properties has a row (what `drift` and `reconcile` call stashed). */
export function fullyStashed(live: LiveInstance): boolean {
  return PROPERTY_NAMES.every((n) => live.stored[n].present);
}

/**
 * The stash as the fleet checks it: the values Nova can load (an unreadable one is `drift`'s
 * finding, not a host's), on the instance's architecture (its host's where Nova has none).
 */
export function stashOf(live: LiveInstance, hostArch: string): StashToCheck {
  const values: StashToCheck['values'] = {};
  for (const n of PROPERTY_NAMES) {
    const p = live.stored[n];
    if (p.present && !p.error) values[n] = p.value;
  }
  let arch = hostArch;
  if (live.instance.architecture) {
    try {
      arch = parseArch('architecture', live.instance.architecture);
    } catch (err) {
      if (!(err instanceof ProfileError)) throw err;
    }
  }
  return { arch, values };
}

const PAGE = 200;

/** Each live instance of `host` with its stash, a page at a time. */
export async function* instancesOf(store: Store, host: string): AsyncGenerator<LiveInstance> {
  const ids = await store.instanceIdsOnHost(host);
  yield* store.eachLiveInstance(ids.map((i) => i.uuid), { host, pageSize: PAGE });
}

/** The profiles other than `host`'s that are not stale: the hosts an instance could move to. */
export function otherLiveProfiles(profiles: readonly StoredHostProfile[], host: string, now: Date, intervalSeconds: number): StoredHostProfile[] {
  return profiles.filter((p) => p.host !== host && !isStale(p.heartbeatAt, now, intervalSeconds));
}

/**
 * The fleet's profiles as an agent sees them at each heartbeat, re-reading only the profiles
 * that changed since: every agent of a large fleet asks every interval, and a profile (a hundred
 * machine types, every family's devices) changes only with its host's libvirt, QEMU or release.
 */
export class FleetProfiles {
  private byHost = new Map<string, StoredHostProfile>();

  async current(store: Store): Promise<StoredHostProfile[]> {
    const stamps = await store.hostProfileStamps();
    const changed = stamps.filter((s) => this.byHost.get(s.host)?.updatedAt !== s.updatedAt).map((s) => s.host);
    for (const p of await store.hostProfiles(changed)) this.byHost.set(p.host, p);
    const out = stamps.flatMap((s) => {
      const p = this.byHost.get(s.host);
      return p ? [{ ...p, heartbeatAt: s.heartbeatAt }] : [];
    });
    this.byHost = new Map(out.map((p) => [p.host, p]));
    return out;
  }
}

/** A verdict on a stash, worked out once per distinct stash: a host's instances share a handful of images. */
export function perDistinctStash(verdict: (stash: StashToCheck) => boolean): (stash: StashToCheck) => boolean {
  const seen = new Map<string, boolean>();
  return (stash) => {
    const key = JSON.stringify(stash);
    let v = seen.get(key);
    if (v === undefined) seen.set(key, (v = verdict(stash)));
    return v;
  };
}

/** How many instances of `host` no other (non-stale) profiled host could run. */
export async function strandedCount(store: Store, profiles: readonly StoredHostProfile[], host: string, hostArch: string, now: Date, intervalSeconds: number): Promise<number> {
  const others = otherLiveProfiles(profiles, host, now, intervalSeconds);
  const stranded = perDistinctStash((stash) => !others.some((p) => canRun(stash, p).runs));
  let n = 0;
  for await (const live of instancesOf(store, host)) if (stranded(stashOf(live, hostArch))) n += 1;
  return n;
}
