/**
 * Nova's own DDL for the tables hwstash uses, per dialect, as Nova Zed's migrations create
 * them (nova/db/main/migrations/versions/8f2f1571d55b + ccb0fa1a2252; compared with a schema
 * those migrations built on MariaDB 10.11, PostgreSQL 15 and SQLite): the same column types,
 * nullability, index and constraint names. Only for the embedded SQLite default, demos and tests:
 * a real deployment's Nova tables belong to Nova and are never created or altered here.
 * Idempotent: a table that exists is left exactly as it is.
 */
import { QueryTypes } from 'sequelize';
import type { Database } from './database.js';
import type { DatabaseDialect } from '../config/database-url.js';

type ColumnType = 'int' | 'datetime' | 'mediumtext' | 'bool' | 'inet' | 'locked_by' | `varchar(${number})`;

interface Column {
  name: string;
  type: ColumnType;
  notNull?: boolean;
}

interface Index {
  name: string;
  columns: string[];
  unique?: boolean;
}

interface TableSpec {
  name: string;
  columns: Column[];
  /** Unique constraints (not indexes), named as Nova names them. */
  uniques: Index[];
  indexes: Index[];
  foreignKey?: { column: string; names: Record<DatabaseDialect, string> };
}

const c = (name: string, type: ColumnType, notNull = false): Column => ({ name, type, notNull });
const v = (n: number): ColumnType => `varchar(${n})`;
const stamps = [c('created_at', 'datetime'), c('updated_at', 'datetime'), c('deleted_at', 'datetime'), c('id', 'int', true)];

