// Ready wire bytes for repeated questions (the hot path). A query copies in its id,
// RD/CD/RA bits and question name (so its case is echoed) and is sent. When an answer
// is a set of records of one type, it is encoded relocatable (no name points into the
// answer section), and each hit sends the records rotated one place further by moving
// bytes: every instance comes first equally often, for a few copies, with one encoding
// kept per entry. (Keeping every rotation ready was measured too: a little faster per
// hit, but up to 8x the memory, which cost more than it saved at 100,000 instances.)
// A catalog change drops exactly the entries it affects, by tag; an entry is also
// rebuilt after REFRESH_HITS uses (a fresh shuffle, which matters when truncation keeps
// only some answers) and after MAX_AGE_MS.
//
// The store is a Map bounded by bytes, evicting in insertion order. It is not an LRU:
// an entry in use is rebuilt, so re-inserted, every REFRESH_HITS hits or MAX_AGE_MS,
// which keeps hot entries young at a fraction of an LRU's cost per hit (measured:
// lru-cache's get was a fifth of the whole hot path).
import type { AnswerLayout } from '../dns/encode.js';
import type { Query } from '../dns/parse.js';

const REFRESH_HITS = 4096;
const MAX_AGE_MS = 60000;
const ENTRY_OVERHEAD = 200;

interface Entry {
  wire: Buffer;
  /** layout locates the answer records when they rotate; undefined otherwise. */
  layout: AnswerLayout | undefined;
  tag: string;
  next: number;
  hits: number;
  built: number;
  size: number;
}

/** rotate builds the wire with the answer records starting at record r (layout from a relocatable encoding). */
function rotate(wire: Buffer, layout: AnswerLayout, r: number): Buffer {
  const { starts, end } = layout;
  const out = Buffer.allocUnsafe(wire.length);
  wire.copy(out, 0, 0, starts[0]);
  let at = starts[0]!;
  at += wire.copy(out, at, starts[r], end);
  at += wire.copy(out, at, starts[0], starts[r]);
  wire.copy(out, at, end);
  return out;
}

/**
 * CacheKey is where an answer lives: the lower-case name, then a number packing type,
 * class, size limit and EDNS/DO. Two levels keep the per-query key work to one string
 * (the name, which the router needs lower-cased anyway) and arithmetic.
 */
export interface CacheKey {
  name: string;
  variant: number;
}

const keyString = (k: CacheKey): string => `${k.variant}:${k.name}`;

/** AnswerCache maps (name, type, class, size limit, EDNS, DO) to encoded answers. */
export class AnswerCache {
  private readonly entries = new Map<string, Map<number, Entry>>();
  /** order lists live entries oldest first (as key strings), for eviction. */
  private readonly order = new Map<string, CacheKey>();
  private readonly byTag = new Map<string, Map<string, CacheKey>>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxBytes: number) {}

  /** key identifies what an answer's bytes depend on, besides id, flags and name case; lowerName is the question name in lower case. */
  key(q: Query, lowerName: string, limit: number): CacheKey {
    return { name: lowerName, variant: ((q.type * 65536 + q.class) * 65536 + limit) * 4 + (q.edns ? (q.edns.dnssecOk ? 2 : 1) : 0) };
  }

  /** get returns the cached answer, rotated one place further, patched for this query; or undefined. */
  get(key: CacheKey, packet: Buffer, q: Query, ra = false): Buffer | undefined {
    const e = this.entries.get(key.name)?.get(key.variant);
    if (!e) {
      this.misses++;
      return undefined;
    }
    if (++e.hits >= REFRESH_HITS || (e.hits & 255) === 0 ? this.expired(key, e) : false) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    let out: Buffer;
    if (e.layout) {
      out = rotate(e.wire, e.layout, e.next);
      if (++e.next === e.layout.starts.length) e.next = 0;
    } else {
      out = Buffer.allocUnsafe(e.wire.length);
      e.wire.copy(out);
    }
    return patch(out, packet, q, ra);
  }

  /** expired drops an entry due for a rebuild: used REFRESH_HITS times, or older than MAX_AGE_MS (checked every 256 hits). */
  private expired(key: CacheKey, e: Entry): boolean {
    if (e.hits < REFRESH_HITS && Date.now() - e.built < MAX_AGE_MS) return false;
    this.delete(key);
    return true;
  }

  /** set stores an answer; with a layout of two or more records, they rotate on every hit. */
  set(key: CacheKey, tag: string, wire: Buffer, layout?: AnswerLayout): void {
    const rotates = layout !== undefined && layout.starts.length > 1;
    this.delete(key);
    const size = wire.length + ENTRY_OVERHEAD;
    let byVariant = this.entries.get(key.name);
    if (!byVariant) this.entries.set(key.name, (byVariant = new Map()));
    byVariant.set(key.variant, { wire, layout: rotates ? layout : undefined, tag, next: rotates ? 1 : 0, hits: 0, built: Date.now(), size });
    const id = keyString(key);
    this.order.set(id, key);
    this.bytes += size;
    let keys = this.byTag.get(tag);
    if (!keys) this.byTag.set(tag, (keys = new Map()));
    keys.set(id, key);
    // Evict the oldest insertions until within bounds.
    for (const oldest of this.order.values()) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  private delete(key: CacheKey): void {
    const byVariant = this.entries.get(key.name);
    const e = byVariant?.get(key.variant);
    if (!byVariant || !e) return;
    byVariant.delete(key.variant);
    if (byVariant.size === 0) this.entries.delete(key.name);
    const id = keyString(key);
    this.order.delete(id);
    this.bytes -= e.size;
    this.byTag.get(e.tag)?.delete(id);
  }

  /** invalidate drops every entry built with tag. */
  invalidate(tag: string): void {
    const keys = this.byTag.get(tag);
    if (!keys) return;
    this.byTag.delete(tag);
    for (const k of keys.values()) this.delete(k);
  }

  clear(): void {
    this.entries.clear();
    this.order.clear();
    this.byTag.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.order.size;
  }
}

/** patch puts the query's id, RD and CD bits, this client's RA, and the question name bytes into a reply, in place. */
export function patch(out: Buffer, packet: Buffer, q: Query, ra: boolean): Buffer {
  out[0] = packet[0]!;
  out[1] = packet[1]!;
  out[2] = (out[2]! & 0xfe) | (packet[2]! & 0x01);
  out[3] = (out[3]! & 0x6f) | (packet[3]! & 0x10) | (ra ? 0x80 : 0);
  // A name is short: a loop beats Buffer.copy's call overhead.
  for (let i = 12; i < q.nameEnd; i++) out[i] = packet[i]!;
  return out;
}
