/**
 * Fault injection: a TCP proxy in front of a real server (MariaDB, RabbitMQ). `cut()` resets
 * every connection through it and refuses new ones, as a network outage or a dead link would;
 * `restore()` lets connections through again. The real servers cannot be made to do this to
 * one client without disturbing the others that share them.
 */
import net from 'node:net';

export class TcpProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private open = true;
  /** Connections accepted and passed through, in all. */
  connections = 0;

  private constructor(private readonly target: { host: string; port: number }, server: net.Server) {
    this.server = server;
  }

  /** Listens on 127.0.0.1 (port 0: any free port, or the one given). */
  static async start(target: { host: string; port: number }, listenPort = 0): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = net.createServer((client) => proxy.accept(client));
    proxy = new TcpProxy(target, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    if (!this.open) {
      client.resetAndDestroy();
      return;
    }
    this.connections += 1;
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Reset every connection and refuse new ones. */
  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.open = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
