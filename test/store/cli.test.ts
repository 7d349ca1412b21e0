/**
 * `hwstash db` and `hwstash reconcile` end to end through runCli, with a temp config file
 * pointing at a SQLite database, as an operator would run them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { Store } from '../../src/store/index.js';
import { propertyRows, seedInstance } from './seed.js';

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(argv: string[], terminal = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  stderr.isTTY = terminal;
  const code = await runCli(argv, { stdout, stderr, stdin: new PassThrough(), env: { USER: 'tester' } });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('hwstash db and hwstash reconcile', () => {
  let dir: string;
  let config: string;
  let dbFile: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-cli-'));
    dbFile = path.join(dir, 'nova.sqlite');
    config = path.join(dir, 'hwstash.conf');
    fs.writeFileSync(
      config,
      `[DEFAULT]\nhost = cli-host\n\n[database]\nconnection = sqlite:///${dbFile}\n\n[libvirt]\nvirt_type = kvm\n\n[notifications]\nnotification_format = versioned\n\n[oslo_messaging_notifications]\ndriver = messagingv2\n\n[hwstash]\nstate_dir = ${dir}\nhost_arch = x86_64\nbatch_size = 2\n`,
      { mode: 0o600 },
    );
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => run(['--config-file', config, ...args]);

  test('db status, init-nova-schema and migrate', async () => {
    const before = await cli('db', 'status', '--format', 'json');
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({
      schemaVersion: null,
      pending: [1, 2, 3],
      novaTables: { instances: false, instance_system_metadata: false },
    });

    expect(await cli('db', 'init-nova-schema')).toMatchObject({ code: 0, stdout: 'created Nova table(s): instances, instance_system_metadata, instance_actions, block_device_mapping\n' });
    expect((await cli('db', 'init-nova-schema')).stdout).toContain('already present');
    expect(await cli('db', 'migrate')).toMatchObject({ code: 0, stdout: "applied migration(s) 1, 2, 3; hwstash schema is at version 3, its tables in the same SQLite file as Nova's tables\n" });
    expect(await cli('db', 'migrate')).toMatchObject({ code: 0, stdout: "hwstash schema is up to date (version 3, its tables in the same SQLite file as Nova's tables)\n" });

    const after = await cli('db', 'status', '--format', 'table');
    expect(after.stdout).toMatch(/hwstash schema version\s*│\s*3/);
    expect(after.stdout).toMatch(/Nova table instances\s*│\s*present/);
  });

  test('reconcile: dry run, then for real, then nothing left', async () => {
    const store = await Store.open(`sqlite:///${dbFile}`);
    let uuids: string[];
    try {
      uuids = [
        await seedInstance(store, { host: 'cli-host', sysmeta: { image_os_distro: 'win10' } }),
        await seedInstance(store, { host: 'cli-host', sysmeta: { image_hw_vif_model: 'VirtualE1000' } }),
        await seedInstance(store, { host: 'cli-host' }),
        await seedInstance(store, { host: 'other-host' }),
      ];
    } finally {
      await store.close();
    }

    const dry = await cli('reconcile', '--dry-run', '--format', 'json');
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan).toMatchObject({ host: 'cli-host', dryRun: true, instancesSeen: 3, instancesStashed: 3, propertiesStashed: 32 });
    expect(plan.rows).toContainEqual({ instanceUuid: uuids[0], key: 'image_hw_vif_model', value: 'e1000', source: 'osinfo' });

    const check = await Store.open(`sqlite:///${dbFile}`);
    try {
      expect(await propertyRows(check, uuids[0]!)).toEqual([]);

      const real = await cli('reconcile', '--format', 'json');
      expect(real.code).toBe(0);
      const summary = JSON.parse(real.stdout);
      expect(summary).toMatchObject({ host: 'cli-host', dryRun: false, instancesSeen: 3, instancesStashed: 3, propertiesStashed: 32, errors: [], badStoredValues: [] });
      // win10: the VIF model from libosinfo; tablet and its bus from [DEFAULT] pointer_model; the rest driver defaults.
      expect(summary.stashedBySource).toEqual({ driver: 25, config: 6, osinfo: 1 });
      expect(summary.rows).toBeUndefined();
      expect(await propertyRows(check, uuids[0]!)).toHaveLength(11);
      expect(await propertyRows(check, uuids[3]!)).toEqual([]);
      const history = await check.history(uuids[2]!);
      expect(history).toHaveLength(11);
      expect(history[0]!.actor).toBe('tester (hwstash reconcile)');
    } finally {
      await check.close();
    }

    // On a terminal, a progress bar on stderr; the summary on stdout.
    const table = await run(['--config-file', config, 'reconcile', '--format', 'table'], true);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('host cli-host: 3 instance(s) seen, 0 stashed, 3 already complete');
    expect(table.stderr).toContain('3/3 instances | 0 properties stashed');
    expect((await cli('reconcile', '--format', 'table')).stderr).not.toContain('instances |');
  });

  test('reconcile reports what it cannot stash and exits 1; an unknown instance exits 2', async () => {
    const store = await Store.open(`sqlite:///${dbFile}`);
    let bad: string;
    try {
      bad = await seedInstance(store, { host: 'cli-host', sysmeta: { image_hw_video_model: 'VIRTIO' } });
    } finally {
      await store.close();
    }
    const out = await cli('reconcile', '--instance', bad, '--format', 'table');
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('stored values Nova cannot load');
    expect(out.stdout).toContain('image_hw_video_model');
    expect(out.stdout).toMatch(/hw_disk_bus\s*│\s*ValueError\s*│\s*1/);

    const missing = await cli('reconcile', '--instance', '5d1e6a52-43a4-4cf5-8f26-93c61d8c3a0e');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('instance 5d1e6a52-43a4-4cf5-8f26-93c61d8c3a0e not found on host cli-host');

    // Nova stores uuids 8-4-4-4-12: another spelling is refused as such, not "not found".
    const unhyphenated = await cli('reconcile', '--instance', bad.replaceAll('-', ''));
    expect(unhyphenated.code).toBe(1);
    expect(unhyphenated.stderr).toContain('is not an instance uuid (expected the 8-4-4-4-12 hexadecimal form)');
    const upper = await cli('reconcile', '--instance', bad.toUpperCase(), '--dry-run');
    expect(upper.stdout).toContain(bad);
  });

  test("a database without Nova's tables: what to run, exit 1", async () => {
    const conf = path.join(dir, 'empty.conf');
    fs.writeFileSync(conf, `[DEFAULT]\nhost = cli-host\n\n[database]\nconnection = sqlite:///${path.join(dir, 'empty.sqlite')}\n`, { mode: 0o600 });
    const out = await run(['--config-file', conf, 'reconcile', '--format', 'json']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`hwstash: table instances does not exist in the database at sqlite:///${path.join(dir, 'empty.sqlite')}: `);
    expect(out.stderr).toContain('hwstash db init-nova-schema');
    expect(out.stdout).toBe('');
  });

  test('an unreachable database: one line naming the host, no password, no stack', async () => {
    const conf = path.join(dir, 'unreachable.conf');
    fs.writeFileSync(conf, '[database]\nconnection = mysql+pymysql://nova:TopSecret42@127.0.0.1:1/nova?charset=utf8\n', { mode: 0o600 });
    for (const argv of [['db', 'status'], ['reconcile', '--host', 'h1']]) {
      const out = await run(['--config-file', conf, ...argv]);
      expect(out.code).toBe(1);
      // Configuration warnings may come first; the error is one line, with no stack.
      const lines = out.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('hwstash: warning:'));
      expect(lines).toHaveLength(1);
      expect(`${lines[0]}\n`).toMatch(/^hwstash: cannot connect to the database at mysql:\/\/127\.0\.0\.1:1\/nova: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
      expect(out.stderr + out.stdout).not.toContain('TopSecret42');
    }
  });
});
