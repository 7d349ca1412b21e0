/**
 * Differential test: hwstash's resolver against real Nova code (test/core/nova-oracle.py, which
 * calls Nova's own functions) on thousands of generated `defaults --batch` lines, for each real
 * Nova here: Zed (this machine's python3-nova and osinfo-db) and 2025.1 (the Debian 13 tree, with
 * its own libosinfo 1.12 and osinfo-db 2025, which hwstash's index then reads too).
 *
 * Deterministic: the seed is printed; HWSTASH_DIFF_SEED and HWSTASH_DIFF_CASES override it and
 * the number of cases; HWSTASH_DIFF_DUMP=<dir> writes the lines and Nova's answers there. Needs Debian's python3-nova and python3-gi's Libosinfo (/usr/bin/python3)
 * and osinfo-db in /usr/share/osinfo.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultsForObject, type DefaultsOutputLine } from '../../src/core/defaults-line.js';
import { NOVA_DEFAULT_PROFILE, type HostProfile, type OsInfoLookup } from '../../src/core/inputs.js';
import type { NovaRelease } from '../../src/core/releases.js';
import { OsInfoIndex } from '../../src/osinfo/index.js';
import { rng } from '../helpers/rng.js';

const here = dirname(fileURLToPath(import.meta.url));
const ORACLE = join(here, 'nova-oracle.py');
const SEED = Number(process.env['HWSTASH_DIFF_SEED'] ?? 20221130);
const CASES = Number(process.env['HWSTASH_DIFF_CASES'] ?? 6000);
const BASE_ARCH = 'x86_64';


/** Every `<short-id>` and `<os id=…>` in osinfo-db, read straight from its XML. */
function osinfoNames(dir: string): { shortIds: string[]; ids: string[] } {
  const shortIds = new Set<string>();
  const ids = new Set<string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.xml')) {
        const xml = readFileSync(p, 'utf8');
        for (const m of xml.matchAll(/<short-id>([^<]+)<\/short-id>/g)) shortIds.add(m[1]!);
        for (const m of xml.matchAll(/<os\s+id="([^"]+)"/g)) ids.add(m[1]!);
      }
    }
  };
  walk(join(dir, 'os'));
  return { shortIds: [...shortIds].sort(), ids: [...ids].sort() };
}

