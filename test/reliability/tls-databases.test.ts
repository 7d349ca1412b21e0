/**
 * hwstash over TLS, on a MariaDB and a PostgreSQL of the test's own that admit hwstash's user over
 * TLS only (MariaDB: REQUIRE SSL; PostgreSQL: hostssl, plain rejected), with a CA made by openssl:
 * the CLI's stash (reconcile) and set, and the agent (its start-up reconcile and an event), work
 * with nova.conf-style TLS parameters, and the session is encrypted (asked of the server); the same
 * URL without them is refused by the server; a wrong CA, a missing CA file and a server that
 * cannot be verified are clear errors naming host, CA and reason, never a plain-text retry.
 * The servers run on free ports with their own data directories and are removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from '../../src/agent/agent.js';
import { encodeNotification, instancePayload } from '../../src/bus/envelope.js';
import { loadSettings } from '../../src/config/load.js';
import { hostProfileFromSettings } from '../../src/config/profile.js';
import { Store } from '../../src/store/index.js';
import { DatabaseTlsError } from '../../src/store/errors.js';
import { insertInstances } from '../../src/store/seed.js';
import { LogCapture, osinfo, uniqueHost, waitFor, writeConf } from '../agent/helpers/harness.js';
import { TestBroker, testNames } from '../bus/helpers/rabbit.js';
import { configText, run } from '../cli/helpers.js';
import { makePki, startMariadb, startPostgres, type Pki, type TlsServer } from './helpers/tls-servers.js';

const HW_KEYS = 11;

describe.each([
  ['mariadb', startMariadb, '?charset=utf8&ssl_ca=', 'mysql'],
  ['postgres', startPostgres, '?sslmode=verify-full&sslrootcert=', 'postgres'],
] as const)('%s requiring TLS', (name, start, tlsQuery, scheme) => {
  let top: string;
  let pki: Pki;
  let server: TlsServer;
  let tlsUrl: string;
  const host = uniqueHost();
  const conf = (url: string, tag: string) => {
    const file = path.join(top, `${tag}.conf`);
    fs.writeFileSync(file, configText(url, path.join(top, 'state'), { host }).replace(/^connection = .*$/m, 'connection =') + `database_connection = ${url}\n`, { mode: 0o600 });
    return file;
  };

  beforeAll(async () => {
    top = fs.mkdtempSync(path.join(os.tmpdir(), `hwstash-tls-${name}-`));
    // PostgreSQL runs as the postgres account: it must reach its directory.
    fs.chmodSync(top, 0o711);
    pki = await makePki(path.join(top, 'pki'));
    server = await start(path.join(top, name), pki);
    tlsUrl = server.url(tlsQuery + pki.ca);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(top, { recursive: true, force: true });
  });

  test('the session is encrypted, and the server refuses the same user in plain text', async () => {
    const store = await Store.open(tlsUrl);
    try {
      if (scheme === 'mysql') {
        const row = await store.db.sequelize.query("SHOW SESSION STATUS LIKE 'Ssl_version'", { plain: true });
        expect(String(row!['Value'])).toMatch(/^TLSv1\.[23]$/);
      } else {
        const row = await store.db.sequelize.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()', { plain: true });
        expect(row).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
      }
    } finally {
      await store.close();
    }
    const plain = await run(['--config-file', conf(server.url(scheme === 'mysql' ? '?charset=utf8' : ''), 'plain'), 'db', 'status']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(scheme === 'mysql' ? /Access denied for user 'hwstash_tls'/ : /pg_hba\.conf rejects connection .*no encryption|no encryption/);
  });

  test('CLI over TLS: schema, migrate, reconcile stashes every instance, set changes a stopped one', async () => {
    const file = conf(tlsUrl, 'tls');
    expect(await run(['--config-file', file, 'db', 'init-nova-schema'])).toMatchObject({ code: 0 });
    expect(await run(['--config-file', file, 'db', 'migrate'])).toMatchObject({ code: 0 });
    const store = await Store.open(tlsUrl);
    let uuids: string[];
    try {
      uuids = await insertInstances(store, [
        { host, vmState: 'stopped', imageProperties: { os_distro: 'win10' } },
        { host, vmState: 'active' },
        { host, vmState: 'active', imageProperties: { hw_video_model: 'cirrus' } },
      ]);
    } finally {
      await store.close();
    }
    const rec = await run(['--config-file', file, 'reconcile', '--format', 'json']);
    expect(rec.stderr).toBe('');
    expect(rec.code).toBe(0);
    const set = await run(['--config-file', file, 'image-property', 'set', uuids[0]!, '--property', 'hw_video_model=vga', '--skip-host-check', '--reason', 'tls test']);
    expect(set.code).toBe(0);
    expect(set.stderr).not.toMatch(/error|TLS/i);
    expect(await run(['--config-file', file, 'image-property', 'show', uuids[0]!, 'hw_video_model'])).toMatchObject({ code: 0, stdout: 'vga\n' });

    const check = await Store.open(tlsUrl);
    try {
      for (const uuid of uuids) {
        const rows = (await check.systemMetadata(uuid)).filter((r) => r.key.startsWith('image_hw_'));
        expect(rows).toHaveLength(HW_KEYS);
      }
      expect((await check.systemMetadata(uuids[2]!)).find((r) => r.key === 'image_hw_video_model')!.value).toBe('cirrus');
    } finally {
      await check.close();
    }
  });

  test('the agent over TLS: its start-up reconcile and an instance.create.end stash', async () => {
    const names = testNames();
    const dir = fs.mkdtempSync(path.join(top, 'agent-'));
    const agentHost = uniqueHost();
    // Opened first: a failure here leaves no broker connection behind to keep jest alive.
    const store = await Store.open(tlsUrl);
    const broker = await TestBroker.open().catch(async (err) => {
      await store.close();
      throw err;
    });
    const logs = new LogCapture();
    let agent: Agent | null = null;
    try {
      await broker.declareNovaExchange(names.exchange);
      const [early] = await insertInstances(store, [{ host: agentHost, vmState: 'active' }]);
      const confFile = writeConf(dir, { host: agentHost, names, databaseUrl: tlsUrl });
      const settings = loadSettings({ configFiles: [confFile], env: {} }).settings;
      agent = new Agent({ settings, profile: hostProfileFromSettings(settings), osinfo: await osinfo(), logger: logs.logger('debug') });
      await agent.start();
      expect((await store.systemMetadata(early!)).filter((r) => r.key.startsWith('image_hw_'))).toHaveLength(HW_KEYS);

      await waitFor(() => logs.find('consuming').length > 0, 15_000, 'the agent to consume');
      const [late] = await insertInstances(store, [{ host: agentHost, vmState: 'active' }]);
      const encoded = encodeNotification({
        eventType: 'instance.create.end',
        publisherId: `nova-compute:${agentHost}`,
        payload: instancePayload({ uuid: late!, host: agentHost, state: 'active', powerState: 'running', taskState: null }),
      });
      broker.publish(names.exchange, 'versioned_notifications.info', encoded.body);
      await waitFor(async () => (await store.systemMetadata(late!)).filter((r) => r.key.startsWith('image_hw_')).length === HW_KEYS, 30_000, 'the event to be stashed');
      // Never a word of the password or the key in the logs.
      const text = JSON.stringify(logs.lines);
      expect(text).not.toContain('tls-s3cret');
      expect(text).not.toContain('PRIVATE KEY');
    } finally {
      await agent?.stop('test done').catch(() => undefined);
      await store.close();
      await broker.cleanup(names).catch(() => undefined);
      await broker.close();
    }
  });

  test('a wrong CA fails clearly, naming host, CA file and why; no plain-text retry', async () => {
    const wrong = server.url(tlsQuery + pki.wrongCa);
    const where = `${scheme}://127.0.0.1:${server.port}/nova_tls`;
    await expect(Store.open(wrong)).rejects.toThrow(DatabaseTlsError);
    const r = await run(['--config-file', conf(wrong, 'wrong-ca'), 'db', 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`TLS to the database at ${where} failed: the server's certificate is not signed by the trusted CA (CA file ${pki.wrongCa};`);
    expect(r.stderr).not.toContain('tls-s3cret');
    process.stdout.write(`${name} wrong CA: ${r.stderr}`);

    const missing = server.url(tlsQuery + path.join(top, 'no-such-ca.pem'));
    const m = await run(['--config-file', conf(missing, 'missing-ca'), 'db', 'status']);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(`cannot read ${scheme === 'mysql' ? 'ssl_ca' : 'sslrootcert'} file ${path.join(top, 'no-such-ca.pem')}: no such file`);
    process.stdout.write(`${name} missing CA: ${m.stderr}`);
  });

  test('a certificate that does not name the host connected to fails clearly', async () => {
    // The server's certificate names 127.0.0.1 and localhost; 127.0.0.2 reaches the same server.
    const other = server.url(tlsQuery + pki.ca).replace('@127.0.0.1:', '@127.0.0.2:');
    const r = await run(['--config-file', conf(other, 'other-host'), 'db', 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`TLS to the database at ${scheme}://127.0.0.2:${server.port}/nova_tls failed: the server's certificate does not name this host (CA file ${pki.ca};`);
    process.stdout.write(`${name} other host: ${r.stderr}`);
    // The same with the host name check off (ssl_verify_identity=false / verify-ca) connects.
    const relaxed = scheme === 'mysql' ? `${other}&ssl_verify_identity=false` : other.replace('verify-full', 'verify-ca');
    expect(await run(['--config-file', conf(relaxed, 'other-host-relaxed'), 'db', 'status', '--format', 'json'])).toMatchObject({ code: 0 });
  });

  test('the agent does not start on a wrong CA: it retries within [database] max_retries and says why', async () => {
    const names = testNames();
    const dir = fs.mkdtempSync(path.join(top, 'agent-wrong-'));
    const confFile = writeConf(dir, { host: uniqueHost(), names, databaseUrl: server.url(tlsQuery + pki.wrongCa) });
    fs.appendFileSync(confFile, '\n[database]\nmax_retries = 1\nretry_interval = 1\n');
    const settings = loadSettings({ configFiles: [confFile], env: {} }).settings;
    const logs = new LogCapture();
    const agent = new Agent({ settings, profile: hostProfileFromSettings(settings), osinfo: await osinfo(), logger: logs.logger('debug') });
    await expect(agent.start()).rejects.toThrow(/TLS to the database at .* failed: the server's certificate is not signed by the trusted CA .*gave up after 1 retries: \[database\] max_retries = 1/);
    expect(logs.find('database unreachable at start; retrying')).toHaveLength(1);
    await agent.stop('test done').catch(() => undefined);
  });
});
