// kombu_failover_strategy and rabbit_retry_*: the order in which the brokers of a multi-host
// transport_url are tried, and the waits between passes. Brokers: ports on 127.0.0.1 where
// nothing listens (connection refused at once), so the order is observable without a broker.
import net from 'node:net';
import { ConnectionManager, rabbitConnectionOptions } from '../../src/bus/connection.js';
import { parseTransportUrl } from '../../src/bus/transport-url.js';
import type { RabbitSettings } from '../../src/config/settings.js';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const RABBIT: RabbitSettings = {
  ssl: false, sslVersion: '', sslCaFile: '', sslCertFile: '', sslKeyFile: '', heartbeatTimeoutThreshold: 60,
  failoverStrategy: 'round-robin', retryInterval: 1, retryBackoff: 2, intervalMax: 30,
  quorumQueue: false, quorumDeliveryLimit: 0, quorumMaxMemoryLength: 0, quorumMaxMemoryBytes: 0,
};

async function attempts(strategy: 'round-robin' | 'shuffle', random: () => number): Promise<{ order: number[]; waits: number[] }> {
  const ports = [await closedPort(), await closedPort(), await closedPort()];
  const url = `rabbit://${ports.map((p) => `u:p@127.0.0.1:${p}`).join(',')}/`;
  const options = rabbitConnectionOptions({ ...RABBIT, failoverStrategy: strategy });
  // Waits shortened 1000× so the test does not sleep for seconds; the growth is kombu's.
  const b = options.backoff!;
  const conn = new ConnectionManager({ ...options, endpoints: parseTransportUrl(url), backoff: { ...b, initialMs: b.initialMs / 1000, stepMs: b.stepMs! / 1000, maxMs: b.maxMs / 1000, jitter: 0 }, random });
  const order: number[] = [];
  const waits: number[] = [];
  conn.on('connecting', (e) => order.push(ports.indexOf(Number(/:(\d+)\/$/.exec(e.endpoint)![1]))));
  conn.on('retrying', (e) => waits.push(e.delayMs));
  conn.start();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (order.length >= 9) {
        clearInterval(check);
        resolve();
      }
    }, 5);
  });
  await conn.close(1000);
  return { order: order.slice(0, 9), waits: waits.slice(0, 2) };
}

test('round-robin: the hosts in the order of transport_url, pass after pass; waits of rabbit_retry_interval growing by rabbit_retry_backoff', async () => {
  const { order, waits } = await attempts('round-robin', () => 0);
  expect(order).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
  expect(waits).toEqual([1, 3]); // 1 s, then 1 + 2 s (scaled down 1000×)
});

test('shuffle: every pass tries each host once, in a new random order', async () => {
  const seq = [0.1, 0.9, 0.5, 0.2, 0.7, 0.4, 0.8, 0.3, 0.6];
  let i = 0;
  const { order } = await attempts('shuffle', () => seq[i++ % seq.length]!);
  const passes = [order.slice(0, 3), order.slice(3, 6), order.slice(6, 9)];
  for (const p of passes) expect([...p].sort()).toEqual([0, 1, 2]);
  expect(new Set(passes.map((p) => p.join(','))).size).toBeGreaterThan(1);
});
