/**
 * The osinfo-db index: Nova's `nova.virt.osinfo.OsInfo` lookup answered from a parsed db, every
 * answer computed once at load so a lookup is a Map get (RULES.md §8).
 */
import type { OsInfoAnswer, OsInfoLookup } from '../core/inputs.js';
import { DeviceLineage } from './device-order.js';
import { novaDiskModel, novaNetworkModel } from './nova-models.js';
import type { OsinfoDb } from './osinfo-db.js';
import { readOsinfoDb } from './osinfo-db-reader.js';

/** Key, network model, disk model. */
type SnapshotEntry = [string, string | null, string | null];

export interface OsInfoIndexSnapshot {
  byShortId: SnapshotEntry[];
  byId: SnapshotEntry[];
  ambiguousShortIds: string[];
}

export class OsInfoIndex implements OsInfoLookup {
  private constructor(
    readonly dir: string,
    private readonly byShortId: ReadonlyMap<string, OsInfoAnswer>,
    private readonly byId: ReadonlyMap<string, OsInfoAnswer>,
    /** Short-ids that more than one OS claims; the first OS in list order answers them. */
    readonly ambiguousShortIds: readonly string[],
  ) {}

  /**
   * Reads and indexes the db under `dir`. Throws OsInfoUnavailableError when `dir` or its `os/`
   * folder is missing, OsInfoDbError when a file is one libosinfo would refuse.
   */
  static async load(dir: string): Promise<OsInfoIndex> {
    return OsInfoIndex.fromDb(await readOsinfoDb(dir), dir);
  }

  /** Indexes an already assembled db (no I/O). */
  static fromDb(db: OsinfoDb, dir: string): OsInfoIndex {
    const byShortId = new Map<string, OsInfoAnswer>();
    const byId = new Map<string, OsInfoAnswer>();
    const ownerOf = new Map<string, string>();
    const ambiguous = new Set<string>();
    const net = new DeviceLineage(db, 'net');
    const block = new DeviceLineage(db, 'block');
    const firstName = (lineage: DeviceLineage, osId: string): string | null => {
      const id = lineage.ordered(osId)[0];
      return id === undefined ? null : (db.devices.get(id)?.name ?? null);
    };
    for (const os of db.oses.values()) {
      // Nova reads element 0 of each class's list, and only that.
      const answer: OsInfoAnswer = Object.freeze({
        networkModel: novaNetworkModel(firstName(net, os.id)),
        diskModel: novaDiskModel(firstName(block, os.id)),
      });
      byId.set(os.id, answer);
      for (const shortId of os.shortIds) {
        const owner = ownerOf.get(shortId);
        if (owner === undefined) {
          ownerOf.set(shortId, os.id);
          byShortId.set(shortId, answer);
        } else if (owner !== os.id) {
          ambiguous.add(shortId);
        }
      }
    }
    return new OsInfoIndex(dir, byShortId, byId, [...ambiguous].sort());
  }

  /** The index as plain data, for the on-disk cache (index-cache.ts). */
  snapshot(): OsInfoIndexSnapshot {
    const entries = (m: ReadonlyMap<string, OsInfoAnswer>) => [...m].map(([k, a]): [string, string | null, string | null] => [k, a.networkModel, a.diskModel]);
    return { byShortId: entries(this.byShortId), byId: entries(this.byId), ambiguousShortIds: [...this.ambiguousShortIds] };
  }

  /** An index from a snapshot() (no I/O). */
  static fromSnapshot(s: OsInfoIndexSnapshot, dir: string): OsInfoIndex {
    const map = (entries: OsInfoIndexSnapshot['byId']) =>
      new Map(entries.map(([k, networkModel, diskModel]) => [k, Object.freeze({ networkModel, diskModel })]));
    return new OsInfoIndex(dir, map(s.byShortId), map(s.byId), s.ambiguousShortIds);
  }

  /** Every OS libosinfo lists, including those only named by another's relation. */
  get osCount(): number {
    return this.byId.size;
  }

  /**
   * Nova's lookup: a name starting with `http` is an OS id, anything else a short-id; exact and
   * case-sensitive. null where Nova raises OsInfoNotFound (unknown, or '').
   */
  lookup(osDistro: string): OsInfoAnswer | null {
    if (osDistro === '') return null;
    const table = osDistro.startsWith('http') ? this.byId : this.byShortId;
    return table.get(osDistro) ?? null;
  }
}
