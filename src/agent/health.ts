/**
 * /healthz and /metrics on a local address. Healthy means the agent can do its job now: database
 * reachable and notifications consumed from its queue (`bus`; so not yet during the start-up
 * reconcile, and not while the queue cannot be set up); the body says which part is missing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentMetrics } from './metrics.js';

export interface HealthState {
  database: boolean;
  /** Consuming from hwstash's queue, not merely connected to the broker. */
  bus: boolean;
  libvirt: boolean;
  reconciled: boolean;
  /** The Nova release whose rules the agent follows (null before it chose one). */
  nova_release: string | null;
}

export class HealthServer {
  private server: Server | undefined;

  constructor(
    private readonly metrics: AgentMetrics,
    private readonly state: () => HealthState,
  ) {}

  /** Listens on `host:port` (port 0 picks one); resolves to the bound address. */
  async listen(address: string): Promise<AddressInfo> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
    const port = Number(address.slice(i + 1));
    this.server = createServer((req, res) => {
      if (req.url === '/healthz') {
        const s = this.state();
        const ok = s.database && s.bus;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...s }));
      } else if (req.url === '/metrics') {
        this.metrics.registry.metrics().then(
          (body) => {
            res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
            res.end(body);
          },
          (err: Error) => {
            res.writeHead(500);
            res.end(err.message);
          },
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /healthz or /metrics\n');
      }
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
