/**
 * The operator commands' way to libvirt: opened once, and when it cannot be reached either the
 * command is refused (the host check cannot run) or, with `--skip-host-check`, warned about once
 * and treated as absent. Also gathers what this host's libvirt says it can run.
 */
import { DomainSync } from '../agent/domain-sync.js';
import {
  parseDomainCapabilities,
  parseHostCapabilities,
  type DomainCapabilities,
  type HostCapabilities,
} from '../core/capabilities.js';
import type { DomainFacts, HostProfile } from '../core/inputs.js';
import { Hypervisor, isHypervisorError, type HypervisorError } from '../hypervisor/index.js';
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

/** A DomainSync as the agent builds it, over the command's store and libvirt. */
export function domainSyncFor(ctx: CliContext, store: Store, hypervisor: Hypervisor): DomainSync {
  const settings = ctx.settings();
  return new DomainSync({
    store,
    hypervisor,
    profile: ctx.profile(),
    logger: ctx.logger(),
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

export type CapabilitiesAnswer<T> = { caps: T } | { caps: null; notChecked: string };

/** The host capabilities, or why they are not available. null when libvirt is unreachable. */
export async function hostCapabilities(link: LibvirtLink): Promise<CapabilitiesAnswer<HostCapabilities> | null> {
  try {
    const xml = await link.call((hv) => hv.capabilities());
    return xml === null ? null : { caps: parseHostCapabilities(xml) };
  } catch (err) {
    if (isHypervisorError(err, 'unsupported') || isHypervisorError(err, 'invalid')) {
      return { caps: null, notChecked: `host capabilities unavailable from ${link.uri}: ${err.libvirtMessage}` };
    }
    throw err;
  }
}

/**
 * The domain capabilities of this host's QEMU for a guest's arch and machine type, or why they
 * are not available (a virt type without them, libvirt's test driver, a machine type or arch
 * this QEMU lacks). null when libvirt is unreachable.
 */
export async function domainCapabilities(
  link: LibvirtLink,
  profile: HostProfile,
  arch: string,
  machine: string | null,
): Promise<CapabilitiesAnswer<DomainCapabilities> | null> {
  const what = `machine ${machine ?? "QEMU's default"}, arch ${arch}`;
  if (profile.virtType !== 'kvm' && profile.virtType !== 'qemu') {
    return { caps: null, notChecked: `[libvirt] virt_type ${profile.virtType} has no QEMU domain capabilities: device values not checked (${what})` };
  }
  try {
    const xml = await link.call((hv) =>
      hv.domainCapabilities({ virtType: profile.virtType, arch, ...(machine ? { machine } : {}) }),
    );
    return xml === null ? null : { caps: parseDomainCapabilities(xml) };
  } catch (err) {
    if (isHypervisorError(err, 'unsupported') || isHypervisorError(err, 'invalid')) {
      return { caps: null, notChecked: `domain capabilities (${what}) unavailable from ${link.uri}: ${err.libvirtMessage}; device values not checked` };
    }
    throw err;
  }
}