export const NOVA_TABLES: readonly TableSpec[] = [
  {
    name: 'instances',
    columns: [
      ...stamps,
      c('internal_id', 'int'), c('user_id', v(255)), c('project_id', v(255)), c('image_ref', v(255)), c('kernel_id', v(255)),
      c('ramdisk_id', v(255)), c('launch_index', 'int'), c('key_name', v(255)), c('key_data', 'mediumtext'), c('power_state', 'int'),
      c('vm_state', v(255)), c('memory_mb', 'int'), c('vcpus', 'int'), c('hostname', v(255)), c('host', v(255)),
      c('user_data', 'mediumtext'), c('reservation_id', v(255)), c('launched_at', 'datetime'), c('terminated_at', 'datetime'),
      c('display_name', v(255)), c('display_description', v(255)), c('availability_zone', v(255)), c('locked', 'bool'),
      c('os_type', v(255)), c('launched_on', 'mediumtext'), c('instance_type_id', 'int'), c('vm_mode', v(255)),
      c('uuid', v(36), true), c('architecture', v(255)), c('root_device_name', v(255)), c('access_ip_v4', 'inet'),
      c('access_ip_v6', 'inet'), c('config_drive', v(255)), c('task_state', v(255)), c('default_ephemeral_device', v(255)),
      c('default_swap_device', v(255)), c('progress', 'int'), c('auto_disk_config', 'bool'), c('shutdown_terminate', 'bool'),
      c('disable_terminate', 'bool'), c('root_gb', 'int'), c('ephemeral_gb', 'int'), c('cell_name', v(255)), c('node', v(255)),
      c('deleted', 'int'), c('locked_by', 'locked_by'), c('cleaned', 'int'), c('ephemeral_key_uuid', v(36)), c('hidden', 'bool'),
    ],
    uniques: [{ name: 'uniq_instances0uuid', columns: ['uuid'] }],
    indexes: [
      { name: 'uuid', columns: ['uuid'], unique: true },
      { name: 'instances_project_id_idx', columns: ['project_id'] },
      { name: 'instances_host_deleted_cleaned_idx', columns: ['host', 'deleted', 'cleaned'] },
      { name: 'instances_updated_at_project_id_idx', columns: ['updated_at', 'project_id'] },
      { name: 'instances_project_id_deleted_idx', columns: ['project_id', 'deleted'] },
      { name: 'instances_task_state_updated_at_idx', columns: ['task_state', 'updated_at'] },
      { name: 'instances_reservation_id_idx', columns: ['reservation_id'] },
      { name: 'instances_deleted_created_at_idx', columns: ['deleted', 'created_at'] },
      { name: 'instances_uuid_deleted_idx', columns: ['uuid', 'deleted'] },
      { name: 'instances_terminated_at_launched_at_idx', columns: ['terminated_at', 'launched_at'] },
      { name: 'instances_host_node_deleted_idx', columns: ['host', 'node', 'deleted'] },
    ],
  },
  {
    name: 'instance_system_metadata',
    columns: [...stamps, c('instance_uuid', v(36), true), c('key', v(255), true), c('value', v(255)), c('deleted', 'int')],
    uniques: [],
    indexes: [{ name: 'instance_uuid', columns: ['instance_uuid'] }],
    foreignKey: {
      column: 'instance_uuid',
      names: { mysql: 'instance_system_metadata_ibfk_1', sqlite: 'instance_system_metadata_ibfk_1', postgres: 'instance_system_metadata_instance_uuid_fkey' },
    },
  },
  {
    // Read for Nova's rebuilds: a rebuild replaces the image properties on purpose (repair-plan.ts).
    name: 'instance_actions',
    columns: [
      ...stamps,
      c('action', v(255)), c('instance_uuid', v(36)), c('request_id', v(255)), c('user_id', v(255)), c('project_id', v(255)),
      c('start_time', 'datetime'), c('finish_time', 'datetime'), c('message', v(255)), c('deleted', 'int'),
    ],
    uniques: [],
    indexes: [
      { name: 'instance_uuid_idx', columns: ['instance_uuid'] },
      { name: 'request_id_idx', columns: ['request_id'] },
      { name: 'instance_actions_instance_uuid_updated_at_idx', columns: ['instance_uuid', 'updated_at'] },
    ],
    foreignKey: {
      column: 'instance_uuid',
      names: { mysql: 'fk_instance_actions_instance_uuid', sqlite: 'fk_instance_actions_instance_uuid', postgres: 'instance_actions_instance_uuid_fkey' },
    },
  },
  {
    name: 'block_device_mapping',
    columns: [
      ...stamps,
      c('device_name', v(255)), c('delete_on_termination', 'bool'), c('snapshot_id', v(36)), c('volume_id', v(36)),
      c('volume_size', 'int'), c('no_device', 'bool'), c('connection_info', 'mediumtext'), c('instance_uuid', v(36)),
      c('deleted', 'int'), c('source_type', v(255)), c('destination_type', v(255)), c('guest_format', v(255)),
      c('device_type', v(255)), c('disk_bus', v(255)), c('boot_index', 'int'), c('image_id', v(36)), c('tag', v(255)),
      c('attachment_id', v(36)), c('uuid', v(36)), c('volume_type', v(255)), c('encrypted', 'bool'),
      c('encryption_secret_uuid', v(36)), c('encryption_format', v(128)), c('encryption_options', v(4096)),
    ],
    uniques: [{ name: 'uniq_block_device_mapping0uuid', columns: ['uuid'] }],
    indexes: [
      { name: 'snapshot_id', columns: ['snapshot_id'] },
      { name: 'volume_id', columns: ['volume_id'] },
      { name: 'block_device_mapping_instance_uuid_device_name_idx', columns: ['instance_uuid', 'device_name'] },
      { name: 'block_device_mapping_instance_uuid_volume_id_idx', columns: ['instance_uuid', 'volume_id'] },
      { name: 'block_device_mapping_instance_uuid_idx', columns: ['instance_uuid'] },
    ],
    foreignKey: {
      column: 'instance_uuid',
      names: { mysql: 'block_device_mapping_instance_uuid_fkey', sqlite: 'block_device_mapping_instance_uuid_fkey', postgres: 'block_device_mapping_instance_uuid_fkey' },
    },
  },
];

export const NOVA_TABLE_NAMES: readonly string[] = NOVA_TABLES.map((t) => t.name);

const MYSQL_TYPES: Record<string, string> = {
  int: 'int(11)', datetime: 'datetime', mediumtext: 'mediumtext', bool: 'tinyint(1)', inet: 'varchar(39)', locked_by: "enum('owner','admin')",
};
const PG_TYPES: Record<string, string> = {
  int: 'integer', datetime: 'timestamp without time zone', mediumtext: 'text', bool: 'boolean', inet: 'inet', locked_by: 'instances0locked_by',
};
const SQLITE_TYPES: Record<string, string> = {
  int: 'INTEGER', datetime: 'DATETIME', mediumtext: 'TEXT', bool: 'BOOLEAN', inet: 'VARCHAR(39)', locked_by: 'VARCHAR(5)',
};

function typeFor(dialect: DatabaseDialect, t: ColumnType): string {
  const table = dialect === 'mysql' ? MYSQL_TYPES : dialect === 'postgres' ? PG_TYPES : SQLITE_TYPES;
  if (t.startsWith('varchar(')) return dialect === 'sqlite' ? t.toUpperCase() : t;
  return table[t]!;
}

