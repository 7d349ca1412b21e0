/**
 * The shipped units' hardening as systemd itself rates it (`systemd-analyze security`, offline:
 * no systemd needed as PID 1). systemd's scale, from its source (analyze-security.c): exposure
 * 0.0 PERFECT, below 1.0 SAFE, below 5.0 OK, below 7.5 MEDIUM, below 9.0 EXPOSED, below 10.0
 * UNSAFE, 10.0 DANGEROUS. Each unit must rate OK or better.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findOption } from '../../src/config/options.js';
import { REPO } from '../agent/helpers/cli.js';

const run = promisify(execFile);
const UNIT = path.join(REPO, 'systemd/hwstash-agent.service');
const GOOD_ENOUGH = ['PERFECT', 'SAFE', 'OK'];

test.each(['hwstash-agent.service', 'hwstash-reconcile.service'])('systemd-analyze security rates %s OK or better', async (name) => {
  // Its exit status is the exposure level when over a threshold; the output is what matters.
  const out = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', path.join(REPO, 'systemd', name)], { timeout: 60_000 }).catch(
    (err: { stdout?: string; code?: unknown; message: string }) => {
      if (err.code === 'ENOENT') throw new Error('systemd-analyze is not installed (Debian package systemd): the unit cannot be rated');
      return { stdout: err.stdout ?? '', stderr: '' };
    },
  );
  const line = out.stdout.split('\n').find((l) => l.includes('Overall exposure level'));
  expect(line).toBeDefined();
  const m = /Overall exposure level for (\S+): (\d+(?:\.\d+)?) (\w+)/.exec(line!);
  expect(m).not.toBeNull();
  const [, unit, exposure, rating] = m!;
  // What it still allows, each with systemd's weight: the network (RabbitMQ, the database),
  // local sockets (libvirt) and W^X (V8 compiles to machine code).
  const allowed = out.stdout
    .split('\n')
    .filter((l) => l.startsWith('✗'))
    .map((l) => l.replace(/^✗\s+(\S+)\s.*?(\d+\.\d+)\s*$/, '$1 $2'));
  console.log(`SECURITY systemd unit: ${line!.replace(/^→\s*/, '').trim()}; not restricted: ${allowed.join(', ')}`);
  expect(unit).toBe(name);
  expect(GOOD_ENOUGH).toContain(rating);
  expect(Number(exposure)).toBeLessThan(5);
}, 60_000);

test("TimeoutStopSec leaves room for the agent's own drain and hard stop", () => {
  // The agent drains for [hwstash] shutdown_timeout, then exits by itself at most 10 s later; a
  // systemd SIGKILL at or before that would cut the drain's last commits and the clean close.
  const unit = readFileSync(UNIT, 'utf8');
  const m = /^TimeoutStopSec=(\d+)s?$/m.exec(unit);
  expect(m).not.toBeNull();
  const shutdownTimeout = findOption('hwstash', 'shutdown_timeout')!.default as number;
  expect(Number(m![1])).toBeGreaterThan(shutdownTimeout + 10);
});
