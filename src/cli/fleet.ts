/**
 * The fleet view over hwstash_hosts: `fleet hosts` (every host's profile, heartbeat and
 * instances), `fleet record` (this host's profile, for a host without a running agent),
 * `move-check` (can an instance's stash run on other hosts?) and `what-if` (which instances a
 * planned libvirt/QEMU could not start). The answers are the core's (core/fleet/profile.ts);
 * this module reads the database and files and prints.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import {
  FleetInputError,
  canRun,
  describedPlatform,
  isStale,
  plannedProfile,
  replacementFor,
  type NotChecked,
  type RunProblem,
  type StoredHostProfile,
} from '../core/fleet/profile.js';
import { parseHostCapabilities } from '../core/capabilities.js';
import { DomainXmlError } from '../core/domain-xml/errors.js';
import type { PropertyName } from '../core/properties.js';
import type { LiveInstance, Store } from '../store/index.js';
import type { CliContext } from './context.js';
import { withStore } from './db.js';
import { CliError, EXIT, requireNonEmpty } from './errors.js';
import { chooseFormat, collect, renderTable, writeJson } from './output.js';

const FORMAT_HELP = 'table or json (default: table on a terminal, json otherwise)';

function ageSeconds(iso: string, now: Date): number {
  return Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
}

function ageText(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

async function loadFleet(store: Store): Promise<{ profiles: StoredHostProfile[]; byHost: Map<string, StoredHostProfile> }> {
  const profiles = await store.hostProfiles();
  return { profiles, byHost: new Map(profiles.map((p) => [p.host, p])) };
}

function unknownHost(option: string, host: string, profiles: readonly StoredHostProfile[]): CliError {
  const known = profiles.map((p) => p.host);
  return new CliError(
    EXIT.notFound,
    `${option} ${host}: no profile recorded for this host (its agent records one; or run hwstash fleet record there); profiled hosts: ${known.length ? known.join(', ') : 'none'}`,
  );
}

// ---------------------------------------------------------------------------------------------
// fleet hosts

export interface FleetHostRow {
  host: string;
  profiled: boolean;
  novaRelease: string | null;
  libvirtVersion: string | null;
  qemuVersion: string | null;
  arch: string | null;
  virtType: string | null;
  heartbeatAt: string | null;
  heartbeatAgeSeconds: number | null;
  stale: boolean;
  instances: number;
  /** Fewer than the 11 properties stashed. */
  notFullyStashed: number;
  /** Whose stash this host's own profile says it cannot run; null when the host has no profile. */
  cannotRunHere: number | null;
}

export async function fleetHosts(ctx: CliContext, store: Store, only: readonly string[]): Promise<FleetHostRow[]> {
  const { fullyStashed, instancesOf, perDistinctStash, stashOf } = await import('../agent/fleet.js');
  const now = new Date();
  const interval = ctx.settings().hwstash.profileInterval;
  const { profiles, byHost } = await loadFleet(store);
  const counts = await store.liveInstanceCountsByHost();
  const hosts = [...new Set([...profiles.map((p) => p.host), ...counts.keys()])].sort();
  for (const h of only) if (!hosts.includes(h)) throw new CliError(EXIT.notFound, `--host ${h}: no profile and no live instance for this host; known hosts: ${hosts.join(', ') || 'none'}`);
  const rows: FleetHostRow[] = [];
  for (const host of only.length ? only : hosts) {
    const p = byHost.get(host) ?? null;
    const row: FleetHostRow = {
      host,
      profiled: p !== null,
      novaRelease: p?.novaRelease ?? null,
      libvirtVersion: p?.libvirtVersion ?? null,
      qemuVersion: p?.qemuVersion ?? null,
      arch: p?.arch ?? null,
      virtType: p?.virtType ?? null,
      heartbeatAt: p?.heartbeatAt ?? null,
      heartbeatAgeSeconds: p ? ageSeconds(p.heartbeatAt, now) : null,
      stale: p ? isStale(p.heartbeatAt, now, interval) : false,
      instances: counts.get(host) ?? 0,
      notFullyStashed: 0,
      cannotRunHere: p ? 0 : null,
    };
    const runsHere = p ? perDistinctStash((stash) => canRun(stash, p).runs) : null;
    for await (const live of instancesOf(store, host)) {
      if (!fullyStashed(live)) row.notFullyStashed += 1;
      if (p && !runsHere!(stashOf(live, p.arch))) row.cannotRunHere! += 1;
    }
    rows.push(row);
  }
  return rows;
}

