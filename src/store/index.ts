/**
 * The store: Nova's cell database as hwstash uses it (instances and their system_metadata) plus
 * hwstash's own tables. One Store per process; each has its own connection pool.
 */
import type { PropertyName } from '../core/properties.js';
import { openDatabase, type Database, type OpenDatabaseOptions } from './database.js';
import { listHistory, type HistoryRecord, type ListHistoryOptions } from './history.js';
import { findLiveInstance, liveInstanceIdsOnHost, liveInstancesByUuid } from './instances.js';
import { LATEST_VERSION, MIGRATIONS, migrate, misplacedTables, schemaVersion, type MigrateResult } from './migrations/index.js';
import { defineNovaModels, type InstanceRow, type NovaModels } from './nova-models.js';
import { initNovaSchema, novaTablesPresent } from './nova-schema.js';
import { writeProperties, type PropertyChange, type WritePropertiesOptions, type WritePropertiesResult } from './property-writer.js';
import { novaComputeVersion } from './services.js';
import { stashBatch, type StashBatchReport, type StashOptions } from './stash.js';
import { storedProperties, sysmetaDict, type StoredProperty, type SysmetaRow } from './sysmeta.js';
import { instancesMissingProperties, sysmetaRowsOf } from './system-metadata.js';
import type { QueryCounter } from './query-counter.js';

export { DatabaseUnavailableError, InstanceNotFoundError, InsufficientPrivilegeError, MissingTableError, UnstorableValueError } from './errors.js';
export type { InstanceRow } from './nova-models.js';
export type { StoredProperty, SysmetaRow, BadStoredValue } from './sysmeta.js';
export type { StashBatchReport, StashOptions, InstanceStashReport, InstanceStashStatus, StashRow } from './stash.js';
export type { PropertyChange, WritePropertiesOptions, WritePropertiesResult, PropertyWrite } from './property-writer.js';
export type { HistoryRecord, HistoryEntry, HistorySource, ListHistoryOptions } from './history.js';
export type { MigrateResult, Relocation } from './migrations/index.js';
export { RelocationConflictError } from './migrations/index.js';
export type { StashedValue, PropertyFailure } from './stash-plan.js';
export type { RecordResult } from './hosts.js';
import { hostProfile, hostProfileStamps, hostProfiles, liveInstanceCountsByHost, recordHostProfile, type HostProfileStamp, type RecordResult } from './hosts.js';
import type { HostProfileRecord, StoredHostProfile } from '../core/fleet/profile.js';

/** A live instance with its system_metadata, as Nova reads them. */
export interface LiveInstance {
  instance: InstanceRow;
  /** The 11 properties as stored. */
  stored: Record<PropertyName, StoredProperty>;
  /** Every system_metadata row, soft-deleted ones included, in id order (the image's properties too). */
  sysmeta: SysmetaRow[];
}

export interface StoreOpenOptions extends OpenDatabaseOptions {
  /** The clock for created_at/updated_at and history (tests pin it). */
  now?: () => Date;
}

export interface StoreStatus {
  /** hwstash's applied schema version; null when `hwstash db migrate` never ran. */
  schemaVersion: number | null;
  latestVersion: number;
  /** Versions `migrate()` would apply. */
  pending: number[];
  /** Which of Nova's three tables exist. */
  novaTables: Record<string, boolean>;
  /** Where hwstash's own tables live. */
  location: string;
  /** hwstash tables an earlier version left in Nova's schema (`schema.table`); `migrate` moves them. */
  misplaced: string[];
}

export class Store {
  private constructor(
    readonly db: Database,
    readonly models: NovaModels,
    private readonly now: () => Date,
  ) {}

  /** Open the database of a SQLAlchemy URL. Throws DatabaseUnavailableError or ConfigError (bad URL). */
  static async open(sqlalchemyUrl: string, options: StoreOpenOptions = {}): Promise<Store> {
    const db = await openDatabase(sqlalchemyUrl, options);
    return new Store(db, defineNovaModels(db.sequelize), options.now ?? (() => new Date()));
  }

  get dialect(): Database['dialect'] {
    return this.db.dialect;
  }

  /** Where the database is, without credentials, for messages. */
  get where(): string {
    return this.db.where;
  }

  get redactedUrl(): string {
    return this.db.redactedUrl;
  }

