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

// Encoding is synchronous, so one scratch buffer serves every message.
const scratch = Buffer.allocUnsafe(MAX_MESSAGE);

class Writer {
  readonly buf = scratch;
  pos = 0;
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
   * registering is off). Keys are case-sensitive so that a pointer never changes the
   * case a name is sent in. With wholeOnly, only the full name becomes a target:
   * answers cached as bytes get the question copied in from each query, so only owners
   * equal to it may point there.
   */
  name(name: string, compress: boolean, wholeOnly = false): void {
    if (name.includes('\\')) {
      this.escapedName(name, compress, wholeOnly);
      return;
    }
    // Plain names (no escapes): labels and suffixes by index, no copies.
    const end = name.endsWith('.') ? name.length - 1 : name.length;
    if (end + 2 > MAX_NAME) throw new UnencodableName(name);
    let start = 0;
    while (start < end) {
      const key = name.slice(start, end);
      const at = this.offsets.get(key);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.registering && this.pos < 0x4000 && at === undefined && (!wholeOnly || start === 0)) this.offsets.set(key, this.pos);
      let dot = name.indexOf('.', start);
      if (dot < 0 || dot > end) dot = end;
      const length = dot - start;
      if (length === 0 || length > MAX_LABEL) throw new UnencodableName(name);
      this.room(length + 1);
      this.buf[this.pos++] = length;
      this.pos += this.buf.write(name.slice(start, dot), this.pos, 'latin1');
      start = dot + 1;
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

function typeCode(rr: Rr): number {
  return RRType[rr.type];
}

function writeAddress(w: Writer, address: string, v4: boolean): void {
  if (v4) {
    for (const part of address.split('.')) w.u8(Number(part));
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

/** encodeMessage writes a response. It throws MessageTooLarge past 65535 bytes. */
export function encodeMessage(msg: Message, layout?: AnswerLayout): Buffer {
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
  for (const rr of msg.answers) {
    layout?.starts.push(w.pos);
    writeRecord(w, rr);
  }
  if (layout) layout.end = w.pos;
  w.registering = true;
  for (const rr of msg.authority) writeRecord(w, rr);
  for (const rr of msg.additional) writeRecord(w, rr);
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
