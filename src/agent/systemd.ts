/**
 * systemd's notify protocol (Type=notify): readiness, watchdog pings, status and stopping. Node's
 * dgram has no Unix datagram sockets, so this goes through the native `sd-notify` addon; outside
 * systemd (no NOTIFY_SOCKET) every call is a no-op.
 */
import { createRequire } from 'node:module';

interface SdNotify {
  ready(): void;
  stopping(pid: number): void;
  watchdog(): void;
  watchdogInterval(): number;
  sendStatus(text: string): void;
  sendState(state: string): void;
}

export class Systemd {
  private readonly sd: SdNotify | null;
  private timer: NodeJS.Timeout | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.sd = env['NOTIFY_SOCKET'] ? (createRequire(import.meta.url)('sd-notify') as SdNotify) : null;
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
