/**
 * Guests as an older Nova left them, written out in full here (not by hwstash's builder), and the
 * test's own reading of domain XML (fast-xml-parser), so what the agent defined and what QEMU runs
 * are checked without hwstash's reader.
 */
import { XMLParser } from 'fast-xml-parser';

export interface OldGuest {
  name: string;
  uuid: string;
  /** `qemu` on the real libvirtd (TCG); the test driver accepts it too. */
  domainType: string;
  machine: string;
  diskPath: string;
  diskBus: string;
  diskDev: string;
  video: string;
  /** Model of the one NIC (`<interface type='user'>`: no host network needed); null: no model element. */
  nic: string | null;
}

/** A guest from the cirrus/rtl8139/IDE era, as Nova's libvirt driver used to define it. */
export function oldNovaGuest(g: OldGuest): string {
  return `<domain type='${g.domainType}'>
  <name>${g.name}</name>
  <uuid>${g.uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='${g.machine}'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='${g.diskPath}'/>
      <target dev='${g.diskDev}' bus='${g.diskBus}'/>
    </disk>
    <interface type='user'>
      <mac address='fa:16:3e:2b:7c:01'/>
      ${g.nic === null ? '' : `<model type='${g.nic}'/>`}
    </interface>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
    <video><model type='${g.video}'/></video>
    <memballoon model='virtio'/>
  </devices>
</domain>
`;
}

export interface DiskReading {
  device: string;
  bus: string | undefined;
  dev: string | undefined;
  source: string | undefined;
}

export interface DomainReading {
  /** The `id` attribute: only a running domain has one. */
  id: string | undefined;
  domainType: string | undefined;
  machine: string | undefined;
  disks: DiskReading[];
  video: string[];
  nics: string[];
  inputs: Array<{ type: string | undefined; bus: string | undefined }>;
  rng: string[];
  controllers: Array<{ type: string | undefined; model: string | undefined }>;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => ['disk', 'interface', 'video', 'input', 'rng', 'controller'].includes(name),
});

type Node = Record<string, unknown>;
const attr = (o: unknown, a: string): string | undefined =>
  o && typeof o === 'object' ? ((o as Node)[`@${a}`] as string | undefined) : undefined;
const list = (o: unknown): Node[] => (Array.isArray(o) ? (o as Node[]) : []);

export function readDomain(xml: string): DomainReading {
  const d = (parser.parse(xml) as { domain: Node }).domain;
  const devices = (d['devices'] ?? {}) as Node;
  return {
    id: attr(d, 'id'),
    domainType: attr(d, 'type'),
    machine: attr((d['os'] as Node | undefined)?.['type'], 'machine'),
    disks: list(devices['disk']).map((k) => ({
      device: attr(k, 'device') ?? 'disk',
      bus: attr(k['target'], 'bus'),
      dev: attr(k['target'], 'dev'),
      source: attr(k['source'], 'file'),
    })),
    video: list(devices['video']).map((v) => attr(v['model'], 'type') ?? '?'),
    nics: list(devices['interface']).map((i) => attr(i['model'], 'type') ?? '?'),
    inputs: list(devices['input']).map((i) => ({ type: attr(i, 'type'), bus: attr(i, 'bus') })),
    rng: list(devices['rng']).map((r) => attr(r, 'model') ?? '?'),
    controllers: list(devices['controller']).map((c) => ({ type: attr(c, 'type'), model: attr(c, 'model') })),
  };
}
