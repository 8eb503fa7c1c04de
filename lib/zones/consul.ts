// The Consul-style zone (SPEC §2): names under --domain (and --alt-domain) answered
// from one Registry. Lookups that are ready answer synchronously; a cold cache miss
// (Consul) returns a promise.
import type { Answer } from '../answer/answer.js';
import { nodata, nxdomain, orNodata, positive } from '../answer/answer.js';
import { addressAnswers } from '../answer/address.js';
import { nsRecord, soaEachSecond, soaRecord, type ApexOptions } from '../answer/soa.js';
import { hasTagBelow, healthy, metaTxt, serviceRecords, TargetNames, untagged, withTag, type HealthPolicy } from '../answer/service.js';
import { queryDatacenter, scopedDatacenter, type DataKey } from '../catalog/changes.js';
import { thenLookup, type CatalogNode, type Instance, type Lookup, type QueryResult, type Scope } from '../catalog/types.js';
import { RRType } from '../dns/constants.js';
import type { Rr } from '../dns/records.js';
import type { Registry } from '../registry/registry.js';
import { parseConsulName } from './consul-names.js';
import type { Zone, ZoneQuery } from './zone.js';

/** ConsulZoneOptions configure one Consul-style zone. */
export interface ConsulZoneOptions extends HealthPolicy {
  origin: string;
  registry: Registry;
  serviceTtl: (service: string) => number;
  /** ttl is the default TTL, used for the apex NS. */
  ttl: number;
  nodeTtl: number;
  soaMinTtl: number;
  /** nameserverAddresses are the A/AAAA of ns.<zone>: the addresses srvdns listens on. */
  nameserverAddresses: readonly string[];
}

/** ConsulZone answers Consul's service, node, addr and apex names. */
export class ConsulZone implements Zone {
  readonly origin: string;
  private readonly apex: ApexOptions;

  constructor(private readonly o: ConsulZoneOptions) {
    this.origin = o.origin;
    this.apex = { zone: o.origin, minTtl: o.soaMinTtl, ttl: o.ttl };
  }

  healthy(): boolean {
    return this.o.registry.healthy();
  }

  staleSince(): number {
    return this.o.registry.staleSince();
  }

  depends(labels: readonly string[]): DataKey {
    const parsed = parseConsulName(labels);
    const dc = (d: string | undefined): string => d ?? this.o.registry.datacenter();
    if (parsed?.kind === 'service') return { kind: 'service', datacenter: scopedDatacenter(dc(parsed.dc), parsed.scope), name: parsed.service };
    if (parsed?.kind === 'node') return { kind: 'node', datacenter: scopedDatacenter(dc(parsed.dc), parsed.scope), name: parsed.node };
    if (parsed?.kind === 'query') return { kind: 'service', datacenter: queryDatacenter(dc(parsed.dc)), name: parsed.query };
    return { kind: 'static', origin: this.origin };
  }

  /** names holds each datacenter's SRV target names (only datacenters the registry knows are asked for). */
  private readonly names = new Map<string, TargetNames>();

  private targetNames(dc: string): TargetNames {
    let names = this.names.get(dc);
    if (names === undefined) this.names.set(dc, (names = new TargetNames(this.origin, dc)));
    return names;
  }

  private readonly soa = soaEachSecond(() => soaRecord(this.apex));

  resolve(q: ZoneQuery): Lookup<Answer> {
    const parsed = parseConsulName(q.labels);
    if (!parsed) return nxdomain(this.soa());
    switch (parsed.kind) {
      case 'apex':
        return this.apexAnswer(q);
      case 'nameserver':
        return orNodata(positive(addressAnswers(q.name, this.o.ttl, this.o.nameserverAddresses, q.type)), this.soa());
      case 'service': {
        const lookup = (dc: string): Lookup<Answer> => thenLookup(this.o.registry.service(parsed.service, dc, parsed.scope), (all) => this.serviceAnswer(q, dc, all, parsed.tag, parsed.scope));
        // A peer's services are named by the peer, not a datacenter (Consul: one or the other).
        return parsed.scope?.peer !== undefined ? lookup(this.o.registry.datacenter()) : this.withDc(parsed.dc, lookup);
      }
      case 'node':
        return this.withDc(parsed.dc, (dc) => thenLookup(this.o.registry.node(parsed.node, dc, parsed.scope), (node) => this.nodeAnswer(q, node)));
      case 'query':
        // Registries without prepared queries (file, etcd) have none: NXDOMAIN.
        return this.withDc(parsed.dc, (dc) => thenLookup(this.o.registry.preparedQuery?.(parsed.query, dc, q.source), (r) => (r ? this.queryAnswer(q, r) : nxdomain(this.soa()))));
      case 'addr':
        return this.withDc(parsed.dc, () => orNodata(positive(addressAnswers(q.name, this.o.nodeTtl, [parsed.address], q.type)), this.soa()));
      case 'ent':
        // RFC 8020 §2: names exist below it, so NODATA; NXDOMAIN would tell a
        // QNAME-minimising resolver (RFC 9156) that none of them exist.
        return this.withDc(parsed.dc, () => nodata(this.soa()));
    }
  }