  /** Statements sent so far. */
  get queries(): QueryCounter {
    return this.db.queries;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.db.translate(err);
    }
  }

  /** One `SELECT 1`: is the database answering? Throws DatabaseUnavailableError when not. */
  async ping(): Promise<void> {
    await this.guard(() => this.db.sequelize.query('SELECT 1'));
  }

  /** Create or upgrade hwstash's own tables (never Nova's). */
  migrate(): Promise<MigrateResult> {
    return this.guard(() => migrate(this.db, this.now));
  }

  /**
   * hwstash tables an earlier version left in Nova's schema, as `schema.table`; while any is
   * there, Nova's `nova-manage db archive_deleted_rows` fails.
   */
  misplacedTables(): Promise<string[]> {
    return this.guard(() => misplacedTables(this.db));
  }

  /** Where hwstash's own tables live, for messages. */
  get ownLocation(): string {
    return this.db.own.description;
  }

  /** Create Nova's three tables where missing (embedded SQLite, demos, tests). Returns those created. */
  initNovaSchema(): Promise<string[]> {
    return this.guard(() => initNovaSchema(this.db));
  }

  /** Nova's tables hwstash uses that this database lacks (or this account cannot see). */
  missingNovaTables(): Promise<string[]> {
    return this.guard(async () =>
      Object.entries(await novaTablesPresent(this.db))
        .filter(([, present]) => !present)
        .map(([table]) => table),
    );
  }

  status(): Promise<StoreStatus> {
    return this.guard(async () => {
      const version = await schemaVersion(this.db);
      return {
        schemaVersion: version,
        latestVersion: LATEST_VERSION,
        pending: MIGRATIONS.map((m) => m.version).filter((v) => v > (version ?? 0)),
        novaTables: await novaTablesPresent(this.db),
        location: this.db.own.description,
        misplaced: await misplacedTables(this.db),
      };
    });
  }

  /** A live instance (deleted = 0), or null. */
  instance(uuid: string): Promise<InstanceRow | null> {
    return this.guard(() => findLiveInstance(this.models, uuid));
  }

  /** `services.version` of the host's live nova-compute row (which Nova release runs there), or null. */
  novaComputeVersion(host: string): Promise<number | null> {
    return this.guard(() => novaComputeVersion(this.db, host));
  }

  /** Every live instance of a host as id and uuid, in id order, with one query. */
  instanceIdsOnHost(host: string): Promise<Array<{ id: number; uuid: string }>> {
    return this.guard(() => liveInstanceIdsOnHost(this.db, host));
  }

  /** How many live instances a host has. */
  countInstancesOnHost(host: string): Promise<number> {
    return this.guard(() => this.models.Instance.count({ where: { host, deleted: 0 } }));
  }

  /** Which of these instances lack a row for at least one of the 11 properties (one query). */
  instancesMissingProperties(uuids: readonly string[]): Promise<Set<string>> {
    return this.guard(() => instancesMissingProperties(this.db, uuids));
  }

  /** Every system_metadata row of an instance, soft-deleted ones included, in id order. */
  systemMetadata(uuid: string): Promise<SysmetaRow[]> {
    return this.guard(async () => (await sysmetaRowsOf(this.db, [uuid])).get(uuid) ?? []);
  }

  /** A live instance with its system_metadata (two queries), or null when not found. */
  async liveInstance(uuid: string): Promise<LiveInstance | null> {
    return (await this.liveInstances([uuid]))[0] ?? null;
  }

  /**
   * The live instances among `uuids` (only those still on `host`, when given) with their
   * system_metadata, in id order, with two queries whatever their number.
   */
  liveInstances(uuids: readonly string[], options: { host?: string } = {}): Promise<LiveInstance[]> {
    return this.guard(async () => {
      const instances = await liveInstancesByUuid(this.db, uuids, options);
      const rows = await sysmetaRowsOf(this.db, instances.map((i) => i.uuid));
      return instances.map((instance) => {
        const sysmeta = rows.get(instance.uuid) ?? [];
        return { instance, stored: storedProperties(sysmetaDict(sysmeta)), sysmeta };
      });
    });
  }

  /**
   * `liveInstances` a page at a time, for walking a host listed once with `instanceIdsOnHost`
   * (paging with `host = ? AND id > ? ORDER BY id LIMIT n` would scan and sort the host's whole
   * index range on every page). Instances deleted or moved away since the listing are left out.
   */
  async *eachLiveInstance(uuids: readonly string[], options: { host?: string; pageSize: number }): AsyncGenerator<LiveInstance> {
    for (let start = 0; start < uuids.length; start += options.pageSize) {
      yield* await this.liveInstances(uuids.slice(start, start + options.pageSize), { host: options.host });
    }
  }

  /** Stash what is missing for a batch of instances, in one transaction. */
  stash(uuids: readonly string[], options: Omit<StashOptions, 'now'>): Promise<StashBatchReport> {
    return this.guard(() => stashBatch(this.db, uuids, { ...options, now: this.now }));
  }

  /** The operator's write for one instance, all or nothing. Throws InstanceNotFoundError, UnstorableValueError. */
  writeProperties(uuid: string, changes: readonly PropertyChange[], options: Omit<WritePropertiesOptions, 'now'>): Promise<WritePropertiesResult> {
    return this.guard(() => writeProperties(this.db, this.models, uuid, changes, { ...options, now: this.now }));
  }

  /** An instance's property history, oldest first. */
  history(uuid: string, options: ListHistoryOptions = {}): Promise<HistoryRecord[]> {
    return this.guard(() => listHistory(this.db, uuid, options));
  }

  /** Every recorded host profile (or those of `hosts`), by host name. */
  hostProfiles(hosts?: readonly string[]): Promise<StoredHostProfile[]> {
    return this.guard(() => hostProfiles(this.db, hosts));
  }

  /** Each profiled host's heartbeat and last change, without the profiles. */
  hostProfileStamps(): Promise<HostProfileStamp[]> {
    return this.guard(() => hostProfileStamps(this.db));
  }

  /** One host's recorded profile, or null. */
  hostProfile(host: string): Promise<StoredHostProfile | null> {
    return this.guard(() => hostProfile(this.db, host));
  }

  /** Record a host's profile and heartbeat now. */
  recordHostProfile(profile: HostProfileRecord): Promise<RecordResult> {
    return this.guard(() => recordHostProfile(this.db, profile, this.now()));
  }

  /** Live instances per host, for every host that has any. */
  liveInstanceCountsByHost(): Promise<Map<string, number>> {
    return this.guard(() => liveInstanceCountsByHost(this.db));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
