/** hw_machine_type: `libvirt_utils.get_machine_type` (RULES.md §2). */
import type { Decided, RuleContext } from './context.js';

/** Built-in defaults of `get_default_machine_type`, by guest arch. */
const DEFAULT_MACHINE_TYPES: Readonly<Record<string, string>> = {
  armv7l: 'virt',
  aarch64: 'virt',
  ppc64le: 'pseries',
  s390: 's390-ccw-virtio',
  s390x: 's390-ccw-virtio',
  i686: 'pc',
  x86_64: 'pc',
};

/** The first `[libvirt] hw_machine_type` entry for `arch`; entries without a machine are skipped. */
export function configuredMachineType(entries: readonly string[], arch: string): string | null {
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const entryArch = eq < 0 ? entry : entry.slice(0, eq);
    const machine = eq < 0 ? '' : entry.slice(eq + 1);
    if (machine === '') continue;
    if (entryArch === arch) return machine;
  }
  return null;
}

export function machineType(ctx: RuleContext): Decided {
  if (ctx.props.hw_machine_type !== undefined) return { value: ctx.props.hw_machine_type, source: 'image' };
  const configured = configuredMachineType(ctx.host.machineTypes, ctx.arch);
  if (configured !== null) return { value: configured, source: 'config' };
  return { value: DEFAULT_MACHINE_TYPES[ctx.arch] ?? null, source: 'driver' };
}
