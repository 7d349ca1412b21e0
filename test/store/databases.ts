/**
 * Fresh real databases for the store's tests: a temp SQLite file, or a new MariaDB / PostgreSQL
 * database `hwstash_test_<random>` on this machine's servers, dropped afterwards.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Sequelize } from 'sequelize';

export type TestDialect = 'sqlite' | 'mariadb' | 'postgres';

export interface TestDatabase {
  dialect: TestDialect;
  name: string;
  /** SQLAlchemy URL, as nova.conf would hold it. */
  url: string;
  drop(): Promise<void>;
}

/** Runs one statement as the server's administrator. */
async function admin(dialect: 'mariadb' | 'postgres', sql: string): Promise<void> {
  const s =
    dialect === 'mariadb'
      ? new Sequelize({ dialect: 'mysql', host: '127.0.0.1', port: 3306, username: 'root', logging: false })
      : new Sequelize({ dialect: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database: 'postgres', logging: false });
  try {
    await s.query(sql);
  } finally {
    await s.close();
  }
}

/** hwstash's history table of a MariaDB test database, qualified: it lives in `<name>_hwstash`. */
export function mariadbHistory(database: string): string {
  return `\`${database}_hwstash\`.hwstash_property_history`;
}

export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  const name = `hwstash_test_${randomBytes(5).toString('hex')}`;
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-store-'));
    const file = path.join(dir, `${name}.sqlite`);
    return { dialect, name, url: `sqlite:///${file}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  if (dialect === 'mariadb') {
    // Nova's tables are utf8 (utf8mb3), as its migrations create them.
    await admin('mariadb', `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb3`);
    return {
      dialect,
      name,
      url: `mysql+pymysql://root@127.0.0.1:3306/${name}?charset=utf8`,
      // hwstash's own tables live in a database of their own beside it: `<name>_hwstash`.
      drop: async () => {
        await admin('mariadb', `DROP DATABASE IF EXISTS \`${name}\``);
        await admin('mariadb', `DROP DATABASE IF EXISTS \`${name}_hwstash\``);
      },
    };
  }
  await admin('postgres', `CREATE DATABASE "${name}"`);
  return {
    dialect,
    name,
    url: `postgresql://postgres@127.0.0.1:5432/${name}`,
    drop: () => admin('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const NOVA_SCRIPT = path.join(here, 'nova', 'nova_db.py');

/** Run Nova's own code (Debian's python3-nova) on a test database; returns its JSON output. */
export async function nova(command: 'sync' | 'create' | 'read', url: string, args: string[] = [], stdin?: unknown): Promise<any> {
  const run = promisify(execFile);
  const child = run('/usr/bin/python3', [NOVA_SCRIPT, command, url, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (stdin !== undefined) {
    child.child.stdin!.end(JSON.stringify(stdin));
  } else {
    child.child.stdin!.end();
  }
  const { stdout } = await child;
  return JSON.parse(stdout);
}
