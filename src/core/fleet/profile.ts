/**
 * A compute host's hardware profile, as the fleet sees it: what its QEMU offers (machine types
 * with their aliases; per machine family the device buses and models of its domain
 * capabilities), its versions and Nova release, and a heartbeat. And the one question asked of
 * it: can this stash run there? The answer is capabilities.ts's and property-checks.ts's own
 * checks run on the stored profile, so a host elsewhere is judged exactly as `drift` judges its
 * own host; Nova's validity tables answer where libvirt is silent (NIC models, buses per virt
 * type). Pure: no I/O.
 */
import {
  parseDomainCapabilities,
  parseHostCapabilities,
  machineTypesFor,
  type DeviceCapability,
  type DomainCapabilities,
  type HostCapabilities,
  type MachineTypeInfo,
} from '../capabilities.js';
import { machineFamily } from '../domain-xml/machine-type.js';
import { PROPERTY_NAMES, type PropertyName } from '../properties.js';
import {
  checkAgainstDomainCapabilities,
  checkMachineOnHost,
  emptyFindings,
  mergeFindings,
  virtTypeProblem,
  type HostFindings,
} from '../property-checks.js';
import { findRelease, NEWEST_RELEASE } from '../releases.js';
import { VIRT_TYPES, type VirtType } from '../inputs.js';
import { busesFor, vifModelsFor } from '../rules/context.js';

/** The domain capabilities of one machine family (`i440fx`, `q35`, …), as the profile keeps them. */
export interface FamilyDevices {
  readonly family: string;
  /** The versioned machine type the capabilities were asked for, e.g. `pc-q35-7.2`. */
  readonly machine: string;
  readonly devices: Readonly<Record<string, DeviceCapability>>;
}

export interface HostProfileRecord {
  readonly host: string;
  /** The Nova release whose rules the host follows (`2025.1`); null when unknown. */
  readonly novaRelease: string | null;
  readonly libvirtVersion: string | null;
  readonly qemuVersion: string | null;
  readonly arch: string;
  readonly virtType: VirtType;
  /** Machine types QEMU offers for `arch`, aliases included; empty when libvirt could not say. */
  readonly machines: readonly MachineTypeInfo[];
  readonly families: readonly FamilyDevices[];
  /** Nova's own validity tables for this virt type and release, where libvirt says nothing. */
  readonly nova: { readonly diskBuses: readonly string[]; readonly vifModels: readonly string[] };
}

export interface StoredHostProfile extends HostProfileRecord {
  /** ISO-8601 UTC of the last refresh. */
  readonly heartbeatAt: string;
  /** ISO-8601 UTC of the last change of the profile itself. */
  readonly updatedAt: string;
}

export class FleetInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FleetInputError';
  }
}

export interface ProfileInputs {
  host: string;
  novaRelease: string | null;
  libvirtVersion: string | null;
  qemuVersion: string | null;
  arch: string;
  virtType: VirtType;
  /** virConnectGetCapabilities; null when libvirt has none (then no machine types are known). */
  hostCapabilitiesXml: string | null;
  /** virConnectGetDomainCapabilities, one per machine family of interest (duplicates of a family are dropped). */
  domainCapabilitiesXml: readonly string[];
}

/** Nova's tables for a virt type and release; an unknown release reads as the newest. */
export function novaTables(virtType: VirtType, release: string | null): HostProfileRecord['nova'] {
  const r = (release && findRelease(release)) || NEWEST_RELEASE;
  return { diskBuses: [...busesFor(virtType)], vifModels: [...vifModelsFor(virtType, r)] };
}

function familiesOf(xmls: readonly string[], arch: string, virtType: string): FamilyDevices[] {
  const out = new Map<string, FamilyDevices>();
  for (const xml of xmls) {
    const caps = parseDomainCapabilities(xml);
    if (caps.arch !== arch) throw new FleetInputError('domcaps', `domain capabilities for arch ${caps.arch}, but the host is ${arch}`);
    if (caps.domainType !== null && caps.domainType !== virtType) {
      throw new FleetInputError('domcaps', `domain capabilities for virt type ${caps.domainType}, but the host is ${virtType}`);
    }
    const family = machineFamily(caps.machine);
    if (!out.has(family)) out.set(family, { family, machine: caps.machine, devices: caps.devices as Record<string, DeviceCapability> });
  }
  return [...out.values()];
}