export function renderFleetHosts(rows: readonly FleetHostRow[]): string {
  const table = renderTable(
    ['host', 'release', 'libvirt', 'qemu', 'arch/virt', 'heartbeat', 'instances', 'not fully stashed', 'cannot run here'],
    rows.map((r) => [
      r.host,
      r.novaRelease,
      r.libvirtVersion,
      r.qemuVersion,
      r.arch ? `${r.arch}/${r.virtType}` : null,
      r.profiled ? `${ageText(r.heartbeatAgeSeconds!)} ago${r.stale ? ' STALE' : ''}` : 'not profiled',
      r.instances,
      r.notFullyStashed,
      r.cannotRunHere,
    ]),
  );
  const stale = rows.filter((r) => r.stale).length;
  const unprofiled = rows.filter((r) => !r.profiled).length;
  return `${table}${rows.length} host(s)${stale ? `, ${stale} stale (no heartbeat for 3 × [hwstash] profile_interval: its agent stopped?)` : ''}${unprofiled ? `, ${unprofiled} not profiled` : ''}\n`;
}

// ---------------------------------------------------------------------------------------------
// move-check

export interface MoveTarget {
  host: string;
  runs: boolean;
  stale: boolean;
  heartbeatAt: string;
  problems: RunProblem[];
  notChecked: NotChecked[];
}

export interface MoveCheck {
  instance: string;
  from: string | null;
  arch: string;
  stash: Partial<Record<PropertyName, string | null>>;
  hosts: MoveTarget[];
}

async function requireInstance(store: Store, uuid: string): Promise<LiveInstance> {
  const live = await store.liveInstance(uuid);
  if (!live) throw new CliError(EXIT.notFound, `instance ${uuid}: no live instance with this uuid`);
  return live;
}

export async function moveCheck(ctx: CliContext, store: Store, uuid: string, to: readonly string[]): Promise<MoveCheck> {
  const { stashOf } = await import('../agent/fleet.js');
  const live = await requireInstance(store, uuid);
  const { profiles, byHost } = await loadFleet(store);
  const from = live.instance.host;
  const source = from === null ? undefined : byHost.get(from);
  const stash = stashOf(live, source?.arch ?? ctx.profile().arch);
  const virtType = source?.virtType ?? ctx.profile().virtType;
  const named = (h: string): StoredHostProfile => {
    const p = byHost.get(h);
    if (!p) throw unknownHost('--to', h, profiles);
    return p;
  };
  const targets = to.length ? to.map(named) : profiles.filter((p) => p.host !== from && p.arch === stash.arch && p.virtType === virtType);
  const now = new Date();
  const interval = ctx.settings().hwstash.profileInterval;
  return {
    instance: uuid,
    from,
    arch: stash.arch,
    stash: stash.values,
    hosts: targets.map((p) => ({ host: p.host, stale: isStale(p.heartbeatAt, now, interval), heartbeatAt: p.heartbeatAt, ...canRun(stash, p) })),
  };
}

function notCheckedNames(list: readonly NotChecked[]): string {
  return [...new Set(list.map((n) => n.property ?? 'device values'))].join(', ');
}

export function renderMoveCheck(r: MoveCheck): string {
  const rows = r.hosts.flatMap((h) =>
    h.runs
      ? [[h.host + (h.stale ? ' (stale)' : ''), 'yes', '-', '-', h.notChecked.length ? `not checked (the capabilities do not list them): ${notCheckedNames(h.notChecked)}` : '-']]
      : h.problems.map((p) => [h.host + (h.stale ? ' (stale)' : ''), 'no', p.property ?? '-', p.value, p.message]),
  );
  const table = rows.length ? renderTable(['host', 'can run', 'property', 'value', 'why'], rows) : '';
  const cannot = r.hosts.filter((h) => !h.runs).length;
  const summary = r.hosts.length === 0
    ? `instance ${r.instance} (on ${r.from ?? 'no host'}): no other profiled host of arch ${r.arch} to check\n`
    : `instance ${r.instance} (on ${r.from ?? 'no host'}): ${r.hosts.length - cannot} of ${r.hosts.length} host(s) can run its stash\n`;
  return table + summary;
}

