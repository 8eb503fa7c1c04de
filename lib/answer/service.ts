// Service answers from instances (SPEC §2), shared by every registry, as CoreDNS's
// backend_lookup.go is: health filter, tag filter, SRV with glue, or addresses.
import type { Instance } from '../catalog/types.js';
import { hexAddr, ipFamily } from '../dns/addr.js';
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

/** MAX_NAMES bounds the names a TargetNames keeps; past it, it starts again empty. */
const MAX_NAMES = 65536;

/**
 * TargetNames makes the SRV target names of one zone and datacenter, and remembers them:
 * `<node>.node.<dc>.<zone>` (lower-cased) for a node, `<hex>.addr.<dc>.<zone>` for an
 * IP. Made once per node or address rather than on every answer (lower-casing and
 * hex-writing them showed in profiles of building one), and the same string each time,
 * which the maps below then find by the hash the string keeps. Emptied whole at MAX_NAMES, so that a churning
 * catalog cannot grow it without bound.
 */
export class TargetNames {
  private readonly nodes = new Map<string, string>();
  private readonly addresses = new Map<string, string>();

  constructor(
    readonly zone: string,
    readonly dc: string,
  ) {}

  node(node: string): string {
    let name = this.nodes.get(node);
    if (name === undefined) {
      if (this.nodes.size >= MAX_NAMES) this.nodes.clear();
      this.nodes.set(node, (name = `${node}.node.${this.dc}.${this.zone}`.toLowerCase()));
    }
    return name;
  }

  /** size is how many names are kept. */
  get size(): number {
    return this.nodes.size + this.addresses.size;
  }

  /** address names an IP address (the caller has checked it is one). */
  address(ip: string): string {
    let name = this.addresses.get(ip);
    if (name === undefined) {
      if (this.addresses.size >= MAX_NAMES) this.addresses.clear();
      this.addresses.set(ip, (name = `${hexAddr(ip)}.addr.${this.dc}.${this.zone}`));
    }
    return name;
  }
}

/** NameContext is what SRV targets are named with. */
export interface NameContext {
  names: TargetNames;
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
  if (ctx.byAddress) {
    const address = instanceAddress(i);
    if (ipFamily(address) !== 0) return ctx.names.address(address);
  }
  if (i.address === '') return ctx.names.node(i.node);
  if (ipFamily(i.address) !== 0) return ctx.names.address(i.address);
  return i.address.endsWith('.') ? i.address : `${i.address}.`;
}

/** RFC1035_PREFIX marks node meta whose TXT record is the bare value (Consul's convention). */
const RFC1035_PREFIX = 'rfc1035-';

/** metaTxt is a node's meta as Consul writes it in TXT: one record per key, `key=value` (RFC 1464), or the bare value for keys prefixed `rfc1035-`. */
export function metaTxt(name: string, ttl: number, meta: Readonly<Record<string, string>>): Rr[] {
  return Object.entries(meta).map(([k, v]) => ({ name, ttl, type: 'TXT', strings: [k.startsWith(RFC1035_PREFIX) ? v : `${k}=${v}`] }));
}

/**
 * srvRecords gives one SRV per distinct node+address+port, shuffled, and the A/AAAA glue
 * of their targets, with a node's meta TXT after its glue: in the order of the answers
 * that bring them, so that the glue of the first answers comes first. A reply cut to fit
 * keeps a prefix of it, whose pointers then stay within what is kept, so dns/encode's cut
 * can move it up rather than encode the reply again.
 * Duplicates are found through maps keyed by strings the catalog and TargetNames already
 * hold: no key is built per instance (that was most of the cost).
 */
export function srvRecords(owner: string, ttl: number, instances: readonly Instance[], ctx: NameContext): { answers: Rr[]; additional: Rr[] } {
  // The distinct instances, found by node.
  const chosen: Instance[] = [];
  const answered = new Map<string, Instance[]>();
  for (const i of instances) {
    const address = instanceAddress(i);
    const onNode = answered.get(i.node);
    if (onNode === undefined) answered.set(i.node, [i]);
    else if (onNode.some((o) => o.port === i.port && instanceAddress(o) === address)) continue;
    else onNode.push(i);
    chosen.push(i);
  }
  if (!ctx.keepOrder) shuffle(chosen);
  const answers: Rr[] = [];
  const additional: Rr[] = [];
  // The addresses glued so far, by target; the targets whose node meta is there.
  const glued = new Map<string, string[]>();
  let withMeta: Set<string> | undefined;
  for (const i of chosen) {
    const address = instanceAddress(i);
    const target = srvTarget(i, ctx);
    const weight = i.health === 'warning' ? i.weights.warning : i.weights.passing;
    answers.push({ name: owner, ttl, type: 'SRV', priority: i.priority, weight, port: i.port, target });
    const addresses = glued.get(target);
    if (addresses === undefined || !addresses.includes(address)) {
      const rr = addressRecord(target, ttl, address);
      if (rr) {
        additional.push(rr);
        if (addresses === undefined) glued.set(target, [address]);
        else addresses.push(address);
      }
    }
    // A target named by its node carries the node's meta too, as Consul's
    // enable_additional_node_meta_txt (on by default) sends it.
    if (i.address === '' && !ctx.byAddress && i.nodeMeta !== undefined && !withMeta?.has(target)) {
      (withMeta ??= new Set()).add(target);
      additional.push(...metaTxt(target, ttl, i.nodeMeta));
    }
  }
  return { answers, additional };
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
