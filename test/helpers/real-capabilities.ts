/**
 * This machine's real libvirt/QEMU capabilities, captured at test time from libvirtd
 * (qemu:///system, TCG: virt type qemu), and edited copies that look like a newer QEMU: old
 * machine types gone, models and buses dropped. The edits are checked to have removed something,
 * so a QEMU that no longer offers a value makes the test fail loudly instead of passing vacuously.
 */
import { execFileSync } from 'node:child_process';

export const QEMU_URI = 'qemu:///system';

function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-c', QEMU_URI, ...args], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, timeout: 240_000 });
}

export interface RealCapabilities {
  /** virsh capabilities */
  caps: string;
  /** virsh domcapabilities --machine pc / q35 (virt type qemu, x86_64) */
  pc: string;
  q35: string;
}

export function captureRealCapabilities(): RealCapabilities {
  return {
    caps: virsh('capabilities'),
    pc: virsh('domcapabilities', '--virttype', 'qemu', '--arch', 'x86_64', '--machine', 'pc'),
    q35: virsh('domcapabilities', '--virttype', 'qemu', '--arch', 'x86_64', '--machine', 'q35'),
  };
}

function changed(before: string, after: string, what: string): string {
  if (before === after) throw new Error(`test edit did nothing: ${what} is not in this QEMU's capabilities`);
  return after;
}

/** Host capabilities without the machine types whose names match `name`. */
export function dropMachines(caps: string, name: RegExp): string {
  return changed(caps, caps.replace(/[ \t]*<machine\b[^>]*>([^<]+)<\/machine>\n?/g, (m, n: string) => (name.test(n.trim()) ? '' : m)), `machines ${name}`);
}

/** Domain capabilities without `value` in `<device><enum name=enumName>` (`optional`: it may be absent already). */
export function dropEnumValue(domcaps: string, device: string, enumName: string, value: string, optional = false): string {
  const block = new RegExp(`(<${device} supported='yes'>[\\s\\S]*?<enum name='${enumName}'>)([\\s\\S]*?)(</enum>)`);
  const after = domcaps.replace(block, (_m, open: string, values: string, close: string) => open + values.replace(new RegExp(`[ \\t]*<value>${value}</value>\\n?`), '') + close);
  return optional ? after : changed(domcaps, after, `${device} ${enumName} ${value}`);
}

/** As a newer QEMU: no pc-i440fx-1.x/2.x machine types, no cirrus video, no IDE bus (q35 never had one). */
export function newerQemu(real: RealCapabilities): RealCapabilities {
  const devices = (xml: string, ideOptional: boolean) => dropEnumValue(dropEnumValue(xml, 'video', 'modelType', 'cirrus'), 'disk', 'bus', 'ide', ideOptional);
  return { caps: dropMachines(real.caps, /^pc-i440fx-[12]\./), pc: devices(real.pc, false), q35: devices(real.q35, true) };
}

/** The versioned machine type an alias stands for, read from the XML itself. */
export function canonicalOf(caps: string, alias: string): string {
  const m = new RegExp(`<machine canonical='([^']+)'[^>]*>${alias}</machine>`).exec(caps);
  if (!m) throw new Error(`no alias ${alias} in the capabilities`);
  return m[1]!;
}
