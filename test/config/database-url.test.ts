import fs from 'node:fs';
import util from 'node:util';
import { Sequelize } from 'sequelize';
import { parseDatabaseUrl, DatabaseUrlError, type DatabaseOptions } from '../../src/config/database-url.js';
import { ConfigError } from '../../src/config/errors.js';
import { tempDir } from './tmp.js';

// user, password, host, port and database as SQLAlchemy 1.4.46's make_url() reads the same URL;
// dialect, default ports and driver options are the translation to sequelize.
describe('SQLAlchemy URL → sequelize options', () => {
  test.each<[string, Partial<DatabaseOptions>]>([
    [
      'mysql+pymysql://nova:p%40ss%2Fw@controller/nova?charset=utf8&plugin=dbcounter',
      { dialect: 'mysql', username: 'nova', password: 'p@ss/w', host: 'controller', port: 3306, database: 'nova', dialectOptions: { charset: 'utf8' }, ignoredParameters: ['plugin'] },
    ],
    [
      'mysql://root@/nova?unix_socket=/run/mysqld/mysqld.sock',
      { dialect: 'mysql', username: 'root', password: undefined, host: 'localhost', port: 3306, database: 'nova', dialectOptions: { socketPath: '/run/mysqld/mysqld.sock' } },
    ],
    ['mysql+mysqldb://u:pa/ss@db.example:3307/nova', { dialect: 'mysql', username: 'u', password: 'pa/ss', host: 'db.example', port: 3307, database: 'nova' }],
    ['postgresql://nova:pw@[fd00::5]:6432/nova', { dialect: 'postgres', username: 'nova', password: 'pw', host: 'fd00::5', port: 6432, database: 'nova' }],
    ['postgresql+psycopg2://nova@/nova?host=/var/run/postgresql', { dialect: 'postgres', username: 'nova', host: '/var/run/postgresql', port: 5432, database: 'nova' }],
    ['postgres://a:b@h/d', { dialect: 'postgres', username: 'a', password: 'b', host: 'h', port: 5432, database: 'd' }],
    ['sqlite:///relative/path.db', { dialect: 'sqlite', storage: 'relative/path.db', host: undefined, port: undefined }],
    ['sqlite:////abs/path.db', { dialect: 'sqlite', storage: '/abs/path.db' }],
    ['sqlite://', { dialect: 'sqlite', storage: ':memory:' }],
    ['sqlite:///:memory:', { dialect: 'sqlite', storage: ':memory:' }],
  ])('%s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toMatchObject(expected);
  });

  test("an unencoded '@' in the password is refused: SQLAlchemy would read the rest of it as host and database, and messages would show it", () => {
    for (const url of ['mysql+pymysql://u:p@ss@h/db', 'mysql+pymysql://u:pa@ss/wd@h:3306/nova']) {
      expect(() => parseDatabaseUrl(url)).toThrow(/^database URL mysql\+pymysql:\/\/u:\*\*\*@h(:3306)?\/(db|nova): the password holds an unencoded '@' .*percent-encode it as %40$/);
    }
  });

  test('the display form hides the password', () => {
    expect(parseDatabaseUrl('mysql+pymysql://nova:pw@db/nova').redacted).toBe('mysql+pymysql://nova:***@db/nova');
  });

  test('logging the options does not show the password, spreading them keeps it', () => {
    const opts = parseDatabaseUrl('postgresql://nova:Sup3rS3cret@db/nova');
    expect(JSON.stringify(opts)).not.toContain('Sup3rS3cret');
    expect(util.inspect(opts)).not.toContain('Sup3rS3cret');
    expect({ ...opts }.password).toBe('Sup3rS3cret');
  });

  test.each([
    ['oracle://u:pw@h/d', /unsupported scheme oracle; supported: mysql, mysql\+pymysql, mysql\+mysqldb, postgresql, postgresql\+psycopg2, postgres, sqlite/],
    ['mysql+mysqlconnector://u@h/d', /unsupported scheme mysql\+mysqlconnector; supported: /],
    ['mysql://u@h:99999/d', /port 99999 is not allowed; allowed: an integer from 0 to 65535/],
    ['mysql://u@h:abc/d', /port abc is not allowed/],
    ['/var/lib/nova.sqlite', /not a URL of the form/],
  ])('%s is refused', (url, reason) => {
    let error: unknown;
    try {
      parseDatabaseUrl(url);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DatabaseUrlError);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain(':pw@');
  });
});

/** Open the database the URL names through sequelize, with exactly the translated options. */
async function selectOne(url: string): Promise<unknown> {
  const o = parseDatabaseUrl(url);
  const db = new Sequelize(o.database ?? '', o.username ?? '', o.password, {
    dialect: o.dialect,
    host: o.host,
    port: o.port,
    storage: o.storage,
    dialectOptions: o.dialectOptions,
    logging: false,
  });
  try {
    const [rows] = await db.query('SELECT 1 AS one');
    return (rows as Array<{ one: unknown }>)[0]?.one;
  } finally {
    await db.close();
  }
}

// The real servers of this machine (see scripts/start-services.sh): the translation is right
// only if the driver actually connects with it.
describe('the translated options connect for real', () => {
  test('MariaDB over its Unix socket (unix_socket=, as root)', async () => {
    expect(Number(await selectOne('mysql+pymysql://root@/mysql?unix_socket=/run/mysqld/mysqld.sock&charset=utf8'))).toBe(1);
  });

  test('MariaDB over TCP', async () => {
    expect(Number(await selectOne('mysql://root@127.0.0.1/mysql'))).toBe(1);
  });

  test('MariaDB with a percent-encoded password holding @ / and :', async () => {
    const user = `hwcfg_${process.pid}`;
    const password = 'p@ss/w:rd%';
    const admin = parseDatabaseUrl('mysql://root@/mysql?unix_socket=/run/mysqld/mysqld.sock');
    const db = new Sequelize('mysql', 'root', undefined, { dialect: 'mysql', dialectOptions: admin.dialectOptions, logging: false });
    await db.query(`CREATE USER '${user}'@'%' IDENTIFIED BY ?`, { replacements: [password] });
    try {
      expect(Number(await selectOne(`mysql+pymysql://${user}:${encodeURIComponent(password)}@127.0.0.1:3306/`))).toBe(1);
      await expect(selectOne(`mysql+pymysql://${user}:wrong@127.0.0.1:3306/`)).rejects.toThrow();
    } finally {
      await db.query(`DROP USER '${user}'@'%'`);
      await db.close();
    }
  });

  test('PostgreSQL over TCP', async () => {
    expect(Number(await selectOne('postgresql+psycopg2://postgres@127.0.0.1:5432/postgres'))).toBe(1);
  });

  test("PostgreSQL without a host uses libpq's socket directory", async () => {
    expect(Number(await selectOne('postgresql://postgres@/postgres'))).toBe(1);
  });

  test('SQLite at an absolute path creates that file', async () => {
    const tmp = tempDir();
    try {
      const file = `${tmp.dir}/db.sqlite`;
      expect(Number(await selectOne(`sqlite:///${file}`))).toBe(1);
      expect(fs.existsSync(file)).toBe(true);
    } finally {
      tmp.remove();
    }
  });

  test('SQLite in memory', async () => {
    expect(Number(await selectOne('sqlite://'))).toBe(1);
  });
});
