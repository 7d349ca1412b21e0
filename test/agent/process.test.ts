/**
 * `hwstash agent` as a process, as systemd runs it: signals, the drain of in-flight work within
 * [hwstash] shutdown_timeout, and the notify protocol (readiness, watchdog, stopping) on a Unix
 * datagram socket served by a small Python helper, as systemd would serve it.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { decodeNotification } from '../../src/bus/envelope.js';
import { insertInstances } from '../../src/store/seed.js';
import { AgentProcess, REPO, ensureBuilt } from './helpers/cli.js';
import { AgentHarness, httpGet, instanceLockWaiters, sleep, waitFor } from './helpers/harness.js';
import { novaFixture } from './helpers/nova-fixtures.js';

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

async function imageKeys(h: AgentHarness, uuid: string): Promise<number> {
  return (await h.store.systemMetadata(uuid)).filter((r) => r.key.startsWith('image_hw_')).length;
}

/** An agent process on the harness's config, consuming. */
async function runAgent(h: AgentHarness, env: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
  const p = AgentProcess.spawn(['--config-file', h.confFile, 'agent'], env);
  await p.waitForLog('consuming', 60_000);
  return p;
}

/** Publishes a create.end for a new instance whose row another connection holds locked. */
async function inFlightEvent(h: AgentHarness): Promise<{ uuid: string; side: mysql.Connection }> {
  const uuid = randomUUID();
  await insertInstances(h.store, [{ uuid, host: h.host }]);
  const side = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: h.db.name });
  await side.beginTransaction();
  await side.query('SELECT id FROM instances WHERE uuid = ? FOR UPDATE', [uuid]);
  h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body);
  await waitFor(async () => (await instanceLockWaiters(side, h.db.name)) === 1, 15_000, 'the handler to be in flight');
  return { uuid, side };
}

/** Event types of the messages left on the agent's queue (taken off it). */
async function leftOnQueue(h: AgentHarness): Promise<string[]> {
  // Unacked messages go back to the queue when the broker sees the connection close.
  await sleep(500);
  return (await h.broker!.drain(h.names.queue)).map((m) => decodeNotification(m.content).eventType);
}

describe('SIGTERM', () => {
  let h: AgentHarness;
  beforeEach(async () => {
    h = await AgentHarness.create({ hwstash: { shutdown_timeout: 8 } });
  });
  afterEach(async () => {
    await h.cleanup();
  });

  test('drains the handler in flight: it commits, the message is acked, the process exits 0', async () => {
    const p = await runAgent(h);
    const { uuid, side } = await inFlightEvent(h);
    try {
      const signalled = Date.now();
      p.kill('SIGTERM');
      await p.waitForLog('hwstash agent stopping');
      // Still draining: the handler waits for its row.
      await sleep(1000);
      expect(p.child.exitCode).toBeNull();
      await side.rollback();
      const exit = await p.exited;
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
      expect(exit.at - signalled).toBeLessThan(8000);
      expect(await imageKeys(h, uuid)).toBe(11);
      // Acked before the exit: nothing for the next agent to redo. (What is left is the agent's
      // own hwstash.stash.end, which its queue also receives and it no longer consumes.)
      expect(await leftOnQueue(h)).toEqual(['hwstash.stash.end']);
      expect(p.find('hwstash agent stopped')[0]).toMatchObject({ drained: true });
    } finally {
      await side.end();
      p.kill('SIGKILL');
    }
  }, 90_000);

  test('a handler that outlasts shutdown_timeout is left unacked for the next agent, and the process still exits in time', async () => {
    const p = await runAgent(h);
    const { uuid, side } = await inFlightEvent(h);
    try {
      const signalled = Date.now();
      p.kill('SIGTERM');
      const exit = await p.exited;
      const took = exit.at - signalled;
      expect(exit.signal).toBeNull();
      // shutdown_timeout (8 s) plus the closing of the connections, well inside systemd's
      // TimeoutStopSec (40 s in the shipped unit).
      expect(took).toBeGreaterThanOrEqual(7500);
      expect(took).toBeLessThan(15_000);
      expect(p.find('hwstash agent stopped')[0]).toMatchObject({ drained: false });
      await side.rollback();
      expect(await imageKeys(h, uuid)).toBe(0);
      // The broker got it back when the connection closed.
      expect(await leftOnQueue(h)).toEqual(['instance.create.end']);
    } finally {
      await side.end();
      p.kill('SIGKILL');
    }
  }, 90_000);

  test('a second SIGTERM exits at once', async () => {
    const p = await runAgent(h);
    const { side } = await inFlightEvent(h);
    try {
      p.kill('SIGTERM');
      await p.waitForLog('hwstash agent stopping');
      await sleep(300);
      const second = Date.now();
      p.kill('SIGTERM');
      const exit = await p.exited;
      expect(exit.at - second).toBeLessThan(1000);
      expect(exit.code).not.toBe(0);
      expect(p.find('second signal: exiting now')).toHaveLength(1);
      expect(await leftOnQueue(h)).toEqual(['instance.create.end']);
    } finally {
      await side.rollback();
      await side.end();
      p.kill('SIGKILL');
    }
  }, 90_000);

  test('SIGINT stops it the same way', async () => {
    const p = await runAgent(h);
    p.kill('SIGINT');
    const exit = await p.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(p.find('signal received')[0]).toMatchObject({ signal: 'SIGINT' });
  }, 60_000);
});