// Value pools, written from RULES.md §1 (valid values, aliases, case rules) plus values Nova must
// refuse. These are inputs only; the expected answers come from Nova.
const DISK_BUSES = ['fdc', 'ide', 'sata', 'scsi', 'usb', 'virtio', 'xen', 'lxc', 'uml'];
const BUS_ODD = ['VIRTIO', 'Virtio', 'SCSI', 'IDE', 'nvme', 'bogus', ''];
const RESCUE_DEVICES = ['cdrom', 'disk', 'floppy', 'fs', 'lun'];
const RESCUE_DEVICE_ODD = ['CDROM', 'usb', ''];
const INPUT_BUSES = ['usb', 'virtio'];
const INPUT_ODD = ['USB', 'ps2', ''];
const POINTERS = ['usbtablet'];
const POINTER_ODD = ['ps2mouse', 'USBTABLET', 'tablet', ''];
const VIDEO = ['cirrus', 'qxl', 'vga', 'vmvga', 'xen', 'virtio', 'gop', 'none', 'bochs'];
const VIDEO_ODD = ['VGA', 'Virtio', 'virtio-gpu', 'ramfb', ''];
const VIF = ['virtio', 'ne2k_pci', 'pcnet', 'rtl8139', 'e1000', 'e1000e', 'netfront', 'spapr-vlan', 'lan9118', 'sriov', 'vmxnet', 'vmxnet3'];
const VIF_CASE = ['VIRTIO', 'E1000', 'VirtualE1000', 'virtuale1000e', 'VirtualPCNet32', 'VirtualSriovEthernetCard', 'VirtualVmxnet', 'VIRTUALVMXNET3', 'Ne2K_PCI'];
const VIF_ODD = ['igb', 'virtio-transitional', 'virtio-net', 'bogus', ''];
const SCSI = ['buslogic', 'ibmvscsi', 'lsilogic', 'lsisas1068', 'lsisas1078', 'virtio-scsi', 'vmpvscsi'];
const SCSI_CASE = ['LsiLogicSAS', 'lsilogicsas', 'paravirtual', 'ParaVirtual', 'VIRTIO-SCSI', 'BusLogic', 'LsiLogic'];
const SCSI_ODD = ['lsisas', 'virtio', 'bogus', ''];
const RNG = ['virtio'];
const RNG_ODD = ['VIRTIO', 'egd', 'random', ''];
const ARCHES = ['x86_64', 'i686', 'aarch64', 'armv7l', 'ppc', 'ppc64', 'ppcle', 'ppc64le', 's390', 's390x', 'mipsel', 'sparc', 'sparc64', 'alpha', 'mips64el'];
const ARCH_CASE = ['AMD64', 'amd64', 'X86_64', 'i386', 'i486', 'i586', 'x86_32', 'x86_32p', 'AArch64', 'PPC64LE'];
const ARCH_ODD = ['riscv64', 'arm64', 'x86', ''];
const VM_MODES = ['hvm', 'xen', 'uml', 'exe'];
const VM_MODE_CASE = ['HV', 'hv', 'pv', 'PV', 'baremetal', 'HVM', 'Exe'];
const VM_MODE_ODD = ['bogus', ''];
const MACHINE_TYPES = ['pc', 'q35', 'pc-q35-6.2', 'PC-Q35-6.2', 'pc-q35-7.2', 'pc-i440fx-7.2', 'virt', 'pseries', 's390-ccw-virtio', 'xenfv', '', 'Q35'];
const ADAPTER_TYPES = ['ide', 'IDE', 'lsiLogic', 'LsiLogicSAS', 'busLogic', 'paravirtual', 'lsilogic', '', 'bogus', 'ide '];
const MACHINE_CONF_ENTRIES = ['x86_64=q35', 'x86_64=', 'q35', 'aarch64=virt', 'x86_64=pc-q35-7.2', 'i686=pc', 'ppc64=pseries', 'armv7l=virt-7.2',
  's390x=s390-ccw-virtio-7.2', 'mipsel=malta', 'sparc=SS-5', 'x86_64=pc-i440fx-7.2', '=pc', 'AMD64=q35', 'x86_64=pc=q35'];
// JSON values a batch line may carry where Glance would have a string: Nova's String coercion
// takes str() of numbers and booleans, refuses null, lists and objects.
const NON_STRINGS: unknown[] = [5, true, null, ['x'], 0, false, [], {}, 1.5, -0.25, 0.00001, 1e-7, 1e21, 123.456];
// Case variants beyond ASCII: Python's str.lower() and JavaScript's toLowerCase() must agree.
const UNICODE_CASE = ['NE2\u212A_PCI', 'VİRTIO', 'LSILOGİC', 'X86_64\u0130'];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number): boolean => r() < p;

/** A value for a property: mostly valid, sometimes a case variant, rarely invalid or not a string. */
function valueFrom(r: Rand, valid: readonly string[], caseVariants: readonly string[], odd: readonly string[]): unknown {
  const x = r();
  if (x < 0.78 || (caseVariants.length === 0 && x < 0.9)) return pick(r, valid);
  if (x < 0.9 && caseVariants.length) return pick(r, caseVariants);
  if (x < 0.99) return pick(r, odd);
  return pick(r, NON_STRINGS);
}

function osDistro(r: Rand, names: { shortIds: string[]; ids: string[] }): string {
  const x = r();
  if (x < 0.75) return pick(r, names.shortIds);
  if (x < 0.85) return pick(r, names.ids);
  return pick(r, ['', 'unknown-os', 'centos7', 'debianbullseye', 'ubuntu-lts-latest', 'Fedora36', 'http://example.com/nope',
    'https://fedoraproject.org/fedora/36', 'HTTP://fedoraproject.org/fedora/36', 'win10', 'fedora36', 'FEDORA36', 'fedora36 ']);
}

