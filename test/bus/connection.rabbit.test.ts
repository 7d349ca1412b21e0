/** The connection manager against the real RabbitMQ and a closed port. */
import { ConnectionManager } from '../../src/bus/connection.js';
import type { DisconnectedEvent, RetryingEvent } from '../../src/bus/connection.js';
import { BusUnavailableError } from '../../src/bus/errors.js';
import { parseTransportUrl } from '../../src/bus/transport-url.js';
import { TRANSPORT_URL, cutConnection, waitFor } from './helpers/rabbit.js';

const rabbit = parseTransportUrl(TRANSPORT_URL)[0]!;
const live = `${rabbit.hostname}:${rabbit.port}`;
const NO_JITTER = { initialMs: 40, maxMs: 200, factor: 2, jitter: 0 };

const managers: ConnectionManager[] = [];
function make(url: string, backoff = NO_JITTER): ConnectionManager {
  const m = ConnectionManager.fromTransportUrl(url, { backoff, connectTimeoutMs: 2000, heartbeatSeconds: 5 });
  managers.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close(2000)));
});

test('an unreachable broker: keeps retrying with growing delays, reports disconnected, never shows the password', async () => {
  const m = make('rabbit://guest:Sup3rSecret@127.0.0.1:1/');
  const disconnected: DisconnectedEvent[] = [];
  const retrying: RetryingEvent[] = [];
  m.on('disconnected', (e) => disconnected.push(e));
  m.on('retrying', (e) => retrying.push(e));
  m.start();
  await waitFor(() => retrying.length >= 5, 5000, 'five retries');
  expect(m.state).toMatch(/^(disconnected|connecting)$/);
  expect(m.model).toBeNull();
  expect(disconnected).toHaveLength(1);
  expect(disconnected[0]!.reason).toMatch(/ECONNREFUSED/);
  expect(retrying.slice(0, 5).map((r) => [r.attempt, r.delayMs])).toEqual([
    [1, 40], [2, 80], [3, 160], [4, 200], [5, 200],
  ]);
  await expect(m.whenConnected(100)).rejects.toThrow(BusUnavailableError);
  const texts = [...disconnected.map((d) => d.reason), ...retrying.map((r) => r.reason)];
  expect(texts.join('\n')).toContain('amqp://guest@127.0.0.1:1/');
  expect(texts.join('\n')).not.toContain('Sup3rSecret');
  const t0 = Date.now();
  await m.close(1000);
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(m.state).toBe('closed');
  await expect(m.whenConnected()).rejects.toThrow(/closed/);
});

test('several brokers: the dead one is skipped, round-robin, without waiting a full backoff', async () => {
  const m = make(`rabbit://guest:guest@127.0.0.1:1,guest:guest@${live}/`, { initialMs: 5000, maxMs: 5000, factor: 1, jitter: 0 });
  let retries = 0;
  m.on('retrying', () => (retries += 1));
  const endpoints: string[] = [];
  m.on('connected', (e) => endpoints.push(e.endpoint));
  m.start();
  const t0 = Date.now();
  const model = await m.whenConnected(4000);
  expect(Date.now() - t0).toBeLessThan(3000);
  expect(model).toBe(m.model);
  expect(endpoints).toEqual([`amqp://guest@${live}/`]);
  expect(retries).toBe(0);
  expect(m.state).toBe('connected');
});

test('a cut connection is reported and replaced', async () => {
  const m = make(TRANSPORT_URL);
  const events: string[] = [];
  const reasons: string[] = [];
  m.on('connected', () => events.push('connected'));
  m.on('disconnected', (e) => {
    events.push('disconnected');
    reasons.push(e.reason);
  });
  m.start();
  const first = await m.whenConnected(5000);
  cutConnection(first); // fault injection: the real broker cannot reset one connection on request
  await waitFor(() => events.length >= 3, 5000, 'disconnect and reconnect');
  expect(events.slice(0, 3)).toEqual(['connected', 'disconnected', 'connected']);
  expect(reasons[0]).toMatch(/connection reset/);
  const second = await m.whenConnected(1000);
  expect(second).not.toBe(first);
  // The new connection works.
  const ch = await second.createChannel();
  await ch.close();
});

test('a refused login is reported without the password', async () => {
  const m = make(`rabbit://guest:Wr0ngPassw0rd@${live}/`);
  const disconnected: DisconnectedEvent[] = [];
  m.on('disconnected', (e) => disconnected.push(e));
  m.start();
  await waitFor(() => disconnected.length === 1, 5000, 'the refusal');
  expect(disconnected[0]!.reason).toMatch(/ACCESS.REFUSED|403/);
  expect(disconnected[0]!.reason).not.toContain('Wr0ngPassw0rd');
});

test('close is clean and bounded while connected', async () => {
  const m = make(TRANSPORT_URL);
  let closed = 0;
  m.on('closed', () => (closed += 1));
  m.start();
  await m.whenConnected(5000);
  const t0 = Date.now();
  await m.close(2000);
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(m.model).toBeNull();
  expect(m.state).toBe('closed');
  expect(closed).toBe(1);
  await m.close(2000); // twice is harmless
  expect(closed).toBe(1);
  expect(() => m.start()).toThrow(BusUnavailableError);
});
