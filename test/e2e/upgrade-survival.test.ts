/**
 * The promise end to end (issue #15): a host moves from Nova Zed, osinfo-db 2022 (Debian 12) and
 * QEMU 7.2 to Nova 2025.1, osinfo-db 2025 (Debian 13) and a newer QEMU, and no guest's hardware
 * changes.
 *
 * - before: a fleet (src/upgrade/fleet.ts) seeded as Nova's compute API writes it, each guest's
 *   domain defined on this machine's real libvirtd (QEMU, TCG) with the hardware Nova Zed picks
 *   (checked against Nova Zed's own code), booted once and destroyed, then stashed by the agent's
 *   start-up reconcile;
 * - upgrade: the agent follows 2025.1's rules and the Debian 13 tree's osinfo-db; libvirt's real
 *   capabilities are edited into a newer QEMU's (src/upgrade/new-qemu.ts: aliases move to 10.0,
 *   2.x machine types and cirrus are gone);
 * - the report: `hwstash drift` names every guest the new QEMU cannot run, before anything is
 *   redefined;
 * - the control: Nova 2025.1's own code decides every guest from its image properties alone (no
 *   stash): the guests and properties that change, each explained by a documented change;
 * - with the stash: Nova 2025.1's own code decides every guest from its system_metadata (the
 *   stash included), each domain is regenerated from those decisions, every guest is powered on
 *   through the agent (instance.power_on.start), and the running domain equals "before" device by
 *   device.
 *
 * "before" is read back from libvirt (`virsh dumpxml`) with the test's own parser, never from
 * hwstash. The figures are printed; the assertions are the invariants (with the stash nothing
 * changes; without it something does, and every change has a documented cause).
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildDomain, type Stash } from '../../src/core/domain-xml/index.js';
import { NOVA_DEFAULT_PROFILE, type HostProfile, type OsInfoLookup } from '../../src/core/inputs.js';
import { PROPERTY_NAMES, type PropertyName } from '../../src/core/properties.js';
import { ZED, findRelease } from '../../src/core/releases.js';
import { resolve } from '../../src/core/resolve.js';
import { Hypervisor } from '../../src/hypervisor/index.js';
import { mapLimit } from '../../src/map-limit.js';
import { OsInfoIndex } from '../../src/osinfo/index.js';
import { upgradeFleet, type FleetGuest } from '../../src/upgrade/fleet.js';
import {
  countChanges,
  diffHardware,
  effectiveVideo,
  explainChange,
  formatByProperty,
  machineAliases,
  requestedByImageAlias,
  type Hardware,
  type HardwareChange,
  type UpgradeStory,
} from '../../src/upgrade/hardware.js';
import { newQemuDomainCapabilities, newQemuHostCapabilities, REMOVED_BELOW_MAJOR, DROPPED_VIDEO_MODELS } from '../../src/upgrade/new-qemu.js';
import { NOVA_TREE } from '../store/nova-releases.js';
import { readDomain, type DomainReading } from './helpers/guests.js';
import { askNova, type NovaAnswer } from './helpers/nova-oracle.js';
import { QEMU_URI, ROUTING_KEY, World, waitFor } from './helpers/world.js';

const SLOW = 600_000;
const EPOXY = findRelease('2025.1')!;
const OSINFO_2022 = '/usr/share/osinfo';
const OSINFO_2025 = path.join(NOVA_TREE, 'usr/share/osinfo');
/** The properties a libvirt domain shows; hw_floppy_bus and hw_rescue_bus only decide future devices. */
const IN_DOMAIN: readonly PropertyName[] = PROPERTY_NAMES.filter((p) => p !== 'hw_floppy_bus' && p !== 'hw_rescue_bus');

if (!fs.existsSync(path.join(NOVA_TREE, '.hwstash-tree-ready'))) {
  throw new Error(`no Debian 13 tree with Nova 2025.1 at ${NOVA_TREE}: run scripts/nova-2025.1-tree.sh (.ci/run does)`);
}

