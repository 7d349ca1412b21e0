/**
 * hwstash over TLS, against RabbitMQ nodes of the test's own (not the machine's broker): a CA
 * made here with openssl, a node that requires a client certificate (verify_peer,
 * fail_if_no_peer_cert) and also has a plain-text port, and a node whose certificate has
 * expired. The agent's options come from a nova.conf written as an operator would
 * ([oslo_messaging_rabbit] ssl, ssl_ca_file, ssl_cert_file, ssl_key_file). Every failure must say
 * which host, what failed and against which file; never fall back to plain text; never show the key.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ConnectionManager, rabbitConnectionOptions } from '../../src/bus/connection.js';
import { NotificationConsumer } from '../../src/bus/consumer.js';
import { NotificationPublisher } from '../../src/bus/publisher.js';
import { encodeNotification, instancePayload } from '../../src/bus/envelope.js';
import { BusConfigError } from '../../src/bus/errors.js';
import { loadSettings } from '../../src/config/load.js';
import { waitFor } from '../bus/helpers/rabbit.js';
import { figure } from './helpers/figures.js';
import { NodeGroup, freePort, nodeName, type RabbitNode } from './helpers/rabbit-nodes.js';
import { AgentHarness, httpGet } from '../agent/helpers/harness.js';
import { parseExposition } from '../agent/helpers/prometheus.js';
import { insertInstances } from '../../src/store/seed.js';

let group: NodeGroup;
let good: RabbitNode;
let expired: RabbitNode;
let tlsPort: number;
let expiredPort: number;
let pki: string;
const managers: ConnectionManager[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a second unrelated CA, a server certificate for "localhost" only, an expired one, a client one. */
function makePki(): void {
  fs.mkdirSync(pki, { recursive: true });
  const caConf = (ca: string) => {
    fs.mkdirSync(path.join(pki, `${ca}-db`), { recursive: true });
    fs.writeFileSync(path.join(pki, `${ca}-db`, 'index.txt'), '');
    fs.writeFileSync(path.join(pki, `${ca}-db`, 'serial'), '1000\n');
    fs.writeFileSync(
      path.join(pki, `${ca}.cnf`),
      [
        '[ca]', 'default_ca = x', '[x]', `database = ${ca}-db/index.txt`, `new_certs_dir = ${ca}-db`, `serial = ${ca}-db/serial`,
        'default_md = sha256', 'policy = p', 'copy_extensions = copy', 'unique_subject = no', '[p]', 'commonName = supplied', '',
      ].join('\n'),
    );
  };
  for (const ca of ['ca', 'otherca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=hwstash test ${ca}`);
    caConf(ca);
  }
  const issue = (name: string, cn: string, san: string | null, dates: string[]) => {
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`, ...(san ? ['-addext', `subjectAltName=${san}`] : []));
    openssl('ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.pem`, ...dates);
  };
  // The server certificate names localhost only: reaching it as 127.0.0.1 is a wrong host name.
  issue('server', 'localhost', 'DNS:localhost', ['-days', '2']);
  issue('expired', 'localhost', 'DNS:localhost', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  issue('client', 'hwstash-agent', null, ['-days', '2']);
  for (const f of fs.readdirSync(pki)) if (f.endsWith('.key')) fs.chmodSync(path.join(pki, f), 0o600);
}

const tlsConf = (port: number, cert: string, requireClientCert: boolean) => [
  `listeners.ssl.default = 127.0.0.1:${port}`,
  `ssl_options.cacertfile = ${pki}/ca.pem`,
  `ssl_options.certfile = ${pki}/${cert}.pem`,
  `ssl_options.keyfile = ${pki}/${cert}.key`,
  `ssl_options.verify = ${requireClientCert ? 'verify_peer' : 'verify_none'}`,
  `ssl_options.fail_if_no_peer_cert = ${requireClientCert}`,
];

beforeAll(async () => {
  const started = Date.now();
  group = NodeGroup.create('tls');
  pki = path.join(group.dir, 'pki');
  makePki();
  tlsPort = await freePort();
  expiredPort = await freePort();
  good = await group.add({ name: nodeName('hwtls'), conf: tlsConf(tlsPort, 'server', true) });
  expired = await group.add({ name: nodeName('hwexp'), conf: tlsConf(expiredPort, 'expired', false), plainListener: false });
  await Promise.all([good.start(tlsPort), expired.start(expiredPort)]);
  figure('tls-nodes', `CA and certificates made, two TLS nodes up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 120_000);

afterAll(async () => {
  for (const m of managers) await m.close(2000).catch(() => undefined);
  group?.destroy();
});

/** Settings from a nova.conf as an operator writes it, and a connection made from them. */
function connectFromNovaConf(url: string, rabbit: Record<string, string>): ConnectionManager {
  const file = path.join(group.dir, `nova-${randomUUID()}.conf`);
  fs.writeFileSync(
    file,
    ['[DEFAULT]', `transport_url = ${url}`, '[oslo_messaging_rabbit]', ...Object.entries(rabbit).map(([k, v]) => `${k} = ${v}`), 'rabbit_retry_interval = 1', 'rabbit_retry_backoff = 0', ''].join('\n'),
    { mode: 0o600 },
  );
  const { settings } = loadSettings({ configFiles: [file], env: {} });
  const m = ConnectionManager.fromTransportUrl(settings.transportUrl, { connectTimeoutMs: 5000, ...rabbitConnectionOptions(settings.rabbit) });
  managers.push(m);
  return m;
}

const clientFiles = () => ({ ssl: 'true', ssl_ca_file: `${pki}/ca.pem`, ssl_cert_file: `${pki}/client.pem`, ssl_key_file: `${pki}/client.key` });

/** The first failure's reason (the connection keeps retrying; it must never connect). */
async function firstFailure(m: ConnectionManager): Promise<string> {
  let connected = false;
  m.on('connected', () => (connected = true));
  const reason = new Promise<string>((resolve) => m.once('disconnected' as 'closed', ((e: { reason: string }) => resolve(e.reason)) as () => void));
  m.start();
  const r = await reason;
  await new Promise((res) => setTimeout(res, 300));
  expect(connected).toBe(false);
  return r;
}

function keyText(): string {
  return fs.readFileSync(`${pki}/client.key`, 'utf8').split('\n')[1]!; // a line of the key itself
}

test('consumes and publishes over TLS, verifying the broker against ssl_ca_file and showing a client certificate', async () => {
  const conn = connectFromNovaConf(`rabbit://guest:guest@localhost:${tlsPort}/`, clientFiles());
  const got: string[] = [];
  const consumer = new NotificationConsumer({
    connection: conn,
    host: 'compute-tls',
    handler: async (n) => {
      got.push(n.messageId);
      return 'done';
    },
  });
  const t0 = Date.now();
  consumer.start();
  await consumer.whenReady(20_000);
  const readyMs = Date.now() - t0;
  expect(conn.endpoint).toBe(`amqps://guest@localhost:${tlsPort}/`);
  expect(conn.broker?.product).toBe('RabbitMQ');
  const publisher = new NotificationPublisher({ connection: conn, host: 'compute-tls' });
  const sent: string[] = [];
  for (let i = 0; i < 20; i++) {
    const e = encodeNotification({
      eventType: 'instance.power_on.end',
      publisherId: 'nova-compute:compute-tls',
      payload: instancePayload({ uuid: randomUUID(), host: 'compute-tls', state: 'active', powerState: 'running' }),
    });
    sent.push(e.messageId);
    await publisher.publishRaw(e.body);
  }
  await waitFor(() => sent.every((id) => got.includes(id)), 15_000, 'the 20 events over TLS');
  figure('tls-consume', `TLS connection, queue declared and consuming in ${readyMs} ms; 20 events published and consumed over TLS`);
  await publisher.close();
  await consumer.stop(2000);
}, 60_000);

test('a wrong CA fails, naming the host and the CA file', async () => {
  const reason = await firstFailure(connectFromNovaConf(`rabbit://guest:guest@localhost:${tlsPort}/`, { ...clientFiles(), ssl_ca_file: `${pki}/otherca.pem` }));
  figure('tls-wrong-ca', reason);
  expect(reason).toContain(`TLS to localhost:${tlsPort} refused: the broker's certificate does not chain to ssl_ca_file = ${pki}/otherca.pem`);
  expect(reason).not.toContain(keyText());
}, 30_000);

test('an expired broker certificate fails, saying so', async () => {
  const reason = await firstFailure(connectFromNovaConf(`rabbit://guest:guest@localhost:${expiredPort}/`, clientFiles()));
  figure('tls-expired', reason);
  expect(reason).toBe(`TLS to localhost:${expiredPort} refused: the broker's certificate has expired (CERT_HAS_EXPIRED)`);
}, 30_000);

test('a host name the certificate does not name fails, saying which', async () => {
  const reason = await firstFailure(connectFromNovaConf(`rabbit://guest:guest@127.0.0.1:${tlsPort}/`, clientFiles()));
  figure('tls-wrong-host', reason);
  expect(reason).toContain(`TLS to 127.0.0.1:${tlsPort} refused: the broker's certificate is not for this host name`);
  expect(reason).toContain('127.0.0.1');
}, 30_000);

test('TLS asked of a plain-text port fails clearly; plain text to the TLS port never connects (no fallback either way)', async () => {
  const reason = await firstFailure(connectFromNovaConf(`rabbit://guest:guest@localhost:${good.amqpPort}/`, clientFiles()));
  figure('tls-plain-port', reason);
  expect(reason).toMatch(new RegExp(`^TLS to localhost:${good.amqpPort} failed: the broker does not speak TLS on this port \\(wrong version number\\); hwstash does not fall back to plain text$`));
  // ?ssl=1 in the URL means the same as ssl = true.
  const viaUrl = await firstFailure(connectFromNovaConf(`rabbit://guest:guest@localhost:${good.amqpPort}/?ssl=1`, { ssl_ca_file: `${pki}/ca.pem` }));
  expect(viaUrl).toMatch(/does not speak TLS/);
  const plain = await firstFailure(connectFromNovaConf(`rabbit://guest:guest@localhost:${tlsPort}/`, {}));
  // (The user name is masked too here: it equals the password, guest.)
  expect(plain).toMatch(new RegExp(`^amqp://[^@]*@localhost:${tlsPort}/: `));
}, 60_000);

test('the broker requires a client certificate: without one the handshake is refused, and a missing key file is named at once', async () => {
  const { ssl_cert_file: _c, ssl_key_file: _k, ...noClient } = clientFiles();
  const reason = await firstFailure(connectFromNovaConf(`rabbit://guest:guest@localhost:${tlsPort}/`, noClient));
  figure('tls-no-client-cert', reason);
  expect(reason).toBe(`TLS to localhost:${tlsPort} refused by the broker: it requires a client certificate; set ssl_cert_file and ssl_key_file (tlsv13 alert certificate required)`);
  let err: unknown;
  try {
    connectFromNovaConf(`rabbit://guest:guest@localhost:${tlsPort}/`, { ...clientFiles(), ssl_key_file: `${pki}/missing.key` });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BusConfigError);
  expect((err as Error).message).toBe(`[oslo_messaging_rabbit] ssl_key_file = ${pki}/missing.key: cannot read it (no such file)`);
  // A key file given as the certificate: named, its content not shown.
  let err2: unknown;
  try {
    connectFromNovaConf(`rabbit://guest:guest@localhost:${tlsPort}/`, { ...clientFiles(), ssl_cert_file: `${pki}/client.key` });
  } catch (e) {
    err2 = e;
  }
  expect((err2 as Error).message).toBe(`[oslo_messaging_rabbit] ssl_cert_file = ${pki}/client.key: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  expect((err2 as Error).message).not.toContain(keyText());
}, 30_000);

test('hwstash agent over TLS: consumes Nova\'s event, stashes, publishes hwstash.stash.end, and says which node in its log and /metrics', async () => {
  const h = await AgentHarness.create({
    transportUrl: `rabbit://guest:guest@localhost:${tlsPort}/`,
    rabbit: clientFiles(),
    // The test's own connection (declaring the exchange, publishing Nova's event) uses the node's plain port.
    testBrokerUrl: `rabbit://guest:guest@127.0.0.1:${good.amqpPort}/`,
  });
  try {
    const tap = await h.broker!.tap(h.names.exchange, 'versioned_notifications.*');
    await h.startAgent();
    const uuid = randomUUID();
    await insertInstances(h.store, [{ uuid, host: h.host, imageProperties: {} }]);
    h.publishInstance('instance.create.end', uuid);
    await waitFor(async () => (await h.store.systemMetadata(uuid)).filter((r) => r.key.startsWith('image_hw_')).length === 11, 30_000, 'the stash');
    const seen: string[] = [];
    await waitFor(async () => {
      for (const m of await h.broker!.drain(tap)) seen.push(m.content.toString());
      return seen.some((b) => b.includes('hwstash.stash.end') && b.includes(uuid));
    }, 30_000, 'hwstash.stash.end published over TLS');
    const endpoint = `amqps://guest@localhost:${tlsPort}/`;
    expect(h.logs.find('RabbitMQ connected').at(-1)).toMatchObject({ endpoint, tls: true });
    const m = parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
    expect(m.samples.filter((x) => x.name === 'hwstash_bus_node_info').map((x) => [x.labels['endpoint'], x.value])).toEqual([[endpoint, 1]]);
    // The key never reaches the log.
    expect(JSON.stringify(h.logs.lines)).not.toContain(keyText());
  } finally {
    await h.cleanup();
  }
}, 90_000);
