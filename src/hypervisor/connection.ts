/**
 * One libvirt connection through the binding, re-opened when the daemon goes away.
 *
 * The binding's native close does not forget its pointer, so a binding object is never used
 * after its close; and calls still in flight keep using the connection they started on, so a
 * replaced connection is closed only once the last of them has returned.
 */
import { Hypervisor as Binding } from '@unraid/libvirt';
import type { Logger } from 'pino';
import { redactUrl } from '../config/redact.js';
import { HypervisorError, toHypervisorError } from './errors.js';

/** `retry`: safe to run twice (reads, and a destroy that tolerates a stopped domain). */
export type RetryMode = 'retry' | 'report';

interface Handle {
  binding: Binding;
  generation: number;
  inFlight: number;
  retired: boolean;
}

export class Connection {
  private handle: Handle | null;
  private generation: number;
  private reopening: Promise<void> | null = null;
  private closed = false;

  private constructor(
    readonly uri: string,
    first: Handle,
    private readonly log: Logger | undefined,
    private readonly onReopen: () => void,
  ) {
    this.handle = first;
    this.generation = first.generation;
  }

  static async open(uri: string, log: Logger | undefined, onReopen: () => void): Promise<Connection> {
    const binding = await connect(uri, 'open');
    return new Connection(uri, { binding, generation: 1, inFlight: 0, retired: false }, log, onReopen);
  }

  /**
   * Runs `fn` on the current connection. A `connection` failure re-opens the connection
   * once; with `retry` the call then runs again, with `report` the failure is thrown (the
   * next call finds the new connection).
   */
  async run<T>(op: string, mode: RetryMode, fn: (b: Binding) => Promise<T>): Promise<T> {
    const h = await this.acquire(op);
    try {
      return await this.on(h, op, fn);
    } catch (e) {
      const err = toHypervisorError(op, e);
      if (err.kind !== 'connection' || this.closed) throw err;
      if (mode === 'report') {
        // The caller learns that its call failed; the next call finds a fresh connection.
        await this.reopen(op, h.generation, err).catch(() => undefined);
        throw err;
      }
      await this.reopen(op, h.generation, err);
      return this.on(await this.acquire(op), op, fn);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const h = this.handle;
    this.handle = null;
    if (h) await this.retire(h);
  }

  /** The current handle, counted as in use before anyone can retire it. */
  private async acquire(op: string): Promise<Handle> {
    if (this.closed) throw new HypervisorError('connection', op, 'the connection was closed by hwstash');
    if (!this.handle) {
      // An earlier re-open failed: try again before this call.
      await this.reopen(op, this.generation, null);
      if (this.closed) throw new HypervisorError('connection', op, 'the connection was closed by hwstash');
      if (!this.handle) throw new HypervisorError('connection', op, 'no connection to libvirt');
    }
    const h = this.handle;
    h.inFlight++;
    return h;
  }

  /** Runs `fn` on an acquired handle and releases it. */
  private async on<T>(h: Handle, op: string, fn: (b: Binding) => Promise<T>): Promise<T> {
    try {
      return await fn(h.binding);
    } catch (e) {
      throw toHypervisorError(op, e);
    } finally {
      h.inFlight--;
      if (h.retired && h.inFlight === 0) void this.closeBinding(h);
    }
  }

  private async reopen(op: string, failedGeneration: number, cause: HypervisorError | null): Promise<void> {
    // Several calls may fail on the same lost connection: the first re-opens, the rest wait.
    if (this.reopening) return this.reopening;
    if (this.handle && this.handle.generation !== failedGeneration) return;
    this.reopening = (async () => {
      const old = this.handle;
      this.handle = null;
      if (old) await this.retire(old);
      this.log?.warn(
        { uri: redactUrl(this.uri), op, reason: cause?.libvirtMessage },
        'libvirt connection lost; re-opening',
      );
      const binding = await connect(this.uri, op);
      if (this.closed) {
        await binding.connectClose().catch(() => undefined);
        throw new HypervisorError('connection', op, 'the connection was closed by hwstash');
      }
      this.generation += 1;
      this.handle = { binding, generation: this.generation, inFlight: 0, retired: false };
      this.onReopen();
      this.log?.info({ uri: redactUrl(this.uri) }, 'libvirt connection re-opened');
    })().finally(() => {
      this.reopening = null;
    });
    return this.reopening;
  }

  private async retire(h: Handle): Promise<void> {
    h.retired = true;
    if (h.inFlight === 0) await this.closeBinding(h);
  }

  private async closeBinding(h: Handle): Promise<void> {
    // Closing a connection whose daemon is gone can fail; there is nothing left to release.
    await h.binding.connectClose().catch(() => undefined);
  }
}

async function connect(uri: string, op: string): Promise<Binding> {
  const binding = new Binding({ uri });
  try {
    await binding.connectOpen();
  } catch (e) {
    const err = toHypervisorError(op, e);
    // Whatever libvirt says when it cannot open, the call never reached a driver.
    throw err.kind === 'connection' ? err : new HypervisorError('connection', op, err.libvirtMessage, { cause: e });
  }
  return binding;
}
