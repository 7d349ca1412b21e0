// [oslo_messaging_rabbit] as oslo.messaging reads it, and what the bus makes of it.
import { loadSettings } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { rabbitConnectionOptions } from '../../src/bus/connection.js';
import { backoffDelay } from '../../src/bus/backoff.js';
import { queueArguments, parseInequivalent } from '../../src/bus/queues.js';
import { tempDir, type TempDir } from './tmp.js';

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

const load = (text: string) => loadSettings({ configFiles: [tmp.write('nova.conf', text)], env: {}, hostname: 'cmp-7', cwd: tmp.dir }).settings;

test("oslo.messaging's defaults when nova.conf says nothing", () => {
  expect(load('[DEFAULT]\n').rabbit).toEqual({
    ssl: false, sslVersion: '', sslCaFile: '', sslCertFile: '', sslKeyFile: '',
    heartbeatTimeoutThreshold: 60, failoverStrategy: 'round-robin',
    retryInterval: 1, retryBackoff: 2, intervalMax: 30,
    quorumQueue: false, quorumDeliveryLimit: 0, quorumMaxMemoryLength: 0, quorumMaxMemoryBytes: 0,
  });
});

test('every option read with its oslo.messaging name; ssl_version in any case, as oslo lowercases it', () => {
  const r = load(
    [
      '[oslo_messaging_rabbit]',
      'ssl = True', 'ssl_version = tlsv1_2', 'ssl_ca_file = /etc/ssl/ca.pem', 'ssl_cert_file = /c.pem', 'ssl_key_file = /k.pem',
      'heartbeat_timeout_threshold = 10', 'kombu_failover_strategy = shuffle', 'rabbit_retry_interval = 3', 'rabbit_retry_backoff = 5',
      'rabbit_interval_max = 20', 'rabbit_quorum_queue = true', 'rabbit_quorum_delivery_limit = 7',
      'rabbit_quorum_max_memory_length = 100', 'rabbit_quorum_max_memory_bytes = 4096', '',
    ].join('\n'),
  ).rabbit;
  expect(r).toEqual({
    ssl: true, sslVersion: 'TLSv1_2', sslCaFile: '/etc/ssl/ca.pem', sslCertFile: '/c.pem', sslKeyFile: '/k.pem',
    heartbeatTimeoutThreshold: 10, failoverStrategy: 'shuffle', retryInterval: 3, retryBackoff: 5, intervalMax: 20,
    quorumQueue: true, quorumDeliveryLimit: 7, quorumMaxMemoryLength: 100, quorumMaxMemoryBytes: 4096,
  });
  const c = rabbitConnectionOptions(r);
  expect(c.heartbeatSeconds).toBe(5);
  expect(c.failoverStrategy).toBe('shuffle');
  expect(c.tls).toEqual({ enabled: true, version: 'TLSv1_2', caFile: '/etc/ssl/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
  // kombu: interval_start, + interval_step per round, capped at interval_max (jitter only shortens).
  const noJitter = () => 0;
  expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, c.backoff!, noJitter))).toEqual([3000, 8000, 13000, 18000, 20000]);
  expect(rabbitConnectionOptions({ ...r, heartbeatTimeoutThreshold: 0 }).heartbeatSeconds).toBe(0);
});

test('bad values stop the load naming section, option and what is allowed', () => {
  expect(() => load('[oslo_messaging_rabbit]\nkombu_failover_strategy = random\n')).toThrow(ConfigError);
  expect(() => load('[oslo_messaging_rabbit]\nkombu_failover_strategy = random\n')).toThrow(/\[oslo_messaging_rabbit\] kombu_failover_strategy = random is not allowed; allowed: round-robin, shuffle/);
  expect(() => load('[oslo_messaging_rabbit]\nssl_version = TLSv1\n')).toThrow(/ssl_version = TLSv1 is not allowed; allowed: TLSv1_2, TLSv1_3, SSLv23 \(any case\)/);
  expect(() => load('[oslo_messaging_rabbit]\nrabbit_quorum_delivery_limit = -1\n')).toThrow(/rabbit_quorum_delivery_limit/);
});

test('the same options apply to a separate [oslo_messaging_notifications] transport_url, which hwstash then uses', () => {
  const s = load('[DEFAULT]\ntransport_url = rabbit://a:b@rpc:5672/\n[oslo_messaging_notifications]\ntransport_url = rabbit://n:m@notify1:5671,n:m@notify2:5671/\n[oslo_messaging_rabbit]\nssl = true\n');
  expect(s.transportUrl).toBe('rabbit://n:m@notify1:5671,n:m@notify2:5671/');
  expect(s.rabbit.ssl).toBe(true);
});

test('quorum queue arguments: limits only where set', () => {
  expect(queueArguments({ quorum: false, deliveryLimit: 5, maxMemoryLength: 1, maxMemoryBytes: 1 })).toEqual({});
  expect(queueArguments({ quorum: true, deliveryLimit: 0, maxMemoryLength: 0, maxMemoryBytes: 0 })).toEqual({ 'x-queue-type': 'quorum' });
  expect(queueArguments({ quorum: true, deliveryLimit: 5, maxMemoryLength: 10, maxMemoryBytes: 2048 })).toEqual({
    'x-queue-type': 'quorum', 'x-delivery-limit': 5, 'x-max-in-memory-length': 10, 'x-max-in-memory-bytes': 2048,
  });
  expect(parseInequivalent("PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'quorum' but current is 'classic'")).toEqual({
    arg: 'x-queue-type', received: 'quorum', current: 'classic',
  });
});