/** The profile of a host from what its libvirt said. */
export function buildProfile(i: ProfileInputs): HostProfileRecord {
  const machines = i.hostCapabilitiesXml === null ? [] : machineTypesFor(parseHostCapabilities(i.hostCapabilitiesXml), i.arch);
  return {
    host: i.host,
    novaRelease: i.novaRelease,
    libvirtVersion: i.libvirtVersion,
    qemuVersion: i.qemuVersion,
    arch: i.arch,
    virtType: i.virtType,
    machines: machines.map((m) => ({ ...m })),
    families: familiesOf(i.domainCapabilitiesXml, i.arch, i.virtType),
    nova: novaTables(i.virtType, i.novaRelease),
  };
}

/**
 * The versioned machine types to ask domain capabilities for: one per family QEMU has an alias
 * for (`pc` → i440fx, `q35` → q35), the alias's current target. Guests of one family share its
 * device buses and models, so one answer per family is what a stash needs.
 */
export function machinesToProbe(hostCapabilitiesXml: string, arch: string): string[] {
  const machines = machineTypesFor(parseHostCapabilities(hostCapabilitiesXml), arch);
  const seen = new Map<string, string>();
  for (const m of machines) if (m.alias && !seen.has(machineFamily(m.canonical))) seen.set(machineFamily(m.canonical), m.canonical);
  return [...seen.values()];
}

// ---------------------------------------------------------------------------------------------
// Can a stash run here?

export interface StashToCheck {
  /** The guest's architecture. */
  arch: string;
  /** Stashed values (present ones; null = no such device). */
  values: Partial<Record<PropertyName, string | null>>;
}

export interface RunProblem {
  /** null: not one property (the arch or virt type differs). */
  property: PropertyName | null;
  value: string | null;
  message: string;
}

export interface NotChecked {
  /** null: a whole group of values (no capabilities recorded for the machine family). */
  property: PropertyName | null;
  message: string;
}

export interface RunAnswer {
  runs: boolean;
  problems: RunProblem[];
  /** What neither libvirt nor Nova's tables could say (libvirt 9.0 lists no input devices). */
  notChecked: NotChecked[];
}

/** The profile's machine types as host capabilities, for capabilities.ts's machine checks. */
function asHostCapabilities(p: HostProfileRecord): HostCapabilities {
  return {
    hostArch: p.arch,
    guests: [{ osType: 'hvm', arch: p.arch, wordsize: null, emulator: null, machines: p.machines, domainTypes: [p.virtType] }],
  };
}

function asDomainCapabilities(p: HostProfileRecord, f: FamilyDevices): DomainCapabilities {
  return { path: null, domainType: p.virtType, machine: f.machine, arch: p.arch, maxVcpus: null, devices: f.devices };
}

/** The family a stashed machine type belongs to, through an alias where it is one here. */
function familyOn(p: HostProfileRecord, machine: string): string {
  const info = p.machines.find((m) => m.name === machine);
  return machineFamily(info?.canonical ?? machine);
}

/**
 * The machine-type check lists every type the host has (a hundred on x86); a move stays within
 * its family, so the fleet's message lists that family's types only.
 */
function machineMessage(p: HostProfileRecord, machine: string): string {
  const family = machineFamily(machine);
  const same = p.machines
    .filter((m) => machineFamily(m.canonical) === family)
    .map((m) => (m.alias ? `${m.name} (= ${m.canonical})` : m.name))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return `${p.host}: its QEMU (arch ${p.arch}) has no machine type ${machine}; ${family} types here: ${same.length ? same.join(', ') : 'none'}`;
}

