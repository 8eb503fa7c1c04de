// The hot path's reader: one pass over a query of the common shape — a plain question
// and at most an EDNS0 OPT — into a reused object, allocating nothing and decoding no
// strings. The name is hashed as it is read, lower-cased, so the answer cache can be
// asked before any name string exists. Anything else (compression, extra records, an
// EDNS version above 0, trailing bytes) returns false and goes to parseQuery, which
// handles every shape; so a packet scanned here always parses there too.
import { RRType } from './constants.js';
import { HEADER_SIZE } from './parse.js';
import { MAX_NAME } from './names.js';

/** Scan is what scanQuery read; one instance is filled again for every packet. */
export class Scan {
  /** nameEnd is where the question name ends (the type follows). */
  nameEnd = 0;
  /** hash is FNV-1a over the lower-cased wire name, non-negative and small enough to stay a V8 small integer. */
  hash = 0;
  type = 0;
  qclass = 0;
  /** edns: 0 without an OPT, 1 with one, 2 with one and the DO bit. */
  edns = 0;
  udpSize = 0;
}

/** lowerAscii lower-cases one byte of a name: A-Z only (RFC 4343), other bytes as they are. */
export const lowerAscii = (b: number): number => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const OPT_FIXED = 11; // root owner, type, class, TTL, RDLENGTH

/** scanQuery fills s from a query of the common shape and returns true; false means use parseQuery. */
export function scanQuery(buf: Buffer, s: Scan): boolean {
  const n = buf.length;
  // QR=0 and opcode QUERY; QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1.
  if (n < HEADER_SIZE + 5 || (buf[2]! & 0xf8) !== 0 || buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0 || buf[10] !== 0) return false;
  const arcount = buf[11]!;
  if (arcount > 1) return false;
  let h = FNV_OFFSET;
  let pos = HEADER_SIZE;
  for (;;) {
    const len = buf[pos]!;
    h = Math.imul(h ^ len, FNV_PRIME);
    if (len === 0) break;
    if (len > 63) return false; // a pointer or an unknown label type
    const end = pos + 1 + len;
    if (end >= n || end - HEADER_SIZE >= MAX_NAME) return false;
    for (let i = pos + 1; i < end; i++) {
      h = Math.imul(h ^ lowerAscii(buf[i]!), FNV_PRIME);
    }
    pos = end;
  }
  pos++;
  if (pos + 4 > n) return false;
  s.nameEnd = pos;
  s.hash = h & 0x3fffffff;
  s.type = (buf[pos]! << 8) | buf[pos + 1]!;
  s.qclass = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  pos += 4;
  if (arcount === 0) {
    s.edns = 0;
    s.udpSize = 0;
    return pos === n;
  }
  // The one additional record must be an OPT owned by the root, EDNS version 0.
  if (pos + OPT_FIXED > n || buf[pos] !== 0 || ((buf[pos + 1]! << 8) | buf[pos + 2]!) !== RRType.OPT || buf[pos + 6] !== 0) return false;
  s.udpSize = (buf[pos + 3]! << 8) | buf[pos + 4]!;
  s.edns = buf[pos + 7]! & 0x80 ? 2 : 1;
  const rdEnd = pos + OPT_FIXED + ((buf[pos + 9]! << 8) | buf[pos + 10]!);
  if (rdEnd !== n) return false;
  // Options are ignored (RFC 6891 §6.1.2) but must be well-framed.
  for (let o = pos + OPT_FIXED; o < rdEnd; ) {
    if (o + 4 > rdEnd) return false;
    o += 4 + ((buf[o + 2]! << 8) | buf[o + 3]!);
    if (o > rdEnd) return false;
  }
  return true;
}
