/** hw_machine_type: `<os><type machine>`, and the PCI layout that belongs to the old chipset. */
import { labelledDevices } from './domain.js';
import { DomainXmlError } from './errors.js';
import { machineFamily, machineSatisfies } from './machine-type.js';
import { dropAddress, record, type RewriteContext } from './rewrite-context.js';
import { attr, findPath, firstChild, removeChild, setAttr, tagOf } from './xml-tree.js';

export function rewriteMachineType(ctx: RewriteContext): void {
  const want = ctx.stash.hw_machine_type;
  // null (or '') is "no machine type decided": libvirt's choice already in the domain stays.
  if (want === undefined || want === null) return;
  const osType = findPath(ctx.domain, 'os/type');
  if (!osType) throw new DomainXmlError('domain XML has no <os><type> element to carry hw_machine_type');
  const have = attr(osType, 'machine');
  if (have !== undefined && machineSatisfies(want, have)) return;

  setAttr(osType, 'machine', want);
  record(ctx, { property: 'hw_machine_type', element: 'os/type', aspect: 'machine', from: have ?? null, to: want });

  const toFamily = machineFamily(want);
  if (have === undefined || machineFamily(have) !== toFamily) dropChipsetLayout(ctx, toFamily);
}

/**
 * Moving between chipsets (i440fx ↔ q35) invalidates every PCI address and PCI controller:
 * q35 is PCI Express with root ports, i440fx a flat PCI bus. libvirt rebuilds both on define.
 * q35 has no IDE controller at all.
 */
function dropChipsetLayout(ctx: RewriteContext, toFamily: string): void {
  const devices = firstChild(ctx.domain, 'devices');
  if (!devices) return;
  for (const { device, label } of labelledDevices(ctx.domain)) {
    if (tagOf(device) === 'controller') {
      const type = attr(device, 'type');
      if (type === 'pci' || (type === 'ide' && toFamily === 'q35')) {
        removeChild(devices, device);
        const model = attr(device, 'model');
        record(ctx, { property: 'hw_machine_type', element: label, aspect: 'device', from: model ? `${type} ${model}` : type, to: null });
        continue;
      }
    }
    dropAddress(ctx, device, 'hw_machine_type', label, 'pci');
  }
}
