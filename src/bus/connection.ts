/**
 * One AMQP connection kept alive over a list of brokers: connects to the first that answers,
 * moves to the next on failure or loss (oslo.messaging's kombu_failover_strategy: round-robin in
 * the URL's order, or shuffle: a new random order each pass), waits after each full pass
 * (kombu's way: rabbit_retry_interval, growing by rabbit_retry_backoff up to
 * rabbit_interval_max, with some jitter), and reports every state change. TLS
 * ([oslo_messaging_rabbit] ssl*) always verifies the broker and never falls back to plain text. Channels belong to their users (consumer, publisher), which set
 * themselves up again on each `connected`.
 *
 * Events:
 *   connecting    ({ endpoint })            an attempt on this broker starts (in failover order)
 *   connected     ({ endpoint, model, broker })  a connection is open; broker: what the node says of itself
 *   disconnected  ({ endpoint, reason })    the open connection was lost, or the first
 *                                           attempts are failing; retrying follows
 *   retrying      ({ attempt, delayMs, reason })  a full pass failed; next pass after delayMs
 *   blocked / unblocked                     the broker throttles publishers (resource alarm)
 *   closed        ()                        close() finished
 * Every reason and endpoint is free of passwords.
 */
import { EventEmitter } from 'node:events';
import { connect } from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { DEFAULT_RECONNECT_BACKOFF, backoffDelay, validateBackoff } from './backoff.js';
import type { BackoffPolicy } from './backoff.js';
import { BusUnavailableError, describeError } from './errors.js';
import { NO_TLS, describeTlsError, tlsSocketOptions } from './tls.js';
import type { TlsFiles } from './tls.js';
import { describeEndpoint, parseTransportUrl, toConnectOptions } from './transport-url.js';
import type { RabbitSettings } from '../config/settings.js';
import type { BrokerEndpoint } from './transport-url.js';
import { settlesWithin, sleep } from './wait.js';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface ConnectionManagerOptions {
  endpoints: readonly BrokerEndpoint[];
  backoff?: BackoffPolicy;
  /** Socket connect plus AMQP handshake, per attempt. */
  connectTimeoutMs?: number;
  /** AMQP heartbeat in seconds (a dead broker or cut link is noticed after about twice this). */
  heartbeatSeconds?: number;
  /** Shown in RabbitMQ's connection list. */
  connectionName?: string;
  /** [oslo_messaging_rabbit] ssl, ssl_version, ssl_*_file. */
  tls?: TlsFiles;
  /** kombu_failover_strategy; default round-robin. */
  failoverStrategy?: 'round-robin' | 'shuffle';
  random?: () => number;
}

/** What the broker node said of itself when the connection opened (AMQP server properties). */
export interface BrokerInfo {
  clusterName: string;
  version: string;
  product: string;
}

/** ConnectionManager options from [oslo_messaging_rabbit], as oslo.messaging reads them. */
export function rabbitConnectionOptions(r: RabbitSettings): Pick<ConnectionManagerOptions, 'tls' | 'failoverStrategy' | 'heartbeatSeconds' | 'backoff'> {
  return {
    tls: { enabled: r.ssl, version: r.sslVersion, caFile: r.sslCaFile, certFile: r.sslCertFile, keyFile: r.sslKeyFile },
    failoverStrategy: r.failoverStrategy,
    // amqplib counts a peer dead after two silent heartbeat intervals: half the threshold each.
    heartbeatSeconds: r.heartbeatTimeoutThreshold === 0 ? 0 : Math.max(1, Math.ceil(r.heartbeatTimeoutThreshold / 2)),
    backoff: {
      initialMs: r.retryInterval * 1000,
      stepMs: r.retryBackoff * 1000,
      maxMs: Math.max(r.intervalMax, r.retryInterval) * 1000,
      factor: 1,
      jitter: 0.2,
    },
  };
}