// ---------------------------------------------------------------------------------------------
// what-if

export interface WhatIfCause {
  property: PropertyName;
  value: string;
  host: string;
  /** Why, as the first instance's check put it. */
  reason: string;
  instances: string[];
  /** A value the planned QEMU runs for every instance of the group, or null when none was found. */
  replacement: string | null;
  /** The bulk set that moves them first (run on `host` itself, with the instances stopped). */
  command: string;
}

export interface WhatIf {
  arch: string;
  virtType: string;
  machineTypesChecked: boolean;
  hosts: string[];
  instances: number;
  cannotStart: number;
  /** Per property (or `devices`: a family without --domcaps), instances whose value the plan does not describe. */
  notChecked: Record<string, number>;
  causes: WhatIfCause[];
}

function readFile(option: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(EXIT.unexpected, `${option} ${file}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A shell word: bare when safe, else single-quoted. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_.,:=/@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function moveCommand(host: string, property: PropertyName, value: string, replacement: string | null): string {
  return ['hwstash', 'image-property', 'set', '--all', '--host', host, '--where', `${property}=${value}`, '--property', `${property}=${replacement ?? '<value>'}`]
    .map((w) => (w === `${property}=<value>` ? `'${w}'` : shellWord(w)))
    .join(' ');
}

export async function whatIf(ctx: CliContext, store: Store, domcapsFiles: readonly string[], capabilitiesFile: string | undefined, only: readonly string[]): Promise<WhatIf> {
  const { instancesOf, stashOf } = await import('../agent/fleet.js');
  const domcaps = domcapsFiles.map((f) => readFile('--domcaps', f));
  const hostXml = capabilitiesFile === undefined ? null : readFile('--capabilities', capabilitiesFile);
  let platform: ReturnType<typeof describedPlatform>;
  try {
    platform = describedPlatform(domcaps);
    // Parsed now (and cached): a bad file is the option's error, before any host is read.
    if (hostXml !== null) parseHostCapabilities(hostXml);
  } catch (err) {
    if (err instanceof FleetInputError) throw new CliError(EXIT.unexpected, err.message);
    if (err instanceof DomainXmlError) throw new CliError(EXIT.unexpected, `${/host capabilities/.test(err.message) ? '--capabilities' : '--domcaps'}: ${err.message}`);
    throw err;
  }
  const { profiles, byHost } = await loadFleet(store);
  const hosts = only.length
    ? only.map((h) => {
        const p = byHost.get(h);
        if (!p) throw unknownHost('--host', h, profiles);
        if (p.arch !== platform.arch || p.virtType !== platform.virtType) {
          throw new CliError(EXIT.unexpected, `--host ${h}: the host is ${p.arch}/${p.virtType}, the --domcaps describe ${platform.arch}/${platform.virtType}`);
        }
        return p;
      })
    : profiles.filter((p) => p.arch === platform.arch && p.virtType === platform.virtType);
  const report: WhatIf = { ...platform, machineTypesChecked: hostXml !== null, hosts: hosts.map((h) => h.host), instances: 0, cannotStart: 0, notChecked: {}, causes: [] };
  const groups = new Map<string, WhatIfCause & { stashes: Array<ReturnType<typeof stashOf>>; planned: ReturnType<typeof plannedProfile> }>();
  for (const host of hosts) {
    const planned = plannedProfile(host, domcaps, hostXml);
    for await (const live of instancesOf(store, host.host)) {
      report.instances += 1;
      const stash = stashOf(live, host.arch);
      const answer = canRun(stash, planned);
      for (const key of new Set(answer.notChecked.map((n) => n.property ?? 'devices'))) report.notChecked[key] = (report.notChecked[key] ?? 0) + 1;
      if (answer.runs) continue;
      report.cannotStart += 1;
      for (const p of answer.problems) {
        if (p.property === null || p.value === null) continue;
        const key = JSON.stringify([host.host, p.property, p.value]);
        let g = groups.get(key);
        if (!g) {
          // The profile is the plan's, under the host's name: say so.
          const reason = p.message.replace(`${host.host}: its QEMU`, `${host.host}, planned QEMU`);
          g = { property: p.property, value: p.value, host: host.host, reason, instances: [], replacement: null, command: '', stashes: [], planned };
          groups.set(key, g);
        }
        g.instances.push(live.instance.uuid);
        g.stashes.push(stash);
      }
    }
  }
  for (const g of groups.values()) {
    const { stashes, planned, ...cause } = g;
    const replacement = replacementFor(g.property, stashes, planned);
    report.causes.push({ ...cause, replacement, command: moveCommand(g.host, g.property, g.value, replacement) });
  }
  report.causes.sort((a, b) => b.instances.length - a.instances.length || a.host.localeCompare(b.host) || a.property.localeCompare(b.property) || a.value.localeCompare(b.value));
  return report;
}

export function renderWhatIf(r: WhatIf): string {
  const out: string[] = [];
  if (r.causes.length) {
    out.push(renderTable(['cause', 'host', 'instances', 'why', 'move them first with'], r.causes.map((c) => [`${c.property}=${c.value}`, c.host, c.instances.length, c.reason, c.command])));
  }
  out.push(
    `${r.instances} instance(s) on ${r.hosts.length} ${r.arch}/${r.virtType} host(s): ${r.cannotStart} could not start after the upgrade` +
      `${Object.keys(r.notChecked).length ? `; not checked (the planned capabilities do not list them): ${Object.entries(r.notChecked).map(([k, n]) => `${k} on ${n}`).join(', ')}` : ''}` +
      `${r.machineTypesChecked ? '' : '; machine types not checked (give --capabilities)'}\n`,
  );
  if (r.causes.length) out.push('Run each command on its host with the instances stopped, --dry-run first.\n');
  return out.join('');
}

// ---------------------------------------------------------------------------------------------
// Commands

export function registerFleet(program: Command, ctx: CliContext): void {
  const fleet = program.command('fleet').description(COMMAND_SUMMARIES['fleet']);
  fleet
    .command('hosts')
    .description('one row per compute host: Nova release, libvirt and QEMU versions, heartbeat age, instances, not fully stashed, stashes the host cannot run')
    .option('--host <host>', 'only this host (repeatable)', collect, [])
    .option('--format <format>', FORMAT_HELP)
    .addHelpText('after', `
Hosts are those with a profile in hwstash_hosts (recorded by each agent at start and every
[hwstash] profile_interval seconds) and those with live instances in Nova's instances table. A
profile without a heartbeat for 3 × profile_interval is shown STALE: its agent stopped; the host
is still listed, with what it last recorded.

Exit status: 0 ok, 1 error, 2 a --host that is neither profiled nor has instances.

Examples:
  hwstash fleet hosts
  hwstash fleet hosts --format json | jq '.[] | select(.stale)'`)
    .action(async (opts: { host: string[]; format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      requireNonEmpty('--host', opts.host);
      const rows = await withStore(ctx, (store) => fleetHosts(ctx, store, opts.host));
      if (format === 'json') writeJson(ctx.io.stdout, rows);
      else ctx.io.stdout.write(renderFleetHosts(rows));
    });

  fleet
    .command('record')
    .description("record this host's profile in hwstash_hosts now (what the agent does at start and every profile_interval)")
    .option('--format <format>', FORMAT_HELP)
    .addHelpText('after', `
For a host whose agent does not run (yet): its profile then shows in fleet hosts, move-check and
what-if. It asks this machine's libvirt ([libvirt] connection_uri) and writes one row.

Exit status: 0 recorded, 1 error (libvirt or the database unreachable).`)
    .action(async (opts: { format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      const { collectProfile } = await import('../agent/fleet.js');
      const result = await withStore(ctx, async (store) => {
        let hv;
        try {
          hv = await ctx.hypervisor();
        } catch (err) {
          throw new CliError(EXIT.unexpected, `libvirt at ${ctx.settings().libvirt.connectionUri} cannot be reached (${(err as Error).message}): nothing recorded`);
        }
        const profile = ctx.profile();
        const record = await collectProfile(hv, { host: ctx.settings().host, arch: profile.arch, virtType: profile.virtType, novaRelease: profile.release?.name ?? null });
        return { profile: record, outcome: (await store.recordHostProfile(record)).outcome };
      });
      if (format === 'json') writeJson(ctx.io.stdout, result);
      else {
        const p = result.profile;
        ctx.io.stdout.write(
          `host ${p.host}: profile ${result.outcome === 'heartbeat' ? 'unchanged (heartbeat recorded)' : result.outcome}: libvirt ${p.libvirtVersion ?? '?'}, QEMU ${p.qemuVersion ?? '?'}, ` +
            `${p.arch}/${p.virtType}, ${p.machines.length} machine type(s), domain capabilities for ${p.families.map((f) => f.machine).join(', ') || 'none'}\n`,
        );
      }
    });
}

export function registerMoveCheck(program: Command, ctx: CliContext): void {
  program
    .command('move-check')
    .description(COMMAND_SUMMARIES['move-check'])
    .argument('<uuid>', 'the instance')
    .option('--to <host>', 'a host to check (repeatable; default: every other profiled host of the same virt type and arch)', collect, [])
    .option('--format <format>', FORMAT_HELP)
    .addHelpText('after', `
Each host is judged on its recorded profile (hwstash_hosts): its machine types, the device buses
and models of its QEMU's domain capabilities, and Nova's own tables where libvirt says nothing
(NIC models, buses per virt type). A stale host is checked on what it last recorded, and flagged.

Exit status: 0 every host can run the stash, 1 error, 2 instance not found or a --to host without
a profile, 7 at least one host cannot run it (or no other host is profiled).

Examples:
  hwstash move-check 5a1d0c3e-0000-4000-8000-000000000002
  hwstash move-check 5a1d0c3e-0000-4000-8000-000000000002 --to compute-2 --to compute-3 --format json`)
    .action(async (uuid: string, opts: { to: string[]; format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      requireNonEmpty('--to', opts.to);
      const result = await withStore(ctx, (store) => moveCheck(ctx, store, uuid, opts.to));
      if (format === 'json') writeJson(ctx.io.stdout, result);
      else ctx.io.stdout.write(renderMoveCheck(result));
      ctx.exitCode = result.hosts.length > 0 && result.hosts.every((h) => h.runs) ? EXIT.ok : EXIT.cannotRun;
    });
}

export function registerWhatIf(program: Command, ctx: CliContext): void {
  program
    .command('what-if')
    .description(COMMAND_SUMMARIES['what-if'])
    .requiredOption('--domcaps <file>', 'the planned QEMU\'s domain capabilities (virsh domcapabilities --machine …), one per machine family (repeatable)', collect, [])
    .option('--capabilities <file>', 'the planned host capabilities (virsh capabilities): its machine types; without it machine types are not checked')
    .option('--host <host>', 'a host to be upgraded (repeatable; default: every profiled host of the arch and virt type of --domcaps)', collect, [])
    .option('--format <format>', FORMAT_HELP)
    .addHelpText('after', `
Capture the files on a host that already runs the planned libvirt/QEMU, e.g.
  virsh domcapabilities --virttype kvm --arch x86_64 --machine q35 > q35.xml
  virsh domcapabilities --virttype kvm --arch x86_64 --machine pc > pc.xml
  virsh capabilities > caps.xml
A machine family without --domcaps has nothing to check its devices against (counted as not
checked). Each cause comes with the bulk set that moves its instances first; run it on that host,
with the instances stopped, --dry-run first.

Exit status: 0 every instance could start, 1 error, 2 a --host without a profile, 7 some could not.

Examples:
  hwstash what-if --domcaps q35.xml --domcaps pc.xml --capabilities caps.xml
  hwstash what-if --domcaps q35.xml --host compute-7 --format json`)
    .action(async (opts: { domcaps: string[]; capabilities?: string; host: string[]; format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      requireNonEmpty('--host', opts.host);
      const report = await withStore(ctx, (store) => whatIf(ctx, store, opts.domcaps, opts.capabilities, opts.host));
      if (format === 'json') writeJson(ctx.io.stdout, report);
      else ctx.io.stdout.write(renderWhatIf(report));
      ctx.exitCode = report.cannotStart > 0 ? EXIT.cannotRun : EXIT.ok;
    });
}
