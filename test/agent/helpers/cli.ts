/**
 * The real `hwstash` command in a child process: `node bin/hwstash.js`, which runs the compiled
 * CLI in dist/. The build runs once per test run (whichever test file gets there first; the
 * others wait on a lock directory) and only when a source file is newer than the build, so the
 * tests exercise the very files an operator installs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BUILT_MAIN = path.join(REPO, 'dist/src/cli/main.js');
const LOCK = path.join(REPO, 'dist/.test-build-lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  if (!fs.existsSync(BUILT_MAIN)) return false;
  return fs.statSync(BUILT_MAIN).mtimeMs >= newestSource(path.join(REPO, 'src'));
}

/** `npm run build` (tsc -p tsconfig.build.json) unless dist/ is newer than src/. */
export async function ensureBuilt(): Promise<void> {
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A build left behind by a killed run: take it over.
      if (Date.now() - fs.statSync(LOCK).mtimeMs > 180_000) fs.rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for ${LOCK}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (upToDate()) return;
    // tsc writes every file it can even when some other file has a type error; the CLI only
    // needs its own files, so a failure elsewhere is reported, not fatal.
    const tsc = path.join(REPO, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO, timeout: 170_000 }).catch((err: { stdout?: string }) => {
      if (!fs.existsSync(BUILT_MAIN)) throw err;
      process.stderr.write(`hwstash test build: tsc reported errors, using what it emitted:\n${err.stdout ?? ''}\n`);
    });
    // Every output is touched so that a rebuild that emitted nothing new still counts as fresh.
    const now = new Date();
    fs.utimesSync(BUILT_MAIN, now, now);
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** A running `hwstash agent`, its JSON log lines (stdout) and its stderr. */
export class AgentProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  private partial = '';

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const text = this.partial + chunk;
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line.trim() === '') continue;
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line, unparsed: true });
        }
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  }

  static spawn(args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/hwstash.js'), ...args], {
      cwd: REPO,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new AgentProcess(child);
  }

  find(msg: string): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l['msg'] === msg);
  }

  /** Resolves with the first log line with this message; rejects if the process exits first. */
  async waitForLog(msg: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const hit = this.find(msg)[0];
      if (hit) return hit;
      if (exited) throw new Error(`hwstash exited before logging ${JSON.stringify(msg)}; stderr: ${this.stderr}; last lines: ${JSON.stringify(this.lines.slice(-5))}`);
      if (Date.now() > until) throw new Error(`no ${JSON.stringify(msg)} within ${timeoutMs} ms; stderr: ${this.stderr}; last lines: ${JSON.stringify(this.lines.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  get metricsUrl(): string {
    const line = this.find('health and metrics listening')[0];
    if (!line) throw new Error('the agent has not said where it listens');
    return String(line['url']);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
