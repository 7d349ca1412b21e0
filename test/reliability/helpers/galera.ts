/**
 * A 3-node MariaDB Galera cluster (Debian's galera-4) of the test's own behind HAProxy, as
 * deployment tools set it up: one active node, the two others as backups. Every node and the
 * proxy on free ports, data under the test's directory; the machine's MariaDB is not touched.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort } from './tls-servers.js';

const run = promisify(execFile);

export const GALERA_USER = 'hwstash_galera';
export const GALERA_PASSWORD = 'galera-pw';
export const GALERA_DATABASE = 'nova_galera';

export interface GaleraNode {
  name: string;
  port: number;
  socket: string;
  child: ChildProcess;
  exited: Promise<void>;
}

export interface GaleraCluster {
  nodes: GaleraNode[];
  proxyPort: number;
  /** The SQLAlchemy URL through HAProxy. */
  url: string;
  /** A root connection straight to one node (bypassing the proxy). */
  connect(node: GaleraNode): Promise<mysql.Connection>;
  kill9(node: GaleraNode): Promise<void>;
  stop(): Promise<void>;
}

async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

async function synced(socket: string, size: number): Promise<void> {
  const c = await mysql.createConnection({ socketPath: socket, user: 'root' });
  try {
    const [rows] = await c.query("SHOW STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_size')");
    const status = Object.fromEntries((rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, r.Value]));
    if (status['wsrep_local_state_comment'] !== 'Synced' || Number(status['wsrep_cluster_size']) !== size) {
      throw new Error(`state ${status['wsrep_local_state_comment']}, cluster size ${status['wsrep_cluster_size']}`);
    }
  } finally {
    await c.end();
  }
}

export async function startGalera(dir: string): Promise<GaleraCluster> {
  fs.mkdirSync(dir, { recursive: true });
  // The SST script's rsync daemon runs as nobody: it must reach the joiners' data directories.
  for (let d = dir; d !== path.dirname(d) && d.startsWith(os.tmpdir() + path.sep); d = path.dirname(d)) fs.chmodSync(d, 0o711);
  const ports = await Promise.all([0, 1, 2].map(async () => ({ sql: await freePort(), group: await freePort(), sst: await freePort(), ist: await freePort() })));
  const clusterAddress = `gcomm://${ports.map((p) => `127.0.0.1:${p.group}`).join(',')}`;
  const nodes: GaleraNode[] = [];
  const start = async (i: number, install = false): Promise<GaleraNode> => {
    const name = `node${i + 1}`;
    const base = path.join(dir, name);
    const data = path.join(base, 'data');
    fs.mkdirSync(data, { recursive: true });
    // Even a state transfer with nothing to send writes a marker file there, as nobody.
    fs.chmodSync(base, 0o711);
    fs.chmodSync(data, 0o777);
    const socket = path.join(base, 'mysqld.sock');
    const cnf = path.join(base, 'my.cnf');
    const p = ports[i]!;
    fs.writeFileSync(
      cnf,
      [
        '[mysqld]',
        'user = root',
        `datadir = ${data}`,
        `port = ${p.sql}`,
        'bind-address = 127.0.0.1',
        `socket = ${socket}`,
        `pid-file = ${path.join(base, 'mysqld.pid')}`,
        `log-error = ${path.join(base, 'error.log')}`,
        'innodb-buffer-pool-size = 32M',
        'innodb_flush_log_at_trx_commit = 2',
        'binlog_format = ROW',
        'default_storage_engine = InnoDB',
        'innodb_autoinc_lock_mode = 2',
        'wsrep_on = ON',
        'wsrep_provider = /usr/lib/galera/libgalera_smm.so',
        `wsrep_cluster_address = ${clusterAddress}`,
        'wsrep_cluster_name = hwstash_test',
        `wsrep_node_name = ${name}`,
        `wsrep_node_address = 127.0.0.1:${p.group}`,
        `wsrep_sst_receive_address = 127.0.0.1:${p.sst}`,
        `wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:${p.group};ist.recv_addr=127.0.0.1:${p.ist};gcache.size=64M"`,
        'wsrep_sst_method = rsync',
        '',
      ].join('\n'),
    );
    if (install) await run('mariadb-install-db', [`--defaults-file=${cnf}`, '--auth-root-authentication-method=socket', '--skip-test-db'], { timeout: 120_000 });
    const child = spawn('/usr/sbin/mariadbd', [`--defaults-file=${cnf}`, ...(i === 0 ? ['--wsrep-new-cluster'] : [])], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const node = { name, port: p.sql, socket, child, exited };
    await until(`Galera ${name}`, 120_000, () => synced(socket, i + 1));
    return node;
  };
  try {
    // The first node is bootstrapped once and shut down cleanly, and its data directory copied to
    // the others: they join at the same position, with no full state transfer to wait for.
    const seed = await start(0, true);
    seed.child.kill('SIGTERM');
    await seed.exited;
    for (const n of [2, 3]) fs.cpSync(path.join(dir, 'node1', 'data'), path.join(dir, `node${n}`, 'data'), { recursive: true });
    for (let i = 0; i < 3; i++) nodes.push(await start(i));
  } catch (err) {
    for (const n of nodes) n.child.kill('SIGKILL');
    throw err;
  }

  const admin = await mysql.createConnection({ socketPath: nodes[0]!.socket, user: 'root' });
  await admin.query(`CREATE DATABASE ${GALERA_DATABASE} CHARACTER SET utf8mb3`);
  await admin.query(`CREATE USER '${GALERA_USER}'@'%' IDENTIFIED BY '${GALERA_PASSWORD}'`);
  await admin.query(`GRANT ALL ON ${GALERA_DATABASE}.* TO '${GALERA_USER}'@'%'`);
  await admin.query(`GRANT ALL ON ${GALERA_DATABASE}_hwstash.* TO '${GALERA_USER}'@'%'`);
  await admin.end();

  const proxyPort = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 4000',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 1h',
      '  timeout server 1h',
      'listen galera',
      `  bind 127.0.0.1:${proxyPort}`,
      '  option tcpka',
      // One writer, as kolla-ansible and OpenStack-Ansible set it up; the others only when it is down.
      `  server ${nodes[0]!.name} 127.0.0.1:${nodes[0]!.port} check inter 500 rise 2 fall 2 on-marked-down shutdown-sessions`,
      `  server ${nodes[1]!.name} 127.0.0.1:${nodes[1]!.port} check inter 500 rise 2 fall 2 backup`,
      `  server ${nodes[2]!.name} 127.0.0.1:${nodes[2]!.port} check inter 500 rise 2 fall 2 backup`,
      '',
    ].join('\n'),
  );
  const proxy = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
  const proxyExited = new Promise<void>((resolve) => proxy.once('exit', () => resolve()));
  const url = `mysql+pymysql://${GALERA_USER}:${GALERA_PASSWORD}@127.0.0.1:${proxyPort}/${GALERA_DATABASE}?charset=utf8`;
  await until('HAProxy', 30_000, async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxyPort, user: GALERA_USER, password: GALERA_PASSWORD, database: GALERA_DATABASE });
    await c.end();
  });

  return {
    nodes,
    proxyPort,
    url,
    connect: (node) => mysql.createConnection({ socketPath: node.socket, user: 'root', database: GALERA_DATABASE }),
    kill9: async (node) => {
      node.child.kill('SIGKILL');
      await node.exited;
    },
    stop: async () => {
      proxy.kill('SIGKILL');
      await proxyExited;
      for (const n of nodes) {
        n.child.kill('SIGKILL');
        await n.exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
