// Address records for a name: A for IPv4, AAAA for IPv6, CNAME for a hostname.
import { ipFamily } from '../dns/addr.js';
import { RRType } from '../dns/constants.js';
import type { Rr } from '../dns/records.js';

/** wantsA tells whether a query type asks for IPv4 addresses. */
export function wantsA(qtype: number): boolean {
  return qtype === RRType.A || qtype === RRType.ANY;
}

/** wantsAAAA tells whether a query type asks for IPv6 addresses. */
export function wantsAAAA(qtype: number): boolean {
  return qtype === RRType.AAAA || qtype === RRType.ANY;
}

/** addressRecord is the A or AAAA record of an IP address, or undefined for a hostname. */
export function addressRecord(name: string, ttl: number, address: string): Rr | undefined {
  const family = ipFamily(address);
  if (family === 4) return { name, ttl, type: 'A', address };
  if (family === 6) return { name, ttl, type: 'AAAA', address };
  return undefined;
}

/**
 * addressAnswers gives the records of the distinct addresses that qtype asks for.
 * Hostnames answer as one CNAME only when no IP address does: several CNAMEs at
 * one name are not allowed (RFC 1034 §3.6.2, RFC 2181 §10.1).
 */
export function addressAnswers(name: string, ttl: number, addresses: readonly string[], qtype: number): Rr[] {
  const out: Rr[] = [];
  const seen = new Set<string>();
  let hostname: string | undefined;
  let anyIp = false;
  for (const address of addresses) {
    if (seen.has(address)) continue;
    seen.add(address);
    const rr = addressRecord(name, ttl, address);
    if (!rr) {
      hostname ??= address;
      continue;
    }
    anyIp = true;
    if ((rr.type === 'A' && wantsA(qtype)) || (rr.type === 'AAAA' && wantsAAAA(qtype))) out.push(rr);
  }
  if (!anyIp && hostname !== undefined && (wantsA(qtype) || wantsAAAA(qtype) || qtype === RRType.CNAME)) {
    out.push({ name, ttl, type: 'CNAME', target: hostname.endsWith('.') ? hostname : `${hostname}.` });
  }
  return out;
}
