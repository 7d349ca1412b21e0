/**
 * hw_scsi_model (`_get_scsi_controller`) and hw_rng_model (the RNG device the guest config
 * always adds for kvm/qemu), RULES.md §7. Nova never stashes these two.
 */
import type { Decided, RuleContext } from './context.js';

/** A stashed SCSI model adds a controller; none means libvirt picks its own. */
export function scsiModel(ctx: RuleContext): Decided {
  if (ctx.props.hw_scsi_model !== undefined) return { value: ctx.props.hw_scsi_model, source: 'image' };
  return { value: null, source: 'driver' };
}

/**
 * The driver ignores the image value (its enum only allows virtio anyway): kvm and qemu guests
 * always get a virtio RNG, others none, so the source is always the driver.
 */
export function rngModel(ctx: RuleContext): Decided {
  const vt = ctx.host.virtType;
  return { value: vt === 'kvm' || vt === 'qemu' ? 'virtio' : null, source: 'driver' };
}
