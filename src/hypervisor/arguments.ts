/**
 * Everything the gateway hands to libvirt or to virsh passes through here first. The
 * patterns are deliberately narrower than libvirt's own grammar: what they refuse is never a
 * value a Nova compute host needs, and what they accept cannot be read as a virsh option.
 */
import { isMachineTypeName } from '../core/domain-xml/machine-type.js';
import { HypervisorError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// scheme[+transport]://[user@host[:port]]/path[?key=value&…]; no spaces, quotes or shell
// metacharacters, and it starts with a letter, so it can never be taken for an option.
const URI = /^[a-z][a-z0-9]*(\+[a-z0-9]+)?:\/\/[A-Za-z0-9._~:@/?=&%,+[\]-]*$/;
const VIRT_TYPE = /^[a-z][a-z0-9]{0,15}$/;
const ARCH = /^[a-z][a-z0-9_]{0,31}$/;
const EMULATOR = /^(\/[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127})+$/;

/** Shows a rejected value without letting an arbitrary string flood a log line. */
function shown(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

function refuse(op: string, field: string, value: unknown, allowed: string): never {
  throw new HypervisorError('invalid', op, `${field} ${shown(value)} is not allowed: ${allowed}`);
}

/** Returns the uuid in libvirt's lower-case form. */
export function checkUuid(op: string, uuid: unknown): string {
  if (typeof uuid !== 'string' || !UUID.test(uuid)) {
    refuse(op, 'uuid', uuid, 'expected the canonical 8-4-4-4-12 hexadecimal form');
  }
  return uuid.toLowerCase();
}

export function checkUri(op: string, uri: unknown): string {
  if (typeof uri !== 'string' || !URI.test(uri)) {
    refuse(op, 'libvirt uri', uri, 'expected driver[+transport]://[host]/path[?params], e.g. qemu:///system');
  }
  return uri;
}

export interface DomainCapabilitiesQuery {
  virtType: string;
  arch: string;
  machine?: string;
  emulator?: string;
}

export function checkDomainCapabilitiesQuery(op: string, q: DomainCapabilitiesQuery): DomainCapabilitiesQuery {
  if (typeof q.virtType !== 'string' || !VIRT_TYPE.test(q.virtType)) {
    refuse(op, 'virtType', q.virtType, 'expected a libvirt virt type such as kvm or qemu (lower-case letters and digits)');
  }
  if (typeof q.arch !== 'string' || !ARCH.test(q.arch)) {
    refuse(op, 'arch', q.arch, 'expected an architecture such as x86_64 or aarch64 (lower-case letters, digits, _)');
  }
  if (q.machine !== undefined && (typeof q.machine !== 'string' || !isMachineTypeName(q.machine))) {
    refuse(op, 'machine', q.machine, 'expected a machine type such as q35 or pc-q35-7.2 (letters, digits, . _ -)');
  }
  if (
    q.emulator !== undefined &&
    (typeof q.emulator !== 'string' || !EMULATOR.test(q.emulator) || q.emulator.split('/').includes('..'))
  ) {
    refuse(op, 'emulator', q.emulator, 'expected an absolute path such as /usr/bin/qemu-system-x86_64');
  }
  const out: DomainCapabilitiesQuery = { virtType: q.virtType, arch: q.arch };
  if (q.machine !== undefined) out.machine = q.machine;
  if (q.emulator !== undefined) out.emulator = q.emulator;
  return out;
}
