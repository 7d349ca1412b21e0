/**
 * Migration 1: `hwstash_property_history`, one row per write of an `image_<property>` row
 * (stash, set, revert), newest last per instance. `old_present`/`new_present` tell "no row"
 * from "a row holding NULL" (NULL means "no such device", a value), so a revert can restore either.
 */
import type { OwnSchema } from '../own-schema.js';
import type { Migration } from './migration.js';

const ddl = (t: string) => ({
  mysql: [
    `CREATE TABLE ${t} (
  \`id\` bigint NOT NULL AUTO_INCREMENT,
  \`instance_uuid\` varchar(36) NOT NULL,
  \`property\` varchar(64) NOT NULL,
  \`old_value\` varchar(255) DEFAULT NULL,
  \`old_present\` tinyint(1) NOT NULL,
  \`new_value\` varchar(255) DEFAULT NULL,
  \`new_present\` tinyint(1) NOT NULL,
  \`source\` varchar(16) NOT NULL,
  \`value_source\` varchar(16) DEFAULT NULL,
  \`actor\` varchar(255) NOT NULL,
  \`reason\` varchar(255) DEFAULT NULL,
  \`created_at\` datetime(6) NOT NULL,
  PRIMARY KEY (\`id\`),
  KEY \`hwstash_property_history_instance_uuid_id_idx\` (\`instance_uuid\`, \`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
  postgres: [
    `CREATE TABLE ${t} (
  "id" bigserial NOT NULL PRIMARY KEY,
  "instance_uuid" varchar(36) NOT NULL,
  "property" varchar(64) NOT NULL,
  "old_value" varchar(255),
  "old_present" boolean NOT NULL,
  "new_value" varchar(255),
  "new_present" boolean NOT NULL,
  "source" varchar(16) NOT NULL,
  "value_source" varchar(16),
  "actor" varchar(255) NOT NULL,
  "reason" varchar(255),
  "created_at" timestamp without time zone NOT NULL
)`,
    `CREATE INDEX "hwstash_property_history_instance_uuid_id_idx" ON ${t} ("instance_uuid", "id")`,
  ],
  sqlite: [
    `CREATE TABLE ${t} (
  "id" INTEGER NOT NULL PRIMARY KEY,
  "instance_uuid" VARCHAR(36) NOT NULL,
  "property" VARCHAR(64) NOT NULL,
  "old_value" VARCHAR(255),
  "old_present" BOOLEAN NOT NULL,
  "new_value" VARCHAR(255),
  "new_present" BOOLEAN NOT NULL,
  "source" VARCHAR(16) NOT NULL,
  "value_source" VARCHAR(16),
  "actor" VARCHAR(255) NOT NULL,
  "reason" VARCHAR(255),
  "created_at" DATETIME NOT NULL
)`,
    `CREATE INDEX "hwstash_property_history_instance_uuid_id_idx" ON ${t} ("instance_uuid", "id")`,
  ],
});

export const propertyHistory: Migration = {
  version: 1,
  name: 'property history',
  statements: (own: OwnSchema) => ddl(own.table('hwstash_property_history'))[own.dialect],
};
