// The records at a zone's apex: SOA and NS (SPEC §2).
import type { Rr } from '../dns/records.js';

/** ApexOptions describe a zone's apex. */
export interface ApexOptions {
  zone: string;
  /** minTtl is the SOA minimum: the negative-caching TTL (RFC 2308 §5). */
  minTtl: number;
  ttl: number;
}

/** nameserverName is the name srvdns gives itself in a zone: ns.<zone>. */
export function nameserverName(zone: string): string {
  return `ns.${zone}`;
}

/** soaRecord is the zone's SOA; the serial is the current Unix time, as Consul's and CoreDNS's are. */
export function soaRecord(o: ApexOptions, ttl = o.minTtl, mname = nameserverName(o.zone)): Rr {
  return {
    name: o.zone,
    ttl,
    type: 'SOA',
    mname,
    rname: `hostmaster.${o.zone}`,
    serial: Math.floor(Date.now() / 1000) >>> 0,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: o.minTtl,
  };
}

/** nsRecord names srvdns as the zone's nameserver. */
export function nsRecord(o: ApexOptions): Rr {
  return { name: o.zone, ttl: o.ttl, type: 'NS', target: nameserverName(o.zone) };
}

/**
 * soaEachSecond returns build's SOA, built again only when the second its serial names
 * has passed: every negative answer carries it, and making it anew (three names and a
 * record) was a tenth of building a small answer.
 */
export function soaEachSecond(build: () => Rr): () => Rr {
  let soa: Rr | undefined;
  let second = -1;
  return () => {
    const now = Math.floor(Date.now() / 1000);
    if (now !== second || soa === undefined) {
      soa = build();
      second = now;
    }
    return soa;
  };
}
