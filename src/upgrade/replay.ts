/**
 * The upgrade-survival scenario replayed on the embedded defaults (SQLite, libvirt's in-process
 * test driver), for `npm run demo:upgrade`: the same fleet as the survival test, defined with Nova
 * Zed's hardware, stashed by the agent's reconcile, then the upgrade to Nova 2025.1 and osinfo-db
 * 2025 with and without the stash, and each guest powered on through the agent's domain sync.
 * The test driver has no QEMU: machine-type aliases and what the new QEMU can run come from the
 * recorded libvirt 9.0 / QEMU 7.2 capabilities, edited as in new-qemu.ts.
 */
import type { Logger } from 'pino';
import { DomainSync, stashFromStored } from '../agent/domain-sync.js';
import { reconcileHost } from '../agent/reconcile.js';
import { checkMachineType, checkValue, parseDomainCapabilities, parseHostCapabilities } from '../core/capabilities.js';
import { buildDomain, type Stash } from '../core/domain-xml/index.js';
import { NOVA_DEFAULT_PROFILE, type HostProfile, type OsInfoLookup } from '../core/inputs.js';
import { PROPERTY_NAMES } from '../core/properties.js';
import { ZED, type NovaRelease } from '../core/releases.js';
import { resolve } from '../core/resolve.js';
import type { Hypervisor } from '../hypervisor/index.js';
import type { Store } from '../store/index.js';
import { insertInstances } from '../store/seed.js';
import { upgradeFleet, type FleetGuest } from './fleet.js';
import {
  countChanges,
  diffHardware,
  effectiveVideo,
  explainChange,
  machineAliases,
  requestedByImageAlias,
  type ChangeCount,
  type Hardware,
  type HardwareChange,
  type UpgradeStory,
} from './hardware.js';
import { newQemuDomainCapabilities, newQemuHostCapabilities } from './new-qemu.js';

export interface ReplayInputs {
  store: Store;
  hypervisor: Hypervisor;
  host: string;
  osinfoBefore: OsInfoLookup;
  osinfoAfter: OsInfoLookup;
  after: NovaRelease;
  /** Recorded `virsh capabilities` and `virsh domcapabilities` (pc and q35) of the old QEMU. */
  capabilitiesXml: string;
  domainCapabilitiesXml: { pc: string; q35: string };
  logger: Logger;
}

export interface GuestOutcome {
  guest: FleetGuest;
  uuid: string;
  before: Hardware;
  /** Without the stash: what Nova 2025.1's defaults change, each with its documented cause. */
  control: Array<HardwareChange & { cause: string | null }>;
  /** With the stash: what still changes (none expected), and what follows the image's own alias. */
  withStash: HardwareChange[];
  followsImage: HardwareChange[];
  /** The agent's power-on: unchanged / redefined / refused, and drift found afterwards. */
  powerOn: string;
  drift: number;
  /** What the new QEMU cannot run of the stash (reported, never changed). */
  cannotRun: string[];
}

export interface ReplayResult {
  guests: GuestOutcome[];
  control: ChangeCount;
  withStash: ChangeCount;
}

const decisionsOf = (r: ReturnType<typeof resolve>, name: string): Stash => {
  if (Object.keys(r.errors).length) throw new Error(`${name}: ${JSON.stringify(r.errors)}`);
  return Object.fromEntries(Object.entries(r.properties).map(([k, d]) => [k, d!.value]));
};

/** The machine type the domain ends up with: libvirt stores the QEMU's expansion of an alias. */
function expanded(decisions: Stash, aliases: Readonly<Record<string, string>>): Hardware {
  const m = decisions.hw_machine_type;
  return { ...decisions, hw_machine_type: m ? (aliases[m] ?? m) : null, hw_video_model: effectiveVideo(decisions.hw_video_model ?? null) };
}

