// The records srvdns answers with, as data. Building them is shared by every
// registry (lib/answer/); turning them into bytes is lib/dns/encode.ts.

/** RData is the typed data of one record. */
export type RData =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'TXT'; strings: string[] }
  | { type: 'PTR'; target: string }
  | { type: 'CNAME'; target: string }
  | { type: 'NS'; target: string }
  | { type: 'MX'; preference: number; exchange: string }
  | {
      type: 'SOA';
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    };

/** Rr is one resource record of class IN. */
export type Rr = { name: string; ttl: number } & RData;

/** RrType is the mnemonic of a record type srvdns writes. */
export type RrType = Rr['type'];

/** targetOf returns the name a record points at, whose addresses belong in ADDITIONAL. */
export function targetOf(rr: Rr): string | undefined {
  switch (rr.type) {
    case 'SRV':
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return rr.target;
    case 'MX':
      return rr.exchange;
    default:
      return undefined;
  }
}
