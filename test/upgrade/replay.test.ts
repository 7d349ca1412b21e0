/**
 * The pieces of the upgrade figure on their own: the new-QEMU edit of libvirt's recorded
 * capabilities (read back with the test's own parser), the change explanations, and the replay
 * behind `npm run demo:upgrade` on SQLite and libvirt's test driver, held to the same invariants
 * as the survival test on the real libvirtd.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { pino } from 'pino';
import { ZED, findRelease } from '../../src/core/releases.js';
import { Hypervisor } from '../../src/hypervisor/index.js';
import { OsInfoIndex } from '../../src/osinfo/index.js';
import { Store } from '../../src/store/index.js';
import { explainChange, machineAliases, type UpgradeStory } from '../../src/upgrade/hardware.js';
import { newQemuDomainCapabilities, newQemuHostCapabilities } from '../../src/upgrade/new-qemu.js';
import { replayUpgrade } from '../../src/upgrade/replay.js';
import { NOVA_TREE } from '../store/nova-releases.js';

const CAPS = fileURLToPath(new URL('../fixtures/libvirt-9.0-qemu-7.2', import.meta.url));
const read = (f: string) => fs.readFileSync(path.join(CAPS, f), 'utf8');
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => ['guest', 'machine', 'enum', 'value'].includes(n) });

function x86Machines(xml: string): Array<{ name: string; canonical?: string }> {
  const guests = parser.parse(xml).capabilities.guest as Array<Record<string, any>>;
  return guests
    .filter((g) => g['arch']['@name'] === 'x86_64')
    .flatMap((g) => (g['arch']['machine'] as Array<string | Record<string, string>>).map((m) => (typeof m === 'string' ? { name: m } : { name: m['#text']!, canonical: m['@canonical'] })));
}

describe('the new QEMU: an edit of the recorded libvirt 9.0 / QEMU 7.2 capabilities', () => {
  const old = read('capabilities-qemu-system.xml');
  const edited = newQemuHostCapabilities(old);

  test('the aliases move to 10.0, listed beside them; 2.x machine types are gone; 3.0 and later stay', () => {
    const machines = x86Machines(edited);
    expect(machines.filter((m) => m.name === 'pc' || m.name === 'q35').map((m) => m.canonical)).toEqual(expect.arrayContaining(['pc-i440fx-10.0', 'pc-q35-10.0']));
    expect(machines.map((m) => m.name)).toEqual(expect.arrayContaining(['pc-i440fx-10.0', 'pc-q35-10.0', 'pc-i440fx-3.0', 'pc-i440fx-7.2', 'pc-q35-7.2']));
    expect(machines.filter((m) => /-(1|2)\.\d+$/.test(m.name))).toEqual([]);
    expect(x86Machines(old).filter((m) => /-(1|2)\.\d+$/.test(m.name)).length).toBeGreaterThan(0);
    expect(machineAliases(old)['pc']).toBe('pc-i440fx-7.2');
    expect(machineAliases(edited)['pc']).toBe('pc-i440fx-10.0');
  });

  test('cirrus is gone from the video models; nothing else is', () => {
    const models = (xml: string) => (parser.parse(xml).domainCapabilities.devices.video.enum as Array<{ '@name': string; value: string[] }>).find((e) => e['@name'] === 'modelType')!.value;
    const before = models(read('domcaps-qemu-x86_64-pc.xml'));
    expect(before).toContain('cirrus');
    expect(models(newQemuDomainCapabilities(read('domcaps-qemu-x86_64-pc.xml')))).toEqual(before.filter((m) => m !== 'cirrus'));
  });
});

describe('explaining a change', () => {
  const none = { lookup: () => null };
  const story: UpgradeStory = {
    from: { release: ZED, osinfo: none, machineAliases: { pc: 'pc-i440fx-7.2' } },
    to: { release: findRelease('2025.1')!, osinfo: none, machineAliases: { pc: 'pc-i440fx-10.0' } },
    spiceEnabled: true,
  };

  test("SPICE's qxl → virtio and the pc alias are explained; an image's own value, or another change, is not", () => {
    expect(explainChange({ property: 'hw_video_model', before: 'qxl', after: 'virtio' }, {}, story)).toMatch(/SPICE/);
    expect(explainChange({ property: 'hw_video_model', before: 'qxl', after: 'vga' }, {}, story)).toBeNull();
    expect(explainChange({ property: 'hw_video_model', before: 'qxl', after: 'virtio' }, { hw_video_model: 'qxl' }, story)).toBeNull();
    expect(explainChange({ property: 'hw_video_model', before: 'qxl', after: 'virtio' }, {}, { ...story, spiceEnabled: false })).toBeNull();
    expect(explainChange({ property: 'hw_machine_type', before: 'pc-i440fx-7.2', after: 'pc-i440fx-10.0' }, {}, story)).toMatch(/alias/);
    expect(explainChange({ property: 'hw_machine_type', before: 'pc-i440fx-7.2', after: 'pc-i440fx-10.0' }, { hw_machine_type: 'pc-i440fx-7.2' }, story)).toBeNull();
    expect(explainChange({ property: 'hw_disk_bus', before: 'virtio', after: 'ide' }, {}, story)).toBeNull();
    expect(explainChange({ property: 'hw_vif_model', before: 'virtio', after: 'rtl8139' }, {}, story)).toBeNull();
  });
});

describe('npm run demo:upgrade: the replay on SQLite and libvirt test:///default', () => {
  test('every guest keeps its hardware with the stash; without it guests change, each for a documented cause', async () => {
    const osinfoAfter = path.join(NOVA_TREE, 'usr/share/osinfo');
    if (!fs.existsSync(osinfoAfter)) throw new Error(`no Debian 13 osinfo-db at ${osinfoAfter}: run scripts/nova-2025.1-tree.sh`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-replay-'));
    const store = await Store.open(`sqlite:///${dir}/hwstash.sqlite`);
    const hv = await Hypervisor.open('test:///default');
    try {
      const r = await replayUpgrade({
        store, hypervisor: hv, host: 'replay-host',
        osinfoBefore: await OsInfoIndex.load('/usr/share/osinfo'), osinfoAfter: await OsInfoIndex.load(osinfoAfter),
        after: findRelease('2025.1')!,
        capabilitiesXml: read('capabilities-qemu-system.xml'),
        domainCapabilitiesXml: { pc: read('domcaps-qemu-x86_64-pc.xml'), q35: read('domcaps-qemu-x86_64-q35.xml') },
        logger: pino({ level: 'silent' }),
      });
      expect(r.guests.length).toBeGreaterThanOrEqual(50);
      expect(r.withStash.properties).toBe(0);
      expect(r.control.guests).toBeGreaterThan(0);
      expect(r.guests.flatMap((g) => g.control.filter((c) => c.cause === null).map((c) => `${g.guest.name} ${c.property}`))).toEqual([]);
      // The agent's power-on found every definition following the stash, and no drift after.
      expect(r.guests.filter((g) => g.powerOn !== 'unchanged' || g.drift > 0).map((g) => g.guest.name)).toEqual([]);
      // What the new QEMU dropped is reported: the pinned 2.x machine types and the cirrus images.
      expect(r.guests.filter((g) => g.cannotRun.length).map((g) => g.cannotRun).flat().sort()).toEqual(
        r.guests.flatMap((g) => [
          ...(/^pc-(i440fx|q35)-2\./.test(g.before.hw_machine_type ?? '') ? [`hw_machine_type=${g.before.hw_machine_type}`] : []),
          ...(g.before.hw_video_model === 'cirrus' ? ['hw_video_model=cirrus'] : []),
        ]).sort(),
      );
    } finally {
      await hv.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
