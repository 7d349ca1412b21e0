/** What the rewrite steps share: the domain being edited, the stash, and the change log. */
import type { PropertyName } from '../properties.js';
import type { Stash } from './stash.js';
import { attr, element, firstChild, insertChild, removeChild, type XmlNode } from './xml-tree.js';

/** One edit made to follow the stash. */
export interface Change {
  /** The stashed property this edit follows. */
  property: PropertyName;
  /** Which element, e.g. `disk vda`, `video #1`, `controller scsi index 0`, `os/type`. */
  element: string;
  /**
   * What about it: `bus`, `dev`, `model`, `type`, `machine`, `address`, `driver` (the element),
   * `driver <attr>` and `target <attr>` (one attribute, e.g. `driver queues`, `target
   * removable`), `device` (added/removed).
   */
  aspect: string;
  /** Before; null when it did not exist. */
  from: string | null;
  /** After; null when it was removed. */
  to: string | null;
}

export interface RewriteContext {
  readonly domain: XmlNode;
  readonly stash: Stash;
  readonly changes: Change[];
  readonly rngBackendPath: string;
  /** Set when a step put a device on the USB bus, so a disabled USB controller must go. */
  usbNeededBy: PropertyName | null;
}

export function record(ctx: RewriteContext, change: Change): void {
  ctx.changes.push(change);
}

/** The `<devices>` element, created when a step needs to add to a domain that has none. */
export function devicesElement(ctx: RewriteContext): XmlNode {
  let devices = firstChild(ctx.domain, 'devices');
  if (!devices) {
    devices = element('devices');
    insertChild(ctx.domain, devices);
  }
  return devices;
}

function describeAddress(address: XmlNode): string {
  const a = (name: string): string => attr(address, name) ?? '?';
  switch (attr(address, 'type')) {
    case 'pci':
      return `pci ${a('domain')}:${a('bus')}:${a('slot')}.${a('function')}`;
    case 'drive':
      return `drive ${a('controller')}:${a('bus')}:${a('target')}:${a('unit')}`;
    case 'usb':
      return `usb ${a('bus')}:${a('port')}`;
    default:
      return attr(address, 'type') ?? 'address';
  }
}

/**
 * Drop a device's own `<address>` (a direct child, never e.g. a hostdev's `<source><address>`)
 * so libvirt assigns a fresh one that fits the device's new bus or model.
 */
export function dropAddress(ctx: RewriteContext, device: XmlNode, property: PropertyName, label: string, onlyType?: string): void {
  const address = firstChild(device, 'address');
  if (!address) return;
  if (onlyType !== undefined && attr(address, 'type') !== onlyType) return;
  removeChild(device, address);
  record(ctx, { property, element: label, aspect: 'address', from: describeAddress(address), to: null });
}
