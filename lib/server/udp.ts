// UDP transport: one datagram in, at most one datagram out. Sockets only; the
// pipeline is the handler's.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from '../log.js';
import type { Handler } from './handler.js';

/** UdpListener answers DNS over UDP on one address. */
export class UdpListener {
  private socket: Socket | undefined;

  constructor(
    private readonly handler: Handler,
    private readonly log: Logger,
  ) {}

  /** listen binds host:port and resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host) });
    this.socket = socket;
    socket.on('message', (packet, peer) => {
      let out;
      try {
        out = this.handler(packet, 'udp', peer.address);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'udp: handler threw');
        return;
      }
      if (out === null) return;
      if (out instanceof Promise) {
        out.then((reply) => reply && socket.send(reply, peer.port, peer.address), (err: unknown) => this.log.error({ err: String(err) }, 'udp: handler failed'));
      } else {
        socket.send(out, peer.port, peer.address);
      }
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        // Send errors (ICMP unreachable and the like) are per datagram: log, keep serving.
        socket.on('error', (err) => this.log.warn({ err: err.message }, 'udp socket error'));
        resolve(socket.address().port);
      });
    });
  }

  /** close stops listening. */
  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}
