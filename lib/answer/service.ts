// Service answers from instances (SPEC §2), shared by every registry, as CoreDNS's
// backend_lookup.go is: health filter, tag filter, SRV with glue, or addresses.
import { isIP } from 'node:net';
import type { Instance } from '../catalog/types.js';
import { hexAddr } from '../dns/addr.js';
import { RRType } from '../dns/constants.js';
import type { Rr } from '../dns/records.js';
import { addressAnswers, addressRecord } from './address.js';
import { shuffle } from './answer.js';

/** HealthPolicy says which instances answer. */
export interface HealthPolicy {
  onlyPassing: boolean;
}

/** healthy keeps instances that may answer: never critical; warning unless onlyPassing. */
export function healthy(instances: readonly Instance[], policy: HealthPolicy): Instance[] {
  return instances.filter((i) => i.health === 'passing' || (i.health === 'warning' && !policy.onlyPassing));
}

/** withTag keeps instances carrying a tag, compared case-insensitively. */
export function withTag(instances: readonly Instance[], tag: string): Instance[] {
  const want = tag.toLowerCase();
  return instances.filter((i) => i.tags.some((t) => t.toLowerCase() === want));
}

/** untagged keeps the instances a name without a tag answers: all but those answering only by tag. */
export function untagged(instances: readonly Instance[]): readonly Instance[] {
  return instances.some((i) => i.onlyTagged) ? instances.filter((i) => !i.onlyTagged) : instances;
}

/** hasTagBelow tells whether a tag of more labels ends in tag (`v1.primary` below `primary`): the tag's name is then an empty non-terminal. */
export function hasTagBelow(instances: readonly Instance[], tag: string): boolean {
  const suffix = `.${tag.toLowerCase()}`;
  return instances.some((i) => i.tags.some((t) => t.toLowerCase().endsWith(suffix)));
}

/** instanceAddress is where an instance is reached: its own address, else its node's. */
export function instanceAddress(i: Instance): string {
  return i.address !== '' ? i.address : i.nodeAddress;
}

/** NameContext is what SRV targets are named with. */
export interface NameContext {
  zone: string;
  dc: string;
  /** byAddress names every target by its address (`<hex>.addr.<dc>.<zone>`), never by node: for a peer's instances. */
  byAddress?: boolean;
  /** keepOrder answers in the instances' order instead of shuffling: they come sorted by nearness (a prepared query's Near). */
  keepOrder?: boolean;
}

/**
 * srvTarget names an instance in an SRV record: its node when it has no address of its
 * own, <hex>.addr.<dc>.<zone> for its own IP, the hostname itself otherwise.
 */
export function srvTarget(i: Instance, ctx: NameContext): string {
  if (ctx.byAddress && isIP(instanceAddress(i))) return `${hexAddr(instanceAddress(i))}.addr.${ctx.dc}.${ctx.zone}`;
  if (i.address === '') return `${i.node}.node.${ctx.dc}.${ctx.zone}`.toLowerCase();
  if (isIP(i.address)) return `${hexAddr(i.address)}.addr.${ctx.dc}.${ctx.zone}`;
  return i.address.endsWith('.') ? i.address : `${i.address}.`;
}

/** RFC1035_PREFIX marks node meta whose TXT record is the bare value (Consul's convention). */
const RFC1035_PREFIX = 'rfc1035-';

/** metaTxt is a node's meta as Consul writes it in TXT: one record per key, `key=value` (RFC 1464), or the bare value for keys prefixed `rfc1035-`. */
export function metaTxt(name: string, ttl: number, meta: Readonly<Record<string, string>>): Rr[] {
  return Object.entries(meta).map(([k, v]) => ({ name, ttl, type: 'TXT', strings: [k.startsWith(RFC1035_PREFIX) ? v : `${k}=${v}`] }));
}

/** srvRecords gives one SRV per distinct node+address+port, shuffled, and the A/AAAA glue of their targets. */
export function srvRecords(owner: string, ttl: number, instances: readonly Instance[], ctx: NameContext): { answers: Rr[]; additional: Rr[] } {
  const answers: Rr[] = [];
  const glue = new Map<string, Rr>();
  const meta = new Map<string, Rr[]>();
  const seen = new Set<string>();
  for (const i of instances) {
    const address = instanceAddress(i);
    const key = `${i.node}\0${address}\0${i.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const target = srvTarget(i, ctx);
    const weight = i.health === 'warning' ? i.weights.warning : i.weights.passing;
    answers.push({ name: owner, ttl, type: 'SRV', priority: i.priority, weight, port: i.port, target });
    const glueKey = `${target}\0${address}`;
    if (!glue.has(glueKey)) {
      const rr = addressRecord(target, ttl, address);
      if (rr) glue.set(glueKey, rr);
    }
    // A target named by its node carries the node's meta too, as Consul's
    // enable_additional_node_meta_txt (on by default) sends it.
    if (i.address === '' && !ctx.byAddress && i.nodeMeta !== undefined && !meta.has(target)) meta.set(target, metaTxt(target, ttl, i.nodeMeta));
  }
  const additional = [...glue.values()];
  for (const txt of meta.values()) additional.push(...txt);
  return { answers: ctx.keepOrder ? answers : shuffle(answers), additional };
}

/** serviceRecords answers qtype for the instances left after filtering; [] means NODATA. Address answers come with each address's weight (the sum of its instances'). */
export function serviceRecords(
  owner: string,
  qtype: number,
  ttl: number,
  instances: readonly Instance[],
  ctx: NameContext,
): { answers: Rr[]; additional: Rr[]; weights?: number[] } {
  if (qtype === RRType.SRV) return srvRecords(owner, ttl, instances, ctx);
  // Distinct addresses first, then shuffled: two instances at one address must not double its chances.
  const weightOf = new Map<string, number>();
  for (const i of instances) {
    const a = instanceAddress(i);
    weightOf.set(a, (weightOf.get(a) ?? 0) + (i.health === 'warning' ? i.weights.warning : i.weights.passing));
  }
  const answers = addressAnswers(owner, ttl, ctx.keepOrder ? [...weightOf.keys()] : shuffle([...weightOf.keys()]), qtype);
  const weights = answers.map((rr) => (rr.type === 'A' || rr.type === 'AAAA' ? (weightOf.get(rr.address) ?? 0) : 0));
  return { answers, additional: [], weights };
}
