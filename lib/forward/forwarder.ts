// Recursion for names outside srvdns's zones (--recursor): sequential or random order
// over the recursors, a timeout, SERVFAIL or REFUSED moving on to the next; a truncated
// UDP reply retried over TCP when the client asked over TCP (passed on with TC to a UDP
// client). Replies are cached for their TTL (negative answers per RFC 2308 §5), in a
// bounded LRU; srvdns's own zones never go through this cache. dns-packet decodes
// upstream replies here, off the hot path, inside try/catch.
import * as packet from 'dns-packet';
import { LRUCache } from 'lru-cache';
import { shuffle } from '../answer/answer.js';
import { rcodeName } from '../dns/constants.js';
import type { Query } from '../dns/parse.js';
import { LogLimiter, type Logger } from '../log.js';
import { exchangeTcp, exchangeUdp, upstreamLabel, type Upstream } from './upstream.js';

/** ForwarderOptions configure recursion. */
export interface ForwarderOptions {
  upstreams: Upstream[];
  strategy: 'sequential' | 'random';
  timeoutMs: number;
  log: Logger;
  /** onReply hears of each upstream reply or failure (rcode SERVFAIL for a timeout), for metrics. */
  onReply?: (upstream: string, rcode: string) => void;
  cacheEntries?: number;
  /** maxTtl caps how long an upstream answer is cached (seconds). */
  maxTtl?: number;
  /** maxConcurrent caps queries in flight to the recursors (each holds a socket); beyond it, SERVFAIL at once. */
  maxConcurrent: number;
  /** onLimit hears of each query refused for maxConcurrent, for metrics. */
  onLimit?: () => void;
}

interface Cached {
  decoded: packet.Packet;
  stored: number;
  ttl: number;
}

const RCODE_SERVFAIL = 2;
const RCODE_REFUSED = 5;

/** minTtl is how long a reply may be cached: its smallest TTL, and for a negative answer min(SOA TTL, SOA minimum). */
function minTtl(p: packet.Packet): number | undefined {
  const records = [...(p.answers ?? []), ...(p.authorities ?? [])].filter((r) => r.type !== 'OPT');
  if (records.length === 0) return undefined;
  let ttl = Infinity;
  for (const r of records) {
    const t = (r as { ttl?: number }).ttl ?? 0;
    ttl = Math.min(ttl, r.type === 'SOA' && (p.answers ?? []).length === 0 ? Math.min(t, (r as packet.SoaAnswer).data.minimum ?? t) : t);
  }
  return Number.isFinite(ttl) ? ttl : undefined;
}

/** Forwarder answers out-of-zone questions through the recursors. */
export class Forwarder {
  private readonly cache: LRUCache<string, Cached>;
  private readonly log: Logger;
  private readonly logLimiter = new LogLimiter();
  /** inflight counts queries waiting on the recursors. */
  private inflight = 0;

  constructor(private readonly o: ForwarderOptions) {
    this.log = o.log.child({ component: 'forward' });
    this.cache = new LRUCache({ max: o.cacheEntries ?? 10000 });
  }

  private order(): Upstream[] {
    return this.o.strategy === 'sequential' ? this.o.upstreams : shuffle([...this.o.upstreams]);
  }

  private key(q: Query): string {
    return `${q.name.toLowerCase()}\0${q.type}\0${q.class}\0${q.edns?.dnssecOk ? 1 : 0}`;
  }

  /** fromCache re-encodes a cached reply with TTLs counted down, for this query's id and RD bit. */
  private fromCache(q: Query, limit: number): Buffer | undefined {
    const c = this.cache.get(this.key(q));
    if (!c) return undefined;
    const elapsed = Math.floor((Date.now() - c.stored) / 1000);
    if (elapsed >= c.ttl) {
      this.cache.delete(this.key(q));
      return undefined;
    }
    const age = (rs: packet.Answer[] | undefined): packet.Answer[] | undefined =>
      rs?.map((r) => (r.type === 'OPT' ? r : ({ ...r, ttl: Math.max(0, ((r as { ttl?: number }).ttl ?? 0) - elapsed) } as packet.Answer)));
    let wire: Buffer;
    try {
      wire = packet.encode({
        ...c.decoded,
        id: q.id,
        flags: ((c.decoded.flags ?? 0) & ~0x0100) | (q.rd ? 0x0100 : 0) | 0x0080,
        questions: [{ name: q.name.replace(/\.$/, ''), type: c.decoded.questions![0]!.type, class: c.decoded.questions![0]!.class }],
        answers: age(c.decoded.answers),
        authorities: age(c.decoded.authorities),
        additionals: age(c.decoded.additionals),
      });
    } catch {
      return undefined;
    }
    return wire.length <= limit ? wire : undefined;
  }

  /**
   * forward answers a query through the recursors. It resolves with the reply (client's
   * id, RA set) or undefined when every recursor failed (the caller answers SERVFAIL).
   */
  async forward(query: Buffer, q: Query, transport: 'udp' | 'tcp', limit: number): Promise<Buffer | undefined> {
    const hit = this.fromCache(q, limit);
    if (hit) return hit;
    // A flood of outside names must not exhaust file descriptors or memory (CoreDNS's max_concurrent).
    if (this.inflight >= this.o.maxConcurrent) {
      this.o.onLimit?.();
      return undefined;
    }
    this.inflight++;
    try {
      return await this.exchange(query, q, transport);
    } finally {
      this.inflight--;
    }
  }

  /** exchange asks the recursors in order until one answers. */
  private async exchange(query: Buffer, q: Query, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    for (const u of this.order()) {
      const label = upstreamLabel(u);
      let reply: Buffer;
      try {
        reply = await exchangeUdp(u, query, this.o.timeoutMs);
        if ((reply[2]! & 0x02) !== 0 && transport === 'tcp') reply = await exchangeTcp(u, query, this.o.timeoutMs);
      } catch (err) {
        this.o.onReply?.(label, 'TIMEOUT');
        const suppressed = this.logLimiter.allow(label);
        if (suppressed !== undefined) this.log.warn({ upstream: label, err: (err as Error).message, suppressed }, 'recursor failed');
        continue;
      }
      const rcode = reply[3]! & 0x0f;
      this.o.onReply?.(label, rcodeName(rcode));
      if (rcode === RCODE_SERVFAIL || rcode === RCODE_REFUSED) continue;
      this.store(q, reply);
      const out = Buffer.from(reply);
      out.writeUInt16BE(q.id, 0);
      out[3]! |= 0x80; // RA
      return out;
    }
    return undefined;
  }

  private store(q: Query, reply: Buffer): void {
    if ((reply[2]! & 0x02) !== 0) return; // never cache a truncated reply
    try {
      const decoded = packet.decode(reply);
      const ttl = minTtl(decoded);
      if (ttl === undefined || ttl <= 0) return;
      this.cache.set(this.key(q), { decoded, stored: Date.now(), ttl: Math.min(ttl, this.o.maxTtl ?? 3600) });
    } catch {
      // An upstream reply dns-packet cannot read is passed on, but not cached.
    }
  }
}
