/**
 * The rewrite's rules checked on many generated stashes over the libvirt-written fixtures:
 * whatever the stash, the result follows it, names stay unique and match their bus, a second
 * rewrite changes nothing, and a sample of results is accepted by real libvirt.
 * Deterministic: HWSTASH_REWRITE_SEED and HWSTASH_REWRITE_CASES override seed and count.
 */
import { XMLValidator } from 'fast-xml-parser';
import { rewriteDomain } from '../../src/core/domain-xml/rewrite.js';
import type { Stash } from '../../src/core/domain-xml/stash.js';
import { FIXTURE_NAMES, asScratchDomain, defineAndReadBack, domainFixture, looseDomain, type Loose } from './helpers.js';
import { rng } from '../helpers/rng.js';

const SEED = Number(process.env['HWSTASH_REWRITE_SEED'] ?? 4242);
const CASES = Number(process.env['HWSTASH_REWRITE_CASES'] ?? 400);
const LIBVIRT_SAMPLE = Number(process.env['HWSTASH_REWRITE_LIBVIRT_SAMPLE'] ?? 12);


// Written out here rather than imported, so the test does not share the code's tables.
const PREFIX: Record<string, string> = { virtio: 'vd', scsi: 'sd', sata: 'sd', usb: 'sd', ide: 'hd', fdc: 'fd' };
const isQ35 = (machine: string): boolean => machine === 'q35' || machine.startsWith('pc-q35-');

/** A stash QEMU 7.2 can run: no IDE on q35; values left out (undefined) are "not stashed". */
function randomStash(next: () => number): Stash {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const maybe = <T>(xs: readonly T[]): T | undefined => (next() < 0.25 ? undefined : pick(xs));
  const machine = maybe(['pc', 'q35', 'pc-i440fx-7.2', 'pc-q35-7.2', 'pc-i440fx-5.2']);
  const q35Possible = machine === undefined || isQ35(machine);
  const buses = q35Possible ? ['virtio', 'scsi', 'sata', 'usb'] : ['virtio', 'scsi', 'sata', 'usb', 'ide'];
  return {
    hw_machine_type: machine,
    hw_disk_bus: maybe(buses),
    hw_cdrom_bus: maybe(buses.filter((b) => b !== 'virtio')),
    hw_video_model: maybe(['cirrus', 'qxl', 'vga', 'virtio', 'bochs', 'vmvga', 'none', null]),
    hw_vif_model: maybe(['virtio', 'e1000', 'e1000e', 'rtl8139', 'ne2k_pci', 'pcnet', 'vmxnet3']),
    hw_input_bus: maybe(['usb', 'virtio']),
    hw_pointer_model: maybe(['usbtablet', null]),
    hw_rng_model: maybe(['virtio', null]),
    hw_scsi_model: maybe(['virtio-scsi', 'lsilogic', null]),
  };
}

function cases(): Array<{ name: string; xml: string; stash: Stash }> {
  const next = rng(SEED);
  const out: Array<{ name: string; xml: string; stash: Stash }> = [];
  for (let i = 0; i < CASES; i++) {
    const name = FIXTURE_NAMES[i % FIXTURE_NAMES.length]!;
    const stash = randomStash(next);
    // An IDE drive the stash leaves alone cannot move to q35 either.
    const keepsIde = name !== 'nova-q35.xml' && stash.hw_cdrom_bus === undefined;
    if (keepsIde && stash.hw_machine_type !== undefined && isQ35(stash.hw_machine_type!)) stash.hw_cdrom_bus = 'sata';
    if (name === 'old-defaults-pc.xml' && stash.hw_disk_bus === undefined && stash.hw_machine_type && isQ35(stash.hw_machine_type)) stash.hw_disk_bus = 'virtio';
    out.push({ name, xml: domainFixture(name), stash });
  }
  return out;
}

