/**
 * The operator commands read configuration as the agent does, and refuse a configuration file
 * holding a password that others may read, saying how to fix it; their help shows examples.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configText, run } from './helpers.js';

describe('configuration', () => {
  let dir: string;
  let files = 0;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-cli-conf-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['image-property', 'list', '00000000-0000-4000-8000-000000000000'],
    ['image-property', 'set', '00000000-0000-4000-8000-000000000000', '--property', 'hw_disk_bus=virtio'],
    ['drift'],
    ['domain', 'diff', '00000000-0000-4000-8000-000000000000'],
  ])('a world-readable file with a database password is refused: %j', async (...args) => {
    const file = path.join(dir, `creds-${++files}.conf`);
    fs.writeFileSync(file, configText('mysql+pymysql://nova:s3cr3t-pw@127.0.0.1:3306/nova', dir));
    fs.chmodSync(file, 0o644);
    const r = await run(['--config-file', file, ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file} holds credentials and is readable by others (mode 0644)`);
    expect(r.stderr).toContain(`chmod o-r ${file}`);
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw');

    fs.chmodSync(file, 0o640);
    const fixed = await run(['--config-file', file, ...args]);
    // Now it reads on, and fails only where the (absent) database is: never showing the password.
    expect(fixed.stderr).not.toContain('readable by others');
    expect(fixed.stderr + fixed.stdout).not.toContain('s3cr3t-pw');
  }, 60_000);
});

describe('help shows examples', () => {
  test.each([
    [['image-property', '--help'], ['hwstash image-property set', '--all --where hw_video_model=cirrus', 'Exit status']],
    [['image-property', 'set', '--help'], ['Examples:', '--dry-run', '--skip-host-check', '--force']],
    [['image-property', 'revert', '--help'], ['Examples:', '--to 42']],
    [['drift', '--help'], ['Examples:', 'hwstash drift --host compute-7']],
    [['domain', '--help'], ['Examples:', 'hwstash domain sync']],
    [['domain', 'diff', '--help'], ['Examples:', 'Exit status']],
    [['defaults', '--help'], ['Examples:', 'Exit status']],
    [['db', 'migrate', '--help'], ['Exit status']],
    [['db', 'status', '--help'], ['Exit status']],
  ])('%j', async (args, wanted) => {
    const r = await run(args);
    expect(r.code).toBe(0);
    for (const text of wanted) expect(r.stdout).toContain(text);
  });
});

describe('a command line without a command', () => {
  test.each([[[]], [['image-property']], [['db']], [['domain']]])('%j shows the help on stderr and exits 1', async (args) => {
    const r = await run(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Usage: hwstash');
    expect(r.stdout).toBe('');
  });

  test('--help asked for: exit 0', async () => {
    expect((await run(['--help'])).code).toBe(0);
    expect((await run(['image-property', '--help'])).code).toBe(0);
  });
});
