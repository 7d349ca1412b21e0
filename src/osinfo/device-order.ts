/**
 * `osinfo_os_get_all_devices(os, class filter)` of libosinfo 1.10, as Nova reads it
 * (`get_nth(0)` of the returned list). RULES.md §8, steps 2–4. Pure.
 */
import { ghashValuesOrder } from './ghash-order.js';
import type { OsinfoDb, OsRecord } from './osinfo-db.js';

/** `osinfo_list_add`: an id already present moves to the end. */
function addMovingToEnd(list: string[], id: string): void {
  const at = list.indexOf(id);
  if (at !== -1) list.splice(at, 1);
  list.push(id);
}

/** `osinfo_product_get_related(os, relation)`: walks libosinfo's prepended link list. */
function related(targets: readonly string[]): string[] {
  const list: string[] = [];
  for (let i = targets.length - 1; i >= 0; i--) addMovingToEnd(list, targets[i]!);
  return list;
}

/**
 * The OSes `osinfo_product_foreach_related` descends into, in order: derives-from targets, then
 * clones targets not already listed. `upgrades` is not followed.
 */
export function relatedOsIds(os: OsRecord): string[] {
  const list = related(os.derivesFrom);
  for (const id of related(os.clones)) if (!list.includes(id)) list.push(id);
  return list;
}

/**
 * One device class's lists for the OSes of one db. Each OS's own list is computed once and
 * shared by every lineage that reaches it.
 */
export class DeviceLineage {
  private readonly own = new Map<string, readonly string[]>();
  private readonly related = new Map<string, readonly string[]>();

  constructor(
    private readonly db: OsinfoDb,
    readonly deviceClass: string,
  ) {}

  /**
   * The accumulated list before hashing: the OS itself, then each related OS depth-first, each
   * contributing the ids of its own devices of this class not yet listed (libosinfo's union).
   *
   * libosinfo revisits an OS reached twice; a revisit can add nothing new, so it is skipped
   * here, which also ends a relation cycle (where libosinfo itself would recurse without end).
   */
  inherited(osId: string): string[] {
    const accumulated: string[] = [];
    const seen = new Set<string>();
    const visited = new Set<string>();
    const visit = (id: string): void => {
      if (visited.has(id)) return;
      visited.add(id);
      const os = this.db.oses.get(id);
      if (os === undefined) return;
      for (const device of this.ownDevices(os)) {
        if (!seen.has(device)) {
          seen.add(device);
          accumulated.push(device);
        }
      }
      for (const next of this.relatedOf(os)) visit(next);
    };
    visit(osId);
    return accumulated;
  }

  /**
   * The device ids in the order `get_nth()` returns them: `osinfo_os_get_all_devices` copies
   * the accumulated list through `osinfo_list_get_elements()`, i.e. `g_hash_table_get_values()`
   * of a table filled in accumulated order. Its final "drop unsupported devices" step filters
   * the device *links* by the class constraint, which links never carry, so it drops nothing.
   */
  ordered(osId: string): string[] {
    return ghashValuesOrder(this.inherited(osId));
  }

  private relatedOf(os: OsRecord): readonly string[] {
    let list = this.related.get(os.id);
    if (list === undefined) {
      list = relatedOsIds(os);
      this.related.set(os.id, list);
    }
    return list;
  }

  /** `osinfo_os_get_devices_internal(os, filter, include_unsupported = TRUE)`. */
  private ownDevices(os: OsRecord): readonly string[] {
    let list = this.own.get(os.id);
    if (list === undefined) {
      const built: string[] = [];
      for (const id of os.deviceLinks) {
        if (this.db.devices.get(id)?.deviceClass === this.deviceClass) addMovingToEnd(built, id);
      }
      list = built;
      this.own.set(os.id, list);
    }
    return list;
  }
}
