// A small DNS message encoder. Owner names and the RDATA names of the RFC 1035 types
// (CNAME, NS, PTR, MX, SOA) are compressed; SRV targets never are (RFC 2782: "name
// compression is not to be used for this field"; RFC 3597 §4 forbids it for any type
// not in RFC 1035), because newer c-ares — Node's resolver — rejects them.
import { ipv6Bytes } from './addr.js';
import { RRClass, RRType } from './constants.js';
import { MAX_LABEL, MAX_NAME, nameLabels } from './names.js';
import type { Rr } from './records.js';

/** ResponseHeader is what the header of an answer says. */
export interface ResponseHeader {
  id: number;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  cd: boolean;
  /** rcode may exceed 15; the high bits go to the OPT record (RFC 6891 §6.1.3). */
  rcode: number;
}

/** ResponseEdns is the OPT record of an answer; present only when the query had one. */
export interface ResponseEdns {
  udpSize: number;
  dnssecOk: boolean;
}

/** Message is a whole response ready to encode. */
export interface Message {
  header: ResponseHeader;
  /** question is echoed as asked; absent in FORMERR replies to unreadable questions. */
  question: { name: string; type: number; class: number } | undefined;
  answers: readonly Rr[];
  authority: readonly Rr[];
  additional: readonly Rr[];
  edns: ResponseEdns | undefined;
}

const MAX_MESSAGE = 65535;

/** MessageTooLarge is thrown when a message cannot fit 65535 bytes. */
export class MessageTooLarge extends Error {
  constructor() {
    super('dns/encode: message exceeds 65535 bytes');
  }
}

/** UnencodableName is thrown for a name with a label over 63 octets or over 255 octets in all (RFC 1035 §2.3.4). */
export class UnencodableName extends Error {
  constructor(readonly dnsName: string) {
    super(`dns/encode: name cannot be encoded (label over 63 or name over 255 octets): "${dnsName.slice(0, 300)}"`);
    this.name = 'UnencodableName';
  }
}

// Encoding is synchronous, so one scratch buffer serves every message, and one pair of
// arrays every name (a name has at most 127 labels).
const scratch = Buffer.allocUnsafe(MAX_MESSAGE);
const labelStarts = new Int32Array(128);
const suffixHashes = new Int32Array(128);

// The suffixes written so far, as pointer targets: an open-addressing table of (hash,
// offset) in typed arrays, shared by every message and emptied by stamping each message's
// slots with a number of its own. A match is confirmed against the bytes already written,
// so a suffix costs no object, string or Map entry (those were a quarter of building an
// answer). Pointers reach 0x3fff, where at most 8,192 suffixes fit (two octets each at
// least): a table of 16,384 slots is never more than half full.
const SLOTS = 1 << 14;
const slotHash = new Int32Array(SLOTS);
const slotOffset = new Int32Array(SLOTS);
const slotStamp = new Int32Array(SLOTS);
let stamp = 0;
/** pointerAt lists where this message's compression pointers are written, in order (up to its size; past it, no cut moves records). */
const pointerAt = new Int32Array(4096);
let pointerCount = 0;
/**
 * wholeNames maps a name (the very string) to where it was written whole: an answer's
 * owner is the question's name and glue's owner its SRV target, the same strings, which
 * a Map finds by the hash the string keeps, without reading its characters again.
 */
let wholeNames = new Map<string, number>();

/** newStamp empties the suffix table and the whole names for the next message. */
function newStamp(): void {
  if (++stamp === 0x7fffffff) {
    slotStamp.fill(0);
    stamp = 1;
  }
  // A new Map costs less than clearing one (V8 allocates a new table either way).
  if (wholeNames.size > 0) wholeNames = new Map();
  pointerCount = 0;
}

/**
 * wireEquals compares name[start, end) (plain: labels between dots) with the name
 * written at offset, following pointers, exactly (case included).
 */
