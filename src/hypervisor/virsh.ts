/**
 * Fills the binding's gaps: it has neither virConnectGetCapabilities nor
 * virConnectGetDomainCapabilities, so these two run `virsh` (libvirt-clients), which calls
 * exactly those functions on its own connection to the same URI. No shell is involved:
 * arguments go to execFile as a list, after the checks in arguments.ts.
 */
import { execFile } from 'node:child_process';
import { checkDomainCapabilitiesQuery, checkUri, type DomainCapabilitiesQuery } from './arguments.js';
import { HypervisorError, classifyLibvirtMessage } from './errors.js';

export interface VirshOutcome {
  /** null when the process was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs virsh with the given arguments. Rejects only when virsh could not be started. */
export type VirshRunner = (args: readonly string[]) => Promise<VirshOutcome>;

export interface ExecFileVirshOptions {
  /** Path or name of the virsh binary; default `virsh` from PATH. */
  binary?: string;
  /** Kill virsh after this long; QEMU's capability probe alone can take seconds. Default 120 s. */
  timeoutMs?: number;
}

export function execFileVirsh(opts: ExecFileVirshOptions = {}): VirshRunner {
  const binary = opts.binary ?? 'virsh';
  const timeout = opts.timeoutMs ?? 120_000;
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(
        binary,
        [...args],
        {
          // The classification in errors.ts reads libvirt's English messages.
          env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
          timeout,
          killSignal: 'SIGKILL',
          maxBuffer: 32 * 1024 * 1024,
          encoding: 'utf8',
        },
        (err, stdout, stderr) => {
          if (err === null) {
            resolve({ exitCode: 0, signal: null, stdout, stderr });
            return;
          }
          const e = err as NodeJS.ErrnoException & { code?: unknown; signal?: string | null; killed?: boolean };
          if (typeof e.code === 'number' || e.signal) {
            resolve({
              exitCode: typeof e.code === 'number' ? e.code : null,
              signal: e.signal ?? null,
              stdout,
              stderr,
            });
            return;
          }
          reject(err);
        },
      );
    });
}

/** libvirt's own message: virsh prints a context line first ("error: failed to get …"). */
function lastErrorLine(stderr: string): string | null {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('error: '));
  const last = lines[lines.length - 1];
  return last === undefined ? null : last.slice('error: '.length);
}

/** `rootElement` null: plain text output (`virsh version`), returned as printed. */
export async function runVirsh(runner: VirshRunner, op: string, args: readonly string[], rootElement: string | null): Promise<string> {
  let outcome: VirshOutcome;
  try {
    outcome = await runner(args);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'virsh was not found (install libvirt-clients)' : `virsh could not be started: ${String(e)}`;
    throw new HypervisorError('other', op, why, { cause: e });
  }
  if (outcome.exitCode !== 0) {
    if (outcome.exitCode === null) {
      throw new HypervisorError('other', op, `virsh was killed by ${outcome.signal ?? 'a signal'} (timed out?)`);
    }
    const message = lastErrorLine(outcome.stderr) ?? (outcome.stderr.trim() || `virsh exited with status ${outcome.exitCode}`);
    throw new HypervisorError(classifyLibvirtMessage(message), op, message);
  }
  const xml = outcome.stdout.trim();
  if (rootElement === null) return xml;
  if (!xml.startsWith(`<${rootElement}`)) {
    throw new HypervisorError('other', op, `virsh printed no <${rootElement}> document`);
  }
  return xml;
}

export function capabilitiesArgs(uri: string): string[] {
  return ['-c', checkUri('capabilities', uri), 'capabilities'];
}

export function versionArgs(uri: string): string[] {
  return ['-c', checkUri('version', uri), 'version'];
}

export interface Versions {
  /** The libvirt library the daemon runs, e.g. `9.0.0`. */
  libvirt: string | null;
  /** The running hypervisor, e.g. `QEMU 7.2.22` (`TEST 0.0.2` for the test driver). */
  hypervisor: string | null;
}

/** `virsh version`'s "Using library: libvirt X" and "Running hypervisor: NAME Y" lines. */
export function parseVersion(text: string): Versions {
  const library = /^Using library: libvirt (\S+)/m.exec(text);
  const hypervisor = /^Running hypervisor: (.+)$/m.exec(text);
  return { libvirt: library?.[1] ?? null, hypervisor: hypervisor?.[1]?.trim() ?? null };
}

export function domainCapabilitiesArgs(uri: string, query: DomainCapabilitiesQuery): string[] {
  const q = checkDomainCapabilitiesQuery('domainCapabilities', query);
  const args = ['-c', checkUri('domainCapabilities', uri), 'domcapabilities', '--virttype', q.virtType, '--arch', q.arch];
  if (q.machine !== undefined) args.push('--machine', q.machine);
  if (q.emulator !== undefined) args.push('--emulatorbin', q.emulator);
  return args;
}
