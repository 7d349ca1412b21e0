/** Which QEMU a domain asks for: the facts a domain-capabilities query needs. */
import { parseDomain } from './domain.js';
import { attr, findPath, firstChild, text } from './xml-tree.js';

export interface DomainIdentity {
  name: string | null;
  uuid: string | null;
  /** `<domain type>`: kvm, qemu… */
  virtType: string | null;
  arch: string | null;
  machine: string | null;
  emulator: string | null;
}

export function domainIdentity(xml: string): DomainIdentity {
  const { domain } = parseDomain(xml);
  const osType = findPath(domain, 'os/type');
  const name = firstChild(domain, 'name');
  const uuid = firstChild(domain, 'uuid');
  const emulator = findPath(domain, 'devices/emulator');
  const trimmed = (el: typeof name) => (el ? text(el).trim() || null : null);
  return {
    name: trimmed(name),
    uuid: trimmed(uuid),
    virtType: attr(domain, 'type') ?? null,
    arch: osType ? attr(osType, 'arch') ?? null : null,
    machine: osType ? attr(osType, 'machine') ?? null : null,
    emulator: trimmed(emulator),
  };
}
