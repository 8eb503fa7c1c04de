// TCP transport (RFC 1035 §4.2.2, RFC 7766): two-byte length framing, several queries
// per connection answered as each is ready, an idle timeout, and a cap on connections.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import { frame, unframe } from '../dns/frame.js';
import type { Handler } from './handler.js';

/** TcpOptions bound what one client may hold. */
export interface TcpOptions {
  idleTimeoutMs: number;
  /** maxConnections: at the cap, a new connection evicts the oldest idle one (or is refused when none is idle). */
  maxConnections: number;
  /** maxPerClient caps one client address's connections; more are refused. */
  maxPerClient: number;
}

/** Conn is what the listener knows of one connection: whether it is between queries. */
interface Conn {
  /** busy counts frames received whose replies are not yet written: 0 is idle, and may be evicted. */
  busy: number;
  client: string;
}

/** MAX_BUFFERED is how much unsent reply data a client may leave unread before it is dropped. */
const MAX_BUFFERED = 1 << 20;

/** TcpListener answers DNS over TCP on one address. */
export class TcpListener {
  private server: Server | undefined;
  /** sockets are the open connections, oldest first. */
  private readonly sockets = new Map<Socket, Conn>();
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly handler: Handler,
    private readonly log: Logger,
    private readonly options: TcpOptions,
  ) {}

  /** admit decides on a new connection: refused over the per-client cap; at the total cap, the oldest idle one makes room. */
  private admit(client: string): boolean {
    if ((this.perClient.get(client) ?? 0) >= this.options.maxPerClient) return false;
    if (this.sockets.size < this.options.maxConnections) return true;
    for (const [s, c] of this.sockets) {
      if (c.busy === 0) {
        s.destroy();
        this.forget(s);
        return true;
      }
    }
    return false;
  }

  private forget(socket: Socket): void {
    const c = this.sockets.get(socket);
    if (!c) return;
    this.sockets.delete(socket);
    const n = (this.perClient.get(c.client) ?? 1) - 1;
    if (n > 0) this.perClient.set(c.client, n);
    else this.perClient.delete(c.client);
  }

  private serve(socket: Socket): void {
    const client = socket.remoteAddress ?? '';
    if (!this.admit(client)) {
      socket.destroy();
      return;
    }
    const conn: Conn = { busy: 0, client };
    this.sockets.set(socket, conn);
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.forget(socket));
    socket.on('error', () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    let frameTimer: NodeJS.Timeout | undefined;
    const send = (reply: Buffer | null): void => {
      conn.busy--;
      if (!reply || socket.destroyed) return;
      if (socket.writableLength > MAX_BUFFERED) {
        socket.destroy(); // a client that sends queries but never reads the answers
        return;
      }
      socket.write(frame(reply));
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (let next = unframe(pending); next; next = unframe(pending)) {
        const packet = next.message;
        pending = next.rest;
        conn.busy++;
        let out;
        try {
          out = this.handler(packet, 'tcp', socket.remoteAddress ?? '');
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'tcp: handler threw');
          socket.destroy();
          return;
        }
        if (out instanceof Promise) out.then(send, () => socket.destroy());
        else send(out);
      }
      // A frame must arrive whole within the idle timeout of its first byte: a client that
      // dribbles a byte at a time (slow loris) would otherwise reset the idle timer forever.
      if (pending.length === 0) {
        clearTimeout(frameTimer);
        frameTimer = undefined;
      } else if (!frameTimer) {
        frameTimer = setTimeout(() => socket.destroy(), this.options.idleTimeoutMs);
        frameTimer.unref();
      }
    });
    socket.on('close', () => clearTimeout(frameTimer));
  }

  /** listen binds host:port and resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.warn({ err: err.message }, 'tcp server error'));
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** close stops accepting and ends every open connection. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    for (const socket of this.sockets.keys()) socket.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
