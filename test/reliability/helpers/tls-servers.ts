/**
 * Database servers of the test's own, requiring TLS: a certificate authority and certificates made
 * with openssl, a MariaDB (mariadb-install-db + mariadbd) and a PostgreSQL 15 (initdb + pg_ctl),
 * each on a free port of its own with a data directory under the test's temp directory. The
 * machine's own servers (3306, 5432) are never touched. `stop()` kills the server and removes its
 * directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { Sequelize } from 'sequelize';

const run = promisify(execFile);

export interface Pki {
  dir: string;
  ca: string;
  /** A second CA that signed nothing the servers present: "the wrong CA". */
  wrongCa: string;
  serverCert: string;
  serverKey: string;
}

/** A CA, a server certificate for 127.0.0.1 and localhost signed by it, and an unrelated CA. */
export async function makePki(dir: string): Promise<Pki> {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'wrong-ca']) {
    await ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=hwstash test ${ca}`, '-keyout', f(`${ca}.key`), '-out', f(`${ca}.pem`));
  }
  await ossl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
  fs.writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  await ossl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('server.pem'));
  return { dir, ca: f('ca.pem'), wrongCa: f('wrong-ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key') };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

export interface TlsServer {
  readonly port: number;
  /** The SQLAlchemy URL of `database` for the TLS-only user, without TLS parameters. */
  url(query?: string): string;
  /** Run SQL as the server's administrator (over the local socket). */
  admin(sql: string): Promise<void>;
  stop(): Promise<void>;
}

export const USER = 'hwstash_tls';
export const PASSWORD = 'tls-s3cret';
export const DATABASE = 'nova_tls';

/** MariaDB with TLS; the user hwstash_tls exists only `REQUIRE SSL`. */
export async function startMariadb(dir: string, pki: Pki): Promise<TlsServer> {
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  fs.mkdirSync(data, { recursive: true });
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db'], { timeout: 120_000 });
  const port = await freePort();
  const child: ChildProcess = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${data}`,
      `--port=${port}`,
      // 127.0.0.2 too: a loopback address the certificate does not name.
      '--bind-address=127.0.0.1,127.0.0.2',
      `--socket=${socket}`,
      `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      `--log-error=${path.join(dir, 'error.log')}`,
      `--ssl-ca=${pki.ca}`,
      `--ssl-cert=${pki.serverCert}`,
      `--ssl-key=${pki.serverKey}`,
      '--innodb-buffer-pool-size=32M',
      '--skip-log-bin',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const rootConn = () => mysql.createConnection({ socketPath: socket, user: 'root' });
  const admin = async (sql: string) => {
    const c = await rootConn();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await until('MariaDB', 60_000, async () => (await rootConn()).end());
  await admin(`CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb3`);
  await admin(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}' REQUIRE SSL`);
  await admin(`GRANT ALL ON ${DATABASE}.* TO '${USER}'@'%'`);
  await admin(`GRANT ALL ON ${DATABASE}_hwstash.* TO '${USER}'@'%'`);
  return {
    port,
    url: (query = '') => `mysql+pymysql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}${query}`,
    admin,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PostgreSQL 15 with TLS; pg_hba lets hwstash_tls in over TLS only (hostssl), plain is rejected. */
export async function startPostgres(dir: string, pki: Pki): Promise<TlsServer> {
  const bin = '/usr/lib/postgresql/15/bin';
  const data = path.join(dir, 'data');
  fs.mkdirSync(dir, { recursive: true });
  // initdb refuses to run as root: the cluster belongs to the postgres account.
  const asPostgres = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: 120_000 });
  fs.chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  await asPostgres(`${bin}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  for (const [from, to] of [
    [pki.serverCert, 'server.pem'],
    [pki.serverKey, 'server.key'],
    [pki.ca, 'ca.pem'],
  ] as const) {
    fs.copyFileSync(from, path.join(data, to));
    fs.chownSync(path.join(data, to), uidOf('postgres'), gidOf('postgres'));
    fs.chmodSync(path.join(data, to), 0o600);
  }
  const port = await freePort();
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1,127.0.0.2'",
      `unix_socket_directories = '${dir}'`,
      'ssl = on',
      "ssl_cert_file = 'server.pem'",
      "ssl_key_file = 'server.key'",
      "ssl_ca_file = 'ca.pem'",
      'fsync = off',
      'shared_buffers = 16MB',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(data, 'pg_hba.conf'),
    [
      'local all postgres trust',
      `hostssl all ${USER} 127.0.0.0/30 scram-sha-256`,
      `hostnossl all ${USER} 127.0.0.0/30 reject`,
      '',
    ].join('\n'),
  );
  await asPostgres(`${bin}/pg_ctl`, ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const admin = async (sql: string) => {
    const c = new Sequelize({ dialect: 'postgres', host: dir, port, username: 'postgres', database: 'postgres', logging: false });
    try {
      await c.query(sql);
    } finally {
      await c.close();
    }
  };
  await admin(`CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD}'`);
  await admin(`CREATE DATABASE ${DATABASE} OWNER ${USER}`);
  return {
    port,
    url: (query = '') => `postgresql+psycopg2://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}${query}`,
    admin,
    stop: async () => {
      await asPostgres(`${bin}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function idOf(file: string, name: string): number {
  const line = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no ${name} in ${file}`);
  return Number(line.split(':')[2]);
}
const uidOf = (name: string) => idOf('/etc/passwd', name);
const gidOf = (name: string) => idOf('/etc/group', name);
