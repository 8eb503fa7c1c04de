// Reverse lookups (in-addr.arpa, ip6.arpa): PTR to the node at an address, else to the
// services registered with that address (SPEC §2). srvdns is not the authority for
// these zones, so an address it does not know is declined (forwarded, or REFUSED).
import { positive, type Answer } from '../answer/answer.js';
import type { DataKey } from '../catalog/changes.js';
import { thenLookup, type Lookup, type ReverseEntry } from '../catalog/types.js';
import { fromReverseName } from '../dns/addr.js';
import { RRType } from '../dns/constants.js';
import type { Rr } from '../dns/records.js';
import type { Registry } from '../registry/registry.js';
import type { Zone, ZoneQuery } from './zone.js';

/** ReverseZoneOptions configure a reverse zone. */
export interface ReverseZoneOptions {
  origin: 'in-addr.arpa.' | 'ip6.arpa.';
  /** domain is the Consul-style zone the PTR targets are named in. */
  domain: string;
  registry: Registry;
  nodeTtl: number;
  serviceTtl: (service: string) => number;
}

/** ReverseZone answers PTR for addresses in the catalog. */
export class ReverseZone implements Zone {
  readonly origin: string;

  constructor(private readonly o: ReverseZoneOptions) {
    this.origin = o.origin;
  }

  depends(): DataKey {
    return { kind: 'reverse' };
  }

  healthy(): boolean {
    return this.o.registry.healthy();
  }

  staleSince(): number {
    return this.o.registry.staleSince();
  }

  resolve(q: ZoneQuery): Lookup<Answer | undefined> {
    if (q.type !== RRType.PTR && q.type !== RRType.ANY) return undefined;
    const ip = fromReverseName(`${[...q.labels, ...this.origin.slice(0, -1).split('.')].join('.')}.`);
    if (ip === undefined) return undefined;
    return thenLookup(this.o.registry.reverse(ip), (e) => this.answer(q, e));
  }

  private answer(q: ZoneQuery, entry: ReverseEntry): Answer | undefined {
    const dc = this.o.registry.datacenter();
    const answers: Rr[] = entry.nodes.map((n) => ({
      name: q.name,
      ttl: this.o.nodeTtl,
      type: 'PTR',
      target: `${n.name}.node.${n.datacenter}.${this.o.domain}`.toLowerCase(),
    }));
    if (answers.length === 0) {
      for (const s of entry.services) {
        answers.push({ name: q.name, ttl: this.o.serviceTtl(s), type: 'PTR', target: `${s}.service.${dc}.${this.o.domain}`.toLowerCase() });
      }
    }
    return answers.length > 0 ? positive(answers) : undefined;
  }
}
