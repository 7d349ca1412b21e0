/**
 * Domains on libvirt's in-process test driver (test:///default: every connection of this
 * process sees the same domains), and a reading of domain XML that is the test's own, so what the
 * agent defined is checked without the agent's reader.
 */
import { XMLParser } from 'fast-xml-parser';
import { buildDomain, type Stash } from '../../../src/core/domain-xml/index.js';
import { Hypervisor } from '../../../src/hypervisor/index.js';

export async function testHypervisor(): Promise<Hypervisor> {
  return Hypervisor.open('test:///default');
}

/** What every test domain has unless told otherwise: a USB tablet and a virtio RNG. */
const BASE_HARDWARE: Stash = { hw_input_bus: 'usb', hw_pointer_model: 'usbtablet', hw_rng_model: 'virtio' };

/** Defines a domain for the instance with this hardware (and a NIC, so a VIF model shows). */
export async function defineDomain(hv: Hypervisor, uuid: string, hardware: Stash, o: { start?: boolean } = {}): Promise<void> {
  await hv.define(
    buildDomain({
      name: `instance-${uuid.slice(0, 8)}`,
      uuid,
      vcpus: 1,
      memoryMb: 512,
      virtType: 'kvm',
      arch: 'x86_64',
      stash: { ...BASE_HARDWARE, ...hardware },
      disks: [{ deviceType: 'disk', path: `/var/lib/nova/instances/${uuid}/disk`, format: 'qcow2', bootIndex: 0 }],
      interfaces: [{ type: 'network', source: 'default' }],
      graphics: 'vnc',
    }),
  );
  if (o.start) await hv.start(uuid);
}

export interface DeviceReading {
  machine: string | undefined;
  video: string[];
  vif: string[];
  diskBus: string[];
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => ['disk', 'interface', 'video', 'input'].includes(name) });

export function readDevices(xml: string): DeviceReading {
  const doc = parser.parse(xml) as { domain: Record<string, any> };
  const d = doc.domain;
  const devices = d['devices'] ?? {};
  const attr = (o: unknown, a: string): string | undefined => (o && typeof o === 'object' ? ((o as Record<string, unknown>)[`@${a}`] as string | undefined) : undefined);
  const type = d['os']?.['type'];
  return {
    machine: attr(type, 'machine'),
    video: ((devices['video'] ?? []) as unknown[]).map((v) => attr((v as Record<string, unknown>)['model'], 'type') ?? '?'),
    vif: ((devices['interface'] ?? []) as unknown[]).map((i) => attr((i as Record<string, unknown>)['model'], 'type') ?? '?'),
    diskBus: ((devices['disk'] ?? []) as unknown[])
      .filter((k) => attr(k, 'device') === 'disk')
      .map((k) => attr((k as Record<string, unknown>)['target'], 'bus') ?? '?'),
  };
}
