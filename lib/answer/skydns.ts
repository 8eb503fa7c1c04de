// SkyDNS/CoreDNS etcd answers (SPEC §3), from the services a name matched: addresses
// or CNAME chains, SRV with CoreDNS's per-priority percentage weights, TXT and MX.
import { isIP, isIPv4 } from 'node:net';
import { RRType } from '../dns/constants.js';
import type { Rr } from '../dns/records.js';
import type { SkyService } from '../catalog/skydns-store.js';
import { wantsA, wantsAAAA } from './address.js';

/** MAX_CNAME_CHAIN bounds how many CNAMEs one answer follows (SPEC §3). */
export const MAX_CNAME_CHAIN = 10;

/** SkyContext is what building records needs from the zone. */
export interface SkyContext {
  /** ttl is the default TTL, for values without their own. */
  ttl: number;
  /** domainOf names a key: /skydns/local/skydns/web/1 -> 1.web.skydns.local. */
  domainOf(key: string): string;
  /** inZone tells whether a name is in this zone. */
  inZone(name: string): boolean;
  /** resolve finds the services at an in-zone name (group applied). */
  resolve(name: string): SkyService[];
}

const ttlOf = (s: SkyService, ctx: SkyContext): number => s.ttl ?? ctx.ttl;
const fqdn = (name: string): string => (name.endsWith('.') ? name : `${name}.`);

/** targetStrip removes n labels from the left of a name (CoreDNS targetstrip). */
export function targetStrip(name: string, n: number): string {
  if (n <= 0) return name;
  const labels = name.split('.').filter(Boolean);
  return labels.length > n ? `${labels.slice(n).join('.')}.` : name;
}

/**
 * group keeps the services of one group (CoreDNS msg.Group): the shortest key with a
 * group sets it; services without a group always stay; if keys at that shortest
 * depth disagree, no grouping applies. Input is in key order.
 */
export function group(services: readonly SkyService[]): readonly SkyService[] {
  if (services.length === 0) return services;
  const depth = (s: SkyService): number => s.key.split('/').length;
  let chosen = services[0]!.group;
  let shortest = depth(services[0]!);
  for (const s of services) {
    if (depth(s) < shortest) {
      if (s.group === '') break;
      shortest = depth(s);
      chosen = s.group;
    }
  }
  if (chosen === '') return services;
  const out: SkyService[] = [];
  for (const s of services) {
    if (s.group === '') out.push(s);
    else if (depth(s) === shortest && s.group !== chosen) return services;
    else if (s.group === chosen) out.push(s);
  }
  return out;
}

/** addressRecords answers A/AAAA (and ANY) at owner, following CNAMEs within the zone, at most MAX_CNAME_CHAIN deep, skipping loops. */
export function addressRecords(owner: string, qtype: number, services: readonly SkyService[], ctx: SkyContext, seen: Set<string> = new Set([owner.toLowerCase()])): Rr[] {
  const out: Rr[] = [];
  for (const s of services) {
    const kind = isIP(s.host);
    if (kind === 4 && wantsA(qtype)) out.push({ name: owner, ttl: ttlOf(s, ctx), type: 'A', address: s.host });
    else if (kind === 6 && wantsAAAA(qtype)) out.push({ name: owner, ttl: ttlOf(s, ctx), type: 'AAAA', address: s.host });
    else if (kind === 0 && s.host !== '') {
      const target = fqdn(s.host).toLowerCase();
      if (seen.has(target) || seen.size > MAX_CNAME_CHAIN) continue; // a loop, or too long a chain
      const cname: Rr = { name: owner, ttl: ttlOf(s, ctx), type: 'CNAME', target: fqdn(s.host) };
      if (out.some((r) => r.type === 'CNAME' && r.target.toLowerCase() === target)) continue;
      if (!ctx.inZone(target)) {
        out.push(cname); // completed by a recursor, when one is configured
        continue;
      }
      // In zone: keep the CNAME only if the chain ends in addresses (CoreDNS).
      const next = addressRecords(fqdn(s.host), qtype, ctx.resolve(target), ctx, new Set([...seen, target]));
      if (next.length > 0) out.push(cname, ...next);
    }
  }
  return out;
}

/** srvRecords answers SRV with CoreDNS's weights: per priority, floor(100*w/total) with a missing weight as 100, at least 1. */
export function srvRecords(owner: string, services: readonly SkyService[], ctx: SkyContext): { answers: Rr[]; additional: Rr[] } {
  const totals = new Map<number, number>();
  for (const s of services) totals.set(s.priority, (totals.get(s.priority) ?? 0) + (s.weight || 100));
  const answers: Rr[] = [];
  const additional: Rr[] = [];
  const seen = new Set<string>();
  for (const s of services) {
    const weight = Math.max(1, Math.floor((100 * (s.weight || 100)) / totals.get(s.priority)!));
    const kind = isIP(s.host);
    if (kind !== 0) {
      const target = targetStrip(ctx.domainOf(s.key), s.targetstrip);
      if (seen.has(`${target}\0${s.port}`)) continue;
      seen.add(`${target}\0${s.port}`);
      answers.push({ name: owner, ttl: ttlOf(s, ctx), type: 'SRV', priority: s.priority, weight, port: s.port, target });
      additional.push(isIPv4(s.host) ? { name: target, ttl: ttlOf(s, ctx), type: 'A', address: s.host } : { name: target, ttl: ttlOf(s, ctx), type: 'AAAA', address: s.host });
    } else if (s.host !== '') {
      const target = targetStrip(fqdn(s.host), s.targetstrip);
      answers.push({ name: owner, ttl: ttlOf(s, ctx), type: 'SRV', priority: s.priority, weight, port: s.port, target });
      if (ctx.inZone(target) && !seen.has(target.toLowerCase())) {
        seen.add(target.toLowerCase());
        additional.push(...addressRecords(target, RRType.ANY, ctx.resolve(target), ctx).filter((r) => r.type !== 'CNAME'));
      }
    }
  }
  return { answers, additional };
}

/** txtRecords answers TXT from each value's text. */
export function txtRecords(owner: string, services: readonly SkyService[], ctx: SkyContext): Rr[] {
  return services.filter((s) => s.text !== '').map((s) => ({ name: owner, ttl: ttlOf(s, ctx), type: 'TXT', strings: [s.text] }));
}

/** mxRecords answers MX for values with mail: true; an IP host is named after its key, with glue. */
export function mxRecords(owner: string, services: readonly SkyService[], ctx: SkyContext): { answers: Rr[]; additional: Rr[] } {
  const answers: Rr[] = [];
  const additional: Rr[] = [];
  for (const s of services) {
    if (!s.mail || s.host === '') continue;
    const kind = isIP(s.host);
    const exchange = kind === 0 ? fqdn(s.host) : targetStrip(ctx.domainOf(s.key), s.targetstrip);
    answers.push({ name: owner, ttl: ttlOf(s, ctx), type: 'MX', preference: s.priority, exchange });
    if (kind === 4) additional.push({ name: exchange, ttl: ttlOf(s, ctx), type: 'A', address: s.host });
    else if (kind === 6) additional.push({ name: exchange, ttl: ttlOf(s, ctx), type: 'AAAA', address: s.host });
    else if (ctx.inZone(exchange)) additional.push(...addressRecords(exchange, RRType.ANY, ctx.resolve(exchange), ctx).filter((r) => r.type !== 'CNAME'));
  }
  return { answers, additional };
}
