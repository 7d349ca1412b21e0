/**
 * The gateway's versions() and forgetCapabilities() on real libvirt: the test driver and this
 * machine's libvirtd. virsh is the real one, wrapped only to count its runs.
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

test('forgetCapabilities makes the next capabilities call ask libvirt again', async () => {
  const { runner, runs } = counting();
  const hv = await Hypervisor.open('test:///default', { virsh: runner });
  try {
    const first = await hv.capabilities();
    await hv.capabilities();
    expect(runs).toHaveLength(1);
    hv.forgetCapabilities();
    expect(await hv.capabilities()).toBe(first);
    expect(runs).toHaveLength(2);
  } finally {
    await hv.close();
  }
});
