/**
 * Migration 2: `hwstash_hosts`, one row per compute host: its hardware profile (what its QEMU
 * offers, as JSON text: the core's HostProfileRecord) and a heartbeat. Written by each host's
 * agent (or `hwstash fleet record`), read by `fleet hosts`, `move-check` and `what-if`. The JSON
 * columns are large (a QEMU offers dozens of machine types): MEDIUMTEXT on MySQL, whose TEXT
 * stops at 64 KB.
 */
import type { OwnSchema } from '../own-schema.js';
import type { Migration } from './migration.js';

const ddl = (t: string) => ({
  mysql: [
    `CREATE TABLE ${t} (
  \`host\` varchar(255) NOT NULL,
  \`nova_release\` varchar(16) DEFAULT NULL,
  \`libvirt_version\` varchar(64) DEFAULT NULL,
  \`qemu_version\` varchar(64) DEFAULT NULL,
  \`arch\` varchar(32) NOT NULL,
  \`virt_type\` varchar(16) NOT NULL,
  \`machine_types\` mediumtext NOT NULL,
  \`devices\` mediumtext NOT NULL,
  \`nova_tables\` text NOT NULL,
  \`heartbeat_at\` datetime(6) NOT NULL,
  \`updated_at\` datetime(6) NOT NULL,
  PRIMARY KEY (\`host\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
  postgres: [
    `CREATE TABLE ${t} (
  "host" varchar(255) NOT NULL PRIMARY KEY,
  "nova_release" varchar(16),
  "libvirt_version" varchar(64),
  "qemu_version" varchar(64),
  "arch" varchar(32) NOT NULL,
  "virt_type" varchar(16) NOT NULL,
  "machine_types" text NOT NULL,
  "devices" text NOT NULL,
  "nova_tables" text NOT NULL,
  "heartbeat_at" timestamp without time zone NOT NULL,
  "updated_at" timestamp without time zone NOT NULL
)`,
  ],
  sqlite: [
    `CREATE TABLE ${t} (
  "host" VARCHAR(255) NOT NULL PRIMARY KEY,
  "nova_release" VARCHAR(16),
  "libvirt_version" VARCHAR(64),
  "qemu_version" VARCHAR(64),
  "arch" VARCHAR(32) NOT NULL,
  "virt_type" VARCHAR(16) NOT NULL,
  "machine_types" TEXT NOT NULL,
  "devices" TEXT NOT NULL,
  "nova_tables" TEXT NOT NULL,
  "heartbeat_at" DATETIME NOT NULL,
  "updated_at" DATETIME NOT NULL
)`,
  ],
});

export const hostProfiles: Migration = {
  version: 3,
  name: 'host profiles',
  statements: (own: OwnSchema) => ddl(own.table('hwstash_hosts'))[own.dialect],
};
