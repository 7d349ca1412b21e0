/**
 * Extra RabbitMQ nodes of the test's own: each with its own node name, AMQP and distribution
 * ports, data, log and config files under one temporary directory, started from the installed
 * server (/usr/lib/rabbitmq/bin/rabbitmq-server) as this user. HOME points into that directory,
 * so their Erlang cookie is the test's own: the machine's broker (rabbit@localhost on 5672) and
 * its cookie are never touched; /etc/rabbitmq/rabbitmq-env.conf is not read
 * (RABBITMQ_CONF_ENV_FILE points at the test's own). `destroy()` kills every node and removes
 * the directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = '/usr/lib/rabbitmq/bin';

export interface NodeSpec {
  /** Short name; the node is <name>@localhost. */
  name: string;
  /** Extra rabbitmq.conf lines (listeners, TLS). The AMQP port is given as amqpPort. */
  conf?: string[];
  /** When false, no plain-text listener is configured (TLS-only nodes put theirs in conf). */
  plainListener?: boolean;
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class RabbitNode {
  child: ChildProcess | null = null;
  readonly nodename: string;
  private constructor(
    readonly group: NodeGroup,
    readonly spec: NodeSpec,
    readonly amqpPort: number,
    readonly distPort: number,
    readonly dir: string,
  ) {
    this.nodename = `${spec.name}@localhost`;
  }

  static async create(group: NodeGroup, spec: NodeSpec, amqpPort?: number): Promise<RabbitNode> {
    const port = amqpPort ?? (await freePort());
    const dist = await freePort();
    const dir = path.join(group.dir, spec.name);
    fs.mkdirSync(dir, { recursive: true });
    const conf = [
      ...(spec.plainListener === false ? ['listeners.tcp = none'] : [`listeners.tcp.default = 127.0.0.1:${port}`]),
      'loopback_users = none',
      'log.console = false',
      'log.file.level = info',
      ...(spec.conf ?? []),
    ];
    fs.writeFileSync(path.join(dir, 'rabbitmq.conf'), conf.join('\n') + '\n');
    return new RabbitNode(group, spec, port, dist, dir);
  }

  env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env['PATH'],
      HOME: this.group.home,
      LANG: 'C.UTF-8',
      RABBITMQ_CONF_ENV_FILE: path.join(this.group.dir, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: this.nodename,
      RABBITMQ_NODE_PORT: String(this.amqpPort),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: path.join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(this.dir, 'log'),
      RABBITMQ_CONFIG_FILE: path.join(this.dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(this.group.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: path.join(this.dir, 'pid'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_SERVER_ERL_ARGS: '+P 1048576 -kernel inet_dist_use_interface {127,0,0,1}',
      // Two cores: keep each node's schedulers few.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '+S 2:2 +sbwt none +sbwtdcpu none +sbwtdio none',
    };
  }

  /** Starts the node; resolves once its AMQP port (or `waitOn`) accepts connections. */
  async start(waitOn = this.amqpPort): Promise<void> {
    const out = fs.openSync(path.join(this.dir, 'server.out'), 'a');
    this.child = spawn(`${BIN}/rabbitmq-server`, [], { env: this.env(), stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    this.child.on('exit', () => {
      this.child = null;
    });
    await waitPort(waitOn, 60_000);
  }

  /** The Erlang VM's OS pid (from the pid file RabbitMQ writes). */
  beamPid(): number | null {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dir, 'pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** kill -9 of the node's Erlang VM (and the wrapper script), as a crash or power loss. */
  kill9(): void {
    const pid = this.beamPid();
    if (pid !== null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    if (this.child?.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    fs.rmSync(path.join(this.dir, 'pid'), { force: true });
  }

  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await run(`${BIN}/rabbitmqctl`, ['-n', this.nodename, ...args], { env: this.env(), timeout: 120_000 });
    return stdout;
  }

  async queuesCtl(...args: string[]): Promise<string> {
    const { stdout } = await run(`${BIN}/rabbitmq-queues`, ['-n', this.nodename, ...args], { env: this.env(), timeout: 120_000 });
    return stdout;
  }
}

/** Nodes sharing one temporary directory and one Erlang cookie. */
export class NodeGroup {
  readonly nodes: RabbitNode[] = [];
  readonly home: string;
  private constructor(readonly dir: string) {
    this.home = path.join(dir, 'home');
  }

  static create(prefix: string): NodeGroup {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hwstash-${prefix}-`));
    const g = new NodeGroup(dir);
    fs.mkdirSync(g.home, { recursive: true });
    fs.writeFileSync(path.join(g.home, '.erlang.cookie'), randomBytes(16).toString('hex').toUpperCase(), { mode: 0o400 });
    fs.writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
    fs.writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '# the test nodes read nothing of /etc/rabbitmq/rabbitmq-env.conf\n');
    return g;
  }

  async add(spec: NodeSpec, amqpPort?: number): Promise<RabbitNode> {
    const n = await RabbitNode.create(this, spec, amqpPort);
    this.nodes.push(n);
    return n;
  }

  /** Kills every node and removes the directory. */
  destroy(): void {
    for (const n of this.nodes) n.kill9();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A unique short node name (nodes of runs that overlap must not share names). */
export function nodeName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}