  /** withDc resolves the datacenter a name asks for; an unknown one is NXDOMAIN. */
  private withDc(dc: string | undefined, fn: (dc: string) => Lookup<Answer>): Lookup<Answer> {
    if (dc === undefined) return fn(this.o.registry.datacenter());
    return thenLookup(this.o.registry.hasDatacenter(dc), (known) => (known ? fn(dc) : nxdomain(this.soa())));
  }

  private apexAnswer(q: ZoneQuery): Answer {
    const answers: Rr[] = [];
    if (q.type === RRType.SOA || q.type === RRType.ANY) answers.push(soaRecord(this.apex, this.o.ttl));
    if (q.type === RRType.NS || q.type === RRType.ANY) answers.push(nsRecord(this.apex));
    const glue = answers.some((rr) => rr.type === 'NS')
      ? addressAnswers(`ns.${this.origin}`, this.o.ttl, this.o.nameserverAddresses, RRType.ANY)
      : [];
    return orNodata(positive(answers, glue), this.soa());
  }

  private serviceAnswer(q: ZoneQuery, dc: string, all: readonly Instance[] | undefined, tag: string | undefined, scope?: Scope): Answer {
    if (!all || all.length === 0) return nxdomain(this.soa());
    const tagged = tag === undefined ? untagged(all) : withTag(all, tag);
    // A tag prefix (`primary.db` when tag `v1.primary` exists) is an empty non-terminal, as
    // is a service whose every instance answers only by tag.
    if (tagged.length === 0) return tag === undefined || hasTagBelow(all, tag) ? nodata(this.soa()) : nxdomain(this.soa());
    // Ours (SPEC §2): a registered service with no healthy instance is NODATA, not
    // Consul's NXDOMAIN, which a resolver may cache for the whole subtree (RFC 8020).
    const live = healthy(tagged, this.o);
    const service = all[0]!.service;
    const { answers, additional, weights } = serviceRecords(q.name, q.type, this.o.serviceTtl(service), live, {
      names: this.targetNames(dc),
      // A peer's nodes are not ours to name: its targets are its addresses (.addr names).
      byAddress: scope?.peer !== undefined,
    });
    return orNodata(positive(answers, additional, weights), this.soa());
  }

  /**
   * queryAnswer answers a prepared query's result: the instances Consul chose, named in
   * the datacenter they came from (after failover), with the query's DNS TTL when it sets one.
   */
  private queryAnswer(q: ZoneQuery, r: QueryResult): Answer {
    const { answers, additional, weights } = serviceRecords(q.name, q.type, r.ttl ?? this.o.serviceTtl(r.service), healthy(r.instances, this.o), { names: this.targetNames(r.datacenter), keepOrder: r.near });
    // Sorted near the asker: in that order, for that asker only (never cached, no weighted lead).
    return orNodata(r.near ? positive(answers, additional, undefined, true) : positive(answers, additional, weights), this.soa());
  }

  private nodeAnswer(q: ZoneQuery, node: CatalogNode | undefined): Answer {
    if (!node) return nxdomain(this.soa());
    const answers = addressAnswers(q.name, this.o.nodeTtl, [node.address], q.type);
    // One TXT record per meta key, as Consul writes them: `key=value` (RFC 1464), or the
    // bare value for keys prefixed `rfc1035-`. Asked for TXT (or ANY), they answer; with
    // an address answer they come in ADDITIONAL, as Consul's enable_additional_node_meta_txt.
    const txt = metaTxt(q.name, this.o.nodeTtl, node.meta);
    if (q.type === RRType.TXT || q.type === RRType.ANY) answers.push(...txt);
    else if (answers.length > 0) return positive(answers, txt);
    return answers.length > 0 ? positive(answers) : nodata(this.soa());
  }
}
