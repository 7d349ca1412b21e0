/**
 * A Nova cell as Nova's own nova-manage sets it up: a cell database and an API database, both
 * synced by this Nova's migrations, the cell mapped (`cell_v2 create_cell`), and the nova.conf
 * text that reaches them.
 */
import { createTestDatabase, type TestDatabase, type TestDialect } from './databases.js';
import type { NovaRelease } from './nova-releases.js';

export interface NovaCell {
  readonly cell: TestDatabase;
  readonly api: TestDatabase;
  /** nova.conf naming both databases (and the machine's RabbitMQ, which nova-manage wants). */
  readonly conf: string;
  drop(): Promise<void>;
}

export function novaConf(cellUrl: string, apiUrl: string): string {
  return ['[DEFAULT]', 'transport_url = rabbit://guest:guest@127.0.0.1:5672/', '[database]', `connection = ${cellUrl}`, '[api_database]', `connection = ${apiUrl}`, ''].join('\n');
}

export async function createNovaCell(nova: NovaRelease, dialect: TestDialect, name = 'cell1'): Promise<NovaCell> {
  const cell = await createTestDatabase(dialect);
  const api = await createTestDatabase(dialect);
  const drop = async () => {
    await cell.drop();
    await api.drop();
  };
  const conf = novaConf(cell.url, api.url);
  try {
    for (const args of [['api_db', 'sync'], ['db', 'sync'], ['cell_v2', 'create_cell', '--name', name]]) {
      const ran = await nova.manage(conf, args);
      if (ran.code !== 0) throw new Error(`nova-manage ${args.join(' ')}: ${ran.code} ${ran.stderr.slice(-2000)}`);
    }
  } catch (err) {
    await drop();
    throw err;
  }
  return { cell, api, conf, drop };
}
