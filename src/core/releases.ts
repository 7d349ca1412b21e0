/**
 * Nova's releases, oldest first, and what each changes in the rules for the 11 properties: the
 * one place release differences live (RELEASES.md, read from Nova's source at each tag). Rules,
 * enums, checks and the domain build read a release's row; adding a release adds a row.
 */

export const RELEASE_NAMES = ['zed', '2023.1', '2023.2', '2024.1', '2024.2', '2025.1', '2025.2', '2026.1'] as const;
export type ReleaseName = (typeof RELEASE_NAMES)[number];

export interface NovaRelease {
  readonly name: ReleaseName;
  /** Nova's major version (26 for Zed). */
  readonly major: number;
  /** The code name, for messages. */
  readonly codename: string;
  /** `services.version` that its nova-compute writes (shared by some releases). */
  readonly serviceVersion: number;
  /** ImageMetaProps object version. */
  readonly imageMetaProps: string;
  /**
   * `_get_video_type`'s default on an architecture without one of its own when SPICE is on: `qxl`
   * until 2024.2; from 2025.1 the branch is gone (d4f40976d0) and the driver returns none.
   */
  readonly spiceVideoDefault: string | null;
  /** VIFModel values added since Zed, valid for images and for qemu/kvm interfaces (igb: 638efe3cd5). */
  readonly vifModelsAdded: readonly string[];
  /**
   * An image with `disk_format = iso` boots from a cdrom on the cdrom bus (96a5c21f24); in the
   * 2023.2 and 2024.1 series only from their point releases 28.3.1 and 29.2.1, which
   * `services.version` cannot tell apart: the release row says what its newest point release does.
   */
  readonly isoRootIsCdrom: boolean;
}

const row = (
  name: ReleaseName,
  major: number,
  codename: string,
  serviceVersion: number,
  imageMetaProps: string,
  changes: Partial<Pick<NovaRelease, 'spiceVideoDefault' | 'vifModelsAdded' | 'isoRootIsCdrom'>>,
): NovaRelease => ({ name, major, codename, serviceVersion, imageMetaProps, spiceVideoDefault: 'qxl', vifModelsAdded: [], isoRootIsCdrom: false, ...changes });

const EPOXY_ON = { spiceVideoDefault: null, vifModelsAdded: ['igb'], isoRootIsCdrom: true } as const;

export const NOVA_RELEASES: readonly NovaRelease[] = [
  row('zed', 26, 'Zed', 64, '1.34', {}),
  row('2023.1', 27, 'Antelope', 66, '1.34', {}),
  row('2023.2', 28, 'Bobcat', 66, '1.34', { isoRootIsCdrom: true }),
  row('2024.1', 29, 'Caracal', 67, '1.37', { isoRootIsCdrom: true }),
  row('2024.2', 30, 'Dalmatian', 67, '1.38', { isoRootIsCdrom: true }),
  row('2025.1', 31, 'Epoxy', 68, '1.39', EPOXY_ON),
  row('2025.2', 32, 'Flamingo', 70, '1.42', EPOXY_ON),
  row('2026.1', 33, 'Gazpacho', 72, '1.42', EPOXY_ON),
];

export const ZED: NovaRelease = NOVA_RELEASES[0]!;
export const NEWEST_RELEASE: NovaRelease = NOVA_RELEASES[NOVA_RELEASES.length - 1]!;

/** A release by its name (`zed`, `2025.1`; the code name works too, any case), or undefined. */
export function findRelease(name: string): NovaRelease | undefined {
  const n = name.trim().toLowerCase();
  return NOVA_RELEASES.find((r) => r.name === n || r.codename.toLowerCase() === n);
}

export function releaseAtLeast(release: NovaRelease, name: ReleaseName): boolean {
  return release.major >= findRelease(name)!.major;
}

/** The VIF models valid on a release: Zed's enum plus what later releases added. */
export function vifModelsOf(base: readonly string[], release: NovaRelease): readonly string[] {
  return release.vifModelsAdded.length ? [...base, ...release.vifModelsAdded] : base;
}

/**
 * The device an image-backed instance's root disk is (`blockinfo.get_root_info`): a cdrom on the
 * cdrom bus for an ISO image where the release does so (96a5c21f24), else a disk.
 */
export function rootDeviceType(release: NovaRelease, imageDiskFormat: string | null): 'disk' | 'cdrom' {
  return release.isoRootIsCdrom && imageDiskFormat === 'iso' ? 'cdrom' : 'disk';
}

export interface ReleaseChoice {
  release: NovaRelease;
  /** Where the choice came from: the configuration, Nova's services table, or neither. */
  source: 'config' | 'services' | 'default';
  /** Why, when the version does not name one release exactly. */
  note?: string;
}

/**
 * The release whose nova-compute writes `services.version = version`. Releases that share a
 * version (2023.1/2023.2, 2024.1/2024.2) give the newest of them, whose rules include the others';
 * a version from Nova's development branch gives the release it led to; one newer than every
 * known release gives the newest known.
 */
export function releaseForServiceVersion(version: number): ReleaseChoice {
  const same = NOVA_RELEASES.filter((r) => r.serviceVersion === version);
  const source = 'services';
  if (same.length === 1) return { release: same[0]!, source };
  if (same.length > 1) {
    const newest = same[same.length - 1]!;
    return { release: newest, source, note: `services.version ${version} is written by ${same.map((r) => r.name).join(' and ')}; using ${newest.name}, whose rules include the others'` };
  }
  const next = NOVA_RELEASES.find((r) => r.serviceVersion > version);
  if (!next) return { release: NEWEST_RELEASE, source, note: `services.version ${version} is newer than every release hwstash knows; using ${NEWEST_RELEASE.name}` };
  if (version < ZED.serviceVersion) return { release: ZED, source, note: `services.version ${version} is older than Zed; using Zed's rules` };
  return { release: next, source, note: `services.version ${version} is from Nova's development branch before ${next.name}; using ${next.name}` };
}

/**
 * `[hwstash] nova_release`: a release name wins; `auto` follows this host's nova-compute row
 * (`serviceVersion`), and with none (a standalone host, the embedded demo) the newest release.
 */
export function chooseRelease(setting: string, serviceVersion: number | null): ReleaseChoice {
  if (setting !== 'auto') {
    const named = findRelease(setting);
    if (!named) throw new Error(`unknown Nova release ${JSON.stringify(setting)}; allowed: auto, ${RELEASE_NAMES.join(', ')}`);
    return { release: named, source: 'config' };
  }
  if (serviceVersion === null) return { release: NEWEST_RELEASE, source: 'default', note: `no nova-compute row for this host in Nova's services table; using the newest release, ${NEWEST_RELEASE.name}` };
  return releaseForServiceVersion(serviceVersion);
}
