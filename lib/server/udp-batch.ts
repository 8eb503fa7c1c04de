// UDP transport on srvdns's native part (lib/native/udp_batch.c): the socket is read
// with recvmmsg and written with sendmmsg, and JavaScript runs once per batch of up to
// 64 queries instead of once per datagram with an object per message. Same contract as
// UdpListener: one datagram in, at most one out; the pipeline is the handler's. A reply
// that is not ready within its batch (a cold miss, a forwarded question) is sent alone.
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { Handler } from './handler.js';

interface Opened {
  handle: unknown;
  port: number;
  batch: number;
  in: Buffer;
  out: Buffer;
  lens: Int32Array;
  peers: Buffer;
}

interface Native {
  open(host: string, port: number, ipv6: boolean, onBatch: (n: number) => void): Opened;
  send(handle: unknown, reply: Buffer, peer: Buffer): number;
  close(handle: unknown): void;
}

// Slot sizes, as the native part lays out its buffers.
const IN_SIZE = 4096;
const OUT_SIZE = 4096;
const PEER_SIZE = 28;

let loaded: { native?: Native; error?: string } | undefined;

/** loadNative loads the native part once; error says why it is not there (not built, another platform). */
export function loadNative(): { native?: Native; error?: string } {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    loaded = { native: require(fileURLToPath(new URL('../../../lib/native/build/Release/udp_batch.node', import.meta.url))) as Native };
  } catch (err) {
    loaded = { error: (err as Error).message.split('\n')[0] };
  }
  return loaded;
}

/** peerAddress reads the client's address from a sockaddr_in (IPv4 socket) or sockaddr_in6. */
function peerAddress(peers: Buffer, at: number, ipv6: boolean): string {
  if (!ipv6) return `${peers[at + 4]}.${peers[at + 5]}.${peers[at + 6]}.${peers[at + 7]}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(peers.readUInt16BE(at + 8 + 2 * i).toString(16));
  return groups.join(':');
}

/** BatchUdpListener answers DNS over UDP on one address, a batch at a time. */
export class BatchUdpListener {
  private opened: Opened | undefined;

  constructor(
    private readonly native: Native,
    private readonly handler: Handler,
    private readonly log: Logger,
  ) {}

  /** listen binds host:port and resolves with the bound port; bind errors carry their code (EADDRINUSE, EACCES). */
  listen(host: string, port: number): Promise<number> {
    const ipv6 = isIPv6(host);
    try {
      const opened = this.native.open(host, port, ipv6, (n) => this.onBatch(opened, n, ipv6));
      this.opened = opened;
      return Promise.resolve(opened.port);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private onBatch(o: Opened, n: number, ipv6: boolean): void {
    const { lens, batch } = o;
    for (let i = 0; i < n; i++) {
      const length = lens[i]!;
      if (length < 0) continue; // larger than any query: dropped, as an oversized datagram
      // A copy: the handler may keep the packet (a forwarded question) past this batch.
      const packet = Buffer.from(o.in.subarray(i * IN_SIZE, i * IN_SIZE + length));
      let out;
      try {
        out = this.handler(packet, 'udp', peerAddress(o.peers, i * PEER_SIZE, ipv6));
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'udp: handler threw');
        continue;
      }
      if (out === null) continue;
      if (out instanceof Buffer && out.length <= OUT_SIZE) {
        out.copy(o.out, i * OUT_SIZE);
        lens[batch + i] = out.length;
        continue;
      }
      const peer = Buffer.from(o.peers.subarray(i * PEER_SIZE, (i + 1) * PEER_SIZE));
      if (!(out instanceof Promise)) this.sendAlone(out, peer);
      else out.then((reply) => reply && this.sendAlone(reply, peer), (err: unknown) => this.log.error({ err: String(err) }, 'udp: handler failed'));
    }
  }

  private sendAlone(reply: Buffer, peer: Buffer): void {
    if (this.opened) this.native.send(this.opened.handle, reply, peer);
  }

  /** close stops listening. */
  close(): Promise<void> {
    const o = this.opened;
    this.opened = undefined;
    if (o) this.native.close(o.handle);
    return Promise.resolve();
  }
}
