/**
 * The agent records its host's profile in hwstash_hosts (real MariaDB, RabbitMQ, libvirt's test
 * driver): at start, then as a heartbeat every [hwstash] profile_interval that leaves updated_at
 * alone; /metrics counts the instances no other profiled host could run; once the agent stops,
 * `hwstash fleet hosts` shows the host stale, not gone.
 */
import { execFileSync } from 'node:child_process';
import { hostProfileFromSettings } from '../../src/config/profile.js';
import { buildProfile } from '../../src/core/fleet/profile.js';
import { insertInstances } from '../../src/store/seed.js';
import { run, PC_STASH } from '../cli/helpers.js';
import { AgentHarness, httpGet, waitFor } from './helpers/harness.js';
import { parseExposition, valueOf } from './helpers/prometheus.js';

let h: AgentHarness;

beforeAll(async () => {
  h = await AgentHarness.create({ hwstash: { profile_interval: 1, audit_interval: 0 } });
  await insertInstances(h.store, [
    { host: h.host, vmState: 'stopped', systemMetadata: { ...PC_STASH } },
    { host: h.host, vmState: 'stopped', systemMetadata: { ...PC_STASH, image_hw_machine_type: 'q35' } },
  ]);
}, 60_000);

afterAll(async () => {
  await h?.cleanup();
});

const stranded = async () => valueOf(parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body), 'hwstash_instances_stranded');

test('recorded at start, refreshed as a heartbeat, counted in /metrics, stale once the agent stops', async () => {
  await h.startAgent();
  await waitFor(async () => (await h.store.hostProfile(h.host)) !== null, 15_000, 'the profile');
  const first = (await h.store.hostProfile(h.host))!;
  // What libvirt itself says, read here with virsh.
  const libvirt = /^Using library: libvirt (\S+)/m.exec(execFileSync('virsh', ['-c', 'test:///default', 'version'], { encoding: 'utf8' }))![1];
  expect(first).toMatchObject({ host: h.host, libvirtVersion: libvirt, qemuVersion: null, virtType: 'kvm', arch: hostProfileFromSettings(h.settings()).arch });
  expect(first.novaRelease).toEqual(expect.any(String));

  // No other host is profiled: neither instance could go anywhere.
  await waitFor(async () => (await stranded()) === 2, 10_000, 'the stranded gauge');

  // Heartbeats move heartbeat_at only.
  await waitFor(async () => Date.parse((await h.store.hostProfile(h.host))!.heartbeatAt) > Date.parse(first.heartbeatAt), 10_000, 'a heartbeat');
  expect((await h.store.hostProfile(h.host))!.updatedAt).toBe(first.updatedAt);

  // The row says another libvirt (as after an upgrade between two runs): the next heartbeat
  // writes the real profile back and moves updated_at.
  const { heartbeatAt: _h, updatedAt: _u, ...facts } = first;
  await h.store.recordHostProfile({ ...facts, libvirtVersion: '8.0.0' });
  const forged = (await h.store.hostProfile(h.host))!;
  await waitFor(async () => (await h.store.hostProfile(h.host))!.libvirtVersion === libvirt, 10_000, 'the real profile back');
  expect(Date.parse((await h.store.hostProfile(h.host))!.updatedAt)).toBeGreaterThan(Date.parse(forged.updatedAt));
  expect(h.logs.find('host profile recorded').map((l) => l['outcome'])).toEqual(['created', 'changed']);

  // Another host of the same platform appears: it can take both (nothing it cannot run is known).
  await h.store.recordHostProfile(buildProfile({ host: `${h.host}-peer`, novaRelease: null, libvirtVersion: '9.0.0', qemuVersion: null, arch: first.arch, virtType: 'kvm', hostCapabilitiesXml: null, domainCapabilitiesXml: [] }));
  await waitFor(async () => (await stranded()) === 0, 10_000, 'the gauge to drop');

  await h.agent!.stop('test');
  h.agent = null;
  const stopped = (await h.store.hostProfile(h.host))!.heartbeatAt;
  await new Promise((r) => setTimeout(r, 3500));
  expect((await h.store.hostProfile(h.host))!.heartbeatAt).toBe(stopped);
  const hosts = await run(['--config-file', h.confFile, 'fleet', 'hosts', '--format', 'json']);
  expect(hosts.code).toBe(0);
  const rows = JSON.parse(hosts.stdout) as Array<{ host: string; stale: boolean; instances: number; profiled: boolean }>;
  expect(rows.find((r) => r.host === h.host)).toMatchObject({ stale: true, profiled: true, instances: 2 });
}, 90_000);
