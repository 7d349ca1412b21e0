/**
 * The "new QEMU" of the upgrade-survival scenario, as an edit of the real capabilities this host's
 * libvirt reports (issue #15: an edited copy is enough). It does what QEMU upgrades do to old
 * guests: the unversioned aliases move to the new release's machine types (Debian 13 ships QEMU
 * 10.0: `pc` is pc-i440fx-10.0), versioned machine types older than 3.0 are gone (QEMU removes
 * machine types some years after deprecating them), and one legacy device model (cirrus video)
 * is dropped from the domain capabilities. Pure string edits: the rest stays libvirt's own XML.
 */

export const NEW_QEMU_VERSION = '10.0';
/** Versioned machine types below this major version are removed. */
export const REMOVED_BELOW_MAJOR = 3;
export const DROPPED_VIDEO_MODELS: readonly string[] = ['cirrus'];

function removedMachine(name: string): boolean {
  const m = /^pc-(?:i440fx|q35)-(\d+)\.\d+(?:\.\d+)?$/.exec(name);
  return m !== null && Number(m[1]) < REMOVED_BELOW_MAJOR;
}

/** Host capabilities (`virsh capabilities`) as the new QEMU would report them. */
export function newQemuHostCapabilities(xml: string): string {
  return xml
    .split('\n')
    .flatMap((line) => {
      const m = /^(\s*)<machine\b([^>]*)>([^<]+)<\/machine>\s*$/.exec(line);
      if (!m) return [line];
      const [, indent, attrs, name] = m;
      if (removedMachine(name!)) return [];
      const alias = /canonical=['"](pc-(i440fx|q35))-[\d.]+['"]/.exec(attrs!);
      if (!alias) return [line];
      // The alias now points at the new release's machine type, which is listed beside it.
      const canonical = `${alias[1]}-${NEW_QEMU_VERSION}`;
      const rest = attrs!.replace(/\s*canonical=['"][^'"]+['"]/, '');
      return [`${indent}<machine${rest}>${canonical}</machine>`, `${indent}<machine canonical='${canonical}'${rest}>${name}</machine>`];
    })
    .join('\n');
}

/** Domain capabilities (`virsh domcapabilities`) as the new QEMU would report them. */
export function newQemuDomainCapabilities(xml: string): string {
  return xml.replace(/(<video\b[\s\S]*?<\/video>)/, (video) =>
    DROPPED_VIDEO_MODELS.reduce((v, model) => v.replace(new RegExp(`\\s*<value>${model}</value>`), ''), video),
  );
}
