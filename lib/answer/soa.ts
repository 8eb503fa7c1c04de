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
