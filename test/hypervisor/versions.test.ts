/**
 * The gateway's versions() on real libvirt (the test driver and this machine's libvirtd), and the
 * capabilities it caches asked again once the versions change. virsh is the real one, wrapped to
 * count its runs, and in the last test to report a newer QEMU: the upgrade under a running
 * libvirtd that this machine cannot perform.
 */
import { Hypervisor } from '../../src/hypervisor/index.js';
import { execFileVirsh, type VirshRunner } from '../../src/hypervisor/virsh.js';

function counting(): { runner: VirshRunner; runs: string[][] } {
  const real = execFileVirsh();
  const runs: string[][] = [];
  return { runs, runner: (args) => (runs.push([...args]), real(args)) };
}

test.each([
  ['test:///default', /^TEST \d/],
  ['qemu:///system', /^QEMU \d+\.\d+/],
])('%s: libvirt and hypervisor versions, asked every time', async (uri, hypervisor) => {
  const { runner, runs } = counting();
  const hv = await Hypervisor.open(uri, { virsh: runner });
  try {
    const v = await hv.versions();
    expect(v.libvirt).toMatch(/^\d+\.\d+\.\d+$/);
    expect(v.hypervisor).toMatch(hypervisor);
    await hv.versions();
    expect(runs.filter((a) => a.includes('version'))).toHaveLength(2);
  } finally {
    await hv.close();
  }
}, 60_000);

test('a changed hypervisor version makes the next capabilities call ask libvirt again; the same one does not', async () => {
  const { runner: counted, runs } = counting();
  let upgraded = false;
  const runner: VirshRunner = async (args) => {
    const out = await counted(args);
    return upgraded && args.includes('version') ? { ...out, stdout: out.stdout.replace(/^(Running hypervisor: \S+ ).*$/m, '$199.0.0') } : out;
  };
  const hv = await Hypervisor.open('test:///default', { virsh: runner });
  try {
    await hv.versions();
    const first = await hv.capabilities();
    await hv.versions();
    await hv.capabilities();
    expect(runs.filter((a) => a.includes('capabilities'))).toHaveLength(1);
    upgraded = true;
    expect((await hv.versions()).hypervisor).toMatch(/ 99\.0\.0$/);
    expect(await hv.capabilities()).toBe(first);
    expect(runs.filter((a) => a.includes('capabilities'))).toHaveLength(2);
  } finally {
    await hv.close();
  }
});
