/**
 * libosinfo's grouping of db files into entities. Pure.
 *
 * `os/vendor/foo.xml` is the master file of entity `os/vendor/foo`; every `*.xml` in
 * `os/vendor/foo.d/` extends the same entity and is processed after the master, in sorted
 * file-name order.
 */

export interface EntityFiles {
  /** Path without `.xml` (master) or without `.d` (the extensions' folder). */
  readonly key: string;
  /** Relative paths in processing order: the master (when there is one), then the extensions. */
  readonly files: readonly string[];
}

/** Byte order, as C's strcmp sorts ASCII names (localeCompare would not). */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Groups `/`-separated relative paths of `*.xml` files. Entities come out sorted by key:
 * libosinfo walks them in hash-table order, which only matters for two entities defining the
 * same id or the same short-id, and sorting at least makes that case reproducible.
 */
export function groupEntityFiles(relativePaths: Iterable<string>): EntityFiles[] {
  const groups = new Map<string, { master: string | null; extensions: string[] }>();
  for (const rel of relativePaths) {
    if (!rel.endsWith('.xml')) continue;
    const slash = rel.lastIndexOf('/');
    const folder = slash === -1 ? '' : rel.slice(0, slash);
    const extension = folder.endsWith('.d');
    const key = extension ? folder.slice(0, -2) : rel.slice(0, -4);
    let group = groups.get(key);
    if (group === undefined) {
      group = { master: null, extensions: [] };
      groups.set(key, group);
    }
    if (extension) group.extensions.push(rel);
    else group.master = rel;
  }
  return [...groups.keys()].sort(byCodeUnit).map((key) => {
    const group = groups.get(key)!;
    const extensions = group.extensions.sort(byCodeUnit);
    return { key, files: group.master === null ? extensions : [group.master, ...extensions] };
  });
}
