/**
 * Make an existing domain follow the stash. Everything the stash does not decide is left as it
 * was; a domain that already follows the stash comes back byte for byte, with no changes, so
 * callers can skip the define.
 */
import { parseDomain } from './domain.js';
import type { Change, RewriteContext } from './rewrite-context.js';
import { enableUsbIfNeeded, rewriteInterfaces, rewritePointer, rewriteRng, rewriteScsiController, rewriteVideo } from './rewrite-devices.js';
import { rewriteDisks } from './rewrite-disks.js';
import { rewriteMachineType } from './rewrite-machine.js';
import { DEFAULT_RNG_BACKEND, checkRngBackendPath } from './rng-backend.js';
import { canonicalStash, type Stash } from './stash.js';
import { serializeXml } from './xml-tree.js';

export type { Change } from './rewrite-context.js';

export interface RewriteOptions {
  /** Host file behind an added RNG's `random` backend: Nova's `[libvirt] rng_dev_path`. */
  rngBackendPath?: string;
}

export interface RewriteResult {
  xml: string;
  changes: Change[];
}

export function rewriteDomain(xml: string, stash: Stash, options: RewriteOptions = {}): RewriteResult {
  const canonical = canonicalStash(stash);
  const rngBackendPath = checkRngBackendPath(options.rngBackendPath ?? DEFAULT_RNG_BACKEND);
  const { nodes, domain } = parseDomain(xml);
  const ctx: RewriteContext = { domain, stash: canonical, rngBackendPath, changes: [], usbNeededBy: null };

  // Machine type first: a chipset change drops addresses the later steps would otherwise
  // report one by one.
  rewriteMachineType(ctx);
  rewriteDisks(ctx);
  rewriteScsiController(ctx);
  rewriteVideo(ctx);
  rewriteInterfaces(ctx);
  rewritePointer(ctx);
  rewriteRng(ctx);
  enableUsbIfNeeded(ctx);

  if (ctx.changes.length === 0) return { xml, changes: [] };
  let out = serializeXml(nodes);
  // The parser keeps no whitespace outside the root element; keep libvirt's final newline.
  if (xml.endsWith('\n') && !out.endsWith('\n')) out += '\n';
  return { xml: out, changes: ctx.changes };
}
