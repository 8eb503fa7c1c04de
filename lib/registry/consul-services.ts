// The Consul registry's watched cache of services: the first query for a service reads
// /v1/health/service/:name once (concurrent misses share the request); then one
// blocking-query loop per cached service keeps it current. Bounded by --cache-size and
// --cache-idle (an evicted service's watch stops, and its answers are dropped). The
// addresses of the cached services are indexed as they change, for reverse lookups.
import { LRUCache } from 'lru-cache';
import { scopedDatacenter, serviceChanged, type Change } from '../catalog/changes.js';
import type { Instance, Lookup } from '../catalog/types.js';
import { canonicalIp } from '../dns/addr.js';
import type { Backoff } from './backoff.js';
import { Coalescer } from './coalesce.js';
import { decodeHealthService } from './consul-decode.js';
import { ConsulHttpError, type ConsulHttp, type RequestReports, type ScopeParams } from './consul-http.js';
import { BlockingWatch, type BlockingResult } from './consul-watch.js';
import { RegistryUnavailable } from './registry.js';

/** ServiceEvents is how the cache reports to its registry. */
export interface ServiceEvents extends RequestReports {
  notify(change: Change): void;
  /** enterpriseRefused hears that Consul refused `ns`/`partition` (HTTP 400: Consul CE). */
  enterpriseRefused(): void;
}

/** ConsulServicesOptions bound the cache and pace its watches. */
export interface ConsulServicesOptions {
  cacheSize: number;
  cacheIdleMs: number;
  watch: { minIntervalMs: number; backoff: Backoff };
}

/** Entry is one cached service, the loop that keeps it fresh, and the change its eviction is. */
interface Entry {
  value: Instance[];
  watch: BlockingWatch<unknown> | undefined;
  change: Change;
}

/** ConsulServices holds the cached, watched services of every datacenter. */
export class ConsulServices {
  private readonly cache: LRUCache<string, Entry>;
  private readonly coalesce = new Coalescer();
  /** byAddress counts, per canonical IP, the cached instances of each service with that address of their own. */
  private readonly byAddress = new Map<string, Map<string, number>>();
  private stopped = false;

  constructor(
    private readonly http: ConsulHttp,
    private readonly o: ConsulServicesOptions,
    private readonly events: ServiceEvents,
  ) {
    this.cache = new LRUCache<string, Entry>({
      max: o.cacheSize,
      ttl: o.cacheIdleMs,
      updateAgeOnGet: true,
      ttlAutopurge: true,
      // An evicted service is no longer watched: every answer built from it must go too.
      dispose: (entry, _key, reason) => {
        entry.watch?.stop();
        this.index(entry.value, -1);
        if (reason !== 'set' && !this.stopped) events.notify(entry.change);
      },
    });
  }

  /** index adds (+1) or removes (-1) instances' own addresses in the reverse index. */
  private index(instances: readonly Instance[], by: 1 | -1): void {
    for (const i of instances) {
      const ip = i.address !== '' ? canonicalIp(i.address) : undefined;
      if (!ip) continue;
      const counts = this.byAddress.get(ip) ?? new Map<string, number>();
      const n = (counts.get(i.service) ?? 0) + by;
      if (n > 0) counts.set(i.service, n);
      else counts.delete(i.service);
      if (counts.size > 0) this.byAddress.set(ip, counts);
      else this.byAddress.delete(ip);
    }
  }

  /**
   * service returns a service's instances in dc (spelled as Consul spells it), or in a
   * peer, namespace or partition: cached, or read once and then watched. Consul CE
   * refuses `ns` and `partition` with HTTP 400: that is no outage, and no instances.
   */
  service(dc: string, spelled: string, scope?: ScopeParams): Lookup<Instance[]> {
    const where = scopedDatacenter(dc, scope && { peer: scope.peer, namespace: scope.ns, partition: scope.partition, gateway: scope.via });
    const key = `service/${where.toLowerCase()}/${spelled}`;
    const hit = this.cache.get(key);
    if (hit) return hit.value;
    const read = (index: bigint, signal?: AbortSignal): Promise<BlockingResult<unknown>> => this.http.healthService(spelled, dc, index, signal, scope);
    const decode = (body: unknown): Instance[] => decodeHealthService(body, (why) => this.events.skip(`${key}: ${why}`));
    const change = serviceChanged(where, spelled);
    const enterprise = scope?.ns !== undefined || scope?.partition !== undefined;
    return this.coalesce.run(key, async () => {
      let first: BlockingResult<unknown>;
      let value: Instance[];
      try {
        first = await read(0n);
        value = decode(first.body);
        this.events.ok();
      } catch (err) {
        if (enterprise && err instanceof ConsulHttpError && err.status === 400) {
          this.events.enterpriseRefused();
          return [];
        }
        this.events.failed(key, err);
        throw new RegistryUnavailable('consul', `${key}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const entry: Entry = { value, watch: undefined, change };
      if (!this.stopped) {
        entry.watch = new BlockingWatch<unknown>(
          {
            ...this.o.watch,
            fetch: (index, signal) => read(index, signal),
            onData: (body) => {
              const next = decode(body);
              this.events.ok();
              // A return is no proof of a change (Consul docs): compare what we serve.
              if (JSON.stringify(next) !== JSON.stringify(entry.value)) {
                this.index(entry.value, -1);
                this.index(next, 1);
                entry.value = next;
                this.events.notify(change);
              }
            },
            onError: (err) => this.events.failed(key, err),
          },
          first.index > 0n ? first.index : 1n,
        );
        entry.watch.start();
        this.index(value, 1);
        this.cache.set(key, entry);
      }
      return value;
    });
  }

  /** servicesAt names the cached services with instances at a canonical IP address of their own. */
  servicesAt(ip: string): string[] {
    return [...(this.byAddress.get(ip)?.keys() ?? [])];
  }

  /** wake ends the backoff of every watch, each within jitterMs. */
  wake(jitterMs: number): void {
    for (const e of this.cache.values()) {
      const w = e.watch;
      if (w) setTimeout(() => w.wake(), Math.random() * jitterMs).unref();
    }
  }

  /** records counts the instances held. */
  records(): number {
    let n = 0;
    for (const e of this.cache.values()) n += e.value.length;
    return n;
  }

  stop(): void {
    this.stopped = true;
    this.cache.clear();
  }
}