function generate(r: Rand, n: number, names: { shortIds: string[]; ids: string[] }): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const line: Record<string, unknown> = { id: `case-${i}` };

    if (chance(r, 0.85)) {
      const host: Record<string, unknown> = {};
      if (chance(r, 0.85)) host['arch'] = chance(r, 0.97) ? (chance(r, 0.85) ? pick(r, ARCHES) : pick(r, ARCH_CASE)) : pick(r, ARCH_ODD);
      if (chance(r, 0.9)) host['virt_type'] = chance(r, 0.995) ? pick(r, ['kvm', 'kvm', 'qemu', 'qemu', 'lxc', 'parallels']) : 'xen';
      line['host'] = host;
    }

    if (chance(r, 0.8)) {
      const conf: Record<string, unknown> = {};
      if (chance(r, 0.5)) {
        const entries = Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(r, MACHINE_CONF_ENTRIES));
        const x = r();
        // null, a list, or nova.conf's comma-separated text
        conf['libvirt.hw_machine_type'] = x < 0.1 ? null : x < 0.8 ? entries : entries.join(pick(r, [',', ', ', ' , ']));
      }
      for (const k of ['spice.enabled', 'spice.agent_enabled', 'vnc.enabled', 'libvirt.use_virtio_for_bridges']) {
        if (chance(r, 0.5)) conf[k] = chance(r, 0.9) ? chance(r, 0.5) : pick(r, ['true', 'False', 'yes', 'off', '1']);
      }
      if (chance(r, 0.5)) conf['pointer_model'] = pick(r, ['usbtablet', 'ps2mouse', null]);
      line['conf'] = conf;
    }

    const p: Record<string, unknown> = {};
    const maybe = (key: string, prob: number, value: () => unknown): void => {
      if (chance(r, prob)) p[key] = value();
    };
    maybe('hw_machine_type', 0.3, () => (chance(r, 0.98) ? pick(r, MACHINE_TYPES) : pick(r, NON_STRINGS)));
    maybe('hw_disk_bus', 0.25, () => valueFrom(r, DISK_BUSES, [], BUS_ODD));
    maybe('hw_cdrom_bus', 0.25, () => valueFrom(r, DISK_BUSES, [], BUS_ODD));
    maybe('hw_floppy_bus', 0.15, () => valueFrom(r, DISK_BUSES, [], BUS_ODD));
    maybe('hw_rescue_bus', 0.2, () => valueFrom(r, DISK_BUSES, [], BUS_ODD));
    maybe('hw_rescue_device', 0.25, () => valueFrom(r, RESCUE_DEVICES, [], RESCUE_DEVICE_ODD));
    maybe('hw_input_bus', 0.2, () => valueFrom(r, INPUT_BUSES, [], INPUT_ODD));
    maybe('hw_pointer_model', 0.2, () => valueFrom(r, POINTERS, [], POINTER_ODD));
    maybe('hw_video_model', 0.2, () => valueFrom(r, VIDEO, [], VIDEO_ODD));
    maybe('hw_vif_model', 0.2, () => valueFrom(r, VIF, VIF_CASE, VIF_ODD));
    maybe('hw_scsi_model', 0.15, () => valueFrom(r, SCSI, SCSI_CASE, SCSI_ODD));
    maybe('hw_rng_model', 0.1, () => valueFrom(r, RNG, [], RNG_ODD));
    maybe('hw_architecture', 0.2, () => valueFrom(r, ARCHES, ARCH_CASE, ARCH_ODD));
    maybe('hw_emulation_architecture', 0.15, () => valueFrom(r, ARCHES, ARCH_CASE, ARCH_ODD));
    maybe('hw_vm_mode', 0.08, () => valueFrom(r, VM_MODES, VM_MODE_CASE, VM_MODE_ODD));
    maybe('os_distro', 0.5, () => (chance(r, 0.99) ? osDistro(r, names) : pick(r, NON_STRINGS)));
    // Legacy names, sometimes together with their current names (the current name wins).
    maybe('architecture', 0.1, () => valueFrom(r, ARCHES, ARCH_CASE, ARCH_ODD));
    maybe('vmware_ostype', 0.08, () => osDistro(r, names));
    maybe('vm_mode', 0.08, () => valueFrom(r, VM_MODES, VM_MODE_CASE, VM_MODE_ODD));
    maybe('vmware_adaptertype', 0.1, () => (chance(r, 0.97) ? pick(r, ADAPTER_TYPES) : pick(r, NON_STRINGS)));
    maybe('hw_nic_model', 0.03, () => 'e1000'); // unknown to Nova: ignored
    if (chance(r, 0.01)) p[pick(r, ['hw_vif_model', 'hw_scsi_model', 'hw_architecture', 'vm_mode'])] = pick(r, UNICODE_CASE);
    line['image_properties'] = p;

    if (chance(r, 0.5)) {
      const x = r();
      line['instance'] = {
        vm_mode: x < 0.4 ? null : x < 0.7 ? pick(r, VM_MODES) : x < 0.92 ? pick(r, VM_MODE_CASE) : x < 0.99 ? pick(r, VM_MODE_ODD) : 5,
      };
    }
    lines.push(line);
  }
  return lines;
}

