// Ready wire bytes for repeated questions (the hot path). An entry is found from the
// query's bytes alone (scanQuery's hash of the lower-cased name, then the name bytes
// and the variant compared), so a hit decodes no string and allocates only the reply.
// A query copies in its id, RD/CD/RA bits and question name (so its case is echoed).
// When an answer is a set of records of one type, it is encoded relocatable (no name
// points into the answer section), and each hit sends the records rotated one place
// further: every instance comes first equally often. The records are kept twice in a
// row, with a view per rotation into that copy, so a rotated reply is two copies: the
// whole answer, then the rotated records over its answer section. (Keeping every
// rotation encoded was measured too: up to 8x the memory at 100,000 instances.)
// A catalog change drops exactly the entries it affects, by tag; an entry is also
// rebuilt after REFRESH_HITS uses (a fresh shuffle, which matters when truncation keeps
// only some answers) and after MAX_AGE_MS.
//
// The store is a Map bounded by bytes, evicting in insertion order through a list linked
// through the entries themselves, so inserting, deleting and evicting each take constant
// time at any size (a JavaScript Set kept in order re-walked its deleted slots on every
// eviction: 34-39 us per insert at 100,000 entries). It is not an LRU:
// an entry in use is rebuilt, so re-inserted, every REFRESH_HITS hits or MAX_AGE_MS,
// which keeps hot entries young at a fraction of an LRU's cost per hit (measured:
// lru-cache's get was a fifth of the whole hot path).
import { schedule } from '../answer/weights.js';
import { Arena } from './arena.js';
import { keyString, type DataKey } from '../catalog/changes.js';
import type { AnswerLayout } from '../dns/encode.js';
import { HEADER_SIZE } from '../dns/parse.js';
import { lowerAscii, type Scan } from '../dns/scan.js';
import type { Zone } from '../zones/zone.js';

const REFRESH_HITS = 4096;
const MAX_AGE_MS = 60000;
/**
 * ENTRY_OVERHEAD is an entry's memory besides its wire bytes (the entry, its key and
 * name, the map slot, the wire's Buffer object), measured with 100,000 entries of 87
 * bytes: 736-779 bytes of RSS each, so 650-690 besides the wire.
 */
export const ENTRY_OVERHEAD = 700;
/** DOORKEEPER_SIZE bounds the names remembered as asked once for a negative answer. */
const DOORKEEPER_SIZE = 16384;
const VIEW_OVERHEAD = 80;

/**
 * CacheKey is where an answer lives: the scan's name hash, the lower-cased wire name (as
 * a latin1 string: a fraction of a Buffer's memory per entry), and a number packing
 * type, class, size limit and EDNS/DO.
 */
export interface CacheKey {
  hash: number;
  name: string;
  variant: number;
}

/** Entry is one cached answer; entries with the same hash chain through next. */
export interface Entry {
  readonly key: CacheKey;
  readonly wire: Buffer;
  /** zone is whoever built the answer, handed back on a hit (the handler checks it is healthy). */
  readonly zone: Zone;
  readonly tag: string;
  /** answersAt is where the answer section starts; views[r] holds the records rotated by r (views[0] unused). */
  readonly answersAt: number;
  readonly views: readonly Uint8Array[] | undefined;
  rotation: number;
  /** limitBytes, with --a-record-limit, is per leading record the bytes of the records sent from it. */
  readonly limitBytes: Uint32Array | undefined;
  readonly limit: number;
  /** schedule, for weighted answers, names the record to lead on each hit in turn (lib/answer/weights.ts); turn is where it is. */
  readonly schedule: Uint16Array | undefined;
  turn: number;
  hits: number;
  readonly built: number;
  readonly size: number;
  next: Entry | undefined;
  /** tagPrev and tagNext link the entries built from the same data (one tag), for invalidation. */
  tagPrev: Entry | undefined;
  tagNext: Entry | undefined;
  /** older and newer link the entries in insertion order; linked says the entry is in the store. */
  older: Entry | undefined;
  newer: Entry | undefined;
  linked: boolean;
}

