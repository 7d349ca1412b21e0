/**
 * The container image, built with podman from the project's Dockerfile on a Debian 12 base made
 * here (no registry is reachable): `hwstash --help` works in it, it runs as Kolla's nova account,
 * and `hwstash agent` runs against this machine's MariaDB and RabbitMQ with /etc/nova and
 * /run/libvirt mounted, then drains on `podman stop`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../agent/helpers/cli.js';
import { Store } from '../../src/store/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { createTestDatabase, type TestDatabase } from '../store/databases.js';
import { agentConfig, cleanTree, debPackage } from './container.js';

const execP = promisify(execFile);
const BASE = 'localhost/hwstash-base:bookworm';
const IMAGE = `localhost/hwstash-test:${randomBytes(4).toString('hex')}`;
const NAME = `hwstash-test-${randomBytes(4).toString('hex')}`;
const HOST = `img-${randomBytes(3).toString('hex')}`;
const KOLLA_NOVA_UID = 42436;
// crun refuses this kernel's cgroups; runc and these limits are what podman needs here.
const RUNTIME = ['--runtime', 'runc', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];
const figure = (what: string, value: string) => console.log(`PACKAGE ${what}: ${value}`);

async function podman(args: string[], timeout = 900_000): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await execP('podman', args, { timeout, maxBuffer: 1 << 26 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 255, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

let ctx: string;
let db: TestDatabase;

beforeAll(async () => {
  if ((await podman(['image', 'exists', BASE])).code !== 0) {
    // The base: the clean Debian 12 tree, imported (what `FROM debian:bookworm-slim` would give).
    const tree = await cleanTree();
    await execP('sh', ['-c', `tar -C '${tree}' -c . | podman import - ${BASE}`], { timeout: 600_000, maxBuffer: 1 << 26 });
  }
  // A build context with the Dockerfile and exactly one package.
  ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-image-'));
  fs.mkdirSync(path.join(ctx, 'build/deb'), { recursive: true });
  const deb = await debPackage();
  fs.copyFileSync(deb, path.join(ctx, 'build/deb', path.basename(deb)));
  fs.copyFileSync(path.join(REPO, 'Dockerfile'), path.join(ctx, 'Dockerfile'));
  fs.copyFileSync(path.join(REPO, '.dockerignore'), path.join(ctx, '.dockerignore'));
  db = await createTestDatabase('mariadb');
}, 1_200_000);

afterAll(async () => {
  await podman(['rm', '-f', NAME]);
  await podman(['rmi', '-f', IMAGE]);
  await db?.drop();
  if (ctx) fs.rmSync(ctx, { recursive: true, force: true });
  for (const q of [`hwstash.${HOST}`, `hwstash.${HOST}.dead`]) await execP('rabbitmqctl', ['-q', 'delete_queue', q]).catch(() => undefined);
}, 120_000);

test('podman builds the Dockerfile from a local base; --help works; it runs as nova', async () => {
  const started = Date.now();
  const built = await podman(
    ['build', ...RUNTIME, '--network=host', '--build-arg', `BASE=${BASE}`, '-t', IMAGE, ctx],
    1_200_000,
  );
  expect({ code: built.code, out: built.code === 0 ? '' : built.out.slice(-3000) }).toEqual({ code: 0, out: '' });
  const size = Number((await podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).out.trim());
  figure('image build time', `${((Date.now() - started) / 1000).toFixed(0)} s`);
  figure('image size', `${(size / 1048576).toFixed(0)} MiB (its Debian 12 base: ${(Number((await podman(['image', 'inspect', '--format', '{{.Size}}', BASE])).out.trim()) / 1048576).toFixed(0)} MiB)`);

  const help = await podman(['run', '--rm', ...RUNTIME, IMAGE, '--help']);
  expect(help.code).toBe(0);
  expect(help.out).toContain('image-property');
  const id = await podman(['run', '--rm', ...RUNTIME, '--entrypoint', 'id', IMAGE]);
  expect(id.out.trim()).toMatch(new RegExp(`^uid=${KOLLA_NOVA_UID}\\(nova\\) gid=${KOLLA_NOVA_UID}\\(nova\\)`));
}, 1_500_000);

test('the image runs the agent with /etc/nova and /run/libvirt mounted, and drains on podman stop', async () => {
  const store = await Store.open(db.url);
  try {
    await store.initNovaSchema();
    await insertInstances(store, [{ host: HOST, vmState: 'active', displayName: 'img-0', imageProperties: { os_distro: 'win10' } }]);
  } finally {
    await store.close();
  }
  const etcNova = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-etc-nova-'));
  fs.writeFileSync(path.join(etcNova, 'nova.conf'), agentConfig(HOST, db.url), { mode: 0o640 });
  fs.chownSync(path.join(etcNova, 'nova.conf'), 0, KOLLA_NOVA_UID);
  fs.chmodSync(etcNova, 0o755);
  try {
    const started = await podman(['run', '-d', '--name', NAME, ...RUNTIME, '--network', 'host', '-v', `${etcNova}:/etc/nova:ro`, '-v', '/run/libvirt:/run/libvirt', IMAGE, 'agent']);
    expect(started).toMatchObject({ code: 0 });
    const until = Date.now() + 60_000;
    let logs = '';
    while (!logs.includes('"msg":"hwstash agent ready"')) {
      logs = (await podman(['logs', NAME])).out;
      if (Date.now() > until) throw new Error(`agent not ready in the container: ${logs.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(logs).toMatch(/"msg":"reconcile done".*|"instances_stashed":1/);
    expect((await podman(['stop', '-t', '40', NAME])).code).toBe(0);
    expect((await podman(['inspect', '--format', '{{.State.ExitCode}}', NAME])).out.trim()).toBe('0');
    expect((await podman(['logs', NAME])).out).toContain('"drained":true');
  } finally {
    fs.rmSync(etcNova, { recursive: true, force: true });
  }
}, 300_000);