export async function replayUpgrade(inp: ReplayInputs): Promise<ReplayResult> {
  const fleet = upgradeFleet();
  const base = { ...NOVA_DEFAULT_PROFILE, arch: 'x86_64', virtType: 'kvm' as const, spiceEnabled: true };
  const zed: HostProfile = { ...base, release: ZED };
  const epoxy: HostProfile = { ...base, release: inp.after };
  const newHostXml = newQemuHostCapabilities(inp.capabilitiesXml);
  const story: UpgradeStory = {
    from: { release: ZED, osinfo: inp.osinfoBefore, machineAliases: machineAliases(inp.capabilitiesXml) },
    to: { release: inp.after, osinfo: inp.osinfoAfter, machineAliases: machineAliases(newHostXml) },
    spiceEnabled: true,
  };
  const newHost = parseHostCapabilities(newHostXml);
  const newDom = { pc: parseDomainCapabilities(newQemuDomainCapabilities(inp.domainCapabilitiesXml.pc)), q35: parseDomainCapabilities(newQemuDomainCapabilities(inp.domainCapabilitiesXml.q35)) };

  // Before: seeded as Nova's API writes it, defined with Zed's hardware as libvirt stores it.
  await inp.store.initNovaSchema();
  await inp.store.migrate();
  const uuids = await insertInstances(inp.store, fleet.map((g) => ({ host: inp.host, vmState: 'stopped', displayName: g.name, imageProperties: g.imageProperties })));
  const before: Hardware[] = [];
  for (const [i, g] of fleet.entries()) {
    const hw = expanded(decisionsOf(resolve({ imageProperties: g.imageProperties, instance: { vmMode: null }, host: zed, osinfo: inp.osinfoBefore }), g.name), story.from.machineAliases);
    before.push(hw);
    await inp.hypervisor.define(buildDomain({
      name: `upgrade-demo-${i}`, uuid: uuids[i]!, vcpus: 1, memoryMb: 512, virtType: 'kvm', arch: 'x86_64', stash: hw as Stash,
      disks: [{ deviceType: 'disk', path: `/var/lib/nova/instances/${uuids[i]}/disk`, format: 'qcow2', bootIndex: 0 }, { deviceType: 'cdrom', path: `/var/lib/nova/instances/${uuids[i]}/disk.config`, format: 'raw' }],
      interfaces: [{ type: 'network', source: 'default' }],
      graphics: 'vnc',
    }));
  }
  const sync = (profile: HostProfile) => new DomainSync({ store: inp.store, hypervisor: inp.hypervisor, profile, logger: inp.logger, instancesPath: '/var/lib/nova/instances', instanceNameTemplate: 'instance-%08x', rngDevPath: '/dev/urandom' });
  // The agent's reconcile, as at its start: each property from the domain where it has one.
  const zedSync = sync(zed);
  await reconcileHost({ store: inp.store, host: inp.host, profile: zed, osinfo: inp.osinfoBefore, domainFacts: (u) => zedSync.facts(u), batchSize: 50, logger: inp.logger });

  // After the upgrade.
  const epoxySync = sync(epoxy);
  const guests: GuestOutcome[] = [];
  for (const [i, g] of fleet.entries()) {
    const uuid = uuids[i]!;
    const live = await inp.store.liveInstance(uuid);
    if (!live) throw new Error(`${g.name}: not in the database`);
    const { stash } = stashFromStored(live.stored);
    const imageAndStash = { ...g.imageProperties, ...Object.fromEntries(Object.entries(stash).filter((e): e is [string, string] => typeof e[1] === 'string')) };
    const hwBefore = { ...before[i]!, ...pick(stash, ['hw_floppy_bus', 'hw_rescue_bus']) };
    const control = diffHardware(hwBefore, expanded(decisionsOf(resolve({ imageProperties: g.imageProperties, instance: { vmMode: null }, host: epoxy, osinfo: inp.osinfoAfter }), g.name), story.to.machineAliases));
    const stashed = diffHardware(hwBefore, expanded(decisionsOf(resolve({ imageProperties: imageAndStash, instance: { vmMode: null }, host: epoxy, osinfo: inp.osinfoAfter }), g.name), story.to.machineAliases));
    const cannotRun = cannotRunOf(stash, before[i]!, newHost, newDom);
    // Power on through the agent's domain sync: redefine from the stash before it boots.
    let powerOn: string;
    try {
      powerOn = (await epoxySync.follow(uuid, { start: true })).outcome;
    } catch (err) {
      powerOn = `refused: ${(err as Error).message}`;
    }
    const verified = await epoxySync.verify(uuid);
    await inp.hypervisor.destroy(uuid).catch(() => undefined);
    guests.push({
      guest: g,
      uuid,
      before: hwBefore,
      control: control.map((c) => ({ ...c, cause: explainChange(c, g.imageProperties, story) })),
      withStash: stashed.filter((c) => !requestedByImageAlias(c, g.imageProperties, story)),
      followsImage: stashed.filter((c) => requestedByImageAlias(c, g.imageProperties, story)),
      powerOn,
      drift: verified.drift.length,
      cannotRun,
    });
  }
  return { guests, control: countChanges(guests.map((g) => g.control)), withStash: countChanges(guests.map((g) => g.withStash)) };
}

function pick(stash: Stash, keys: ReadonlyArray<keyof Stash>): Hardware {
  return Object.fromEntries(keys.filter((k) => k in stash).map((k) => [k, stash[k] ?? null]));
}

/** The stashed values the new QEMU cannot run: its machine type, then each device value. */
function cannotRunOf(stash: Stash, before: Hardware, host: ReturnType<typeof parseHostCapabilities>, dom: { pc: ReturnType<typeof parseDomainCapabilities>; q35: ReturnType<typeof parseDomainCapabilities> }): string[] {
  const out: string[] = [];
  const machine = before.hw_machine_type ?? 'pc';
  if (checkMachineType(host, 'x86_64', machine)?.kind === 'unsupported') out.push(`hw_machine_type=${machine}`);
  const caps = machine.includes('q35') ? dom.q35 : dom.pc;
  for (const p of PROPERTY_NAMES) {
    if (p === 'hw_machine_type') continue;
    const v = stash[p];
    if (v === undefined) continue;
    if (checkValue(p, v, caps)?.kind === 'unsupported') out.push(`${p}=${v}`);
  }
  return out;
}