const q = (dialect: DatabaseDialect, name: string): string => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);

/** The statements creating one table with its keys and indexes, in order. */
export function tableDdl(dialect: DatabaseDialect, table: TableSpec): string[] {
  const id = (n: string) => q(dialect, n);
  const cols = table.columns.map((col) => {
    if (col.name === 'id') {
      if (dialect === 'mysql') return `${id('id')} int(11) NOT NULL AUTO_INCREMENT`;
      if (dialect === 'postgres') return `${id('id')} serial NOT NULL`;
      return `${id('id')} INTEGER NOT NULL`;
    }
    const nullable = col.notNull ? ' NOT NULL' : dialect === 'mysql' ? ' DEFAULT NULL' : '';
    return `${id(col.name)} ${typeFor(dialect, col.type)}${nullable}`;
  });
  const list = (columns: string[]) => columns.map(id).join(', ');
  const parts = [...cols];
  parts.push(dialect === 'postgres' ? `CONSTRAINT ${id(`${table.name}_pkey`)} PRIMARY KEY (${id('id')})` : `PRIMARY KEY (${id('id')})`);
  for (const u of table.uniques) {
    parts.push(dialect === 'mysql' ? `UNIQUE KEY ${id(u.name)} (${list(u.columns)})` : `CONSTRAINT ${id(u.name)} UNIQUE (${list(u.columns)})`);
  }
  if (dialect === 'mysql') {
    for (const ix of table.indexes) parts.push(`${ix.unique ? 'UNIQUE KEY' : 'KEY'} ${id(ix.name)} (${list(ix.columns)})`);
  }
  if (table.foreignKey) {
    const fk = table.foreignKey;
    parts.push(`CONSTRAINT ${id(fk.names[dialect])} FOREIGN KEY (${id(fk.column)}) REFERENCES ${id('instances')} (${id('uuid')})`);
  }
  const tail = dialect === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb3' : '';
  const statements = [`CREATE TABLE ${id(table.name)} (\n  ${parts.join(',\n  ')}\n)${tail}`];
  if (dialect !== 'mysql') {
    for (const ix of table.indexes) {
      statements.push(`CREATE ${ix.unique ? 'UNIQUE INDEX' : 'INDEX'} ${id(ix.name)} ON ${id(table.name)} (${list(ix.columns)})`);
    }
  }
  return statements;
}

/** Nova's tables that hwstash reads and writes (its least-privilege account sees only these). */
export const NOVA_TABLES_USED = ['instances', 'instance_system_metadata', 'instance_actions'] as const;

/** Which of the Nova tables hwstash uses exist. */
export async function novaTablesPresent(db: Database): Promise<Record<string, boolean>> {
  const existing = new Set(await tableNames(db));
  return Object.fromEntries(NOVA_TABLES_USED.map((t) => [t, existing.has(t)]));
}

export async function tableNames(db: Database): Promise<string[]> {
  const sql =
    db.dialect === 'sqlite'
      ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'"
      : db.dialect === 'mysql'
        ? 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()'
        : 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()';
  const rows = await db.sequelize.query<{ name: string }>(sql, { type: QueryTypes.SELECT });
  return rows.map((r) => String(r.name ?? (r as Record<string, unknown>)['NAME'] ?? (r as Record<string, unknown>)['TABLE_NAME']));
}

/**
 * Create whichever of these tables is missing. Returns the tables created. Existing tables
 * are never altered, even when they differ.
 */
export async function initNovaSchema(db: Database): Promise<string[]> {
  const existing = new Set(await tableNames(db));
  const present = Object.fromEntries(NOVA_TABLE_NAMES.map((t) => [t, existing.has(t)]));
  const created: string[] = [];
  for (const table of NOVA_TABLES) {
    if (present[table.name]) continue;
    if (db.dialect === 'postgres' && table.name === 'instances') {
      await db.sequelize.query(
        "DO $$ BEGIN CREATE TYPE instances0locked_by AS ENUM ('owner', 'admin'); EXCEPTION WHEN duplicate_object THEN NULL; END $$",
      );
    }
    const statements = tableDdl(db.dialect, table);
    if (db.dialect === 'mysql') {
      // MySQL commits DDL implicitly; a single CREATE TABLE carries its indexes.
      for (const sql of statements) await db.sequelize.query(sql);
    } else {
      await db.sequelize.transaction(async (transaction) => {
        for (const sql of statements) await db.sequelize.query(sql, { transaction });
      });
    }
    created.push(table.name);
  }
  return created;
}