function wireEquals(buf: Buffer, offset: number, name: string, start: number, end: number): boolean {
  let pos = offset;
  let i = start;
  for (;;) {
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) {
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (i >= end) return len === 0;
    // The label written must match name[i, i + len) and end where the name's label does.
    if (i + len > end || (i + len < end && name.charCodeAt(i + len) !== 0x2e)) return false;
    for (let j = 0; j < len; j++) if (buf[pos + 1 + j] !== (name.charCodeAt(i + j) & 0xff)) return false;
    pos += len + 1;
    i += len + 1;
  }
}

class Writer {
  readonly buf = scratch;
  pos = 0;
  /** offsets holds the suffixes of names with escapes, by their labels (rare: made when first needed). */
  private offsets: Map<string, number> | undefined;

  constructor() {
    newStamp();
  }

  room(n: number): void {
    if (this.pos + n > MAX_MESSAGE) throw new MessageTooLarge();
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.room(2);
    const buf = this.buf;
    buf[this.pos++] = (v >>> 8) & 0xff;
    buf[this.pos++] = v & 0xff;
  }
  u32(v: number): void {
    this.room(4);
    const buf = this.buf;
    buf[this.pos++] = (v >>> 24) & 0xff;
    buf[this.pos++] = (v >>> 16) & 0xff;
    buf[this.pos++] = (v >>> 8) & 0xff;
    buf[this.pos++] = v & 0xff;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** pointer writes a compression pointer to offset, noting where it is. */
  pointer(offset: number): void {
    if (pointerCount < pointerAt.length) pointerAt[pointerCount] = this.pos;
    pointerCount++;
    this.u16(0xc000 | offset);
  }

  /** registering: whether names written now may become pointer targets (off for relocatable answers). */
  registering = true;

  /** written finds a plain suffix written before: its offset, or -1. */
  private written(hash: number, name: string, start: number, end: number): number {
    for (let i = hash & (SLOTS - 1); slotStamp[i] === stamp; i = (i + 1) & (SLOTS - 1)) {
      if (slotHash[i] === hash && wireEquals(this.buf, slotOffset[i]!, name, start, end)) return slotOffset[i]!;
    }
    return -1;
  }

  /** remember makes the suffix written at offset (by default: about to be written at pos) a pointer target. */
  private remember(hash: number, offset = this.pos): void {
    let i = hash & (SLOTS - 1);
    while (slotStamp[i] === stamp) i = (i + 1) & (SLOTS - 1);
    slotStamp[i] = stamp;
    slotHash[i] = hash;
    slotOffset[i] = offset;
  }

  /**
   * whole writes a name that is never compressed itself (an SRV target, the question),
   * label by label in one pass, and makes only the whole name a pointer target: what
   * points at such names is glue naming the same target, or an answer owned by the
   * question. Registering every suffix, as name() does, cost more than writing the name.
   */
  private whole(name: string, wholeOnly: boolean): void {
    const end = name.length > 0 && name.charCodeAt(name.length - 1) === 0x2e ? name.length - 1 : name.length;
    if (end + 2 > MAX_NAME) throw new UnencodableName(name);
    this.room(end + 2);
    const buf = this.buf;
    const at = this.pos;
    let lengthAt = at;
    let pos = at + 1;
    let h = end;
    for (let i = 0; i < end; i++) {
      const c = name.charCodeAt(i);
      if (c === 0x5c) {
        this.escapedName(name, false, wholeOnly);
        return;
      }
      if (c === 0x2e) {
        const length = pos - lengthAt - 1;
        if (length === 0 || length > MAX_LABEL) throw new UnencodableName(name);
        buf[lengthAt] = length;
        lengthAt = pos++;
      } else {
        buf[pos++] = c & 0xff; // latin1, as Buffer.write would
      }
    }
    if (end > 0) {
      const length = pos - lengthAt - 1;
      if (length === 0 || length > MAX_LABEL) throw new UnencodableName(name);
      buf[lengthAt] = length;
    } else {
      pos = at; // the root: no label
    }
    buf[pos++] = 0;
    this.pos = pos;
    if (!this.registering || at >= 0x4000 || wholeNames.has(name)) return;
    // The whole name's hash, as name() computes a suffix's (from the right), so that a
    // longer name ending in this one can point here too.
    for (let i = end - 1; i >= 0; i--) h = (Math.imul(h, 31) + name.charCodeAt(i)) & 0x3fffffff;
    this.remember(h, at);
    wholeNames.set(name, at);
  }

  /**
   * name writes a domain name. With compress, the longest suffix already written is
   * replaced by a pointer, and the suffixes written here become pointer targets (unless
   * registering is off). Suffixes match case-sensitively, so that a pointer never
   * changes the case a name is sent in. Without compress (SRV targets, the question),
   * only the whole name becomes a target (whole()). With wholeOnly (the question), an
   * escaped name too registers only its whole: answers cached as bytes get the question
   * copied in from each query, so only owners equal to it may point there.
   *
   * Plain names (no escapes) are looked up whole in wholeNames, then by a hash of each
   * suffix computed in one pass over the characters, compared with the bytes written on
   * a match: no substring is made (hashing a fresh substring per suffix was the largest
   * cost of building an answer).
   */
  name(name: string, compress: boolean, wholeOnly = false): void {
    if (!compress) {
      this.whole(name, wholeOnly);
      return;
    }
    const at = wholeNames.get(name);
    if (at !== undefined) {
      this.pointer(at);
      return;
    }
    const end = name.length > 0 && name.charCodeAt(name.length - 1) === 0x2e ? name.length - 1 : name.length;
    if (end + 2 > MAX_NAME) throw new UnencodableName(name);
    // One pass from the right: the hash of every suffix, and where each label starts,
    // kept from the last label to the first (then read backwards). Hashes are kept to
    // 30 bits, a small integer for V8. Charwise, not indexOf: a builtin call per label
    // cost more than the whole loop.
    let labels = 0;
    let h = end;
    // The root has no label; any other name's first label starts after a dot at -1.
    const stop = end > 0 ? -1 : 0;
    for (let i = end - 1; i >= stop; i--) {
      const c = i >= 0 ? name.charCodeAt(i) : 0x2e;
      if (c === 0x5c) {
        this.escapedName(name, true, false);
        return;
      }
      if (c === 0x2e) {
        if (labels === 128) throw new UnencodableName(name);
        labelStarts[labels] = i + 1;
        suffixHashes[labels++] = h;
      }
      h = (Math.imul(h, 31) + c) & 0x3fffffff;
    }
    // labelStarts[0] is the last label; reverse both in place so index 0 is the first.
    for (let x = 0, y = labels - 1; x < y; x++, y--) {
      const s0 = labelStarts[x]!;
      labelStarts[x] = labelStarts[y]!;
      labelStarts[y] = s0;
      const h0 = suffixHashes[x]!;
      suffixHashes[x] = suffixHashes[y]!;
      suffixHashes[y] = h0;
    }
    for (let k = 0; k < labels; k++) {
      const start = labelStarts[k]!;
      const hash = suffixHashes[k]!;
      const known = this.written(hash, name, start, end);
      if (known >= 0) {
        if (k === 0 && this.registering) wholeNames.set(name, known);
        this.pointer(known);
        return;
      }
      if (this.registering && this.pos < 0x4000) {
        this.remember(hash);
        if (k === 0) wholeNames.set(name, this.pos);
      }
      const dot = k + 1 < labels ? labelStarts[k + 1]! - 1 : end;
      const length = dot - start;
      if (length === 0 || length > MAX_LABEL) throw new UnencodableName(name);
      this.room(length + 1);
      const buf = this.buf;
      buf[this.pos++] = length;
      for (let i = start; i < dot; i++) buf[this.pos++] = name.charCodeAt(i) & 0xff; // latin1, as Buffer.write would
    }
    this.u8(0);
  }

  /** escapedName is name() for names with RFC 1035 escapes; its keys never meet plain ones. */
  private escapedName(name: string, compress: boolean, wholeOnly: boolean): void {
    const labels = nameLabels(name);
    if (labels.reduce((n, l) => n + l.length + 1, 1) > MAX_NAME) throw new UnencodableName(name);
    const offsets = (this.offsets ??= new Map());
    for (let i = 0; i < labels.length; i++) {
      const key = labels
        .slice(i)
        .map((l) => l.toString('latin1'))
        .join('\0');
      const at = offsets.get(key);
      if (compress && at !== undefined) {
        this.pointer(at);
        return;
      }
      if (this.registering && this.pos < 0x4000 && at === undefined && (!wholeOnly || i === 0)) offsets.set(key, this.pos);
      const label = labels[i]!;
      if (label.length === 0 || label.length > MAX_LABEL) throw new UnencodableName(name);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }
}

/**
 * typeCode is a record's TYPE, by a switch: a keyed load of the mnemonic from the enum
 * object is megamorphic (callgrind: KeyedLoadIC_Megamorphic), 4-6% of building an SRV answer.
 */
function typeCode(rr: Rr): number {
  switch (rr.type) {
    case 'A':
      return RRType.A;
    case 'AAAA':
      return RRType.AAAA;
    case 'SRV':
      return RRType.SRV;
    case 'TXT':
      return RRType.TXT;
    case 'PTR':
      return RRType.PTR;
    case 'CNAME':
      return RRType.CNAME;
    case 'NS':
      return RRType.NS;
    case 'MX':
      return RRType.MX;
    case 'SOA':
      return RRType.SOA;
  }
}

function writeAddress(w: Writer, address: string, v4: boolean): void {
  if (v4) {
    // Dotted quad, as the catalog holds it (validated when read): four decimal numbers.
    let octet = 0;
    for (let i = 0; i < address.length; i++) {
      const c = address.charCodeAt(i);
      if (c === 0x2e) {
        w.u8(octet);
        octet = 0;
      } else octet = octet * 10 + (c - 0x30);
    }
    w.u8(octet);
    return;
  }
  w.bytes(ipv6Bytes(address));
}

function writeRecord(w: Writer, rr: Rr): void {
  w.name(rr.name, true);
  w.u16(typeCode(rr));
  w.u16(RRClass.IN);
  w.u32(rr.ttl);
  const lengthAt = w.pos;
  w.u16(0);
  switch (rr.type) {
    case 'A':
      writeAddress(w, rr.address, true);
      break;
    case 'AAAA':
      writeAddress(w, rr.address, false);
      break;
    case 'SRV':
      w.u16(rr.priority);
      w.u16(rr.weight);
      w.u16(rr.port);
      w.name(rr.target, false);
      break;
    case 'TXT':
      // A character-string holds at most 255 bytes (RFC 1035 §3.3); longer text is split.
      for (const s of rr.strings) {
        const b = Buffer.from(s, 'utf8');
        let at = 0;
        do {
          const chunk = b.subarray(at, at + 255);
          w.u8(chunk.length);
          w.bytes(chunk);
          at += 255;
        } while (at < b.length);
      }
      break;
    case 'PTR':
    case 'CNAME':
    case 'NS':
      w.name(rr.target, true);
      break;
    case 'MX':
      w.u16(rr.preference);
      w.name(rr.exchange, true);
      break;
    case 'SOA':
      w.name(rr.mname, true);
      w.name(rr.rname, true);
      w.u32(rr.serial);
      w.u32(rr.refresh);
      w.u32(rr.retry);
      w.u32(rr.expire);
      w.u32(rr.minimum);
      break;
  }
  const length = w.pos - lengthAt - 2;
  w.buf[lengthAt] = length >>> 8;
  w.buf[lengthAt + 1] = length & 0xff;
}

/**
 * AnswerLayout, when passed to encodeMessage, asks for relocatable answers and receives
 * where each answer record starts and where the section ends. Relocatable: no later
 * name points into the answer section, so its records can be sent in any order.
 */
export interface AnswerLayout {
  starts: number[];
  end: number;
}

/**
 * encodeMessage writes a response. It throws MessageTooLarge past 65535 bytes. With
 * ends, it fills in where the answer section starts, then where each record ends
 * (answers, authority, additional), then where the message ends.
 */
export function encodeMessage(msg: Message, layout?: AnswerLayout, ends?: number[]): Buffer {
  return copyOut(encodeInto(msg, layout, ends));
}

/** encodeWithin is encodeMessage for a reply of at most limit bytes: undefined when longer (ends still filled in). */
export function encodeWithin(msg: Message, limit: number, layout?: AnswerLayout, ends?: number[]): Buffer | undefined {
  const length = encodeInto(msg, layout, ends);
  return length <= limit ? copyOut(length) : undefined;
}

/** copyOut copies the message just encoded out of the scratch buffer. */
function copyOut(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  scratch.copy(out, 0, 0, length);
  return out;
}

/** encodeInto writes msg into the scratch buffer and returns its length. */
function encodeInto(msg: Message, layout: AnswerLayout | undefined, ends: number[] | undefined): number {
  // Whatever was encoded before is written over now, even if this one fails part way.
  last = undefined;
  const w = new Writer();
  const h = msg.header;
  w.u16(h.id);
  w.u16(
    0x8000 |
      ((h.opcode & 0xf) << 11) |
      (h.aa ? 0x0400 : 0) |
      (h.tc ? 0x0200 : 0) |
      (h.rd ? 0x0100 : 0) |
      (h.ra ? 0x0080 : 0) |
      (h.cd ? 0x0010 : 0) |
      (h.rcode & 0xf),
  );
  w.u16(msg.question ? 1 : 0);
  w.u16(msg.answers.length);
  w.u16(msg.authority.length);
  w.u16(msg.additional.length + (msg.edns ? 1 : 0));
  if (msg.question) {
    w.name(msg.question.name, false, true);
    w.u16(msg.question.type);
    w.u16(msg.question.class);
  }
  if (layout) {
    layout.starts = [];
    w.registering = false;
  }
  if (ends) {
    ends.length = 0;
    ends.push(w.pos);
  }
  for (const rr of msg.answers) {
    layout?.starts.push(w.pos);
    writeRecord(w, rr);
    ends?.push(w.pos);
  }
  if (layout) layout.end = w.pos;
  w.registering = true;
  for (const rr of msg.authority) {
    writeRecord(w, rr);
    ends?.push(w.pos);
  }
  for (const rr of msg.additional) {
    writeRecord(w, rr);
    ends?.push(w.pos);
  }
  writeOpt(w, msg);
  ends?.push(w.pos);
  last = ends ? { msg, writer: w, ends, starts: layout?.starts } : undefined;
  return w.pos;
}

/** writeOpt writes the OPT record when the query had one. */
function writeOpt(w: Writer, msg: Message): void {
  if (!msg.edns) return;
  // RFC 6891 §6.1.2-3: root owner, CLASS = our UDP size, TTL = extended RCODE, version 0, DO.
  w.u8(0);
  w.u16(RRType.OPT);
  w.u16(msg.edns.udpSize);
  w.u8(msg.header.rcode >> 4);
  w.u8(0);
  w.u16(msg.edns.dnssecOk ? 0x8000 : 0);
  w.u16(0);
}

/**
 * last is the message most recently encoded with its ends (where each record ends), while
 * the scratch buffer still holds it as encoded: what encodeCut works on.
 */
let last: { msg: Message; writer: Writer; ends: readonly number[]; starts: number[] | undefined } | undefined;

/** patchAt and patchTo hold a cut's pointer changes until all are known to be possible. */
const patchAt = new Int32Array(pointerAt.length);
const patchTo = new Int32Array(pointerAt.length);

/**
 * moveRecords makes, in place, the message last encoded into its cut: the first count
 * answers stay as written, and the records kept after them (the authority, then
 * `additional`, an ordered subset of the message's additional records) are moved to follow
 * them, with every pointer into a moved record moved along; then OPT. False, with nothing
 * changed, when a kept record points into a record dropped (another encoding is needed)
 * or more pointers were written than noted.
 */
function moveRecords(w: Writer, msg: Message, ends: readonly number[], count: number, additional: readonly Rr[]): boolean {
  if (pointerCount > pointerAt.length) return false;
  const first = msg.answers.length; // the first record after the answers
  const glueAt = first + msg.authority.length;
  const total = glueAt + msg.additional.length;
  // Record r spans [ends[r], ends[r + 1]); moved[r - first] is where it goes if kept, else -1.
  const moved = new Int32Array(total - first).fill(-1);
  const cut = ends[count]!;
  let to = cut;
  const keep = (r: number): void => {
    moved[r - first] = to;
    to += ends[r + 1]! - ends[r]!;
  };
  for (let r = first; r < glueAt; r++) keep(r);
  let j = 0;
  for (const rr of additional) {
    while (j < msg.additional.length && msg.additional[j] !== rr) j++;
    if (j === msg.additional.length) return false;
    keep(glueAt + j++);
  }
  // Every pointer written in a kept record, in order (a cursor over the records), whose
  // target lies past the kept answers must point into a kept record, which it follows.
  const buf = w.buf;
  const tail = ends[first]!;
  let patches = 0;
  let holder = first;
  for (let p = 0; p < pointerCount; p++) {
    const at = pointerAt[p]!;
    if (at < tail) continue;
    while (ends[holder + 1]! <= at) holder++;
    if (moved[holder - first]! < 0) continue;
    const target = ((buf[at]! & 0x3f) << 8) | buf[at + 1]!;
    if (target < cut) continue;
    if (target < tail) return false;
    // The record holding the target: a binary search of ends.
    let lo = first;
    let hi = holder;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ends[mid]! <= target) lo = mid;
      else hi = mid - 1;
    }
    if (moved[lo - first]! < 0) return false;
    patchAt[patches] = at;
    patchTo[patches++] = moved[lo - first]! + target - ends[lo]!;
  }
  for (let p = 0; p < patches; p++) {
    buf[patchAt[p]!] = 0xc0 | (patchTo[p]! >>> 8);
    buf[patchAt[p]! + 1] = patchTo[p]! & 0xff;
  }
  // Each kept record moves towards the start, never over one still to move.
  for (let r = first; r < total; r++) if (moved[r - first]! >= 0) buf.copyWithin(moved[r - first]!, ends[r]!, ends[r + 1]!);
  w.pos = to;
  writeOpt(w, msg);
  return true;
}