/** What a domain's devices say about each property, read with the test's parser. */
function hardwareOf(r: DomainReading): Hardware {
  const disk = r.disks.find((d) => d.device === 'disk');
  const cdrom = r.disks.find((d) => d.device === 'cdrom');
  const tablet = r.inputs.find((i) => i.type === 'tablet');
  const scsi = r.controllers.find((c) => c.type === 'scsi');
  const nic = r.nics[0];
  return {
    hw_machine_type: r.machine ?? null,
    hw_disk_bus: disk?.bus ?? null,
    hw_cdrom_bus: cdrom?.bus ?? null,
    hw_video_model: r.video[0] ?? null,
    hw_vif_model: nic === undefined || nic === '?' ? null : nic,
    hw_input_bus: tablet?.bus ?? null,
    hw_pointer_model: tablet ? 'usbtablet' : null,
    hw_rng_model: r.rng[0] ?? null,
    hw_scsi_model: scsi?.model ?? null,
  };
}

/**
 * Nova's decisions as hardware: the machine alias it asks for becomes what this QEMU runs, and no
 * video model decided becomes the guest config's default (every guest here has a console).
 */
function hardwareFromNova(answer: NovaAnswer, aliases: Readonly<Record<string, string>>, only: readonly PropertyName[] = PROPERTY_NAMES): Hardware {
  if (Object.keys(answer.errors).length) throw new Error(`Nova refused ${answer.id}: ${JSON.stringify(answer.errors)}`);
  const out: Hardware = {};
  for (const p of only) {
    const v = answer.properties[p] ?? null;
    out[p] = p === 'hw_machine_type' && v !== null ? (aliases[v] ?? v) : p === 'hw_video_model' ? effectiveVideo(v) : v;
  }
  return out;
}

/** A `defaults --batch` line for this host: x86_64, qemu (TCG), SPICE and VNC on. */
function novaLine(id: string, imageProperties: Record<string, string>): Record<string, unknown> {
  return { id, host: { arch: 'x86_64', virt_type: 'qemu' }, conf: { 'spice.enabled': true, 'vnc.enabled': true }, image_properties: imageProperties };
}

/** What Nova reads back as image properties from the stash: every non-NULL `image_hw_*` row. */
function withStash(guest: Guest): Record<string, string> {
  const stashed = Object.fromEntries(Object.entries(guest.stash).filter((e): e is [string, string] => e[1] !== null));
  return { ...guest.fleet.imageProperties, ...stashed };
}

interface Guest {
  fleet: FleetGuest;
  uuid: string;
  /** The persistent definition after it was booted and stashed. */
  beforeXml: string;
  before: Hardware;
  stash: Record<string, string | null>;
}

/** Nova defines a NIC on the tenant network; this CI host has none, so QEMU's user backend stands in (the model is what is compared). */
function withUserNic(xml: string, mac: string, model: string | null): string {
  const nic = `    <interface type='user'>\n      <mac address='${mac}'/>\n${model ? `      <model type='${model}'/>\n` : ''}    </interface>\n`;
  return xml.replace('  </devices>', `${nic}  </devices>`);
}

/** The guest's domain as Nova builds it from its decisions: root disk, config drive, NIC, VNC. */
function domainFor(w: World, guest: { uuid: string; index: number }, decisions: Stash): string {
  const dir = path.join(w.imagesDir, guest.uuid);
  const xml = buildDomain({
    name: `${w.domainPrefix}${String(guest.index).padStart(3, '0')}`,
    uuid: guest.uuid,
    vcpus: 1,
    memoryMb: 32,
    virtType: 'qemu',
    arch: 'x86_64',
    stash: decisions,
    disks: [
      { deviceType: 'disk', path: `${dir}/disk`, format: 'qcow2', bootIndex: 0 },
      // Nova's config drive, on the cdrom bus.
      { deviceType: 'cdrom', path: `${dir}/disk.config`, format: 'qcow2' },
    ],
    interfaces: [],
    graphics: 'vnc',
  });
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return withUserNic(xml, `fa:16:3e:00:${hex(guest.index >> 8)}:${hex(guest.index & 0xff)}`, decisions.hw_vif_model ?? null);
}