interface OracleLine {
  id: string;
  properties: Record<string, string | null>;
  errors: Record<string, string>;
}

/**
 * Where hwstash reports differently from Nova on purpose. Nova's from_dict crashes with
 * AttributeError on a non-string value of a case-folded enum (VIFModel, SCSIModel, Architecture,
 * VMMode call `.lower()`); for hwstash that is the same rejected image metadata as a ValueError.
 */
function expectedCode(key: string, novaCode: string, rejectedImage: boolean): string {
  if (rejectedImage && novaCode === 'AttributeError') return 'ValueError';
  return novaCode;
}

interface Comparable {
  properties: Record<string, string | null>;
  errors: Record<string, string>;
}

function fromOracle(o: OracleLine): Comparable {
  const rejectedImage = Object.keys(o.properties).length === 0;
  const errors: Record<string, string> = {};
  for (const [k, code] of Object.entries(o.errors)) errors[k] = expectedCode(k, code, rejectedImage);
  return { properties: o.properties, errors };
}

function fromHwstash(h: DefaultsOutputLine): Comparable {
  const properties: Record<string, string | null> = {};
  for (const [k, d] of Object.entries(h.properties)) properties[k] = d!.value;
  const errors: Record<string, string> = {};
  for (const [k, e] of Object.entries(h.errors)) errors[k] = e.code;
  return { properties, errors };
}

const sorted = (o: Record<string, unknown>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));

function diff(a: Comparable, b: Comparable): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a.properties), ...Object.keys(b.properties)]);
  for (const k of [...keys].sort()) {
    const inA = k in a.properties;
    const inB = k in b.properties;
    if (inA !== inB || a.properties[k] !== b.properties[k]) {
      out.push(`${k}: nova=${inA ? JSON.stringify(a.properties[k]) : '(none)'} hwstash=${inB ? JSON.stringify(b.properties[k]) : '(none)'}`);
    }
  }
  if (sorted(a.errors) !== sorted(b.errors)) out.push(`errors: nova=${sorted(a.errors)} hwstash=${sorted(b.errors)}`);
  return out;
}

/** A real Nova to ask: its root (`/`, or a tree run through chroot) and the release hwstash follows for it. */
export interface RealNova {
  name: string;
  root: string;
  release: NovaRelease;
}

function runOracle(nova: RealNova, lines: readonly Record<string, unknown>[]): OracleLine[] {
  // The oracle must be inside the tree it runs in.
  const dir = nova.root === '/' ? null : mkdtempSync(join(nova.root, 'tmp', 'hwstash-oracle-'));
  const oracle = dir ? join(dir, 'nova-oracle.py') : ORACLE;
  if (dir) copyFileSync(ORACLE, oracle);
  const argv = nova.root === '/' ? ['/usr/bin/python3', oracle] : ['chroot', nova.root, '/usr/bin/python3', `/${oracle.slice(nova.root.length).replace(/^\/+/, '')}`];
  const res = spawnSync(argv[0]!, [...argv.slice(1), '--host-arch', BASE_ARCH], {
    input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    env: { ...process.env, LC_ALL: 'C', LANG: 'C', PYTHONWARNINGS: 'ignore' },
    maxBuffer: 1 << 28,
    encoding: 'utf8',
  });
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (res.status !== 0) throw new Error(`oracle failed (${res.status}): ${res.stderr}`);
  return res.stdout.trim().split('\n').map((l) => JSON.parse(l) as OracleLine);
}