function problemsFrom(findings: HostFindings, values: StashToCheck['values'], p: HostProfileRecord): RunProblem[] {
  return findings.unsupported.map((f) => {
    const value = f.property ? (values[f.property] ?? null) : null;
    const message = f.property === 'hw_machine_type' && value !== null ? machineMessage(p, value) : `${p.host}: ${f.message.replace("this host's QEMU", 'its QEMU')}`;
    return { property: f.property, value, message };
  });
}

/**
 * Whether `stash` can run on `profile`, and for each value that cannot, which and why: the
 * machine type against the host's list, each device value against its machine family's domain
 * capabilities and Nova's tables.
 */
export function canRun(stash: StashToCheck, profile: HostProfileRecord): RunAnswer {
  const host = profile.host;
  if (stash.arch !== profile.arch) {
    return { runs: false, problems: [{ property: null, value: stash.arch, message: `${host}: the guest is ${stash.arch}, the host ${profile.arch}` }], notChecked: [] };
  }
  const entries = PROPERTY_NAMES.filter((n) => stash.values[n] !== undefined && stash.values[n] !== null).map((n) => ({ property: n, value: stash.values[n]!, changed: true }));
  const release = (profile.novaRelease && findRelease(profile.novaRelease)) || undefined;
  let findings = emptyFindings();
  // Nova's tables first: they hold where libvirt lists nothing (NIC models) and for every virt type.
  for (const e of entries) {
    const p = virtTypeProblem(e.property, e.value, profile.virtType, release);
    if (p) findings.unsupported.push({ property: e.property, message: p.message });
  }
  const machine = stash.values.hw_machine_type ?? null;
  if (machine !== null) {
    if (profile.machines.length === 0) findings.notChecked.push({ property: 'hw_machine_type', message: `${host}: no machine types recorded: hw_machine_type=${machine} not checked` });
    else findings = mergeFindings(findings, checkMachineOnHost(asHostCapabilities(profile), profile.arch, machine));
  }
  // Devices are checked on the family's capabilities even when the machine type itself is gone:
  // the guest can only move within its family, and what fails there fails on the move too.
  const family = machine === null ? null : familyOn(profile, machine);
  // No machine type stashed (hwstash stashes one; Nova may not have): the first family recorded.
  const f = family === null ? profile.families[0] : profile.families.find((x) => x.family === family);
  const devices = entries.filter((e) => e.property !== 'hw_machine_type');
  if (!f) {
    if (devices.length) findings.notChecked.push({ property: null, message: `${host}: no domain capabilities recorded for ${family === null ? 'any machine type' : `the ${family} family`}: device values not checked` });
  } else {
    const dom = checkAgainstDomainCapabilities(devices, asDomainCapabilities(profile, f));
    // A NIC model libvirt does not list was answered from Nova's table above.
    dom.notChecked = dom.notChecked.filter((n) => n.property !== 'hw_vif_model');
    findings = mergeFindings(findings, dom);
  }
  const problems = problemsFrom(findings, stash.values, profile);
  return { runs: problems.length === 0, problems, notChecked: findings.notChecked.map((n) => ({ property: n.property, message: n.message.replace("this host's", `${host}'s`) })) };
}

// ---------------------------------------------------------------------------------------------
// Heartbeats

/** A profile whose heartbeat is older than 3 refresh intervals: its agent stopped (or it is unreachable). */
export function isStale(heartbeatAt: string, now: Date, profileIntervalSeconds: number): boolean {
  // With heartbeats off (0) only the start records the profile: a day without one is stale.
  const limit = (profileIntervalSeconds > 0 ? 3 * profileIntervalSeconds : 86_400) * 1000;
  return now.getTime() - Date.parse(heartbeatAt) > limit;
}

/** Whether two profiles differ in anything but the heartbeat (so updated_at moves). */
export function sameProfile(a: HostProfileRecord, b: HostProfileRecord): boolean {
  return JSON.stringify(profileFacts(a)) === JSON.stringify(profileFacts(b));
}

function profileFacts(p: HostProfileRecord): unknown[] {
  return [p.host, p.novaRelease, p.libvirtVersion, p.qemuVersion, p.arch, p.virtType, p.machines, p.families, p.nova];
}

