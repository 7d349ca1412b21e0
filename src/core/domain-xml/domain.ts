/** Shared access to a parsed libvirt `<domain>`: its devices and how to name them in reports. */
import { attr, children, firstChild, parseXml, rootElement, tagOf, type XmlNode } from './xml-tree.js';

export interface ParsedDomain {
  /** Top-level nodes, for serialising the whole document back. */
  nodes: XmlNode[];
  /** The `<domain>` element. */
  domain: XmlNode;
}

export function parseDomain(xml: string): ParsedDomain {
  const nodes = parseXml(xml, 'domain XML');
  return { nodes, domain: rootElement(nodes, 'domain', 'domain XML') };
}

/** Child elements of `<devices>` named `tag` (all when omitted); empty when there is no `<devices>`. */
export function devicesNamed(domain: XmlNode, tag?: string): XmlNode[] {
  const devices = firstChild(domain, 'devices');
  return devices ? children(devices, tag) : [];
}

/** libvirt's `<disk device>`, which defaults to `disk`. */
export function diskDevice(disk: XmlNode): string {
  return attr(disk, 'device') ?? 'disk';
}

/**
 * A short human label for a device element, for change lists and reports. `position` is its
 * index among the devices of the same element name, used where nothing names it better.
 */
export function describeDevice(el: XmlNode, position: number): string {
  const tag = tagOf(el);
  switch (tag) {
    case 'disk': {
      const target = firstChild(el, 'target');
      const dev = target ? attr(target, 'dev') : undefined;
      return `${diskDevice(el)} ${dev ?? `#${position + 1}`}`;
    }
    case 'interface': {
      const mac = firstChild(el, 'mac');
      const address = mac ? attr(mac, 'address') : undefined;
      return `interface ${address ?? `#${position + 1}`}`;
    }
    case 'controller':
      return `controller ${attr(el, 'type') ?? '?'} index ${attr(el, 'index') ?? '?'}`;
    case 'input':
      return `input ${attr(el, 'type') ?? '?'}`;
    default:
      return `${tag} #${position + 1}`;
  }
}

/** Every device with its label, numbering each element name separately. */
export function labelledDevices(domain: XmlNode): Array<{ device: XmlNode; label: string }> {
  const seen = new Map<string, number>();
  return devicesNamed(domain).map((device) => {
    const tag = tagOf(device);
    const position = seen.get(tag) ?? 0;
    seen.set(tag, position + 1);
    return { device, label: describeDevice(device, position) };
  });
}