export function differentialSuite(real: RealNova): void {
describe(`hwstash resolver vs real Nova ${real.name} (seed ${SEED}, ${CASES} cases)`, () => {
  const osinfoDir = join(real.root, 'usr/share/osinfo');
  let lines: Record<string, unknown>[];
  let nova: OracleLine[];
  let osinfo: OsInfoLookup;
  const base: HostProfile = { arch: BASE_ARCH, ...NOVA_DEFAULT_PROFILE, release: real.release };

  beforeAll(async () => {
    console.log(`nova differential (${real.name}): HWSTASH_DIFF_SEED=${SEED} HWSTASH_DIFF_CASES=${CASES}`);
    lines = generate(rng(SEED), CASES, osinfoNames(osinfoDir));
    const t0 = Date.now();
    nova = runOracle(real, lines);
    console.log(`oracle (${real.name}): ${lines.length} lines in ${Date.now() - t0} ms`);
    const dump = process.env['HWSTASH_DIFF_DUMP'];
    if (dump) {
      writeFileSync(join(dump, 'lines.jsonl'), lines.map((l) => JSON.stringify(l) + '\n').join(''));
      writeFileSync(join(dump, 'nova.jsonl'), nova.map((l) => JSON.stringify(l) + '\n').join(''));
    }
    osinfo = await OsInfoIndex.load(osinfoDir);
  }, 300_000);

  test('the generated lines exercise every outcome Nova has', () => {
    expect(nova).toHaveLength(lines.length);
    const codes = new Set(nova.flatMap((o) => Object.values(o.errors)));
    for (const code of ['ValueError', 'AttributeError', 'InvalidInput', 'UnsupportedHardware', 'UnsupportedRescueBus',
      'UnsupportedRescueDevice', 'InstanceNotRescuable', 'InvalidVirtualMachineMode']) {
      expect(codes).toContain(code);
    }
    const seen = new Map<string, Set<string>>();
    for (const o of nova) {
      for (const [k, v] of Object.entries(o.properties)) {
        if (!seen.has(k)) seen.set(k, new Set());
        seen.get(k)!.add(JSON.stringify(v));
      }
    }
    expect(seen.size).toBe(11);
    for (const [k, values] of seen) {
      // Each property takes at least a device and "no device" or two devices; rng only virtio or none.
      if (k === 'hw_rng_model') expect([k, [...values].sort()]).toEqual([k, ['"virtio"', 'null']]);
      else expect([k, values.size >= 2]).toEqual([k, true]);
    }
    // What changed in later releases is in the inputs too: igb images, SPICE hosts.
    const answered = (pred: (o: OracleLine, line: Record<string, unknown>) => boolean) => nova.filter((o, i) => pred(o, lines[i]!)).length;
    const spiceOn = (line: Record<string, unknown>) => [true, 'true', 'yes', '1'].includes((line['conf'] as Record<string, unknown> | undefined)?.['spice.enabled'] as never);
    const igbAsked = answered((_o, line) => (line['image_properties'] as Record<string, unknown> | undefined)?.['hw_vif_model'] === 'igb');
    const igbGiven = answered((o) => o.properties['hw_vif_model'] === 'igb');
    console.log(`nova differential (${real.name}): ${igbAsked} lines ask for igb, ${igbGiven} get it; ${answered((_o, l) => spiceOn(l))} lines with SPICE`);
    expect(igbAsked).toBeGreaterThan(10);
    expect(igbGiven > 0).toBe(real.release.vifModelsAdded.includes('igb'));
    expect(answered((_o, l) => spiceOn(l))).toBeGreaterThan(100);
    const resolved = nova.filter((o) => Object.keys(o.properties).length > 0).length;
    expect(resolved / nova.length).toBeGreaterThan(0.5);
  });

  test('every line: same values and same error keys and codes as Nova', () => {
    const mismatches: string[] = [];
    let count = 0;
    lines.forEach((line, i) => {
      const mine = fromHwstash(defaultsForObject(line, i + 1, base, osinfo));
      const theirs = fromOracle(nova[i]!);
      const d = diff(theirs, mine);
      if (d.length) {
        count++;
        if (mismatches.length < 25) mismatches.push(`${JSON.stringify(line)}\n    ${d.join('\n    ')}`);
      }
    });
    if (count) {
      throw new Error(`${count} of ${lines.length} lines differ from Nova ${real.name} (seed ${SEED}); first ${mismatches.length}:\n  ${mismatches.join('\n  ')}`);
    }
    console.log(`nova differential (${real.name}): ${lines.length} lines, 0 differences`);
  });
});
}
