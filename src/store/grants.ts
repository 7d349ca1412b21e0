/**
 * The least-privilege database account of a compute host's hwstash, as SQL for the database
 * administrator to run. nova-compute itself has no database access (it goes through
 * nova-conductor), so hwstash gets an account of its own, reaching exactly what it uses:
 * - Nova's `services`: read (which Nova release runs on the host);
 * - Nova's `instances`: read (on PostgreSQL instances are locked with advisory locks, not row
 *   locks, which would need UPDATE);
 * - Nova's `instance_system_metadata`: read, insert, update and hard-delete (its `image_hw_*` rows);
 * - Nova's `instance_actions`: read (a rebuild's new image properties are kept, not restored);
 * - its own database (MySQL) or schema (PostgreSQL): everything, creating it included.
 * Nothing else of Nova's; no right to alter Nova's schema.
 */
import type { DatabaseDialect } from '../config/database-url.js';
import { ConfigError } from '../config/errors.js';
import { quoteIdentifier } from './own-schema.js';

export interface GrantsRequest {
  dialect: Exclude<DatabaseDialect, 'sqlite'>;
  /** The account's user (MySQL) or role (PostgreSQL). */
  user: string;
  /** MySQL: the host part of the account (`%` for any). */
  host: string;
  /** The cell database. */
  cellDatabase: string;
  /** hwstash's own database (MySQL) or schema (PostgreSQL). */
  ownSchema: string;
  /** PostgreSQL: the schema holding Nova's tables. */
  novaSchema: string;
}

const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const ACCOUNT_HOST = /^[A-Za-z0-9_.%:-]{1,255}$/;
const DATABASE_NAME = /^[A-Za-z0-9_$-]{1,64}$/;

/** The privileges on Nova's tables, one place for the statements and the docs. */
export const NOVA_TABLE_PRIVILEGES: ReadonlyArray<readonly [table: string, privileges: string]> = [
  ['instances', 'SELECT'],
  // This host's nova-compute row says which Nova release runs here ([hwstash] nova_release = auto).
  ['services', 'SELECT'],
  ['instance_system_metadata', 'SELECT, INSERT, UPDATE, DELETE'],
  // Nova's rebuilds: their new image properties are kept, not restored (repair-plan.ts).
  ['instance_actions', 'SELECT'],
];

function check(name: string, value: string, pattern: RegExp, allowed: string): void {
  if (!pattern.test(value)) throw new ConfigError(`${name} ${JSON.stringify(value)} is not allowed; allowed: ${allowed}`);
}

/** The statements, comments included, one per line; nothing in them is unvalidated. */
export function grantStatements(r: GrantsRequest): string[] {
  check('--user', r.user, ACCOUNT_NAME, 'up to 32 letters, digits, _ . -, not starting with a digit');
  check('--database', r.cellDatabase, DATABASE_NAME, 'up to 64 letters, digits, _ $ -');
  check('[hwstash] schema', r.ownSchema, DATABASE_NAME, 'up to 64 letters, digits, _ $ -');
  const q = (id: string) => quoteIdentifier(r.dialect, id);
  if (r.dialect === 'mysql') {
    check('--host', r.host, ACCOUNT_HOST, "a host name, an address or a pattern with %");
    const account = `'${r.user}'@'${r.host}'`;
    return [
      `-- hwstash's account for the cell database ${r.cellDatabase}; its own tables live in database ${r.ownSchema}.`,
      `-- CREATE USER ${account} IDENTIFIED BY '<password>';`,
      ...NOVA_TABLE_PRIVILEGES.map(([table, privileges]) => `GRANT ${privileges} ON ${q(r.cellDatabase)}.${q(table)} TO ${account};`),
      `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP ON ${q(r.ownSchema)}.* TO ${account};`,
    ];
  }
  check('--nova-schema', r.novaSchema, DATABASE_NAME, 'up to 64 letters, digits, _ $ -');
  const role = q(r.user);
  const nova = (t: string) => `${q(r.novaSchema)}.${q(t)}`;
  return [
    `-- hwstash's role for the cell database ${r.cellDatabase}; its own tables live in its schema ${r.ownSchema}. Run connected to ${r.cellDatabase}.`,
    `-- CREATE ROLE ${role} LOGIN PASSWORD '<password>';`,
    `GRANT CONNECT ON DATABASE ${q(r.cellDatabase)} TO ${role};`,
    `GRANT USAGE ON SCHEMA ${q(r.novaSchema)} TO ${role};`,
    ...NOVA_TABLE_PRIVILEGES.map(([table, privileges]) => `GRANT ${privileges} ON ${nova(table)} TO ${role};`),
    // Nova's id column is a serial: inserting a row draws from its sequence.
    `GRANT USAGE ON SEQUENCE ${nova('instance_system_metadata_id_seq')} TO ${role};`,
    `CREATE SCHEMA IF NOT EXISTS ${q(r.ownSchema)} AUTHORIZATION ${role};`,
  ];
}
