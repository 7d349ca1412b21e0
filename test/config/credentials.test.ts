import path from 'node:path';
import { loadSettings } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { tempDir, type TempDir } from './tmp.js';

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

const PASSWORD = 'S3cr%2Ft-Pw';
const DECODED = 'S3cr/t-Pw';

function attempt(files: Array<[string, string, number?]>, env: Record<string, string> = {}): unknown {
  const paths = files.map(([name, text, mode]) => tmp.write(name, text, mode));
  try {
    loadSettings({ configFiles: paths, env, hostname: 'h', cwd: tmp.dir });
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('a file holding credentials must not be readable by others', () => {
  test.each([
    ['[database] connection', `[database]\nconnection = mysql+pymysql://nova:${PASSWORD}@db/nova\n`],
    ['[hwstash] database_connection', `[hwstash]\ndatabase_connection = postgresql://nova:${PASSWORD}@db/nova\n`],
    ['[DEFAULT] transport_url', `[DEFAULT]\ntransport_url = rabbit://nova:${PASSWORD}@mq1:5672,nova:${PASSWORD}@mq2:5672/\n`],
    ['[hwstash] transport_url', `[hwstash]\ntransport_url = rabbit://nova:${PASSWORD}@mq:5672/\n`],
    ['[oslo_messaging_notifications] transport_url', `[oslo_messaging_notifications]\ntransport_url = rabbit://n:${PASSWORD}@mq:5672/\n`],
  ])('%s in a 0644 file is refused; in a 0640 file it is read', (_option, text) => {
    const err = attempt([['nova.conf', text, 0o644]]);
    const file = path.join(tmp.dir, 'nova.conf');
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`${file} holds credentials and is readable by others (mode 0644); run: chmod o-r ${file}`);
    expect(attempt([['nova.conf', text, 0o640]])).toBeUndefined();
  });

  test('other modes are shown as they are', () => {
    const err = attempt([['nova.conf', `[database]\nconnection = mysql://u:${PASSWORD}@h/d\n`, 0o604]]) as Error;
    expect(err.message).toContain('(mode 0604)');
  });

  test.each([
    ['no password', '[database]\nconnection = mysql+pymysql://nova@db/nova?unix_socket=/run/mysqld/mysqld.sock\n'],
    ['SQLite', '[database]\nconnection = sqlite:////var/lib/nova/nova.sqlite\n'],
    ['a bus URL without credentials', '[DEFAULT]\ntransport_url = rabbit://mq:5672/\n'],
    ['a password in an option hwstash does not read', '[keystone_authtoken]\npassword = x\n[placement]\npassword = y\n[cinder]\nconnection = mysql://a:b@c/d\n'],
  ])('%s: a world-readable file is fine', (_what, text) => {
    expect(attempt([['nova.conf', text, 0o644]])).toBeUndefined();
  });

  test('the check is per file: the readable file without credentials passes, the one with them is refused', () => {
    const err = attempt([
      ['nova.conf', `[database]\nconnection = mysql://u:${PASSWORD}@h/d\n`, 0o640],
      ['hwstash.conf', `[hwstash]\ntransport_url = rabbit://u:${PASSWORD}@mq/\n`, 0o644],
    ]) as Error;
    expect(err.message.startsWith(path.join(tmp.dir, 'hwstash.conf'))).toBe(true);
  });
});

describe('the password never appears in a message', () => {
  const secretDb = `[database]\nconnection = mysql+pymysql://nova:${PASSWORD}@db/nova\n`;
  test.each([
    ['a bad option in the same file', secretDb + '[libvirt]\nvirt_type = xen\n'],
    ['an unsupported database scheme', `[database]\nconnection = oracle://nova:${PASSWORD}@db/nova\n`],
    ['a bad database port', `[database]\nconnection = mysql://nova:${PASSWORD}@db:99999/nova\n`],
    ['an unparseable database URL', `[database]\nconnection = mysql:/nova:${PASSWORD}@db/nova\n`],
    ['an unknown $reference inside the password', `[database]\nconnection = mysql://nova:${PASSWORD}$tail@db/nova\n`],
    ['a password with a comma and an unsupported scheme', `[hwstash]\ndatabase_connection = foo://u:${PASSWORD},x@h/d\n`],
    ['a credential pulled into another option by a $ reference', `[DEFAULT]\ntransport_url = rabbit://u:${PASSWORD}@mq/\n[libvirt]\nvirt_type = $transport_url\n`],
  ])('%s', (_what, text) => {
    const err = attempt([['nova.conf', text, 0o600]]);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain(PASSWORD);
    expect(message).not.toContain(DECODED);
    expect(message).not.toContain('tail');
  });

  test('a parse error in a later file does not show a password of an earlier one', () => {
    const err = attempt([
      ['nova.conf', secretDb, 0o600],
      ['hwstash.conf', `[hwstash\n`, 0o600],
    ]) as Error;
    expect(err.message).toMatch(/hwstash\.conf:1: /);
    expect(err.message).not.toContain(PASSWORD);
  });

  test('credentials in the environment are redacted too', () => {
    const err = attempt([['a.conf', '', 0o600]], { OS_DATABASE__CONNECTION: `db2://u:${PASSWORD}@h/d` }) as Error;
    expect(err.message).toMatch(/^environment variable OS_DATABASE__CONNECTION: \[database\] connection = db2:\/\/u:\*\*\*@h\/d is not allowed/);
    expect(err.message).not.toContain(PASSWORD);
  });
});
