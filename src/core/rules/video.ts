/** hw_video_model: `_get_video_type` (RULES.md §5; SPICE's default per release, releases.ts). */
import { ZED } from '../releases.js';
import type { Decided, RuleContext } from './context.js';

export function videoModel(ctx: RuleContext): Decided {
  if (ctx.props.hw_video_model !== undefined) return { value: ctx.props.hw_video_model, source: 'image' };
  const a = ctx.emuArch;
  const spice = ctx.host.spiceEnabled;
  let value: string | null;
  if (ctx.host.virtType === 'parallels') value = 'vga';
  else if ((a === 'i686' || a === 'x86_64') && !spice) value = 'virtio';
  else if (a === 'ppc' || a === 'ppc64' || a === 'ppc64le') value = 'vga';
  else if (a === 'aarch64' || a === 'mipsel') value = 'virtio';
  else if (spice) value = (ctx.host.release ?? ZED).spiceVideoDefault;
  else value = null;
  return { value, source: 'driver' };
}