export interface ConnectedEvent {
  endpoint: string;
  model: ChannelModel;
  broker: BrokerInfo;
}
export interface DisconnectedEvent {
  endpoint: string | null;
  reason: string;
}
export interface RetryingEvent {
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface ConnectionManager {
  on(event: 'connected', listener: (e: ConnectedEvent) => void): this;
  on(event: 'disconnected', listener: (e: DisconnectedEvent) => void): this;
  on(event: 'retrying', listener: (e: RetryingEvent) => void): this;
  on(event: 'connecting', listener: (e: { endpoint: string }) => void): this;
  on(event: 'blocked', listener: (reason: string) => void): this;
  on(event: 'unblocked' | 'closed', listener: () => void): this;
  once(event: 'connected', listener: (e: ConnectedEvent) => void): this;
  once(event: 'closed', listener: () => void): this;
}

export class ConnectionManager extends EventEmitter {
  private readonly endpoints: readonly BrokerEndpoint[];
  private readonly backoff: BackoffPolicy;
  private readonly connectTimeoutMs: number;
  private readonly heartbeatSeconds: number;
  private readonly connectionName: string;
  private readonly random: () => number;
  private readonly stopSignal = new AbortController();
  private current: { model: ChannelModel; endpoint: string; broker: BrokerInfo } | null = null;
  private readonly tls: TlsFiles;
  private readonly failoverStrategy: 'round-robin' | 'shuffle';
  /** Indexes into endpoints in this pass's order (shuffled each pass with shuffle). */
  private order: number[];
  private next = 0;
  private loop: Promise<void> | null = null;
  private _state: ConnectionState = 'idle';
  private lastReason = 'no attempt yet';

  static fromTransportUrl(url: string, options: Omit<ConnectionManagerOptions, 'endpoints'> = {}): ConnectionManager {
    return new ConnectionManager({ ...options, endpoints: parseTransportUrl(url) });
  }

  constructor(options: ConnectionManagerOptions) {
    super();
    if (options.endpoints.length === 0) throw new RangeError('endpoints: at least one broker is needed');
    this.tls = options.tls ?? NO_TLS;
    this.endpoints = options.endpoints.map((ep) => ({ ...ep, tls: ep.tls || this.tls.enabled }));
    // Fail at once on a TLS file that cannot be read (BusConfigError names option and file).
    if (this.endpoints.some((ep) => ep.tls)) tlsSocketOptions(this.tls);
    this.failoverStrategy = options.failoverStrategy ?? 'round-robin';
    this.backoff = validateBackoff(options.backoff ?? DEFAULT_RECONNECT_BACKOFF, 'backoff');
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.heartbeatSeconds = options.heartbeatSeconds ?? 30;
    this.connectionName = options.connectionName ?? 'hwstash';
    this.random = options.random ?? Math.random;
    this.order = this.passOrder();
  }