/** variantOf packs what an answer's bytes depend on besides the name, id, flags and name case. */
function variantOf(type: number, qclass: number, limit: number, edns: number): number {
  return ((type * 65536 + qclass) * 65536 + limit) * 4 + edns;
}

/** keyOf makes the key of the question scanned from packet. */
export function keyOf(packet: Buffer, s: Scan, limit: number): CacheKey {
  const lower = Buffer.allocUnsafe(s.nameEnd - HEADER_SIZE);
  for (let i = 0; i < lower.length; i++) lower[i] = lowerAscii(packet[HEADER_SIZE + i]!);
  return { hash: s.hash, name: lower.toString('latin1'), variant: variantOf(s.type, s.qclass, limit, s.edns) };
}

/** sameName compares the lower-cased wire name with the packet's question name, ASCII case-insensitively. */
function sameName(name: string, packet: Buffer, nameEnd: number): boolean {
  if (nameEnd - HEADER_SIZE !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (lowerAscii(packet[HEADER_SIZE + i]!) !== name.charCodeAt(i)) return false;
  return true;
}

/** rotations makes the views of a relocatable answer's records rotated by 1..n-1. */
function rotations(wire: Buffer, layout: AnswerLayout, arena: Arena): Uint8Array[] {
  const { starts, end } = layout;
  const at = starts[0]!;
  const records = wire.subarray(at, end);
  const twice = arena.alloc(2 * records.length);
  twice.set(records);
  twice.set(records, records.length);
  return starts.map((s) => twice.subarray(s - at, s - at + records.length));
}

/** AnswerCache maps (name, type, class, size limit, EDNS, DO) to encoded answers. */
export class AnswerCache {
  private readonly buckets = new Map<number, Entry>();
  /** oldest and newest are the ends of the insertion-order list, for eviction. */
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private count = 0;
  /** byTag holds the first entry of each tag's list (a list through the entries: no Set per tag). */
  private readonly byTag = new Map<string, Entry>();
  /** arena holds the cached bytes, apart from the replies of the moment (arena.ts). */
  private readonly arena = new Arena();
  private bytes = 0;
  hits = 0;
  misses = 0;
  /** generation counts the changes that dropped answers (invalidate, clear): what was true before may not be now. */
  generation = 0;
  /**
   * doorkeeper remembers the keys of negative answers built once: a negative answer is
   * kept only when asked a second time, so that a stream of random names (each asked
   * once) cannot fill the cache and push out the answers real traffic uses.
   */
  private readonly doorkeeper = new Set<string>();

  constructor(private readonly maxBytes: number) {}

  /** find returns the live entry for the scanned question of packet. Misses are counted by the caller, which knows whether the question could be cached. */
  find(packet: Buffer, s: Scan, limit: number): Entry | undefined {
    const variant = variantOf(s.type, s.qclass, limit, s.edns);
    for (let e = this.buckets.get(s.hash); e !== undefined; e = e.next) {
      if (e.key.variant !== variant || !sameName(e.key.name, packet, s.nameEnd)) continue;
      // Due for a rebuild: used REFRESH_HITS times, or older than MAX_AGE_MS (checked every 256 hits).
      if (++e.hits >= REFRESH_HITS || ((e.hits & 255) === 0 && Date.now() - e.built >= MAX_AGE_MS)) {
        this.delete(e);
        break;
      }
      return e;
    }
    return undefined;
  }

  /** reply makes the wire for a hit: the next rotation (or the scheduled lead), patched for this query. */
  reply(e: Entry, packet: Buffer, nameEnd: number, ra: boolean): Buffer {
    this.hits++;
    return patch(this.led(e, nextLead(e)), packet, nameEnd, ra);
  }

  /**
   * firstReply is what the query that built an entry gets: for a weighted or limited
   * answer, the schedule's first lead within --a-record-limit, as every hit after it;
   * otherwise the bytes as built (the rotation starts after them).
   */
  firstReply(e: Entry): Buffer {
    return e.schedule !== undefined || e.limitBytes !== undefined ? this.led(e, nextLead(e)) : e.wire;
  }

  /** led is an entry's reply with the records led by record lead, within the limit. */
  private led(e: Entry, lead: number): Buffer {
    if (e.limitBytes !== undefined) return limited(e, lead);
    const out = Buffer.allocUnsafe(e.wire.length);
    out.set(e.wire);
    if (lead > 0) out.set(e.views![lead]!, e.answersAt);
    return out;
  }

  /** countMiss counts a question of the common shape whose answer had to be built. */
  countMiss(): void {
    this.misses++;
  }

  /** admitNegative tells whether a negative answer should be kept: only from its second asking on. */
  admitNegative(key: CacheKey): boolean {
    const id = `${key.variant}\0${key.name}`;
    if (this.doorkeeper.delete(id)) return true;
    if (this.doorkeeper.size >= DOORKEEPER_SIZE) this.doorkeeper.clear();
    this.doorkeeper.add(id);
    return false;
  }

  /**
   * set stores an answer built by zone; with a layout of two or more records, they
   * rotate on every hit, and with lead weights (one per record in the layout) each
   * leads in proportion to its weight.
   */
  set(key: CacheKey, zone: Zone, depends: DataKey, wire: Buffer, layout?: AnswerLayout, lead?: readonly number[], limit = 0): Entry | undefined {
    const old = this.lookup(key);
    if (old) this.delete(old);
    const rotating = layout !== undefined && layout.starts.length > 1;
    const size = wire.length + ENTRY_OVERHEAD + (rotating ? 2 * (layout.end - layout.starts[0]!) + layout.starts.length * VIEW_OVERHEAD : 0);
    // An answer bigger than the whole cache is not kept (and with a size of 0, none is).
    if (size > this.maxBytes) return undefined;
    const tag = keyString(depends);
    wire = this.arena.copy(wire);
    const views = rotating ? rotations(wire, layout, this.arena) : undefined;
    const plan = views !== undefined && lead !== undefined && lead.length === views.length ? schedule(lead) : undefined;
    const e: Entry = { key, wire, zone, tag, answersAt: layout?.starts[0] ?? 0, views, rotation: views ? 1 : 0, schedule: plan, turn: 0, limitBytes: views && limit > 0 && limit < views.length ? limitSizes(layout!, limit) : undefined, limit, hits: 0, built: Date.now(), size, next: this.buckets.get(key.hash), tagPrev: undefined, tagNext: this.byTag.get(tag), older: undefined, newer: undefined, linked: false };
    this.buckets.set(key.hash, e);
    this.link(e);
    this.bytes += size;
    if (e.tagNext) e.tagNext.tagPrev = e;
    this.byTag.set(tag, e);
    // Evict the oldest insertions until within bounds.
    while (this.bytes > this.maxBytes && this.oldest) this.delete(this.oldest);
    return e;
  }

  /** link appends an entry at the newest end. */
  private link(e: Entry): void {
    e.linked = true;
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
    this.count++;
  }

  /** unlink takes an entry out of the list. */
  private unlink(e: Entry): void {
    e.linked = false;
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = e.newer = undefined;
    this.count--;
  }

  private lookup(key: CacheKey): Entry | undefined {
    for (let e = this.buckets.get(key.hash); e !== undefined; e = e.next) {
      if (e.key.variant === key.variant && e.key.name === key.name) return e;
    }
    return undefined;
  }

  private delete(e: Entry): void {
    if (!e.linked) return;
    this.unlink(e);
    const head = this.buckets.get(e.key.hash);
    if (head === e) {
      if (e.next) this.buckets.set(e.key.hash, e.next);
      else this.buckets.delete(e.key.hash);
    } else {
      for (let p = head; p !== undefined; p = p.next) {
        if (p.next === e) {
          p.next = e.next;
          break;
        }
      }
    }
    this.bytes -= e.size;
    if (e.tagPrev) e.tagPrev.tagNext = e.tagNext;
    else if (e.tagNext) this.byTag.set(e.tag, e.tagNext);
    else this.byTag.delete(e.tag);
    if (e.tagNext) e.tagNext.tagPrev = e.tagPrev;
    e.tagPrev = e.tagNext = undefined;
  }

  /** invalidate drops every entry built from the data named. */
  invalidate(changed: DataKey): void {
    this.generation++;
    const tag = keyString(changed);
    // Deleting the head of the tag's list makes the next one the head.
    for (let e = this.byTag.get(tag); e !== undefined; e = this.byTag.get(tag)) this.delete(e);
  }

  clear(): void {
    this.generation++;
    this.buckets.clear();
    // Entries handed out before stay harmless: none of them is linked any more.
    for (let e = this.oldest; e !== undefined; e = e.newer) e.linked = false;
    this.oldest = undefined;
    this.newest = undefined;
    this.count = 0;
    this.byTag.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.count;
  }

  /** byteSize is the memory the entries are counted at, overhead included. */
  get byteSize(): number {
    return this.bytes;
  }
}

/** nextLead advances an entry's schedule or rotation and says which record leads this reply. */
function nextLead(e: Entry): number {
  if (e.schedule !== undefined) {
    const lead = e.schedule[e.turn]!;
    if (++e.turn === e.schedule.length) e.turn = 0;
    return lead;
  }
  if (e.views === undefined) return 0;
  const lead = e.rotation;
  if (++e.rotation === e.views.length) e.rotation = 0;
  return lead;
}

/** limitSizes gives, for each record leading, the bytes of `limit` records from it in rotation. */
function limitSizes(layout: AnswerLayout, limit: number): Uint32Array {
  const { starts, end } = layout;
  const n = starts.length;
  const size = (i: number): number => (i + 1 < n ? starts[i + 1]! : end) - starts[i]!;
  const out = new Uint32Array(n);
  let window = 0;
  for (let i = 0; i < limit; i++) window += size(i);
  for (let lead = 0; lead < n; lead++) {
    out[lead] = window;
    window += size((lead + limit) % n) - size(lead);
  }
  return out;
}

/** limited is an entry's reply with only `limit` records from lead on in the answer section (ANCOUNT set). */
function limited(e: Entry, lead: number): Buffer {
  const bytes = e.limitBytes![lead]!;
  // Limited entries rotate, so views[0] is the whole answer section.
  const answersEnd = e.answersAt + e.views![0]!.length;
  const tail = e.wire.length - answersEnd;
  const out = Buffer.allocUnsafe(e.answersAt + bytes + tail);
  e.wire.copy(out, 0, 0, e.answersAt);
  out.set((lead === 0 ? e.wire.subarray(e.answersAt) : e.views![lead]!).subarray(0, bytes), e.answersAt);
  e.wire.copy(out, e.answersAt + bytes, answersEnd);
  out.writeUInt16BE(e.limit, 6);
  return out;
}

/** patch puts the query's id, RD and CD bits, this client's RA, and the question name bytes into a reply, in place. */
function patch(out: Buffer, packet: Buffer, nameEnd: number, ra: boolean): Buffer {
  out[0] = packet[0]!;
  out[1] = packet[1]!;
  out[2] = (out[2]! & 0xfe) | (packet[2]! & 0x01);
  out[3] = (out[3]! & 0x6f) | (packet[3]! & 0x10) | (ra ? 0x80 : 0);
  // A name is short: a loop beats Buffer.copy's call overhead.
  for (let i = HEADER_SIZE; i < nameEnd; i++) out[i] = packet[i]!;
  return out;
}
