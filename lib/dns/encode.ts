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

/** Suffix is a name suffix already written: name[start, end) at offset, a pointer target. */
interface Suffix {
  name: string;
  start: number;
  end: number;
  offset: number;
}

class Writer {
  readonly buf = scratch;
  pos = 0;
  /** suffixes maps a plain name suffix's hash to the first suffix of that hash written (compared in full before use). */
  private readonly suffixes = new Map<number, Suffix>();
  /** offsets holds the suffixes of names with escapes, by their labels. */
  private readonly offsets = new Map<string, number>();

  room(n: number): void {
    if (this.pos + n > MAX_MESSAGE) throw new MessageTooLarge();
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** registering: whether names written now may become pointer targets (off for relocatable answers). */
  registering = true;

  /**
   * name writes a domain name. With compress, the longest suffix already written is
   * replaced by a pointer; the suffixes written here become pointer targets (unless
   * registering is off). Suffixes match case-sensitively, so that a pointer never
   * changes the case a name is sent in. With wholeOnly, only the full name becomes a
   * target: answers cached as bytes get the question copied in from each query, so only
   * owners equal to it may point there.
   *
   * Plain names (no escapes) are looked up by a hash of each suffix computed in one pass
   * over the characters, and compared in full on a match: no substring is made (hashing
   * a fresh substring per suffix was the largest cost of building an answer).
   */
  name(name: string, compress: boolean, wholeOnly = false): void {
    if (name.includes('\\')) {
      this.escapedName(name, compress, wholeOnly);
      return;
    }
    const end = name.length > 0 && name.charCodeAt(name.length - 1) === 0x2e ? name.length - 1 : name.length;
    if (end + 2 > MAX_NAME) throw new UnencodableName(name);
    // Where each label starts, and a hash of every suffix computed from the right:
    // suffixHashes[k] covers name[labelStarts[k], end). Kept to 30 bits, a small
    // integer for V8 (a larger number is boxed, and a slow Map key).
    let labels = 0;
    for (let start = 0; start < end; ) {
      if (labels === 128) throw new UnencodableName(name);
      labelStarts[labels++] = start;
      const dot = name.indexOf('.', start);
      start = dot < 0 || dot > end ? end : dot + 1;
    }
    let h = end;
    for (let k = labels - 1, i = end - 1; k >= 0; k--) {
      for (; i >= labelStarts[k]!; i--) h = (Math.imul(h, 31) + name.charCodeAt(i)) & 0x3fffffff;
      suffixHashes[k] = h;
    }
    for (let k = 0; k < labels; k++) {
      const start = labelStarts[k]!;
      const hash = suffixHashes[k]!;
      const known = this.suffixes.get(hash);
      if (known !== undefined && compress && sameSuffix(known, name, start, end)) {
        this.u16(0xc000 | known.offset);
        return;
      }
      if (this.registering && this.pos < 0x4000 && known === undefined && (!wholeOnly || k === 0)) this.suffixes.set(hash, { name, start, end, offset: this.pos });
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
    for (let i = 0; i < labels.length; i++) {
      const key = `\u0001${labels
        .slice(i)
        .map((l) => l.toString('latin1'))
        .join('\0')}`;
      const at = this.offsets.get(key);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.registering && this.pos < 0x4000 && at === undefined && (!wholeOnly || i === 0)) this.offsets.set(key, this.pos);
      const label = labels[i]!;
      if (label.length === 0 || label.length > MAX_LABEL) throw new UnencodableName(name);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }
}

/** sameSuffix compares name[start, end) with a suffix written before, exactly. */
function sameSuffix(s: Suffix, name: string, start: number, end: number): boolean {
  const length = end - start;
  if (s.end - s.start !== length) return false;
  for (let i = 0; i < length; i++) if (s.name.charCodeAt(s.start + i) !== name.charCodeAt(start + i)) return false;
  return true;
}

function typeCode(rr: Rr): number {
  return RRType[rr.type];
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
  w.buf.writeUInt16BE(w.pos - lengthAt - 2, lengthAt);
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
 * ends, it fills in where the answer section starts, then where each record ends:
 * answers, authority, additional.
 */
export function encodeMessage(msg: Message, layout?: AnswerLayout, ends?: number[]): Buffer {
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
  if (msg.edns) {
    // RFC 6891 §6.1.2-3: root owner, CLASS = our UDP size, TTL = extended RCODE, version 0, DO.
    w.u8(0);
    w.u16(RRType.OPT);
    w.u16(msg.edns.udpSize);
    w.u8(h.rcode >> 4);
    w.u8(0);
    w.u16(msg.edns.dnssecOk ? 0x8000 : 0);
    w.u16(0);
  }
  return Buffer.from(w.buf.subarray(0, w.pos));
}
