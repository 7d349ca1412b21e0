/**
 * Migration 2: `hwstash_instance_claims`, one row per instance that hwstash ever wrote, bumped
 * by every writer (stash, set, revert) in the transaction that writes the instance's rows.
 * MySQL/MariaDB only: on a Galera cluster row locks are local to a node, so two writers of the
 * same instance on two nodes both pass `SELECT … FOR UPDATE`; both writing this one row puts the
 * same key in both write sets, and Galera's certification aborts one of them (ER_LOCK_DEADLOCK),
 * which then runs again and reads what the other committed. PostgreSQL has no multi-writer
 * cluster of that kind and SQLite one writer: nothing to create there.
 */
import type { OwnSchema } from '../own-schema.js';
import type { Migration } from './migration.js';

export const instanceClaims: Migration = {
  version: 2,
  name: 'instance claims',
  statements: (own: OwnSchema) =>
    own.dialect === 'mysql'
      ? [
          `CREATE TABLE ${own.table('hwstash_instance_claims')} (
  \`instance_uuid\` varchar(36) NOT NULL,
  \`writes\` bigint NOT NULL,
  PRIMARY KEY (\`instance_uuid\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
        ]
      : [],
};
