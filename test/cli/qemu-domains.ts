/**
 * Small TCG guests on the machine's real libvirtd (qemu:///system) for the CLI's tests: defined
 * under a unique `hwstash-test-*` name with the instance's uuid, never started, always undefined.
 */
import { Hypervisor } from '../../src/hypervisor/index.js';

export const QEMU_URI = 'qemu:///system';
/** libvirtd probes QEMU for its first domain-capabilities answer: seconds here. */
export const SLOW = 240_000;

export interface GuestSpec {
  machine: string;
  video?: string;
  cdromBus?: string;
  diskBus?: string;
}

export function guestXml(uuid: string, g: GuestSpec): string {
  const cdrom = g.cdromBus
    ? `<disk type='file' device='cdrom'><target dev='${g.cdromBus === 'ide' ? 'hdc' : 'sdc'}' bus='${g.cdromBus}'/><readonly/></disk>`
    : '';
  const disk = g.diskBus ? `<disk type='file' device='disk'><target dev='${g.diskBus === 'virtio' ? 'vda' : g.diskBus === 'ide' ? 'hda' : 'sda'}' bus='${g.diskBus}'/></disk>` : '';
  return `<domain type='qemu'>
  <name>hwstash-test-${uuid.slice(0, 8)}</name>
  <uuid>${uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='${g.machine}'>hvm</type></os>
  <devices>${disk}${cdrom}<graphics type='vnc'/><video><model type='${g.video ?? 'virtio'}'/></video></devices>
</domain>`;
}

/** Define guests for the uuids, run `fn`, undefine them whatever happens. */
export async function withGuests<T>(guests: Array<{ uuid: string; spec: GuestSpec }>, fn: (hv: Hypervisor) => Promise<T>): Promise<T> {
  const hv = await Hypervisor.open(QEMU_URI);
  try {
    for (const g of guests) await hv.define(guestXml(g.uuid, g.spec));
    return await fn(hv);
  } finally {
    for (const g of guests) await hv.undefine(g.uuid).catch(() => undefined);
    await hv.close();
  }
}
