/**
 * The OS database as libosinfo's loader assembles it from parsed documents: entities merged
 * across the files that mention them, in the order the files are processed. Pure.
 */
import type { OsinfoDocument } from './osinfo-xml.js';

export interface OsRecord {
  readonly id: string;
  /** Every `<short-id>`, repeats included (win10's `.d` fragments repeat theirs). */
  readonly shortIds: readonly string[];
  /** `<derives-from>` targets in processing order (not yet libosinfo's prepended order). */
  readonly derivesFrom: readonly string[];
  readonly clones: readonly string[];
  /** Device links in processing order, repeats included. */
  readonly deviceLinks: readonly string[];
}

export interface DeviceRecord {
  readonly id: string;
  /** null where no file gives one (a link to an undefined device). */
  readonly deviceClass: string | null;
  readonly name: string | null;
}

export interface OsinfoDb {
  /** In libosinfo's list order: the order in which each OS was first named. */
  readonly oses: ReadonlyMap<string, OsRecord>;
  readonly devices: ReadonlyMap<string, DeviceRecord>;
}

interface MutableOs {
  id: string;
  shortIds: string[];
  derivesFrom: string[];
  clones: string[];
  deviceLinks: string[];
}

interface MutableDevice {
  id: string;
  deviceClass: string | null;
  name: string | null;
}

const ASCII_ALNUM = /[A-Za-z0-9]/;
const utf8 = new TextEncoder();

/**
 * libosinfo 1.10's `osinfo_loader_check_id`: where an entity of this type and id must be
 * defined, as a path relative to the db root. Entities anywhere else are skipped, with a
 * warning. The id loses its `http://`, keeps its first `/`, and every other byte that is not
 * an ASCII letter, digit, `-`, `.` or `_` becomes `-`: `http://pcisig.com/pci/1af4/1000` lives
 * in `device/pcisig.com/pci-1af4-1000.xml`, or in the `.d` folder of that name.
 */
export function entityLocation(type: string, id: string, extension: boolean): string {
  const rest = id.startsWith('http://') ? id.slice('http://'.length) : id;
  let suffix = '';
  let keptSlash = false;
  for (const byte of utf8.encode(rest)) {
    const ch = String.fromCharCode(byte);
    if (ch === '/' && !keptSlash) {
      keptSlash = true;
      suffix += ch;
    } else {
      suffix += byte < 0x80 && (ASCII_ALNUM.test(ch) || ch === '-' || ch === '.' || ch === '_') ? ch : '-';
    }
  }
  return `${type}/${suffix}${extension ? '.d' : '.xml'}`;
}

/** Whether libosinfo accepts an entity defined in the file at `relPath` (`/`-separated). */
function inItsPlace(type: string, id: string, relPath: string): boolean {
  const slash = relPath.lastIndexOf('/');
  const folder = slash === -1 ? '.' : relPath.slice(0, slash);
  const extension = folder.endsWith('.d');
  return entityLocation(type, id, extension) === (extension ? folder : relPath);
}

/** Feed documents in processing order (entity by entity: master file, then its `.d` fragments). */
export class OsinfoDbBuilder {
  private readonly oses = new Map<string, MutableOs>();
  private readonly devices = new Map<string, MutableDevice>();

  /** `relPath` is the document's path relative to the db root, `/`-separated. */
  add(doc: OsinfoDocument, relPath: string): void {
    for (const device of doc.devices) {
      if (!inItsPlace('device', device.id, relPath)) continue;
      const record = this.device(device.id);
      // libosinfo sets a property per file that has it, so a later file overrides an earlier one.
      if (device.deviceClass !== null) record.deviceClass = device.deviceClass;
      if (device.name !== null) record.name = device.name;
    }
    for (const os of doc.oses) {
      if (!inItsPlace('os', os.id, relPath)) continue;
      const record = this.os(os.id);
      // The loader names the OS itself, then derives-from, clones and upgrades targets, and
      // each first naming appends to the db's OS list.
      for (const target of os.derivesFrom) this.os(target);
      for (const target of os.clones) this.os(target);
      for (const target of os.upgrades) this.os(target);
      record.shortIds.push(...os.shortIds);
      record.derivesFrom.push(...os.derivesFrom);
      record.clones.push(...os.clones);
      for (const link of os.deviceLinks) {
        this.device(link);
        record.deviceLinks.push(link);
      }
    }
  }

  build(): OsinfoDb {
    return { oses: this.oses, devices: this.devices };
  }

  private os(id: string): MutableOs {
    let record = this.oses.get(id);
    if (record === undefined) {
      record = { id, shortIds: [], derivesFrom: [], clones: [], deviceLinks: [] };
      this.oses.set(id, record);
    }
    return record;
  }

  private device(id: string): MutableDevice {
    let record = this.devices.get(id);
    if (record === undefined) {
      record = { id, deviceClass: null, name: null };
      this.devices.set(id, record);
    }
    return record;
  }
}

/** Builds the db from documents, with their relative paths, already in processing order. */
export function buildOsinfoDb(docs: Iterable<{ doc: OsinfoDocument; relPath: string }>): OsinfoDb {
  const builder = new OsinfoDbBuilder();
  for (const { doc, relPath } of docs) builder.add(doc, relPath);
  return builder.build();
}
