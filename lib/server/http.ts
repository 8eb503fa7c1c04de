// The operator's HTTP endpoint (--metrics): /metrics for Prometheus, /healthz (the
// process is up) and /readyz (every registry has synced once).
import { createServer, type Server } from 'node:http';
import type { Logger } from '../log.js';
import { listenError } from './listen-error.js';

/** HttpOptions say what the endpoint serves. */
export interface HttpOptions {
  /** metrics renders the exposition text; contentType is its media type. */
  metrics(): Promise<string>;
  contentType: string;
  /** ready lists the sources that have not synced yet; empty means ready. */
  notReady(): string[] | Promise<string[]>;
  log: Logger;
}

/** MAX_CONNECTIONS caps the endpoint's connections: a scraper needs one or two. */
const MAX_CONNECTIONS = 64;
/** IDLE_MS closes connections that send no request, or sit idle between requests, this long. */
const IDLE_MS = 5000;

/**
 * startHttp listens on host:port and resolves with the server and its port. The endpoint
 * is bounded (connections, idle and header-less connections closed within seconds) so
 * that a flood of connections to it cannot take the file descriptors DNS needs.
 */
export async function startHttp(host: string, port: number, o: HttpOptions): Promise<{ server: Server; port: number }> {
  const server = createServer({ headersTimeout: IDLE_MS, requestTimeout: IDLE_MS * 2, keepAliveTimeout: IDLE_MS, connectionsCheckingInterval: 1000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/readyz') {
      void Promise.resolve(o.notReady()).then((waiting) =>
        waiting.length === 0 ? send(200, 'text/plain', 'ready\n') : send(503, 'text/plain', `waiting for: ${waiting.join(', ')}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      o.metrics().then(
        (text) => send(200, o.contentType, text),
        (err: unknown) => {
          o.log.error({ err: String(err) }, 'metrics failed');
          send(500, 'text/plain', 'metrics failed\n');
        },
      );
      return;
    }
    send(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
  });
  server.maxConnections = MAX_CONNECTIONS;
  // A connection that never sends a byte is closed by the idle timeout.
  server.setTimeout(IDLE_MS, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err, '--metrics HTTP', host, port)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}