/**
 * encodeCut is msg, which encodeWithin has just encoded with ends, cut to its first
 * count answers and the given additional records (an ordered subset of its own), with TC
 * set; undefined when over limit. The header, question and kept answers stay as they
 * were written and the records kept after them are moved up (moveRecords); when that
 * cannot be done, or msg is not what was last encoded, the cut message is encoded anew.
 * Relocatable answers (layout) stay relocatable: layout is cut to them.
 */
export function encodeCut(msg: Message, count: number, additional: readonly Rr[], limit: number, layout?: AnswerLayout): Buffer | undefined {
  const was = last;
  // Whatever happens, the scratch buffer will no longer hold msg as encoded.
  last = undefined;
  if (was === undefined || was.msg !== msg || (layout !== undefined && was.starts === undefined) || !moveRecords(was.writer, msg, was.ends, count, additional)) {
    const h = msg.header;
    const header = { id: h.id, opcode: h.opcode, aa: h.aa, tc: true, rd: h.rd, ra: h.ra, cd: h.cd, rcode: h.rcode };
    return encodeWithin({ ...msg, header, answers: msg.answers.slice(0, count), additional }, limit, layout);
  }
  const w = was.writer;
  const buf = w.buf;
  buf[2] = buf[2]! | 0x02; // TC
  buf[6] = count >>> 8;
  buf[7] = count & 0xff;
  const arcount = additional.length + (msg.edns ? 1 : 0);
  buf[10] = arcount >>> 8;
  buf[11] = arcount & 0xff;
  if (layout) {
    layout.starts = was.starts!.slice(0, count);
    layout.end = was.ends[count]!;
  }
  return w.pos <= limit ? copyOut(w.pos) : undefined;
}