const list = (v: unknown): Loose[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function checkFollows(before: Loose, after: Loose, stash: Stash): string[] {
  const errors: string[] = [];
  const expect = (ok: boolean, what: string): void => {
    if (!ok) errors.push(what);
  };
  const m = stash.hw_machine_type;
  const was = before.os.type['@machine'] as string;
  const now = after.os.type['@machine'] as string;
  if (m) expect(now === m || (now === was && (m === 'pc' || m === 'q35') && isQ35(m) === isQ35(was)), `machine ${now} for ${m}`);
  if (m && isQ35(m) !== isQ35(was)) {
    for (const [tag, els] of Object.entries(after.devices as Record<string, unknown>)) {
      for (const el of list(els)) expect(!list(el?.address).some((a) => a['@type'] === 'pci'), `${tag} kept a PCI address across chipsets`);
    }
    expect(!list(after.devices.controller).some((c) => c['@type'] === 'pci' || (isQ35(m) && c['@type'] === 'ide')), 'pci/ide controller kept');
  }

  const disks = list(after.devices.disk);
  const devs = disks.map((d) => d.target['@dev']);
  expect(new Set(devs).size === devs.length, `duplicate disk names ${devs}`);
  for (const d of disks) {
    const want = d['@device'] === 'cdrom' ? stash.hw_cdrom_bus : stash.hw_disk_bus;
    if (want) {
      expect(d.target['@bus'] === want, `${d['@device']} on ${d.target['@bus']}, stash ${want}`);
      const was = list(before.devices.disk).find((b) => b.source['@file'] === d.source['@file']);
      if (was.target['@bus'] !== want) {
        expect(d.target['@dev'].startsWith(PREFIX[want]!), `${d.target['@dev']} does not match bus ${want}`);
        expect(list(d.address).length === 0, `moved ${d.target['@dev']} kept its address`);
      }
    }
  }

  const video = list(after.devices.video)[0];
  if ('hw_video_model' in stash && stash.hw_video_model !== undefined) expect(video.model['@type'] === (stash.hw_video_model ?? 'virtio'), `video ${video.model['@type']}`);
  if (stash.hw_vif_model) for (const n of list(after.devices.interface)) expect(n.model['@type'] === stash.hw_vif_model, `nic ${n.model['@type']}`);
  const tablets = list(after.devices.input).filter((i) => i['@type'] === 'tablet');
  if (stash.hw_pointer_model === null) expect(tablets.length === 0, 'tablet kept');
  if (stash.hw_pointer_model === 'usbtablet') expect(tablets.length === 1, 'no tablet');
  if (stash.hw_input_bus) for (const t of tablets) expect(t['@bus'] === stash.hw_input_bus, `tablet on ${t['@bus']}`);
  const rngs = list(after.devices.rng);
  if (stash.hw_rng_model === null) expect(rngs.length === 0, 'rng kept');
  if (stash.hw_rng_model) expect(rngs.length > 0 && rngs.every((r) => r['@model'] === stash.hw_rng_model), 'rng');
  const scsi = list(after.devices.controller).filter((c) => c['@type'] === 'scsi');
  if (stash.hw_scsi_model) expect(scsi.length > 0 && scsi.every((c) => c['@model'] === stash.hw_scsi_model), 'scsi controller');
  return errors;
}

describe(`rewrite rules over ${CASES} generated stashes (seed ${SEED})`, () => {
  const all = cases();

  test('every result is well-formed, follows its stash, and is a fixed point', () => {
    const failures: string[] = [];
    for (const [i, c] of all.entries()) {
      const { xml } = rewriteDomain(c.xml, c.stash);
      const wellFormed = XMLValidator.validate(xml);
      if (wellFormed !== true) {
        failures.push(`case ${i} (${c.name}): not well-formed: ${wellFormed.err.msg}`);
        continue;
      }
      for (const e of checkFollows(looseDomain(c.xml), looseDomain(xml), c.stash)) failures.push(`case ${i} (${c.name} ${JSON.stringify(c.stash)}): ${e}`);
      const again = rewriteDomain(xml, c.stash);
      if (again.changes.length || again.xml !== xml) failures.push(`case ${i} (${c.name}): second rewrite changed ${JSON.stringify(again.changes)}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  test(`a sample of ${LIBVIRT_SAMPLE} results is accepted by libvirt with QEMU`, async () => {
    const step = Math.max(1, Math.floor(all.length / LIBVIRT_SAMPLE));
    for (let k = 0; k < LIBVIRT_SAMPLE; k++) {
      const c = all[k * step]!;
      const { xml } = rewriteDomain(c.xml, c.stash);
      await expect(defineAndReadBack('qemu:///system', asScratchDomain(xml, `rules${k}`, 'qemu').xml)).resolves.toContain('<domain');
    }
  });
});
