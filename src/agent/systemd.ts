/**
 * systemd's notify protocol (Type=notify): readiness, watchdog pings, status and stopping. Node's
 * dgram has no Unix datagram sockets, so this goes through the native `sd-notify` addon; outside
 * systemd (no NOTIFY_SOCKET) every call is a no-op.
 *
 * sd-notify is built on NAN, so its compiled file only loads under the Node.js ABI it was built
 * for (and it links libsystemd). Under systemd a failed load is fatal at construction: an agent
 * that cannot say READY=1 would only be killed at TimeoutStartSec, long after the reason was lost.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

interface SdNotify {
  ready(): void;
  stopping(pid: number): void;
  watchdog(): void;
  watchdogInterval(): number;
  sendStatus(text: string): void;
  sendState(state: string): void;
}

/** NOTIFY_SOCKET is set but the sd-notify addon does not load: the message says how to fix it. */
export class SystemdNotifyUnavailableError extends Error {
  override readonly name = 'SystemdNotifyUnavailableError';
}

const requireHere = createRequire(import.meta.url);

function loadSdNotify(): unknown {
  return requireHere('sd-notify');
}

/** The addon's load error on one line, without Node's generic advice (ours replaces it). */
function causeOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // `bindings` lists every path it tried, one per line: the gist is that nothing was built.
  if (message.startsWith('Could not locate the bindings file')) return 'its compiled file (build/Release/notify.node) is missing';
  return message
    .replace(/\s+/g, ' ')
    .replace(/ ?Please try re-compiling or re-installing the module.*$/, '')
    .trim()
    .replace(/\.$/, '');
}

/** Where `npm rebuild sd-notify` is to be run: the directory whose node_modules holds it. */
function installDir(): string | null {
  try {
    const main = requireHere.resolve('sd-notify');
    const at = main.lastIndexOf(`${path.sep}node_modules${path.sep}`);
    return at > 0 ? main.slice(0, at) : null;
  } catch {
    return null;
  }
}

export function sdNotifyLoadError(err: unknown): SystemdNotifyUnavailableError {
  const cause = causeOf(err);
  // An official Node.js binary keeps its headers next to bin/ (DIR/bin/node, DIR/include/node);
  // Debian's /usr/bin/node has them in /usr/include/node (package libnode-dev).
  const nodeDir = path.dirname(path.dirname(process.execPath));
  const dir = installDir();
  const rebuild =
    `${dir ? `cd ${dir} && ` : ''}PATH=${path.dirname(process.execPath)}:$PATH npm_config_nodedir=${nodeDir} npm rebuild sd-notify`;
  const libsystemd = /libsystemd/.test(cause) ? 'install libsystemd (Debian: apt-get install libsystemd0), then ' : '';
  return new SystemdNotifyUnavailableError(
    `NOTIFY_SOCKET is set but systemd's notify addon sd-notify does not load under Node.js ${process.version} ` +
      `(${process.execPath}, NODE_MODULE_VERSION ${process.versions.modules}): ${cause}; ` +
      `${libsystemd}rebuild it for this Node.js (\`${rebuild}\`) or reinstall hwstash's packages with this Node.js`,
  );
}

export class Systemd {
  private readonly sd: SdNotify | null;
  private timer: NodeJS.Timeout | undefined;

  /**
   * Throws SystemdNotifyUnavailableError when NOTIFY_SOCKET is set and the addon does not load.
   * `load` is a seam for tests only: it injects a load failure the real addon cannot produce on
   * the machine running them (a missing libsystemd).
   */
  constructor(env: NodeJS.ProcessEnv = process.env, load: () => unknown = loadSdNotify) {
    if (!env['NOTIFY_SOCKET']) {
      this.sd = null;
      return;
    }
    try {
      this.sd = load() as SdNotify;
    } catch (err) {
      throw sdNotifyLoadError(err);
    }
  }

  ready(status: string): void {
    if (!this.sd) return;
    this.sd.sendStatus(status);
    this.sd.ready();
    // WatchdogSec= asks for a ping at least every interval; ping at half of it.
    const ms = this.sd.watchdogInterval();
    if (ms > 0) {
      this.timer = setInterval(() => this.sd?.watchdog(), Math.max(500, Math.floor(ms / 2)));
      this.timer.unref();
    }
  }

  status(text: string): void {
    this.sd?.sendStatus(text);
  }

  /**
   * Ask for more start-up time (systemd ≥ 236): a large host's first reconcile may outlast
   * TimeoutStartSec, and it is progress, not a hang. Called as the reconcile advances.
   */
  extendStartTimeout(seconds: number): void {
    this.sd?.sendState(`EXTEND_TIMEOUT_USEC=${Math.round(seconds * 1e6)}`);
  }

  stopping(status: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.sd) return;
    this.sd.sendStatus(status);
    this.sd.stopping(process.pid);
  }
}
