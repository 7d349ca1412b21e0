/**
 * A guest's hardware property by property, what changed between two readings, and whether a
 * change is one that a documented rule change explains (RELEASES.md "Rule changes since Zed",
 * the osinfo-db differences it lists, and QEMU's machine-type aliases). The survival test asserts
 * that every change the control shows is explained, so a change nobody documented fails it.
 */
import type { OsInfoLookup } from '../core/inputs.js';
import { PROPERTY_NAMES, type PropertyName } from '../core/properties.js';
import type { NovaRelease } from '../core/releases.js';

/** Property → effective value (null: the guest has no such device). Absent: not compared. */
export type Hardware = Partial<Record<PropertyName, string | null>>;

export interface HardwareChange {
  property: PropertyName;
  before: string | null;
  after: string | null;
}

/** The properties present in both readings whose values differ, in the property table's order. */
export function diffHardware(before: Hardware, after: Hardware): HardwareChange[] {
  const out: HardwareChange[] = [];
  for (const property of PROPERTY_NAMES) {
    if (!(property in before) || !(property in after)) continue;
    const b = before[property] ?? null;
    const a = after[property] ?? null;
    if (b !== a) out.push({ property, before: b, after: a });
  }
  return out;
}

/** One side of the upgrade: Nova's release, its osinfo-db, and what its QEMU calls `pc`/`q35`. */
export interface UpgradeSide {
  release: NovaRelease;
  osinfo: OsInfoLookup;
  /** Machine alias → the versioned machine type this side's QEMU expands it to. */
  machineAliases: Readonly<Record<string, string>>;
}

export interface UpgradeStory {
  from: UpgradeSide;
  to: UpgradeSide;
  /** [spice] enabled on the host (both sides). */
  spiceEnabled: boolean;
}

/**
 * Which documented change moves this property of a guest with these image properties, or null
 * when none does (then the change is unexplained). Image properties always win in Nova, so a
 * property the image sets is never explained by a default changing.
 */
export function explainChange(change: HardwareChange, imageProperties: Readonly<Record<string, string>>, story: UpgradeStory): string | null {
  if (change.property === 'hw_machine_type') return explainMachineType(change, imageProperties['hw_machine_type'] ?? 'pc', story);
  if (imageProperties[change.property] !== undefined) return null;
  const osDistro = imageProperties['os_distro'];
  switch (change.property) {
    case 'hw_video_model': {
      const { from, to } = story;
      const now = effectiveVideo(to.release.spiceVideoDefault);
      if (story.spiceEnabled && from.release.spiceVideoDefault === change.before && now !== change.before && now === change.after) {
        return `SPICE video default ${from.release.spiceVideoDefault ?? 'none'} (${from.release.name}) → ${to.release.spiceVideoDefault ?? 'none, so the guest config default'} (${to.release.name}) (RELEASES.md rule 1)`;
      }
      return null;
    }
    case 'hw_vif_model':
    case 'hw_disk_bus': {
      if (osDistro === undefined) return null;
      const field = change.property === 'hw_vif_model' ? 'networkModel' : 'diskModel';
      const was = story.from.osinfo.lookup(osDistro)?.[field] ?? null;
      const now = story.to.osinfo.lookup(osDistro)?.[field] ?? null;
      if (was !== now && was === change.before && (now === null || now === change.after)) {
        return `osinfo-db: ${osDistro}'s first ${field === 'networkModel' ? 'NIC' : 'disk'} ${was ?? 'none'} → ${now ?? 'none (driver default)'}`;
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * Nova asks QEMU for `requested` (the image's hw_machine_type, else the x86 default `pc`); an
 * unversioned alias is expanded by each QEMU to its own newest versioned machine type, so the
 * guest's machine type moves with QEMU.
 */
function explainMachineType(change: HardwareChange, requested: string, story: UpgradeStory): string | null {
  const old = story.from.machineAliases[requested];
  const now = story.to.machineAliases[requested];
  if (old !== undefined && old === change.before && now === change.after && old !== now) return `QEMU's ${requested} alias ${old} → ${now}`;
  return null;
}

/**
 * A change the image itself asks for: its hw_machine_type is an unversioned alias (`q35`), which
 * Nova passes to QEMU as it is, whatever is stashed beside it (an image property is never
 * overwritten). hwstash reports these; it does not change an image's request.
 */
export function requestedByImageAlias(change: HardwareChange, imageProperties: Readonly<Record<string, string>>, story: UpgradeStory): boolean {
  const requested = imageProperties['hw_machine_type'];
  return change.property === 'hw_machine_type' && requested !== undefined && explainMachineType(change, requested, story) !== null;
}

/**
 * The video model a guest with a graphical console gets from a decision: none decided means the
 * guest config's own default, virtio (RELEASES.md rule 1; Nova's LibvirtConfigGuestVideo).
 */
export function effectiveVideo(decided: string | null): string {
  return decided ?? 'virtio';
}

/** Guests and properties that changed, by property: the control's figures. */
export interface ChangeCount {
  guests: number;
  properties: number;
  byProperty: Partial<Record<PropertyName, number>>;
}

export function countChanges(perGuest: ReadonlyArray<readonly HardwareChange[]>): ChangeCount {
  const byProperty: Partial<Record<PropertyName, number>> = {};
  let properties = 0;
  for (const changes of perGuest) {
    for (const c of changes) {
      byProperty[c.property] = (byProperty[c.property] ?? 0) + 1;
      properties++;
    }
  }
  return { guests: perGuest.filter((c) => c.length > 0).length, properties, byProperty };
}

/** `hw_video_model 47, hw_machine_type 49` in the property table's order. */
export function formatByProperty(byProperty: ChangeCount['byProperty']): string {
  return PROPERTY_NAMES.filter((p) => byProperty[p]).map((p) => `${p} ${byProperty[p]}`).join(', ');
}

/** Alias → canonical machine type from libvirt host capabilities XML (`<machine canonical=…>`). */
export function machineAliases(capabilitiesXml: string, arch = 'x86_64'): Record<string, string> {
  const out: Record<string, string> = {};
  const guestRe = /<guest>([\s\S]*?)<\/guest>/g;
  for (const g of capabilitiesXml.matchAll(guestRe)) {
    if (!new RegExp(`<arch name=['"]${arch}['"]`).test(g[1]!)) continue;
    for (const m of g[1]!.matchAll(/<machine\b([^>]*)>([^<]+)<\/machine>/g)) {
      const canonical = /canonical=['"]([^'"]+)['"]/.exec(m[1]!)?.[1];
      if (canonical && out[m[2]!] === undefined) out[m[2]!] = canonical;
    }
  }
  return out;
}