// ---------------------------------------------------------------------------------------------
// Planned upgrades

/**
 * A host's profile as it would be after an upgrade to the libvirt/QEMU whose capabilities are
 * given: the families of `domcaps` replace the host's (a family not given has no devices to
 * check against); the machine types of `hostCapabilitiesXml` replace the host's, or, when not
 * given, none are known and machine types are not checked.
 */
export function plannedProfile(current: HostProfileRecord, domcaps: readonly string[], hostCapabilitiesXml: string | null): HostProfileRecord {
  return buildProfile({
    host: current.host,
    novaRelease: current.novaRelease,
    libvirtVersion: null,
    qemuVersion: null,
    arch: current.arch,
    virtType: current.virtType,
    hostCapabilitiesXml,
    domainCapabilitiesXml: domcaps,
  });
}

/** The arch and virt type a set of domain capabilities describe (what-if compares hosts by them). */
export function describedPlatform(domcaps: readonly string[]): { arch: string; virtType: VirtType } {
  const first = domcaps[0];
  if (first === undefined) throw new FleetInputError('--domcaps', '--domcaps: at least one file is required');
  const caps = parseDomainCapabilities(first);
  const vt = caps.domainType ?? '';
  if (!(VIRT_TYPES as readonly string[]).includes(vt)) throw new FleetInputError('--domcaps', `--domcaps: <domain>${vt}</domain> is not allowed; allowed: ${VIRT_TYPES.join(', ')}`);
  for (const xml of domcaps.slice(1)) {
    const c = parseDomainCapabilities(xml);
    if (c.arch !== caps.arch || c.domainType !== caps.domainType) {
      throw new FleetInputError('--domcaps', `--domcaps: the files describe different platforms (${caps.arch}/${vt} and ${c.arch}/${c.domainType ?? '?'}); give one platform per run`);
    }
  }
  return { arch: caps.arch, virtType: vt as VirtType };
}

/** Preferred replacements, most modern first, per property: what Nova itself defaults to where it can. */
const PREFERENCES: Partial<Record<PropertyName, readonly string[]>> = {
  hw_video_model: ['virtio', 'vga', 'bochs', 'qxl'],
  hw_disk_bus: ['virtio', 'scsi', 'sata', 'usb'],
  hw_cdrom_bus: ['sata', 'scsi', 'usb', 'virtio'],
  hw_rescue_bus: ['virtio', 'scsi', 'sata', 'usb'],
  hw_floppy_bus: ['fdc'],
  hw_vif_model: ['virtio', 'e1000e', 'e1000', 'rtl8139'],
  hw_rng_model: ['virtio'],
  hw_input_bus: ['usb', 'virtio'],
  hw_pointer_model: ['usbtablet'],
};

/**
 * A value to move a group of instances with `property=value` to before the upgrade: the first
 * candidate the planned profile can run for every one of their stashes (checked by canRun
 * itself), never the same value. For a machine type, the newest versioned type of the same
 * family the plan offers (Nova allows moving a versioned type only forward within its family).
 * null when none fits them all.
 */
export function replacementFor(property: PropertyName, stashes: readonly StashToCheck[], planned: HostProfileRecord): string | null {
  // Distinct stashes only: a group's instances share a handful of images.
  const distinct = [...new Map(stashes.map((s) => [JSON.stringify(s), s])).values()];
  const value = distinct[0]?.values[property] ?? null;
  let candidates: readonly string[];
  if (property === 'hw_machine_type') {
    if (value === null) return null;
    const family = machineFamily(value);
    candidates = planned.machines
      .filter((m) => !m.alias && !m.deprecated && machineFamily(m.name) === family && m.name !== value)
      .map((m) => m.name)
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  } else {
    candidates = (PREFERENCES[property] ?? []).filter((c) => c !== value);
  }
  const runsWith = (stash: StashToCheck, c: string) =>
    !canRun({ ...stash, values: { ...stash.values, [property]: c } }, planned).problems.some((p) => p.property === property);
  return candidates.find((c) => distinct.every((stash) => runsWith(stash, c))) ?? null;
}
