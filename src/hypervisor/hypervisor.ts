/**
 * The libvirt gateway: the only part of hwstash that talks to libvirt. Domains go through the
 * Node binding (@unraid/libvirt) on one connection that is re-opened when lost; host and
 * domain capabilities, which the binding lacks, go through virsh and are cached.
 */
import {
  ConnectListAllDomainsFlags as ListFlags,
  DomainGetXMLDescFlags as XmlFlags,
  DomainState,
  type Domain,
  type Hypervisor as Binding,
} from '@unraid/libvirt';
import type { Logger } from 'pino';
import { redactUrl } from '../config/redact.js';
import { mapLimit } from '../map-limit.js';
import { checkDomainCapabilitiesQuery, checkUri, checkUuid, type DomainCapabilitiesQuery } from './arguments.js';
import { Connection } from './connection.js';
import { HypervisorError, classifyLibvirtMessage, isHypervisorError, messageOf } from './errors.js';
import { runStateOf, type DomainRunState } from './run-state.js';
import { capabilitiesArgs, domainCapabilitiesArgs, execFileVirsh, parseVersion, runVirsh, versionArgs, type Versions, type VirshRunner } from './virsh.js';

export type { DomainRunState } from './run-state.js';
export type { DomainCapabilitiesQuery } from './arguments.js';
export type { Versions } from './virsh.js';

export interface DomainSummary {
  uuid: string;
  name: string;
  state: DomainRunState;
  persistent: boolean;
}

export interface HypervisorOptions {
  logger?: Logger;
  /** How virsh is run; tests inject one to count spawns. Default: execFile of `virsh`. */
  virsh?: VirshRunner;
  /** Kill a virsh that has not answered after this long (default 120 s). */
  virshTimeoutMs?: number;
}

/** Per-domain calls issued at once while listing: the libuv pool is shared with the rest. */
const PARALLEL = 4;

/**
 * Domain handles in use by calls in flight. The binding frees a handle's virDomainPtr when its
 * JavaScript object is collected, and its async workers do not keep that object alive: a handle
 * referenced by nothing but a pending call can be collected, and freed, while libvirt still uses
 * it on a worker thread (seen as a segfault in virDomainCreate under Node.js 24, whose collector
 * got there first). Every handle is held here until the calls that use it have settled.
 */
const inUse = new Set<Domain>();

async function withDomain<T>(b: Binding, uuid: string, fn: (d: Domain) => Promise<T>): Promise<T> {
  const d = await b.domainLookupByUUIDString(uuid);
  inUse.add(d);
  try {
    return await fn(d);
  } finally {
    inUse.delete(d);
  }
}

export class Hypervisor {
  private readonly capabilityCache = new Map<string, Promise<string>>();
  /** What versions() last saw (JSON), to notice an upgrade. */
  private lastVersions: string | null = null;

  private constructor(
    readonly uri: string,
    private readonly conn: Connection,
    private readonly virsh: VirshRunner,
    private readonly log: Logger | undefined,
  ) {}

  static async open(uri: string, opts: HypervisorOptions = {}): Promise<Hypervisor> {
    checkUri('open', uri);
    const log = opts.logger?.child({ component: 'hypervisor' });
    const virsh = opts.virsh ?? execFileVirsh(opts.virshTimeoutMs === undefined ? {} : { timeoutMs: opts.virshTimeoutMs });
    let self: Hypervisor | undefined;
    // A daemon that came back may be a new libvirt or QEMU: forget what the old one said.
    const conn = await Connection.open(uri, log, () => self?.capabilityCache.clear());
    self = new Hypervisor(uri, conn, virsh, log);
    log?.debug({ uri: redactUrl(uri) }, 'libvirt connection opened');
    return self;
  }

