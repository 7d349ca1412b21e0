/**
 * oslo.db's [database] options as hwstash applies them, on a real MariaDB: mysql_sql_mode is set
 * on every session (empty: the server's own), max_pool_size bounds the connections, and
 * connection_recycle_time replaces a connection that old when it is next taken.
 */
import { Store } from '../../src/store/index.js';
import { databaseOpenOptions } from '../../src/store/database.js';
import { loadSettings } from '../../src/config/load.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { tempDir } from '../config/tmp.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('mariadb');
});
afterAll(() => db.drop());

const connectionId = async (store: Store): Promise<number> => Number((await store.db.sequelize.query('SELECT CONNECTION_ID() AS id', { plain: true }))!['id']);

test('the defaults are oslo.db\'s, and nova.conf sets them', () => {
  const tmp = tempDir();
  try {
    const file = tmp.write('nova.conf', '[database]\nconnection = sqlite://\n');
    expect(loadSettings({ configFiles: [file], env: {} }).settings.database).toEqual({
      maxPoolSize: 5,
      connectionRecycleTime: 3600,
      maxRetries: 10,
      retryInterval: 10,
      mysqlSqlMode: 'TRADITIONAL',
    });
    const set = tmp.write('set.conf', '[database]\nconnection = sqlite://\nmax_pool_size = 2\nconnection_recycle_time = 1\nmax_retries = -1\nretry_interval = 3\nmysql_sql_mode =\n');
    expect(loadSettings({ configFiles: [set], env: {} }).settings.database).toEqual({ maxPoolSize: 2, connectionRecycleTime: 1, maxRetries: -1, retryInterval: 3, mysqlSqlMode: '' });
  } finally {
    tmp.remove();
  }
});

test('mysql_sql_mode: TRADITIONAL on every session, as Nova; empty leaves the server\'s', async () => {
  const traditional = await Store.open(db.url, databaseOpenOptions({ maxPoolSize: 5, connectionRecycleTime: 0, mysqlSqlMode: 'TRADITIONAL' }));
  const server = await Store.open(db.url, databaseOpenOptions({ maxPoolSize: 5, connectionRecycleTime: 0, mysqlSqlMode: '' }));
  try {
    const mode = async (s: Store) => String((await s.db.sequelize.query('SELECT @@SESSION.sql_mode AS m', { plain: true }))!['m']);
    const global = String((await server.db.sequelize.query('SELECT @@GLOBAL.sql_mode AS m', { plain: true }))!['m']);
    expect(await mode(traditional)).toContain('STRICT_ALL_TABLES');
    expect(await mode(traditional)).toContain('NO_ZERO_DATE');
    // The server's own modes (mysql2's IGNORE_SPACE client flag adds one), not TRADITIONAL's.
    const own = (await mode(server)).split(',');
    for (const m of global.split(',')) expect(own).toContain(m);
    expect(own).not.toContain('STRICT_ALL_TABLES');
  } finally {
    await traditional.close();
    await server.close();
  }
});

test('max_pool_size bounds the connections; connection_recycle_time replaces an old one', async () => {
  const store = await Store.open(db.url, databaseOpenOptions({ maxPoolSize: 2, connectionRecycleTime: 1, mysqlSqlMode: 'TRADITIONAL' }));
  try {
    const ids = await Promise.all(
      Array.from({ length: 6 }, async () => Number((await store.db.sequelize.query('SELECT CONNECTION_ID() AS id, SLEEP(0.2) AS s', { plain: true }))!['id'])),
    );
    expect(new Set(ids).size).toBeLessThanOrEqual(2);
    const before = await connectionId(store);
    expect(await connectionId(store)).toBe(before);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await connectionId(store)).not.toBe(before);
  } finally {
    await store.close();
  }
});
