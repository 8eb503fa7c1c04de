// One exchange with an upstream resolver, UDP (a fresh socket, so a random source port)
// or TCP. A reply is accepted only if its id and question match ours (RFC 5452 §9.1);
// anything else on the socket is ignored, so a spoofed packet cannot answer for it.
import { createSocket } from 'node:dgram';
import { frame, unframe } from '../dns/frame.js';
import { connect, isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import { parseQuery } from '../dns/parse.js';

/** Upstream is a recursor's address. */
export interface Upstream {
  host: string;
  port: number;
}

/** upstreamLabel names an upstream in logs and metrics. */
export function upstreamLabel(u: Upstream): string {
  return isIPv6(u.host) ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

/** matches tells whether a reply answers our query: QR set, same id, same question. */
function matches(reply: Buffer, query: Buffer, id: number): boolean {
  if (reply.length < 12 || reply.readUInt16BE(0) !== id || (reply[2]! & 0x80) === 0) return false;
  try {
    const q = parseQuery(query);
    // parseQuery skips responses, so read the reply's question with the QR bit cleared.
    const copy = Buffer.from(reply);
    copy[2]! &= 0x7f;
    copy.writeUInt16BE(1, 4);
    copy.writeUInt16BE(0, 6);
    copy.writeUInt16BE(0, 8);
    copy.writeUInt16BE(0, 10);
    const r = parseQuery(copy);
    return r.name.toLowerCase() === q.name.toLowerCase() && r.type === q.type && r.class === q.class;
  } catch {
    return false;
  }
}

/** withId returns a copy of a query carrying a fresh random id. */
function withId(query: Buffer, id: number): Buffer {
  const out = Buffer.from(query);
  out.writeUInt16BE(id, 0);
  return out;
}

/** exchangeUdp sends query to u and resolves with the matching reply, or rejects on timeout. */
export function exchangeUdp(u: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
  const id = randomInt(65536);
  const out = withId(query, id);
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(u.host) ? 'udp6' : 'udp4');
    const done = (err: Error | undefined, reply?: Buffer): void => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => done(new Error(`forward: ${upstreamLabel(u)} timed out`)), timeoutMs);
    socket.on('message', (reply, peer) => {
      if (peer.port !== u.port || !matches(reply, out, id)) return; // not ours: ignore
      done(undefined, reply);
    });
    socket.on('error', (err) => done(err));
    socket.send(out, u.port, u.host);
  });
}

/** exchangeTcp sends query to u over TCP (2-byte framing) and resolves with the matching reply. */
export function exchangeTcp(u: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
  const id = randomInt(65536);
  const out = withId(query, id);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.host, port: u.port });
    let pending: Buffer = Buffer.alloc(0);
    const done = (err: Error | undefined, reply?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => done(new Error(`forward: ${upstreamLabel(u)} timed out (tcp)`)), timeoutMs);
    socket.on('connect', () => socket.write(frame(out)));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const reply = unframe(pending)?.message;
      if (!reply) return;
      if (matches(reply, out, id)) done(undefined, Buffer.from(reply));
      else done(new Error(`forward: ${upstreamLabel(u)} answered another question (tcp)`));
    });
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error(`forward: ${upstreamLabel(u)} closed the connection`)));
  });
}
