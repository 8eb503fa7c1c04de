/** RRType holds the resource record type codes srvdns reads or writes (RFC 1035, 2782, 3596, 6891). */
export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

/** RRClass holds the class codes srvdns distinguishes. */
export const RRClass = { IN: 1, CH: 3, NONE: 254, ANY: 255 } as const;

/** Rcode holds response codes; values above 15 travel partly in the OPT record (RFC 6891 §6.1.3). */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;
export type Rcode = (typeof Rcode)[keyof typeof Rcode];

/** Opcode QUERY is the only one srvdns implements; anything else is NOTIMP (RFC 1035 §4.1.1). */
export const OPCODE_QUERY = 0;

/** typeName gives the mnemonic of a type code, or TYPEnnn (RFC 3597 §5). */
export function typeName(code: number): string {
  for (const [name, value] of Object.entries(RRType)) if (value === code) return name;
  return `TYPE${code}`;
}

/** rcodeName gives the mnemonic of a response code. */
export function rcodeName(code: number): string {
  for (const [name, value] of Object.entries(Rcode)) if (value === code) return name;
  return `RCODE${code}`;
}
