/**
 * The agent with libvirt unreachable at start. libvirt is a daemon of the test's own
 * (test/hypervisor/private-libvirtd.ts), started only once the agent runs, so "unreachable, then
 * reachable" happens for real without touching the machine's system daemon.
 */
import { randomUUID } from 'node:crypto';
import { insertInstances } from '../../src/store/seed.js';
import { PrivateLibvirtd } from '../hypervisor/private-libvirtd.js';
import { AgentHarness, httpGet, waitFor } from './helpers/harness.js';

async function imageKeys(h: AgentHarness, uuid: string): Promise<number> {
  return (await h.store.systemMetadata(uuid)).filter((r) => r.key.startsWith('image_hw_')).length;
}

test('libvirt unreachable at start: the instances are left unstashed, and reconciled once libvirt answers', async () => {
  // Not started yet: its socket does not exist.
  const daemon = new PrivateLibvirtd();
  const h = await AgentHarness.create({ libvirtUri: daemon.uri });
  try {
    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host }]);
    await h.startAgent({ libvirtRetryMs: 300 });

    expect(h.logs.find('libvirt unreachable; retrying (stashing waits for it)').length).toBeGreaterThan(0);
    // Without the domain the stash would record today's defaults over the guest's hardware.
    expect(await imageKeys(h, uuid)).toBe(0);
    expect(JSON.parse((await httpGet(`${h.metricsUrl}/healthz`)).body)).toMatchObject({ libvirt: false, reconciled: true });

    await daemon.start();
    await waitFor(async () => (await imageKeys(h, uuid)) === 11, 30_000, 'the stash once libvirt answers');
    const reasons = h.logs.find('reconciling this host').map((l) => String(l['reason']));
    expect(reasons).toEqual(['agent start', 'libvirt reachable again: instances left unstashed without it']);
    expect(JSON.parse((await httpGet(`${h.metricsUrl}/healthz`)).body)).toMatchObject({ libvirt: true });
  } finally {
    await h.cleanup();
    await daemon.dispose();
  }
}, 90_000);

test('libvirt unreachable at start with nothing left unstashed: no second reconcile once it answers', async () => {
  const daemon = new PrivateLibvirtd();
  const h = await AgentHarness.create({ libvirtUri: daemon.uri });
  try {
    await h.startAgent({ libvirtRetryMs: 300 });
    await daemon.start();
    await waitFor(() => h.logs.find('libvirt connected').length > 0, 30_000, 'libvirt');
    await new Promise((r) => setTimeout(r, 500));
    expect(h.logs.find('reconciling this host').map((l) => String(l['reason']))).toEqual(['agent start']);
  } finally {
    await h.cleanup();
    await daemon.dispose();
  }
}, 90_000);