  private passOrder(): number[] {
    const order = this.endpoints.map((_, i) => i);
    if (this.failoverStrategy === 'shuffle') {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    return order;
  }

  /** Moves to the next broker; a new pass (reshuffled with shuffle) after the last. */
  private advance(): void {
    this.next += 1;
    if (this.next >= this.order.length) {
      this.next = 0;
      this.order = this.passOrder();
    }
  }

  /** What the connected broker node said of itself, or null between connections. */
  get broker(): BrokerInfo | null {
    return this.current?.broker ?? null;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The open connection, or null between connections. */
  get model(): ChannelModel | null {
    return this.current?.model ?? null;
  }

  get endpoint(): string | null {
    return this.current?.endpoint ?? null;
  }

  /** Why the last attempt failed or the last connection was lost (no password in it). */
  get lastFailure(): string {
    return this.lastReason;
  }

  /** Starts connecting in the background; idempotent. */
  start(): this {
    if (this._state === 'closed') throw new BusUnavailableError('the bus connection has been closed');
    this.loop ??= this.run();
    return this;
  }

  /** Resolves with the open connection (now or when it opens); rejects on close or timeout. */
  whenConnected(timeoutMs?: number): Promise<ChannelModel> {
    if (this.current) return Promise.resolve(this.current.model);
    if (this._state === 'closed') return Promise.reject(new BusUnavailableError('the bus connection has been closed'));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        this.off('connected', onConnected);
        this.off('closed', onClosed);
        if (timer) clearTimeout(timer);
      };
      const onConnected = (e: ConnectedEvent) => {
        cleanup();
        resolve(e.model);
      };
      const onClosed = () => {
        cleanup();
        reject(new BusUnavailableError('the bus connection has been closed'));
      };
      this.on('connected', onConnected);
      this.on('closed', onClosed);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          reject(new BusUnavailableError(`not connected to the message bus after ${timeoutMs} ms (${this.lastReason})`));
        }, timeoutMs);
      }
    });
  }

  /** Stops reconnecting and closes the connection; bounded by timeoutMs. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this.stopSignal.abort();
    const current = this.current;
    this.current = null;
    if (current) await closeModel(current.model, timeoutMs);
    if (this.loop) await settlesWithin(this.loop, timeoutMs);
    this.emit('closed');
  }

  private scrub(text: string): string {
    let out = text;
    for (const ep of this.endpoints) if (ep.password.length > 0) out = out.split(ep.password).join('***');
    return out;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let everConnected = false;
    while (!this.stopSignal.signal.aborted) {
      const ep = this.endpoints[this.order[this.next]!]!;
      const endpoint = describeEndpoint(ep);
      this._state = 'connecting';
      this.emit('connecting', { endpoint });
      let model: ChannelModel;
      try {
        model = await this.connectOnce(ep);
      } catch (err) {
        if (this.stopSignal.signal.aborted) break;
        failures += 1;
        this.advance();
        const tlsReason = ep.tls ? describeTlsError(err, `${ep.hostname}:${ep.port}`, this.tls) : null;
        this.lastReason = this.scrub(tlsReason ?? `${endpoint}: ${describeError(err)}`);
        if (!everConnected && failures === 1) {
          this._state = 'disconnected';
          this.emit('disconnected', { endpoint: null, reason: this.lastReason } satisfies DisconnectedEvent);
        }
        this._state = 'disconnected';
        if (failures % this.endpoints.length === 0) {
          const attempt = failures / this.endpoints.length;
          const delayMs = backoffDelay(attempt, this.backoff, this.random);
          this.emit('retrying', { attempt, delayMs, reason: this.lastReason } satisfies RetryingEvent);
          await sleep(delayMs, this.stopSignal.signal);
        }
        continue;
      }
      if (this.stopSignal.signal.aborted) {
        await closeModel(model, 1000);
        break;
      }
      failures = 0;
      everConnected = true;
      const lost = new Promise<string>((resolve) => {
        model.on('error', (err: Error) => {
          this.lastReason = this.scrub(`${endpoint}: ${describeError(err)}`);
        });
        model.on('close', (err?: Error) => resolve(this.scrub(err ? describeError(err) : 'connection closed')));
        model.on('blocked', (reason: string) => this.emit('blocked', reason));
        model.on('unblocked', () => this.emit('unblocked'));
      });
      const broker = brokerInfo(model);
      this.current = { model, endpoint, broker };
      this._state = 'connected';
      this.emit('connected', { endpoint, model, broker } satisfies ConnectedEvent);
      const reason = await lost;
      if (this.current?.model === model) this.current = null;
      if (this.stopSignal.signal.aborted) break;
      this.lastReason = `${endpoint}: ${reason}`;
      this._state = 'disconnected';
      this.advance();
      this.emit('disconnected', { endpoint, reason } satisfies DisconnectedEvent);
    }
  }

  private async connectOnce(ep: BrokerEndpoint): Promise<ChannelModel> {
    // Read on every attempt: a renewed certificate is used on the next reconnect.
    const tls = ep.tls ? tlsSocketOptions(this.tls) : {};
    const attempt = connect(toConnectOptions(ep, { heartbeat: this.heartbeatSeconds }), {
      ...tls,
      timeout: this.connectTimeoutMs,
      clientProperties: { connection_name: this.connectionName },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no AMQP handshake within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    });
    try {
      return await Promise.race([attempt, timeout]);
    } catch (err) {
      // A handshake that completes after the timeout must not leave a connection behind.
      void attempt.then((late) => closeModel(late, 1000), () => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

function brokerInfo(model: ChannelModel): BrokerInfo {
  const props = ((model.connection as unknown as { serverProperties?: Record<string, unknown> }).serverProperties ?? {}) as Record<string, unknown>;
  const text = (v: unknown): string => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : '');
  return { clusterName: text(props['cluster_name']), version: text(props['version']), product: text(props['product']) };
}

/** Closes a connection, cutting the socket when the broker does not answer in time. */
async function closeModel(model: ChannelModel, timeoutMs: number): Promise<void> {
  if (!(await settlesWithin(model.close(), timeoutMs))) {
    const stream = (model.connection as unknown as { stream?: { destroy(): void } }).stream;
    stream?.destroy();
  }
}
