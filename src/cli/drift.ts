/**
 * `hwstash drift`: the instances of a host that need an operator's eye — stashed values this
 * host's QEMU cannot run (or runs on a deprecated machine type), a libvirt domain that differs
 * from the stash, properties not stashed yet, stored values Nova cannot load.
 */
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import type { HostFindings } from '../core/property-checks.js';
import { PROPERTY_NAMES, type PropertyName } from '../core/properties.js';
import type { LiveInstance, Store } from '../store/index.js';
import type { CliContext } from './context.js';
import { withStore } from './db.js';
import { CliError, EXIT, requireNonEmpty } from './errors.js';
import { LibvirtLink, capabilityFindings, domainSyncFor } from './libvirt-link.js';
import { chooseFormat, renderTable, writeJson } from './output.js';
import { guestPlatform, type Stored } from './property-change.js';

const PAGE = 200;

export type DriftKind = 'differs' | 'unsupported' | 'deprecated' | 'not-stashed' | 'unreadable';

export interface DriftFinding {
  property: PropertyName | null;
  kind: DriftKind;
  stashed: string | null;
  /** What the domain uses, for `differs`. */
  domain: string | null;
  detail: string;
}

export interface InstanceDrift {
  uuid: string;
  vmState: string | null;
  /** Which domain definition was compared; `unknown` when libvirt could not be asked. */
  compared: 'live' | 'persistent' | 'none' | 'unknown';
  findings: DriftFinding[];
  /** What this host's capabilities could not say. */
  notChecked: string[];
}

export interface DriftReport {
  host: string;
  libvirt: 'checked' | 'unreachable';
  instances: number;
  withFindings: number;
  byKind: Partial<Record<DriftKind, number>>;
  drift: InstanceDrift[];
}

function storeFindings(stored: Stored): DriftFinding[] {
  const out: DriftFinding[] = [];
  for (const name of PROPERTY_NAMES) {
    const p = stored[name];
    if (!p.present) out.push({ property: name, kind: 'not-stashed', stashed: null, domain: null, detail: 'not stashed yet (the agent stashes it; or run hwstash reconcile)' });
    else if (p.error) out.push({ property: name, kind: 'unreadable', stashed: p.raw, domain: null, detail: `Nova cannot load the stored value: ${p.error}` });
  }
  return out;
}

/** The stash against this host's libvirt; null when libvirt could not be asked. */
async function hostFindings(ctx: CliContext, link: LibvirtLink, live: LiveInstance, domainXml: string | null): Promise<HostFindings | null> {
  if (link.unavailable) return null;
  const { stored } = live;
  const platform = guestPlatform(ctx.profile(), live, domainXml);
  const values = PROPERTY_NAMES.filter((n) => stored[n].present && stored[n].value !== null).map((n) => ({ property: n, value: stored[n].value, changed: true }));
  return capabilityFindings(link, ctx.profile(), platform.arch, platform.machine, values);
}

async function instanceDrift(ctx: CliContext, store: Store, link: LibvirtLink, live: LiveInstance): Promise<InstanceDrift | null> {
  const { instance, stored } = live;
  const findings = storeFindings(stored);
  const result: InstanceDrift = { uuid: instance.uuid, vmState: instance.vmState, compared: 'unknown', findings, notChecked: [] };
  const hv = await link.hypervisor();
  if (!hv) return result;
  const persistentXml = await link.call((h) => h.persistentXml(instance.uuid));
  const host = await hostFindings(ctx, link, live, persistentXml);
  if (!host) return result;
  for (const [kind, list] of [['unsupported', host.unsupported], ['deprecated', host.warnings]] as const) {
    for (const f of list) findings.push({ property: f.property, kind, stashed: f.property ? stored[f.property].value : null, domain: null, detail: f.message });
  }
  result.notChecked = host.notChecked.map((f) => f.message);
  const { InstanceGoneError } = await import('../agent/domain-sync.js');
  try {
    const verified = await link.call(async () => (await domainSyncFor(ctx, store, hv)).verify(instance.uuid, { live, persistentXml }));
    if (!verified) return result;
    result.compared = verified.compared;
    for (const d of verified.drift) {
      findings.push({
        property: d.property,
        kind: 'differs',
        stashed: d.stashed,
        domain: d.domain,
        detail: `the ${verified.compared === 'live' ? 'running' : 'defined'} domain uses ${d.domain ?? 'no such device'}, the stash says ${d.stashed ?? 'no such device'}`,
      });
    }
  } catch (err) {
    if (err instanceof InstanceGoneError) return null;
    throw err;
  }
  return result;
}

export async function driftReport(ctx: CliContext, store: Store, host: string): Promise<DriftReport> {
  const link = new LibvirtLink(ctx, { required: false, consequence: 'domains and capabilities not checked; only the database is' });
  const report: DriftReport = { host, libvirt: 'checked', instances: 0, withFindings: 0, byKind: {}, drift: [] };
  const ids = await store.instanceIdsOnHost(host);
  for await (const live of store.eachLiveInstance(ids.map((i) => i.uuid), { host, pageSize: PAGE })) {
    const d = await instanceDrift(ctx, store, link, live);
    if (!d) continue;
    report.instances += 1;
    if (d.findings.length === 0) continue;
    report.withFindings += 1;
    report.drift.push(d);
    for (const f of d.findings) report.byKind[f.kind] = (report.byKind[f.kind] ?? 0) + 1;
  }
  if (link.unavailable) report.libvirt = 'unreachable';
  return report;
}

export function renderDrift(r: DriftReport): string {
  const out: string[] = [];
  const rows = r.drift.flatMap((d) => d.findings.map((f) => [d.uuid, f.property ?? '-', f.kind, f.stashed, f.kind === 'differs' ? `domain: ${f.domain ?? 'none'}` : f.detail]));
  if (rows.length) out.push(renderTable(['instance', 'property', 'finding', 'stashed', 'detail'], rows));
  const kinds = Object.entries(r.byKind).map(([k, n]) => `${n} ${k}`).join(', ');
  out.push(
    `host ${r.host}: ${r.instances} instance(s), ${r.withFindings} with findings${kinds ? ` (${kinds})` : ''}` +
      `${r.libvirt === 'unreachable' ? '; libvirt unreachable: domains and capabilities not checked' : ''}\n`,
  );
  return out.join('');
}

export function registerDrift(program: Command, ctx: CliContext): void {
  program
    .command('drift')
    .description(COMMAND_SUMMARIES['drift'])
    .option('--host <host>', "the compute host (default: [DEFAULT] host, else this machine's hostname)")
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
Findings: differs (the domain uses another value than the stash), unsupported (this host's QEMU
cannot run the stashed value on the instance's machine type, per libvirt's domain and host
capabilities), deprecated (the machine type is deprecated in this QEMU), not-stashed, unreadable
(a stored value Nova cannot load).

Exit status: 0 nothing found, 1 error or libvirt unreachable (only the database was checked),
3 findings.

Examples:
  hwstash drift
  hwstash drift --host compute-7 --format json
  hwstash drift --format json | jq '.drift[] | select(.findings[].kind == "differs") | .uuid'`)
    .action(async (opts: { host?: string; format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      requireNonEmpty('--host', [opts.host]);
      const host = opts.host ?? ctx.settings().host;
      const report = await withStore(ctx, (store) => driftReport(ctx, store, host));
      if (format === 'json') writeJson(ctx.io.stdout, report);
      else ctx.io.stdout.write(renderDrift(report));
      ctx.exitCode = report.libvirt === 'unreachable' ? EXIT.unexpected : report.withFindings > 0 ? 3 : EXIT.ok;
    });
}
