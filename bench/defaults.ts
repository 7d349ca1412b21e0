/**
 * `hwstash defaults --batch` resolution throughput: 10,000 realistic lines through the resolver,
 * against a baseline of the same lines merely parsed and re-serialised (the I/O-free floor).
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultsForLine } from '../src/core/defaults-line.js';
import { NOVA_DEFAULT_PROFILE, type HostProfile } from '../src/core/inputs.js';
import { OsInfoIndex, resolveOsinfoDir } from '../src/osinfo/index.js';
import type { BenchResult } from './domain-xml.js';

const IMAGES: ReadonlyArray<Record<string, string>> = [
  { os_distro: 'win10' },
  { os_distro: 'fedora36', hw_machine_type: 'q35' },
  { os_distro: 'ubuntu20.04' },
  { hw_disk_bus: 'scsi', hw_scsi_model: 'virtio-scsi' },
  { hw_vif_model: 'VirtualE1000', architecture: 'AMD64' },
  { os_distro: 'rhel8.0', hw_video_model: 'qxl', hw_rescue_device: 'cdrom' },
  {},
  { hw_disk_bus: 'xen' },
];

export function batchLines(n: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({
      id: `img-${i}`,
      host: { arch: 'x86_64', virt_type: i % 5 === 0 ? 'qemu' : 'kvm' },
      conf: { 'libvirt.hw_machine_type': i % 3 === 0 ? ['x86_64=q35'] : null, 'spice.enabled': i % 7 === 0 },
      image_properties: IMAGES[i % IMAGES.length],
      instance: { vm_mode: null },
    }));
  }
  return lines;
}

export async function benchDefaults(n = 10_000): Promise<BenchResult[]> {
  const profile: HostProfile = { ...NOVA_DEFAULT_PROFILE, arch: 'x86_64' };
  const osinfo = await OsInfoIndex.load(resolveOsinfoDir());
  const lines = batchLines(n);
  const time = (fn: (line: string, i: number) => string): number => {
    let best = Infinity;
    for (let run = 0; run < 5; run++) {
      const t0 = performance.now();
      let bytes = 0;
      lines.forEach((l, i) => { bytes += fn(l, i).length; });
      best = Math.min(best, performance.now() - t0);
      if (bytes === 0) throw new Error('nothing produced');
    }
    return best;
  };
  const baseline = time((l) => JSON.stringify(JSON.parse(l)));
  const resolved = time((l, i) => JSON.stringify(defaultsForLine(l, i + 1, profile, osinfo)));
  return [
    { name: `defaults --batch: ${n} lines resolved`, value: resolved, unit: 'ms (goal: well under 1000)', baseline, ratio: resolved / baseline },
    { name: 'defaults --batch throughput', value: Math.round((n / resolved) * 1000), unit: 'lines/s' },
  ];
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const r of await benchDefaults()) console.log(JSON.stringify(r));
}
