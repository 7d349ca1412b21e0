/**
 * Sequelize models of the three Nova tables hwstash reads and writes, by their real names and
 * columns (nova/db/main/models.py, Zed). Only the columns hwstash uses are mapped; the tables
 * have more, which stay untouched. `timestamps: false`: the store writes created_at/updated_at
 * itself, as naive UTC, the way oslo.db's TimestampMixin does.
 *
 * Nova soft-deletes: `deleted` holds the row's id once deleted, 0 while live, and is a nullable
 * integer without a default, so every insert sets it to 0 explicitly.
 */
import { DataTypes, Model, type Sequelize } from 'sequelize';

export class InstanceModel extends Model {}
export class SystemMetadataModel extends Model {}
export class BlockDeviceMappingModel extends Model {}

export interface NovaModels {
  Instance: typeof InstanceModel;
  SystemMetadata: typeof SystemMetadataModel;
  BlockDeviceMapping: typeof BlockDeviceMappingModel;
}

const softDelete = {
  created_at: { type: DataTypes.DATE, allowNull: true },
  updated_at: { type: DataTypes.DATE, allowNull: true },
  deleted_at: { type: DataTypes.DATE, allowNull: true },
  deleted: { type: DataTypes.INTEGER, allowNull: true },
};

const str = (length = 255) => ({ type: DataTypes.STRING(length), allowNull: true });
const int = () => ({ type: DataTypes.INTEGER, allowNull: true });

/** Bind the models to one connection (each Store has its own sequelize, so its own classes). */
export function defineNovaModels(sequelize: Sequelize): NovaModels {
  class Instance extends InstanceModel {}
  Instance.init(
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      uuid: { type: DataTypes.STRING(36), allowNull: false },
      host: str(),
      node: str(),
      vm_state: str(),
      power_state: int(),
      task_state: str(),
      display_name: str(),
      hostname: str(),
      image_ref: str(),
      vcpus: int(),
      memory_mb: int(),
      root_gb: int(),
      ephemeral_gb: int(),
      architecture: str(),
      os_type: str(),
      vm_mode: str(),
      root_device_name: str(),
      config_drive: str(),
      ...softDelete,
    },
    { sequelize, modelName: 'instances', tableName: 'instances', timestamps: false },
  );

  class SystemMetadata extends SystemMetadataModel {}
  SystemMetadata.init(
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      instance_uuid: { type: DataTypes.STRING(36), allowNull: false },
      // A reserved word in MySQL: sequelize quotes every identifier it writes.
      key: { type: DataTypes.STRING(255), allowNull: false },
      value: str(),
      ...softDelete,
    },
    { sequelize, modelName: 'instance_system_metadata', tableName: 'instance_system_metadata', timestamps: false },
  );

  class BlockDeviceMapping extends BlockDeviceMappingModel {}
  BlockDeviceMapping.init(
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      instance_uuid: str(36),
      device_name: str(),
      source_type: str(),
      destination_type: str(),
      device_type: str(),
      disk_bus: str(),
      boot_index: int(),
      volume_id: str(36),
      image_id: str(36),
      snapshot_id: str(36),
      volume_size: int(),
      guest_format: str(),
      no_device: { type: DataTypes.BOOLEAN, allowNull: true },
      ...softDelete,
    },
    { sequelize, modelName: 'block_device_mapping', tableName: 'block_device_mapping', timestamps: false },
  );

  return { Instance, SystemMetadata, BlockDeviceMapping };
}

/** A live-or-not instances row as hwstash reads it. */
export interface InstanceRow {
  id: number;
  uuid: string;
  host: string | null;
  node: string | null;
  vmState: string | null;
  powerState: number | null;
  taskState: string | null;
  displayName: string | null;
  hostname: string | null;
  imageRef: string | null;
  vcpus: number | null;
  memoryMb: number | null;
  rootGb: number | null;
  ephemeralGb: number | null;
  architecture: string | null;
  osType: string | null;
  vmMode: string | null;
  rootDeviceName: string | null;
  configDrive: string | null;
}

export const INSTANCE_ATTRIBUTES = [
  'id', 'uuid', 'host', 'node', 'vm_state', 'power_state', 'task_state', 'display_name', 'hostname', 'image_ref', 'vcpus',
  'memory_mb', 'root_gb', 'ephemeral_gb', 'architecture', 'os_type', 'vm_mode', 'root_device_name', 'config_drive',
] as const;

const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const s = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function toInstanceRow(r: Record<string, unknown>): InstanceRow {
  return {
    id: Number(r['id']),
    uuid: String(r['uuid']),
    host: s(r['host']),
    node: s(r['node']),
    vmState: s(r['vm_state']),
    powerState: n(r['power_state']),
    taskState: s(r['task_state']),
    displayName: s(r['display_name']),
    hostname: s(r['hostname']),
    imageRef: s(r['image_ref']),
    vcpus: n(r['vcpus']),
    memoryMb: n(r['memory_mb']),
    rootGb: n(r['root_gb']),
    ephemeralGb: n(r['ephemeral_gb']),
    architecture: s(r['architecture']),
    osType: s(r['os_type']),
    vmMode: s(r['vm_mode']),
    rootDeviceName: s(r['root_device_name']),
    configDrive: s(r['config_drive']),
  };
}

export const BDM_ATTRIBUTES = [
  'id', 'instance_uuid', 'device_name', 'source_type', 'destination_type', 'device_type', 'disk_bus', 'boot_index',
  'volume_id', 'image_id', 'volume_size', 'guest_format', 'no_device',
] as const;
