// Ready wire bytes for repeated questions (the hot path). An entry holds several
// encodings of one answer, each with its own shuffle, served in turn; a query copies
// in its id, RD/CD bits and question name (so its case is echoed) and is sent. A
// catalog change drops exactly the entries it affects, by tag; an entry is also rebuilt
// after REFRESH_HITS uses (fresh shuffles over all instances) and after MAX_AGE_MS.
import { LRUCache } from 'lru-cache';
import type { Query } from '../dns/parse.js';

/** VARIANTS is how many differently shuffled encodings an entry keeps. */
export const VARIANTS = 8;
const REFRESH_HITS = 4096;
const MAX_AGE_MS = 60000;

interface Entry {
  variants: Buffer[];
  tag: string;
  next: number;
  hits: number;
}

/** AnswerCache maps (name, type, class, size limit, EDNS, DO) to encoded answers. */
export class AnswerCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly byTag = new Map<string, Set<string>>();
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    this.entries = new LRUCache<string, Entry>({
      maxSize: maxBytes,
      sizeCalculation: (e) => e.variants.reduce((n, v) => n + v.length + 64, 128),
      ttl: MAX_AGE_MS,
      dispose: (e, key) => this.byTag.get(e.tag)?.delete(key),
    });
  }

  /** key identifies what an answer's bytes depend on, besides id, flags and name case. */
  key(q: Query, limit: number): string {
    return `${q.name.toLowerCase()}\0${q.type}\0${q.class}\0${limit}\0${q.edns ? (q.edns.dnssecOk ? 2 : 1) : 0}`;
  }

  /** get returns the next variant patched for this query, or undefined. */
  get(key: string, packet: Buffer, q: Query): Buffer | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const variant = e.variants[e.next]!;
    e.next = (e.next + 1) % e.variants.length;
    if (++e.hits >= REFRESH_HITS) this.entries.delete(key);
    return patch(variant, packet, q);
  }

  set(key: string, tag: string, variants: Buffer[]): void {
    this.entries.set(key, { variants, tag, next: 1 % variants.length, hits: 0 });
    let keys = this.byTag.get(tag);
    if (!keys) this.byTag.set(tag, (keys = new Set()));
    keys.add(key);
  }

  /** invalidate drops every entry built with tag. */
  invalidate(tag: string): void {
    const keys = this.byTag.get(tag);
    if (!keys) return;
    this.byTag.delete(tag);
    for (const k of keys) this.entries.delete(k);
  }

  clear(): void {
    this.entries.clear();
    this.byTag.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** patch copies a cached reply and puts in the query's id, RD and CD bits, and question name bytes. */
export function patch(variant: Buffer, packet: Buffer, q: Query): Buffer {
  const out = Buffer.allocUnsafe(variant.length);
  variant.copy(out);
  out[0] = packet[0]!;
  out[1] = packet[1]!;
  out[2] = (out[2]! & 0xfe) | (packet[2]! & 0x01);
  out[3] = (out[3]! & 0xef) | (packet[3]! & 0x10);
  packet.copy(out, 12, 12, q.nameEnd);
  return out;
}
