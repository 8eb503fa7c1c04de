// A bounds-checked reader for what a server needs from a query: the header, the one
// question and the EDNS OPT record. Every read is checked against the packet length,
// so no input can throw anything but a QueryError or loop (compression pointers may
// only point backwards, RFC 1035 §4.1.4, and a name is capped at 255 bytes).
import { RRType } from './constants.js';
import { escapeLabel, MAX_NAME } from './names.js';

/** HEADER_SIZE is the fixed DNS header length (RFC 1035 §4.1.1). */
export const HEADER_SIZE = 12;

/** Edns is what a query's OPT record says (RFC 6891 §6.1.2). */
export interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  /** clientSubnet is the address of an EDNS Client Subnet option (RFC 7871), when one is well-formed. */
  clientSubnet?: string;
}

const ECS_OPTION = 8;

/** clientSubnet reads an ECS option's address: FAMILY (1 IPv4, 2 IPv6), SOURCE and SCOPE prefix lengths, the prefix's octets. */
function clientSubnet(buf: Buffer, at: number, length: number): string | undefined {
  if (length < 4) return undefined;
  const family = (buf[at]! << 8) | buf[at + 1]!;
  const source = buf[at + 2]!;
  const octets = buf.subarray(at + 4, at + length);
  const size = family === 1 ? 4 : family === 2 ? 16 : 0;
  if (size === 0 || octets.length !== Math.ceil(source / 8) || source > size * 8) return undefined;
  const full = Buffer.alloc(size);
  octets.copy(full);
  if (size === 4) return [...full].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(full.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** Query is a parsed request: header fields, the question, and EDNS if present. */
export interface Query {
  id: number;
  /** flags is the raw second header word. */
  flags: number;
  opcode: number;
  qr: boolean;
  rd: boolean;
  cd: boolean;
  qdcount: number;
  /** name is the question name in presentation form, case as asked, trailing dot. */
  name: string;
  type: number;
  class: number;
  edns: Edns | undefined;
  /** nameEnd is where the question name ends in the packet. */
  nameEnd: number;
}

/** QueryError says why a packet is not a well-formed query; id is set when the header was readable. */
export class QueryError extends Error {
  constructor(
    message: string,
    readonly header: { id: number; flags: number } | undefined,
  ) {
    super(`dns/parse: ${message}`);
  }
}

/**
 * Latin1Slicer: Buffer's own latin1Slice, which toString('latin1', …) calls after
 * checking its arguments; the hot path calls it directly (bounds are checked here).
 */
type Latin1Slicer = Buffer & { latin1Slice(start: number, end: number): string };

interface NameRead {
  name: string;
  end: number;
}

/** readName reads a possibly compressed name at offset; end is where the name ends in place. */
export function readName(buf: Buffer, offset: number): NameRead | string {
  let pos = offset;
  let end = -1;
  let wire = 1;
  let name = '';
  let floor = offset; // pointers must go strictly below the label that holds them
  for (;;) {
    if (pos >= buf.length) return 'name runs past the end';
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      return { name: name === '' ? '.' : name, end };
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return 'pointer runs past the end';
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (target >= floor) return 'compression pointer does not point backwards';
      floor = target;
      pos = target;
      continue;
    }
    if (kind !== 0) return 'unknown label type';
    if (pos + 1 + len > buf.length) return 'label runs past the end';
    wire += len + 1;
    if (wire > MAX_NAME) return 'name longer than 255 bytes';
    // Plain printable labels (nearly all) decode in one call; others get RFC 1035 escapes.
    let plain = true;
    for (let i = pos + 1; i <= pos + len; i++) {
      const b = buf[i]!;
      if (b <= 0x20 || b >= 0x7f || b === 0x2e || b === 0x5c) {
        plain = false;
        break;
      }
    }
    name += plain ? (buf as Latin1Slicer).latin1Slice(pos + 1, pos + 1 + len) : escapeLabel(buf.subarray(pos + 1, pos + 1 + len));
    name += '.';
    pos += len + 1;
  }
}

function fail(message: string, id: number, flags: number): never {
  throw new QueryError(message, { id, flags });
}

/** parseQuery reads header, question and OPT from a query packet, or throws QueryError. */
export function parseQuery(buf: Buffer): Query {
  if (buf.length < HEADER_SIZE) throw new QueryError('shorter than a header', undefined);
  const id = (buf[0]! << 8) | buf[1]!;
  const flags = (buf[2]! << 8) | buf[3]!;
  const qdcount = (buf[4]! << 8) | buf[5]!;
  const ancount = (buf[6]! << 8) | buf[7]!;
  const nscount = (buf[8]! << 8) | buf[9]!;
  const arcount = (buf[10]! << 8) | buf[11]!;
  const query: Query = {
    id,
    flags,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    cd: (flags & 0x0010) !== 0,
    qdcount,
    name: '.',
    type: 0,
    class: 0,
    edns: undefined,
    nameEnd: HEADER_SIZE,
  };
  // A response is dropped and an unknown opcode is NOTIMP: either way, read no further.
  if (query.qr || query.opcode !== 0) return query;
  if (qdcount !== 1) fail(`QDCOUNT is ${qdcount}, not 1`, id, flags);
  const q = readName(buf, HEADER_SIZE);
  if (typeof q === 'string') fail(q, id, flags);
  if (q.end + 4 > buf.length) fail('question runs past the end', id, flags);
  query.name = q.name;
  query.nameEnd = q.end;
  query.type = (buf[q.end]! << 8) | buf[q.end + 1]!;
  query.class = (buf[q.end + 2]! << 8) | buf[q.end + 3]!;
  let pos = q.end + 4;
  // Answer and authority records of a query are skipped, but still bounds-checked.
  for (let i = 0; i < ancount + nscount + arcount; i++) {
    const owner = readName(buf, pos);
    if (typeof owner === 'string') fail(owner, id, flags);
    pos = owner.end;
    if (pos + 10 > buf.length) fail('record header runs past the end', id, flags);
    const type = (buf[pos]! << 8) | buf[pos + 1]!;
    const rclass = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    const ttl = ((buf[pos + 4]! << 24) | (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!) >>> 0;
    const rdlength = (buf[pos + 8]! << 8) | buf[pos + 9]!;
    pos += 10;
    if (pos + rdlength > buf.length) fail('record data runs past the end', id, flags);
    if (type === RRType.OPT) {
      // RFC 6891 §6.1.1: one OPT, owned by the root, in the additional section.
      if (i < ancount + nscount) fail('OPT outside the additional section', id, flags);
      if (query.edns) fail('more than one OPT record', id, flags);
      if (owner.name !== '.') fail('OPT owner is not the root', id, flags);
      query.edns = { udpSize: rclass, version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0 };
      // Options must be well-framed; only Client Subnet is read (for prepared queries with
      // Near "_ip"), the others are ignored (RFC 6891 §6.1.2).
      let o = pos;
      while (o < pos + rdlength) {
        if (o + 4 > pos + rdlength) fail('EDNS option runs past the OPT', id, flags);
        const code = (buf[o]! << 8) | buf[o + 1]!;
        const length = (buf[o + 2]! << 8) | buf[o + 3]!;
        if (o + 4 + length > pos + rdlength) fail('EDNS option runs past the OPT', id, flags);
        if (code === ECS_OPTION) query.edns.clientSubnet = clientSubnet(buf, o + 4, length);
        o += 4 + length;
      }
    }
    pos += rdlength;
  }
  return query;
}
