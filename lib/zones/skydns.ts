// A SkyDNS/CoreDNS-etcd zone (SPEC §3): names under the zone are keys under the prefix,
// labels reversed (1.web.prod.skydns.local. <-> /skydns/local/skydns/prod/web/1).
import { nodata, nxdomain, orNodata, positive, type Answer } from '../answer/answer.js';
import { addressAnswers } from '../answer/address.js';
import { group, addressRecords, mxRecords, srvRecords, txtRecords, type SkyContext } from '../answer/skydns.js';
import { soaEachSecond, soaRecord, type ApexOptions } from '../answer/soa.js';
import { RRType } from '../dns/constants.js';
import { relativeLabels } from '../dns/names.js';
import type { Rr } from '../dns/records.js';
import type { DataKey } from '../catalog/changes.js';
import { keyDir } from '../registry/etcd-mirror.js';
import type { Source } from '../registry/registry.js';
import type { SkyService, SkyStore } from '../catalog/skydns-store.js';
import type { Zone, ZoneQuery } from './zone.js';

/** SkyZoneOptions configure one SkyDNS zone. */
export interface SkyZoneOptions {
  origin: string;
  prefix: string;
  store: SkyStore;
  ttl: number;
  soaMinTtl: number;
  /** nameserverAddresses glue ns.dns.<zone> when no NS records are stored. */
  nameserverAddresses: readonly string[];
  /** source is what keeps the store current: its health and staleness are the zone's. */
  source: Pick<Source, 'healthy' | 'staleSince'>;
}

/** SkyZone answers a SkyDNS zone from its store. */
export class SkyZone implements Zone {
  readonly origin: string;
  private readonly zoneLabels: string[];
  private readonly ctx: SkyContext;
  private readonly apex: ApexOptions;

  constructor(private readonly o: SkyZoneOptions) {
    this.origin = o.origin;
    this.zoneLabels = o.origin.slice(0, -1).split('.');
    this.apex = { zone: o.origin, minTtl: o.soaMinTtl, ttl: o.ttl };
    const dir = keyDir(o.prefix);
    this.ctx = {
      ttl: o.ttl,
      domainOf: (key) => `${key.slice(dir.length).split('/').filter(Boolean).reverse().join('.')}.`.toLowerCase(),
      inZone: (name) => relativeLabels(name.toLowerCase(), this.origin) !== undefined,
      resolve: (name) => {
        const labels = relativeLabels(name.toLowerCase(), this.origin);
        return labels ? [...group(this.find(labels).services)] : [];
      },
    };
  }

  private find(labels: readonly string[]): { services: SkyService[]; exists: boolean } {
    // The path from the prefix: the whole name's labels, reversed.
    return this.o.store.lookup([...labels, ...this.zoneLabels].reverse());
  }

  private readonly soa = soaEachSecond(() => soaRecord(this.apex, this.o.soaMinTtl, `ns.dns.${this.origin}`));

  depends(): DataKey {
    return { kind: 'zone', origin: this.origin };
  }

  healthy(): boolean {
    return this.o.source.healthy();
  }

  staleSince(): number {
    return this.o.source.staleSince();
  }

  resolve(q: ZoneQuery): Answer {
    const found = this.find(q.labels);
    if (q.labels.length === 0 && (q.type === RRType.SOA || q.type === RRType.NS)) return this.apexAnswer(q);
    // NXDOMAIN only when nothing exists at or below the name (SPEC §3).
    if (!found.exists) return nxdomain(this.soa());
    const services = group(found.services);
    switch (q.type) {
      case RRType.A:
      case RRType.AAAA:
      case RRType.ANY:
      case RRType.CNAME: {
        const records = addressRecords(q.name, q.type === RRType.CNAME ? RRType.ANY : q.type, services, this.ctx);
        const answers = q.type === RRType.CNAME ? records.filter((r) => r.type === 'CNAME' && r.name === q.name) : records;
        if (q.type === RRType.ANY) answers.push(...txtRecords(q.name, services, this.ctx));
        return orNodata(positive(answers), this.soa());
      }
      case RRType.SRV: {
        const { answers, additional } = srvRecords(q.name, services, this.ctx);
        return orNodata(positive(answers, additional), this.soa());
      }
      case RRType.TXT:
        return orNodata(positive(txtRecords(q.name, services, this.ctx)), this.soa());
      case RRType.MX: {
        const { answers, additional } = mxRecords(q.name, services, this.ctx);
        return orNodata(positive(answers, additional), this.soa());
      }
      default:
        return nodata(this.soa());
    }
  }

  /** apexAnswer: SOA, and NS from the records under ns.dns.<zone>, else srvdns itself. */
  private apexAnswer(q: ZoneQuery): Answer {
    if (q.type === RRType.SOA) return positive([soaRecord(this.apex, this.o.ttl, `ns.dns.${this.origin}`)]);
    const stored = this.find(['ns', 'dns']).services.filter((s) => s.host !== '');
    if (stored.length > 0) {
      const answers: Rr[] = [];
      const additional: Rr[] = [];
      for (const s of stored) {
        const target = this.ctx.domainOf(s.key);
        answers.push({ name: q.name, ttl: s.ttl ?? this.o.ttl, type: 'NS', target });
        additional.push(...addressAnswers(target, s.ttl ?? this.o.ttl, [s.host], RRType.ANY).filter((r) => r.type !== 'CNAME'));
      }
      return positive(answers, additional);
    }
    const ns = `ns.dns.${this.origin}`;
    return positive([{ name: q.name, ttl: this.o.ttl, type: 'NS', target: ns }], addressAnswers(ns, this.o.ttl, this.o.nameserverAddresses, RRType.ANY));
  }
}
