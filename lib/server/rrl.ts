// Response rate limiting for UDP, in the manner of BIND's and Knot's RRL: each client
// prefix (/24 for IPv4, /56 for IPv6) gets at most N responses a second; beyond that,
// every slip-th response is a minimal truncated one (TC, no records), so a real client
// retries over TCP, and the rest are dropped. TCP is never limited: it cannot be spoofed,
// so it cannot be used to reflect. Off by default: with TTL 0, busy clients ask often.
import { isIPv6 } from 'node:net';
import { ipv6Bytes } from '../dns/addr.js';
import type { Handler } from './handler.js';

/** RrlOptions configure the limiter. */
export interface RrlOptions {
  /** responsesPerSecond per client prefix; bursts of one second's worth pass. */
  responsesPerSecond: number;
  /** slip: every slip-th limited response is sent truncated; 0 drops them all. */
  slip: number;
  /** onLimited hears of each limited response: slipped (sent truncated) or dropped. */
  onLimited?: (slipped: boolean) => void;
}

interface Bucket {
  tokens: number;
  at: number;
  limited: number;
}

/** MAX_BUCKETS bounds the limiter's memory; past it, every bucket starts afresh. */
const MAX_BUCKETS = 100000;

/** clientPrefix is the /24 of an IPv4 client or the /56 of an IPv6 one. */
export function clientPrefix(address: string): string {
  if (!isIPv6(address)) return address.slice(0, address.lastIndexOf('.'));
  const mapped = address.toLowerCase().startsWith('::ffff:') && address.includes('.');
  if (mapped) return address.slice(7, address.lastIndexOf('.'));
  return Buffer.from(ipv6Bytes(address).subarray(0, 7)).toString('hex');
}

/**
 * truncated turns a reply into the minimal truncated one: its header and question,
 * TC set, no records (RFC 2181 §9: the client then asks over TCP).
 */
export function truncated(reply: Buffer): Buffer {
  let end = 12;
  if (reply.readUInt16BE(4) > 0) {
    while (end < reply.length && reply[end] !== 0 && (reply[end]! & 0xc0) === 0) end += reply[end]! + 1;
    end += (reply[end]! & 0xc0) === 0xc0 ? 2 : 1;
    end += 4;
  }
  const out = Buffer.from(reply.subarray(0, Math.min(end, reply.length)));
  out[2]! |= 0x02;
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

/** withRrl wraps a handler so that its UDP responses are rate-limited per client prefix. */
export function withRrl(handler: Handler, o: RrlOptions): Handler {
  const buckets = new Map<string, Bucket>();
  const rate = o.responsesPerSecond;
  const limit = (reply: Buffer | null, client: string): Buffer | null => {
    if (reply === null) return null;
    const key = clientPrefix(client);
    const now = Date.now();
    let b = buckets.get(key);
    if (!b) {
      if (buckets.size >= MAX_BUCKETS) buckets.clear();
      b = { tokens: rate, at: now, limited: 0 };
      buckets.set(key, b);
    }
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens--;
      return reply;
    }
    const slipped = o.slip > 0 && ++b.limited % o.slip === 0;
    o.onLimited?.(slipped);
    return slipped ? truncated(reply) : null;
  };
  return (packet, transport, client) => {
    const out = handler(packet, transport, client);
    if (transport === 'tcp') return out;
    return out instanceof Promise ? out.then((r) => limit(r, client)) : limit(out, client);
  };
}