  async listDomains(): Promise<DomainSummary[]> {
    return this.conn.run('listDomains', 'retry', async (b) => {
      const all = await b.connectListAllDomains(ListFlags.ACTIVE | ListFlags.INACTIVE);
      // Listed after `all`: a domain defined or undefined in between is reported as it is now.
      const transient = await transientUuids(b);
      const summaries = await mapLimit(all, PARALLEL, async (d) => {
        try {
          return await summarise(d, async (uuid) => transient.has(uuid));
        } catch (e) {
          // Undefined or stopped-and-gone since the list was taken.
          if (classifyLibvirtMessage(messageOf(e)) === 'no-domain') return null;
          throw e;
        }
      });
      return summaries.filter((s): s is DomainSummary => s !== null);
    });
  }

  /** null when there is no such domain. */
  async domain(uuid: string): Promise<DomainSummary | null> {
    const id = checkUuid('domain', uuid);
    return nullWhenMissing(
      this.conn.run('domain', 'retry', (b) => withDomain(b, id, (d) => summarise(d, async (u) => (await transientUuids(b)).has(u)))),
    );
  }

  /**
   * The persistent definition (what the next start boots), with security-sensitive parts such
   * as graphics passwords included so that a rewrite can be defined back without losing them:
   * never log it. null when there is no such domain or it is transient.
   */
  async persistentXml(uuid: string): Promise<string | null> {
    const id = checkUuid('persistentXml', uuid);
    return nullWhenMissing(
      this.conn.run('persistentXml', 'retry', (b) =>
        withDomain(b, id, async (d) => {
          const info = await d.getInfo();
          // Only persistent domains exist while shut off.
          if (info.state !== DomainState.SHUTOFF && (await transientUuids(b)).has(id)) return null;
          return d.getXMLDesc(XmlFlags.INACTIVE | XmlFlags.SECURE);
        }),
      ),
    );
  }

  /** The XML of the running guest; null when there is no such domain or it is not running. */
  async liveXml(uuid: string): Promise<string | null> {
    const id = checkUuid('liveXml', uuid);
    return nullWhenMissing(
      this.conn.run('liveXml', 'retry', (b) =>
        withDomain(b, id, async (d) => {
          const xml = await d.getXMLDesc(XmlFlags.NONE);
          // For an inactive domain libvirt returns its definition; only an active one has an id.
          // Reading the id from the same document avoids racing a separate state query.
          return isActiveDomainXml(xml) ? xml : null;
        }),
      ),
    );
  }

  /** Defines a new domain or replaces the persistent definition of the one with its uuid. */
  async define(xml: string): Promise<void> {
    if (typeof xml !== 'string' || xml.trim() === '') {
      throw new HypervisorError('invalid', 'define', 'domain XML is empty');
    }
    await this.conn.run('define', 'report', async (b) => {
      await b.domainDefineXML(xml);
    });
  }

  async start(uuid: string): Promise<void> {
    const id = checkUuid('start', uuid);
    await this.conn.run('start', 'report', (b) => withDomain(b, id, (d) => b.domainCreate(d)));
  }

  /** Hard stop. A domain that is already shut off is left as it is, without an error. */
  async destroy(uuid: string): Promise<void> {
    const id = checkUuid('destroy', uuid);
    // Safe to repeat after a lost connection: a destroy that did happen leaves it shut off.
    await this.conn.run('destroy', 'retry', (b) =>
      withDomain(b, id, async (d) => {
        if ((await d.getInfo()).state === DomainState.SHUTOFF) return;
        try {
          await b.domainDestroy(d);
        } catch (e) {
          // It may have stopped on its own between the state query and the destroy.
          if (classifyLibvirtMessage(messageOf(e)) === 'invalid' && (await d.getInfo()).state === DomainState.SHUTOFF) {
            return;
          }
          throw e;
        }
      }),
    );
  }

  /** Removes the persistent definition; a running domain keeps running as a transient one. */
  async undefine(uuid: string): Promise<void> {
    const id = checkUuid('undefine', uuid);
    await this.conn.run('undefine', 'report', (b) => withDomain(b, id, (d) => b.domainUndefine(d)));
  }

  /** The host capabilities XML (virConnectGetCapabilities), cached. */
  async capabilities(): Promise<string> {
    const args = capabilitiesArgs(this.uri);
    return this.cached('capabilities', 'capabilities', () => runVirsh(this.virsh, 'capabilities', args, 'capabilities'));
  }