describe('upgrade survival: Zed → 2025.1, osinfo-db 2022 → 2025, QEMU 7.2 → a newer QEMU (real libvirtd, TCG, MariaDB)', () => {
  let w: World;
  const guests: Guest[] = [];
  let osinfo2022: OsInfoLookup;
  let osinfo2025: OsInfoLookup;
  let story: UpgradeStory;
  let zedAnswers: NovaAnswer[];
  const figures: Record<string, unknown> = {};
  const t0 = Date.now();
  const originalCaps = Hypervisor.prototype.capabilities;
  const originalDomCaps = Hypervisor.prototype.domainCapabilities;

  beforeAll(async () => {
    const fleet = upgradeFleet();
    const lap = (name: string) => (figures[`t_${name}`] = ((Date.now() - t0) / 1000).toFixed(1));
    w = await World.create({ dialect: 'mariadb', libvirtUri: QEMU_URI, virtType: 'qemu' });
    // The host before: Nova Zed, SPICE on (VNC stays on too), Debian 12's osinfo-db.
    w.addConfFile(['[spice]', 'enabled = true', '[hwstash]', 'nova_release = zed', `osinfo_dir = ${OSINFO_2022}`, ''].join('\n'));
    [osinfo2022, osinfo2025] = await Promise.all([OsInfoIndex.load(OSINFO_2022), OsInfoIndex.load(OSINFO_2025)]);
    const zedProfile: HostProfile = { ...NOVA_DEFAULT_PROFILE, arch: 'x86_64', virtType: 'qemu', spiceEnabled: true, release: ZED };

    // Nova Zed's own decisions for every image (its python3-nova, libosinfo and osinfo-db 2022).
    lap('world');
    zedAnswers = askNova('/', fleet.map((g, i) => novaLine(String(i), g.imageProperties)));
    lap('zed_oracle');

    const uuids = await w.seed(fleet.map((g) => ({ host: w.host, vmState: 'stopped', displayName: g.name, imageProperties: g.imageProperties })));
    const booted = await mapLimit(fleet.map((g, i) => ({ g, i, uuid: uuids[i]! })), 6, async ({ g, i, uuid }) => {
      // hwstash's resolver under Zed's rules decides the hardware; the first test checks it is Nova Zed's.
      const r = resolve({ imageProperties: g.imageProperties, instance: { vmMode: null }, host: zedProfile, osinfo: osinfo2022 });
      if (Object.keys(r.errors).length) throw new Error(`${g.name}: ${JSON.stringify(r.errors)}`);
      const decisions: Stash = Object.fromEntries(Object.entries(r.properties).map(([k, d]) => [k, d!.value]));
      await w.createDisk(`${uuid}/disk`, '16M');
      await w.createDisk(`${uuid}/disk.config`, '1M');
      await w.defineDomain(uuid, domainFor(w, { uuid, index: i }, decisions));
      // Started as Nova starts it (TCG, 32 MiB, empty disks): QEMU builds every device, then the
      // vCPU stays paused, which is all a fleet of 50 needs on 2 cores; destroyed below.
      await w.virsh('start', '--paused', uuid);
      return (await w.domstate(uuid)) === 'paused';
    });
    figures['booted'] = booted.filter(Boolean).length;
    lap('defined_started');
    await mapLimit(uuids, 16, (uuid) => w.virsh('destroy', uuid));
    lap('destroyed');

    // The agent stashes the host at start, taking what each domain uses.
    await w.startAgent(osinfo2022);
    for (const [i, g] of fleet.entries()) {
      const uuid = uuids[i]!;
      const beforeXml = await w.virsh('dumpxml', '--inactive', uuid);
      guests.push({ fleet: g, uuid, beforeXml, before: hardwareOf(readDomain(beforeXml)), stash: await w.stashRows(uuid) });
    }
    lap('stashed');
    await w.agent!.stop('upgrade');
    w.agent = null;

    // The upgrade: Nova 2025.1's rules, Debian 13's osinfo-db, and the newer QEMU's capabilities.
    w.addConfFile(['[hwstash]', 'nova_release = 2025.1', `osinfo_dir = ${OSINFO_2025}`, ''].join('\n'));
    const realCaps = await w.virsh('capabilities');
    Hypervisor.prototype.capabilities = async function () {
      return newQemuHostCapabilities(await originalCaps.call(this));
    };
    Hypervisor.prototype.domainCapabilities = async function (q) {
      return newQemuDomainCapabilities(await originalDomCaps.call(this, q));
    };
    story = {
      from: { release: ZED, osinfo: osinfo2022, machineAliases: machineAliases(realCaps) },
      to: { release: EPOXY, osinfo: osinfo2025, machineAliases: machineAliases(newQemuHostCapabilities(realCaps)) },
      spiceEnabled: true,
    };
  }, SLOW);

  afterAll(async () => {
    Hypervisor.prototype.capabilities = originalCaps;
    Hypervisor.prototype.domainCapabilities = originalDomCaps;
    await w?.cleanup();
    console.log(
      `upgrade survival: ${guests.length} guests, upgrade Zed → 2025.1 and osinfo-db 2022 → 2025: ` +
        `without hwstash ${figures['control_guests']} guests (${figures['control_properties']} properties: ${figures['control_by_property']}) change hardware; ` +
        `with hwstash ${figures['with_stash_changes']} (Nova 2025.1 from the stash: ${figures['with_stash_nova_changes']}; following the image's own unversioned machine type: ${JSON.stringify(figures['image_alias_follows'])}). where Nova had registered its 7 defaults: ${figures['registered']}. started before: ${figures['booted']}; new QEMU cannot run: ${figures['unsupported']}; ` +
        `agent power-on outcomes: ${JSON.stringify(figures['outcomes'])}; seconds: ${JSON.stringify(Object.fromEntries(Object.entries(figures).filter(([k]) => k.startsWith('t_'))))}, total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, 120_000);

  test('before: the fleet spans the cases (>= 50 guests), every guest was booted, and its hardware is what Nova Zed decides', () => {
    expect(guests.length).toBeGreaterThanOrEqual(50);
    expect(new Set(guests.map((g) => g.fleet.kind)).size).toBe(7);
    expect(figures['booted']).toBe(guests.length);
    for (const [i, g] of guests.entries()) {
      // Nova asks for `pc`; the hardware is what this QEMU expands it to.
      expect([g.fleet.name, hardwareFromNova(zedAnswers[i]!, story.from.machineAliases, IN_DOMAIN)]).toEqual([g.fleet.name, g.before]);
    }
  });

  test('before: the agent stashed every guest as its domain is (all 11 properties; floppy and rescue buses as Nova Zed decides)', () => {
    for (const [i, g] of guests.entries()) {
      const stashed = Object.fromEntries(PROPERTY_NAMES.map((p) => [p, g.stash[p]]));
      // An image's own properties are already rows of its system_metadata: never overwritten.
      const fromImage = Object.fromEntries(PROPERTY_NAMES.filter((p) => g.fleet.imageProperties[p] !== undefined).map((p) => [p, g.fleet.imageProperties[p]]));
      const expected = { ...hardwareFromNova(zedAnswers[i]!, story.from.machineAliases), ...g.before, ...fromImage };
      expect([g.fleet.name, stashed]).toEqual([g.fleet.name, expected]);
    }
  });

  test('upgrade: `hwstash drift` reports what the new QEMU cannot run (exit 3) before anything is redefined', async () => {
    const r = await w.cli(['drift', '--format', 'json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as { drift: Array<{ uuid: string; findings: Array<{ property: string; kind: string; stashed: string | null }> }> };
    const unsupported = report.drift.flatMap((d) => d.findings.filter((f) => f.kind === 'unsupported').map((f) => `${d.uuid} ${f.property}=${f.stashed}`)).sort();
    // Expected from libvirt's own XML of each guest and the edit: a 2.x machine type, a dropped video model.
    const expected = guests.flatMap((g) => {
      const out: string[] = [];
      const m = /^pc-(?:i440fx|q35)-(\d+)\./.exec(g.before.hw_machine_type ?? '');
      if (m && Number(m[1]) < REMOVED_BELOW_MAJOR) out.push(`${g.uuid} hw_machine_type=${g.before.hw_machine_type}`);
      if (DROPPED_VIDEO_MODELS.includes(g.before.hw_video_model ?? '')) out.push(`${g.uuid} hw_video_model=${g.before.hw_video_model}`);
      return out;
    }).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(unsupported).toEqual(expected);
    // Reported, not changed: no domain differs from the stash, every definition is as it was.
    expect(report.drift.flatMap((d) => d.findings.filter((f) => f.kind === 'differs'))).toEqual([]);
    for (const g of guests) expect(await w.virsh('dumpxml', '--inactive', g.uuid)).toBe(g.beforeXml);
    figures['unsupported'] = unsupported.length;
  }, SLOW);

  test('control, Nova 2025.1 own code without the stash: guests change hardware, and every change has a documented cause', () => {
    const answers = askNova(NOVA_TREE, guests.map((g, i) => novaLine(String(i), g.fleet.imageProperties)));
    const perGuest: HardwareChange[][] = [];
    const unexplained: string[] = [];
    for (const [i, g] of guests.entries()) {
      const after = hardwareFromNova(answers[i]!, story.to.machineAliases);
      const before = { ...hardwareFromNova(zedAnswers[i]!, story.from.machineAliases), ...g.before };
      const changes = diffHardware(before, after);
      perGuest.push(changes);
      for (const c of changes) if (explainChange(c, g.fleet.imageProperties, story) === null) unexplained.push(`${g.fleet.name}: ${c.property} ${c.before} → ${c.after}`);
      // hwstash's resolver under 2025.1's rules agrees with Nova 2025.1 (the control is not hwstash's guess).
      const mine = resolve({ imageProperties: g.fleet.imageProperties, instance: { vmMode: null }, host: { ...NOVA_DEFAULT_PROFILE, arch: 'x86_64', virtType: 'qemu', spiceEnabled: true, release: EPOXY }, osinfo: osinfo2025 });
      expect([g.fleet.name, Object.fromEntries(PROPERTY_NAMES.map((p) => [p, mine.properties[p]?.value ?? null]))]).toEqual([g.fleet.name, answers[i]!.properties]);
    }
    const count = countChanges(perGuest);
    figures['control_guests'] = count.guests;
    figures['control_properties'] = count.properties;
    figures['control_by_property'] = formatByProperty(count.byProperty);
    expect(unexplained).toEqual([]);
    expect(count.guests).toBeGreaterThan(0);
  }, SLOW);

  test("with the stash, Nova 2025.1's own code decides every guest's hardware as it was before", () => {
    const answers = askNova(NOVA_TREE, guests.map((g, i) => novaLine(String(i), withStash(g))));
    const changed: string[] = [];
    const followImage: string[] = [];
    for (const [i, g] of guests.entries()) {
      const before = { ...hardwareFromNova(zedAnswers[i]!, story.from.machineAliases), ...g.before };
      for (const c of diffHardware(before, hardwareFromNova(answers[i]!, story.to.machineAliases))) {
        // The image asks for an unversioned machine type: the new QEMU expands it to its newest.
        (requestedByImageAlias(c, g.fleet.imageProperties, story) ? followImage : changed).push(`${g.fleet.name}: ${c.property} ${c.before} → ${c.after}`);
      }
    }
    figures['with_stash_nova_changes'] = changed.length;
    figures['image_alias_follows'] = followImage;
    expect(changed).toEqual([]);
    (guests as Array<Guest & { epoxy?: Stash }>).forEach((g, i) => (g.epoxy = answers[i]!.properties));
  }, SLOW);

  test("where Nova Zed had registered its own 7 defaults (spawn, init_host): what changes, and hwstash's limit (unversioned machine types)", () => {
    // RULES.md §0: Nova writes image_<p> for hw_machine_type, the cdrom, disk and input buses, the
    // pointer, video and VIF models where missing (None stored, and skipped when read back), with
    // the machine type as Nova asks for it (`pc`), not libvirt's expansion. hwstash never
    // overwrites those rows: it adds the four Nova never writes.
    const NOVA_REGISTERS: readonly PropertyName[] = ['hw_machine_type', 'hw_cdrom_bus', 'hw_disk_bus', 'hw_input_bus', 'hw_pointer_model', 'hw_video_model', 'hw_vif_model'];
    const registered = guests.map((g, i) => {
      const out: Record<string, string> = { ...g.fleet.imageProperties };
      for (const p of NOVA_REGISTERS) {
        const v = zedAnswers[i]!.properties[p];
        if (out[p] === undefined && typeof v === 'string') out[p] = v;
      }
      return out;
    });
    const withHwstash = guests.map((g, i) => {
      const out = { ...registered[i]! };
      for (const p of PROPERTY_NAMES) if (!NOVA_REGISTERS.includes(p) && out[p] === undefined && typeof g.stash[p] === 'string') out[p] = g.stash[p]!;
      return out;
    });
    const answers = askNova(NOVA_TREE, [...registered, ...withHwstash].map((props, i) => novaLine(String(i), props)));
    const diff = (offset: number, props: Array<Record<string, string>>) => guests.map((g, i) => {
      const before = { ...hardwareFromNova(zedAnswers[i]!, story.from.machineAliases), ...g.before };
      return diffHardware(before, hardwareFromNova(answers[offset + i]!, story.to.machineAliases)).map((c) => ({ c, cause: explainChange(c, props[i]!, story), name: g.fleet.name }));
    });
    const novaOnly = diff(0, registered);
    const hwstash = diff(guests.length, withHwstash);
    const unexplained = [...novaOnly, ...hwstash].flat().filter((x) => x.cause === null).map((x) => `${x.name}: ${x.c.property} ${x.c.before} → ${x.c.after}`);
    expect(unexplained).toEqual([]);
    // hwstash adds nothing a registered row already says: what still changes is only the machine
    // type Nova registered as an alias, which follows the new QEMU's alias.
    expect(hwstash.flat().filter((x) => x.c.property !== 'hw_machine_type').map((x) => x.name)).toEqual([]);
    const a = countChanges(novaOnly.map((xs) => xs.map((x) => x.c)));
    const b = countChanges(hwstash.map((xs) => xs.map((x) => x.c)));
    figures['registered'] = `without hwstash ${a.guests} guests (${a.properties} properties: ${formatByProperty(a.byProperty)}); with hwstash ${b.guests} guests (${b.properties} properties: ${formatByProperty(b.byProperty)})`;
  }, SLOW);

  test('after: every guest regenerated by 2025.1 from its stash and powered on through the agent runs the hardware it had, device by device', async () => {
    // Nova 2025.1 regenerates each definition from its decisions at power-on (hard reboot).
    for (const [i, g] of (guests as Array<Guest & { epoxy?: Stash }>).entries()) {
      if (!g.epoxy) throw new Error('the previous test did not ask Nova 2025.1');
      await w.defineDomain(g.uuid, domainFor(w, { uuid: g.uuid, index: i }, g.epoxy));
    }
    await w.startAgent(osinfo2025);
    figures['t_after_defined'] = ((Date.now() - t0) / 1000).toFixed(1);
    const outcomes: Record<string, number> = {};
    const changed: string[] = [];
    // Nova powers guests on in parallel; the agent serialises per instance only.
    const before = await w.eventCounts('instance.power_on.start');
    for (const g of guests) w.broker.publish(w.names.exchange, ROUTING_KEY, w.novaEvent('instance.power_on.start', g.uuid).body);
    await waitFor(async () => {
      figures['t_after_powered_on'] = ((Date.now() - t0) / 1000).toFixed(1);
    const now = await w.eventCounts('instance.power_on.start');
      return now.done + now.dead_lettered + now.skipped - (before.done + before.dead_lettered + before.skipped) >= guests.length;
    }, 300_000, 'the agent to settle every power_on.start');
    figures['t_after_powered_on'] = ((Date.now() - t0) / 1000).toFixed(1);
    const now = await w.eventCounts('instance.power_on.start');
    for (const o of ['done', 'dead_lettered', 'skipped'] as const) if (now[o] > before[o]) outcomes[o] = now[o] - before[o];
    for (const g of guests) {
      const live = readDomain(await w.virsh('dumpxml', g.uuid));
      expect([g.fleet.name, live.id !== undefined]).toEqual([g.fleet.name, true]);
      for (const c of diffHardware(g.before, hardwareOf(live))) changed.push(`${g.fleet.name}: ${c.property} ${c.before} → ${c.after}`);
    }
    // QEMU takes over a second to exit; separate virsh clients let libvirt destroy in parallel.
    await mapLimit(guests, 16, (g) => w.virsh('destroy', g.uuid));
    const updates = (await w.ownEvents()).filter((e) => e.eventType === 'hwstash.domain.update');
    figures['outcomes'] = { ...outcomes, redefined: updates.length };
    figures['with_stash_changes'] = changed.length;
    expect(outcomes).toEqual({ done: guests.length });
    expect(changed).toEqual([]);
  }, SLOW);
});
