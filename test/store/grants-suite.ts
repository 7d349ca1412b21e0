/**
 * The least-privilege account `hwstash db grants` prints, on a cell database built by Nova's
 * migrations: with exactly those grants the migrations, reconcile, set, revert, history and the
 * fleet view work;
 * the account can touch nothing else of Nova's; and without its own schema's grant it fails with
 * a message that names the grants command, having written nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Sequelize } from 'sequelize';
import { configText, run } from '../cli/helpers.js';
import { createTestDatabase, nova, type TestDatabase } from './databases.js';

const HOST = 'compute-grants';

export function grantsSuite(dialect: 'mariadb' | 'postgres'): void {
  describe(`hwstash's least-privilege account on ${dialect}`, () => {
    let cell: TestDatabase;
    let dir: string;
    const user = `hws_g_${randomBytes(4).toString('hex')}`;
    const password = 'pw-' + randomBytes(6).toString('hex');
    let admin: Sequelize;
    let asHwstash: Sequelize;

    const adminFor = (database: string) =>
      dialect === 'mariadb'
        ? new Sequelize({ dialect: 'mysql', host: '127.0.0.1', port: 3306, username: 'root', database, logging: false })
        : new Sequelize({ dialect: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database, logging: false });

    beforeAll(async () => {
      cell = await createTestDatabase(dialect);
      await nova('sync', cell.url);
      admin = adminFor(cell.name);
      await admin.query(dialect === 'mariadb' ? `CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'` : `CREATE ROLE "${user}" LOGIN PASSWORD '${password}'`);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-grants-'));
    }, 120_000);

    afterAll(async () => {
      await asHwstash?.close();
      await cell?.drop();
      await admin?.query(dialect === 'mariadb' ? `DROP USER IF EXISTS '${user}'@'%'` : `DROP ROLE IF EXISTS "${user}"`).catch(() => undefined);
      await admin?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const url = () =>
      dialect === 'mariadb'
        ? `mysql+pymysql://${user}:${password}@127.0.0.1:3306/${cell.name}?charset=utf8`
        : `postgresql://${user}:${password}@127.0.0.1:5432/${cell.name}`;

    test('exactly the printed grants: migrate, reconcile, set, revert, history work; Nova\'s schema is out of reach', async () => {
      const conf = path.join(dir, 'hwstash.conf');
      fs.writeFileSync(conf, configText(url(), dir, { host: HOST }), { mode: 0o600 });
      const hwstash = (...args: string[]) => run(['--config-file', conf, ...args]);

      const printed = await hwstash('db', 'grants', '--user', user);
      expect(printed.code).toBe(0);
      const statements = printed.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('--'));
      const own = statements.filter((l) => /hwstash(`|")?\.\*|SCHEMA IF NOT EXISTS/.test(l));
      expect(own).toHaveLength(1);

      // Nova's part only: the migration cannot create hwstash's place, says so, and writes nothing.
      for (const sql of statements.filter((l) => !own.includes(l))) await admin.query(sql);
      const early = await hwstash('db', 'migrate');
      expect(early.code).toBe(1);
      expect(early.stderr).toMatch(/lacks a privilege hwstash needs: .*(denied|permission).*; `hwstash db grants` prints/);
      const [schemas] = await admin.query(
        dialect === 'mariadb'
          ? `SELECT schema_name FROM information_schema.schemata WHERE schema_name = '${cell.name}_hwstash'`
          : "SELECT nspname FROM pg_namespace WHERE nspname = 'hwstash'",
      );
      expect(schemas).toEqual([]);

      await admin.query(own[0]!);
      expect(await hwstash('db', 'migrate')).toMatchObject({ code: 0 });
      const [a, b] = [randomUUID(), randomUUID()];
      const image = { image_min_ram: '0', image_min_disk: '1', image_disk_format: 'qcow2', image_base_image_ref: randomUUID() };
      await nova('create', cell.url, [], [a, b].map((uuid) => ({ uuid, host: HOST, vm_state: 'stopped', system_metadata: { ...image, image_os_distro: 'win10' } })));

      const reconciled = await hwstash('reconcile', '--format', 'json');
      expect(reconciled.code).toBe(0);
      expect(JSON.parse(reconciled.stdout)).toMatchObject({ instancesStashed: 2, errors: [] });
      expect(await hwstash('image-property', 'set', a, '--property', 'hw_video_model=vga', '--skip-host-check')).toMatchObject({ code: 0 });
      expect(await hwstash('image-property', 'revert', a, '--skip-host-check')).toMatchObject({ code: 0 });
      const history = JSON.parse((await hwstash('image-property', 'history', a, '--format', 'json')).stdout);
      expect(history.history.map((h: { source: string }) => h.source).slice(-2)).toEqual(['set', 'revert']);
      expect((await hwstash('image-property', 'show', b, 'hw_vif_model')).stdout.trim()).toBe('e1000');
      // The fleet view: hwstash_hosts in its own schema and Nova's instances, nothing more.
      expect(await hwstash('fleet', 'record')).toMatchObject({ code: 0, stderr: '' });
      const fleet = await hwstash('fleet', 'hosts', '--format', 'json');
      expect(fleet).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(fleet.stdout)).toEqual([expect.objectContaining({ host: HOST, profiled: true, instances: 2, notFullyStashed: 0 })]);

      // Nothing else of Nova's: no other table, no change to instances, no new table in Nova's schema.
      asHwstash =
        dialect === 'mariadb'
          ? new Sequelize({ dialect: 'mysql', host: '127.0.0.1', port: 3306, username: user, password, database: cell.name, logging: false })
          : new Sequelize({ dialect: 'postgres', host: '127.0.0.1', port: 5432, username: user, password, database: cell.name, logging: false });
      await expect(asHwstash.query('SELECT COUNT(*) FROM block_device_mapping')).rejects.toThrow(/denied|permission/);
      await expect(asHwstash.query("UPDATE instances SET vm_state = 'active'")).rejects.toThrow(/denied|permission/);
      await expect(asHwstash.query('CREATE TABLE hwstash_intruder (id int)')).rejects.toThrow(/denied|permission/);
      await expect(asHwstash.query('DELETE FROM instances')).rejects.toThrow(/denied|permission/);
    }, 180_000);
  });
}