  /**
   * The domain capabilities XML (virConnectGetDomainCapabilities), cached per query. A query
   * this host cannot serve (virt type, architecture, machine type or emulator it lacks, or a
   * driver without the function, such as test:///default) fails with kind `unsupported`.
   */
  async domainCapabilities(q: DomainCapabilitiesQuery): Promise<string> {
    const query = checkDomainCapabilitiesQuery('domainCapabilities', q);
    const args = domainCapabilitiesArgs(this.uri, query);
    const key = JSON.stringify(['domcaps', query.virtType, query.arch, query.machine ?? null, query.emulator ?? null]);
    return this.cached(key, 'domainCapabilities', () =>
      runVirsh(this.virsh, 'domainCapabilities', args, 'domainCapabilities'),
    );
  }

  /**
   * The libvirt and hypervisor versions the daemon reports now, never cached. A change means QEMU
   * (or libvirt) was upgraded under this connection: libvirt re-probes the new binary, so the
   * capabilities cached here are the old one's and are asked again.
   */
  async versions(): Promise<Versions> {
    const versions = parseVersion(await runVirsh(this.virsh, 'version', versionArgs(this.uri), null));
    const seen = JSON.stringify(versions);
    if (this.lastVersions !== null && this.lastVersions !== seen) this.capabilityCache.clear();
    this.lastVersions = seen;
    return versions;
  }

  async close(): Promise<void> {
    this.capabilityCache.clear();
    await this.conn.close();
  }

  private cached(key: string, op: string, produce: () => Promise<string>): Promise<string> {
    if (this.conn.isClosed) {
      return Promise.reject(new HypervisorError('connection', op, 'the connection was closed by hwstash'));
    }
    const hit = this.capabilityCache.get(key);
    if (hit) return hit;
    this.log?.debug({ op, query: key }, 'asking virsh');
    const pending = (async () => {
      try {
        return await produce();
      } catch (e) {
        // virsh opens its own connection each time, so running it again is the re-open.
        if (!isHypervisorError(e, 'connection')) throw e;
        this.log?.warn({ op, reason: e.libvirtMessage }, 'virsh could not reach libvirt; trying once more');
        return produce();
      }
    })();
    this.capabilityCache.set(key, pending);
    pending.catch((e: unknown) => {
      // A host that cannot serve a query will not serve it on the next call either; anything
      // else (daemon down, timeout) is asked again next time.
      const lasting = isHypervisorError(e, 'unsupported') || isHypervisorError(e, 'invalid');
      if (!lasting && this.capabilityCache.get(key) === pending) this.capabilityCache.delete(key);
    });
    return pending;
  }
}

async function summarise(d: Domain, isTransient: (uuid: string) => Promise<boolean>): Promise<DomainSummary> {
  // uuid and name are read from the local handle; only the state is a round trip.
  const uuid = await d.getUUIDString();
  const name = await d.getName();
  const { state } = await d.getInfo();
  const persistent = state === DomainState.SHUTOFF || !(await isTransient(uuid));
  return { uuid, name, state: runStateOf(state), persistent };
}

/**
 * The running domains that have no persistent definition. The binding has no "is persistent"
 * call, so persistence is asked of a listing; listing the exceptions keeps that cheap: Nova
 * never creates transient domains, so on a compute host this is one empty list, not a uuid
 * round trip for every running guest on every event.
 */
async function transientUuids(b: Binding): Promise<Set<string>> {
  const domains = await b.connectListAllDomains(ListFlags.ACTIVE | ListFlags.TRANSIENT);
  return new Set(await mapLimit(domains, PARALLEL, (d) => d.getUUIDString()));
}

async function nullWhenMissing<T>(p: Promise<T | null>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (isHypervisorError(e, 'no-domain')) return null;
    throw e;
  }
}

function isActiveDomainXml(xml: string): boolean {
  const root = /<domain\b([^>]*)>/.exec(xml);
  return root !== null && /\sid=(['"])-?\d+\1/.test(root[1] ?? '');
}