test('the log level comes from [hwstash] log_level: at warn, only warnings and worse are written', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const h = await AgentHarness.create({ hwstash: { log_level: 'warn', metrics_address: `127.0.0.1:${port}` } });
  let p: AgentProcess | null = null;
  try {
    // A stored value Nova cannot load: the start-up reconcile warns about it.
    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host, systemMetadata: { image_hw_vif_model: 'igb' } }]);
    p = AgentProcess.spawn(['--config-file', h.confFile, 'agent']);
    await waitFor(async () => (await httpGet(`http://127.0.0.1:${port}/healthz`).catch(() => ({ status: 0 }))).status === 200, 60_000, 'the agent to be healthy');
    p.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(p.lines.length).toBeGreaterThan(0);
    expect(p.lines.filter((l) => Number(l['level']) < 40)).toEqual([]);
    expect(p.lines.filter((l) => l['instance_uuid'] === uuid && String(l['msg']).startsWith('stored value Nova cannot load'))).toHaveLength(1);
  } finally {
    p?.kill('SIGKILL');
    await h.cleanup();
  }
}, 90_000);

test('without osinfo-db the agent says so once, as a JSON log line: its output stays JSON lines only', async () => {
  const missing = path.join(os.tmpdir(), `hwstash-no-osinfo-${randomUUID()}`);
  const h = await AgentHarness.create({ hwstash: { osinfo_dir: missing } });
  let p: AgentProcess | null = null;
  try {
    p = await runAgent(h);
    p.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(p.stderr).toBe('');
    expect(p.lines.filter((l) => l['unparsed'])).toEqual([]);
    expect(p.lines.filter((l) => /osinfo/.test(String(l['msg'])))).toEqual([
      expect.objectContaining({ msg: 'osinfo-db not installed: driver defaults apply where libosinfo would decide', osinfo_dir: missing }),
    ]);
  } finally {
    p?.kill('SIGKILL');
    await h.cleanup();
  }
}, 90_000);

test('systemd notify: READY=1 after the start-up reconcile, WATCHDOG=1 pings at half WatchdogSec, STOPPING=1 on SIGTERM', async () => {
  const h = await AgentHarness.create();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-notify-'));
  const socketPath = path.join(dir, 'notify.sock');
  const helper = spawn('/usr/bin/python3', [path.join(REPO, 'test/agent/helpers/notify-socket.py'), socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const datagrams: Array<{ at: number; text: string }> = [];
  let listening = false;
  let partial = '';
  helper.stdout.setEncoding('utf8');
  helper.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      const m = JSON.parse(line) as { listening?: string; datagram?: string };
      if (m.listening) listening = true;
      if (m.datagram !== undefined) datagrams.push({ at: Date.now(), text: m.datagram });
    }
  });
  let p: AgentProcess | null = null;
  try {
    await waitFor(() => listening, 10_000, 'the notify socket');
    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host }]);
    p = AgentProcess.spawn(['--config-file', h.confFile, 'agent'], { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '2000000' });
    await waitFor(() => datagrams.some((d) => d.text === 'READY=1'), 60_000, 'READY=1');
    // Ready means reconciled: the instance is stashed by then.
    expect(await imageKeys(h, uuid)).toBe(11);
    const statuses = datagrams.filter((d) => d.text.startsWith('STATUS=')).map((d) => d.text);
    expect(statuses[0]).toMatch(/^STATUS=reconciling this host/);
    expect(statuses.some((s) => s.startsWith('STATUS=consuming Nova notifications'))).toBe(true);

    await sleep(3500);
    const ready = datagrams.find((d) => d.text === 'READY=1')!.at;
    const pings = datagrams.filter((d) => d.text === 'WATCHDOG=1').map((d) => d.at);
    // WatchdogSec=2 s: a ping about every second.
    expect(pings.length).toBeGreaterThanOrEqual(2);
    expect(pings.every((t) => t >= ready)).toBe(true);
    for (let i = 1; i < pings.length; i++) expect(pings[i]! - pings[i - 1]!).toBeLessThan(2000);
    expect((await httpGet(`${p.metricsUrl}/healthz`)).status).toBe(200);

    p.kill('SIGTERM');
    const exit = await p.exited;
    expect(exit.code).toBe(0);
    const stopping = datagrams.findIndex((d) => d.text === 'STOPPING=1');
    expect(stopping).toBeGreaterThan(-1);
    // No watchdog ping after it said it is stopping.
    expect(datagrams.slice(stopping).some((d) => d.text === 'WATCHDOG=1')).toBe(false);
  } finally {
    p?.kill('SIGKILL');
    helper.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    await h.cleanup();
  }
}, 90_000);
