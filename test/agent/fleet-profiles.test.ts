/**
 * FleetProfiles, what an agent reads of the fleet at each heartbeat: the stamps every time, a
 * profile only when it is new or changed (updated_at moved). Real SQLite store; the store's
 * hostProfiles is wrapped only to record which hosts each call asked for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FleetProfiles } from '../../src/agent/fleet.js';
import { buildProfile } from '../../src/core/fleet/profile.js';
import { Store } from '../../src/store/index.js';

const profileOf = (host: string, qemuVersion: string) =>
  buildProfile({ host, novaRelease: '2025.1', libvirtVersion: '9.0.0', qemuVersion, arch: 'x86_64', virtType: 'qemu', hostCapabilitiesXml: null, domainCapabilitiesXml: [] });

test('profiles are read once, then only when they change; heartbeats come from the stamps; a removed host drops out', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-fleet-profiles-'));
  let clock = Date.parse('2026-12-05T10:00:00Z');
  const store = await Store.open(`sqlite:///${dir}/nova.sqlite`, { now: () => new Date(clock) });
  try {
    await store.initNovaSchema();
    await store.migrate();
    const asked: Array<readonly string[] | undefined> = [];
    const real = store.hostProfiles.bind(store);
    store.hostProfiles = (hosts?: readonly string[]) => (asked.push(hosts), real(hosts));

    await store.recordHostProfile(profileOf('compute-a', '7.2.0'));
    await store.recordHostProfile(profileOf('compute-b', '7.2.0'));
    const fleet = new FleetProfiles();
    expect((await fleet.current(store)).map((p) => p.host)).toEqual(['compute-a', 'compute-b']);
    expect(asked).toEqual([['compute-a', 'compute-b']]);

    // A heartbeat of a and a QEMU upgrade on b: only b is read again; a's new heartbeat is seen.
    clock += 60_000;
    await store.recordHostProfile(profileOf('compute-a', '7.2.0'));
    await store.recordHostProfile(profileOf('compute-b', '9.2.0'));
    const now = await fleet.current(store);
    expect(asked.at(-1)).toEqual(['compute-b']);
    expect(now.find((p) => p.host === 'compute-b')?.qemuVersion).toBe('9.2.0');
    expect(Date.parse(now.find((p) => p.host === 'compute-a')!.heartbeatAt)).toBe(clock);

    await store.db.sequelize.query(`DELETE FROM ${store.db.own.table('hwstash_hosts')} WHERE host = 'compute-a'`);
    expect((await fleet.current(store)).map((p) => p.host)).toEqual(['compute-b']);
    expect(asked.at(-1)).toEqual([]);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
