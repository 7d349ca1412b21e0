/**
 * Sequelize models of the Nova tables hwstash reads and writes (instances,
 * instance_system_metadata), by their real names and columns (nova/db/main/models.py, Zed).
 * Only the columns hwstash uses are mapped; the tables have more, which stay untouched.
 * `timestamps: false`: the store writes created_at/updated_at itself, as naive UTC, the way
 * oslo.db's TimestampMixin does.
 *
 * Nova soft-deletes: `deleted` holds the row's id once deleted, 0 while live, and is a nullable
 * integer without a default, so every insert sets it to 0 explicitly.
 */
import { DataTypes, Model, type Sequelize } from 'sequelize';
import { numberOrNull, textOrNull } from './row.js';

export class InstanceModel extends Model {}
export class SystemMetadataModel extends Model {}

export interface NovaModels {
  Instance: typeof InstanceModel;
  SystemMetadata: typeof SystemMetadataModel;
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

  return { Instance, SystemMetadata };
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

export function toInstanceRow(r: Record<string, unknown>): InstanceRow {
  return {
    id: Number(r['id']),
    uuid: String(r['uuid']),
    host: textOrNull(r['host']),
    node: textOrNull(r['node']),
    vmState: textOrNull(r['vm_state']),
    powerState: numberOrNull(r['power_state']),
    taskState: textOrNull(r['task_state']),
    displayName: textOrNull(r['display_name']),
    hostname: textOrNull(r['hostname']),
    imageRef: textOrNull(r['image_ref']),
    vcpus: numberOrNull(r['vcpus']),
    memoryMb: numberOrNull(r['memory_mb']),
    rootGb: numberOrNull(r['root_gb']),
    ephemeralGb: numberOrNull(r['ephemeral_gb']),
    architecture: textOrNull(r['architecture']),
    osType: textOrNull(r['os_type']),
    vmMode: textOrNull(r['vm_mode']),
    rootDeviceName: textOrNull(r['root_device_name']),
    configDrive: textOrNull(r['config_drive']),
  };
}
