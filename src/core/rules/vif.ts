/** hw_vif_model: `LibvirtGenericVIFDriver.get_vif_model` (RULES.md §6). */
import type { Decided, RuleContext } from './context.js';

const VIRTIO_DEFAULT_VIRT_TYPES = new Set(['kvm', 'qemu', 'parallels']);

export function vifModel(ctx: RuleContext): Decided {
  if (ctx.props.hw_vif_model !== undefined) return { value: ctx.props.hw_vif_model, source: 'image' };
  const fromOs = ctx.osinfo?.networkModel ?? null;
  if (fromOs !== null) return { value: fromOs, source: 'osinfo' };
  if (VIRTIO_DEFAULT_VIRT_TYPES.has(ctx.host.virtType) && ctx.host.useVirtioForBridges) {
    return { value: 'virtio', source: 'driver' };
  }
  return { value: null, source: 'driver' };
}
