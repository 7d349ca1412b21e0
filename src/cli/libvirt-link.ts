/**
 * The operator commands' way to libvirt: opened once, and when it cannot be reached either the
 * command is refused (the host check cannot run) or, with `--skip-host-check`, warned about once
 * and treated as absent. Also checks values against what this host's libvirt says it can run.
 */
import type { DomainSync } from '../agent/domain-sync.js';
import type { DomainFacts, HostProfile } from '../core/inputs.js';
import {
  checkAgainstDomainCapabilities,
  checkMachineOnHost,
  emptyFindings,
  mergeFindings,
  type HostFindings,
  type ValueToCheck,
} from '../core/property-checks.js';
import type { Hypervisor } from '../hypervisor/index.js';
import { isHypervisorError, type HypervisorError } from '../hypervisor/errors.js';
import type { Store } from '../store/index.js';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './errors.js';

export interface LibvirtLinkOptions {
  /** Refuse (exit 1) when libvirt cannot be reached; otherwise warn once and go on without it. */
  required: boolean;
  /** What being unreachable means for the command, e.g. "the host check cannot run; nothing written". */
  consequence: string;
  /** How to go on anyway, for a refusal. */
  hint?: string;
}

export class LibvirtLink {
  private opened?: Promise<Hypervisor | null>;
  private warned = false;

  constructor(
    private readonly ctx: CliContext,
    private readonly options: LibvirtLinkOptions,
  ) {}

  get uri(): string {
    return this.ctx.settings().libvirt.connectionUri;
  }

  /** The gateway, or null when libvirt cannot be reached and it is not required. */
  hypervisor(): Promise<Hypervisor | null> {
    this.opened ??= this.ctx.hypervisor().then(
      (hv) => hv,
      (err: unknown) => this.unreachable(err),
    );
    return this.opened;
  }

  /** Run a libvirt call; a lost connection is handled as at open. null when unavailable. */
  async call<T>(fn: (hv: Hypervisor) => Promise<T>): Promise<T | null> {
    const hv = await this.hypervisor();
    if (!hv) return null;
    try {
      return await fn(hv);
    } catch (err) {
      return this.unreachable(err);
    }
  }

  private unreachable(err: unknown): null {
    if (!isHypervisorError(err, 'connection')) throw err;
    const reason = (err as HypervisorError).libvirtMessage;
    const { required, consequence, hint } = this.options;
    if (required) {
      throw new CliError(EXIT.unexpected, `libvirt at ${this.uri} cannot be reached (${reason}): ${consequence}${hint ? `. ${hint}` : ''}`);
    }
    if (!this.warned) {
      this.warned = true;
      this.ctx.warn(`libvirt at ${this.uri} cannot be reached (${reason}): ${consequence}`);
    }
    return null;
  }

  /** Whether libvirt was found unreachable (and warned about). */
  get unavailable(): boolean {
    return this.warned;
  }
}

/** A DomainSync as the agent builds it, over the command's store and libvirt (loaded on first use). */
export async function domainSyncFor(ctx: CliContext, store: Store, hypervisor: Hypervisor): Promise<DomainSync> {
  const settings = ctx.settings();
  const { DomainSync } = await import('../agent/domain-sync.js');
  return new DomainSync({
    store,
    hypervisor,
    profile: ctx.profile(),
    logger: await ctx.logger(),
    instancesPath: settings.instancesPath,
    instanceNameTemplate: settings.instanceNameTemplate,
    rngDevPath: settings.libvirt.rngDevPath,
  });
}

/**
 * What each instance's domain uses, for `hwstash reconcile`. When libvirt cannot be read the
 * call throws, so the stash reports the instance's missing properties as unreadable instead of
 * recording today's defaults over the hardware the guest really has.
 */
export function domainFactsFor(ctx: CliContext): (uuid: string) => Promise<DomainFacts | null> {
  let sync: Promise<DomainSync> | undefined;
  return async (uuid) => {
    sync ??= (async () => domainSyncFor(ctx, await ctx.store(), await ctx.hypervisor()))();
    return (await sync).facts(uuid);
  };
}

/**
 * Values against what this host's libvirt can run: a machine type among them against the host's
 * machine list, then the device values against the domain capabilities of `machine` (QEMU's
 * default when null) on `arch`. What libvirt cannot describe is a "not checked" finding; what it
 * cannot be asked (unreachable, and not required) is left out.
 */
export async function capabilityFindings(
  link: LibvirtLink,
  profile: HostProfile,
  arch: string,
  machine: string | null,
  values: readonly ValueToCheck[],
): Promise<HostFindings> {
  let findings = emptyFindings();
  const machineValue = values.find((v) => v.property === 'hw_machine_type')?.value ?? null;
  const { domainCapabilitiesOf, hostCapabilitiesOf } = await import('../agent/domain-sync.js');
  if (machineValue !== null) {
    const host = await link.call((hv) => hostCapabilitiesOf(hv));
    if (host?.caps) findings = mergeFindings(findings, checkMachineOnHost(host.caps, arch, machineValue));
    else if (host) findings.notChecked.push({ property: 'hw_machine_type', message: `hw_machine_type=${machineValue}: ${host.notChecked}` });
  }
  // A machine type this host lacks was refused above; its domain capabilities do not exist.
  if (findings.unsupported.length === 0 && values.some((v) => v.property !== 'hw_machine_type')) {
    const query = { virtType: profile.virtType, arch, ...(machine ? { machine } : {}) };
    const dom = await link.call((hv) => domainCapabilitiesOf(hv, query));
    if (dom?.caps) findings = mergeFindings(findings, checkAgainstDomainCapabilities(values, dom.caps));
    else if (dom) findings.notChecked.push({ property: null, message: dom.notChecked });
  }
  return findings;
}
