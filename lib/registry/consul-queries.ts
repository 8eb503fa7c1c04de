// Prepared queries (Consul's `<query>.query.consul`): executed through
// /v1/query/<name>/execute, kept in memory, and executed again when the service the query
// targets changes in its datacenter or a failover one (the registry's health watches say
// so) and every REFRESH_MS (a changed definition, a datacenter not watched). Queries never
// wait on Consul in steady state; a cold miss executes once, concurrent misses share it.
import { LRUCache } from 'lru-cache';
import { queryDatacenter, type Change } from '../catalog/changes.js';
import type { QueryResult } from '../catalog/types.js';
import { Coalescer } from './coalesce.js';
import { decodeHealthService } from './consul-decode.js';
import { ConsulHttpError, type ConsulHttp, type RequestReports } from './consul-http.js';
import { RegistryUnavailable } from './registry.js';

const REFRESH_MS = 30000;

/** QueryEvents is how prepared queries report to their registry. */
export interface QueryEvents extends RequestReports {
  notify(change: Change): void;
  /** watch makes sure a service's health is watched in dc, so that its changes are heard. */
  watch(service: string, dc: string): void;
}

interface Entry {
  result: QueryResult | undefined;
  /** dcs are where the query's service may answer from: where it ran and its failover. */
  dcs: Set<string>;
}

/** keyOf names a cached result: datacenter, query, and the asker's address for Near "_ip" queries ('' otherwise). */
const keyOf = (dc: string, name: string, source: string): string => `${dc.toLowerCase()}\0${name}\0${source}`;

/** parseGoDuration reads Consul's TTL strings (`10s`, `1m30s`, `1h`) as seconds; undefined when empty or unreadable. */
export function parseGoDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, n, , unit] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s)/g)) seconds += Number(n) * ({ h: 3600, m: 60, s: 1, ms: 0.001 } as Record<string, number>)[unit!]!;
  return Math.floor(seconds);
}

/** PreparedQueries holds executed prepared queries, kept fresh. */
export class PreparedQueries {
  private readonly cache: LRUCache<string, Entry>;
  private readonly coalesce = new Coalescer();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly http: ConsulHttp,
    cacheSize: number,
    private readonly events: QueryEvents,
  ) {
    this.cache = new LRUCache<string, Entry>({ max: cacheSize });
    this.timer = setInterval(() => this.refreshAll(), REFRESH_MS).unref();
  }

  /** nearIp names the queries whose definition sorts by the asker's address (Near "_ip"), by dc and name. */
  private readonly nearIp = new LRUCache<string, boolean>({ max: 4096 });

  /** execute runs a query once (near source, when given); a 404 (no such query) is undefined. */
  private async execute(name: string, dc: string, source?: string): Promise<QueryResult | undefined> {
    let body: unknown;
    try {
      body = await this.http.executeQuery(name, dc, source);
    } catch (err) {
      if (err instanceof ConsulHttpError && err.status === 404) return undefined;
      throw err;
    }
    const r = (body ?? {}) as { Service?: unknown; Nodes?: unknown; DNS?: { TTL?: unknown }; Datacenter?: unknown };
    if (typeof r.Service !== 'string') throw new Error(`query ${name}: no Service in the result`);
    return {
      service: r.Service,
      instances: decodeHealthService(r.Nodes ?? [], (why) => this.events.skip(`query ${name}: ${why}`)),
      datacenter: typeof r.Datacenter === 'string' && r.Datacenter !== '' ? r.Datacenter : dc,
      ttl: typeof r.DNS?.TTL === 'string' ? parseGoDuration(r.DNS.TTL) : undefined,
      near: source !== undefined,
    };
  }

  /** unavailable records a failed request and makes the error a cold miss answers with (SERVFAIL). */
  private unavailable(name: string, err: unknown): RegistryUnavailable {
    this.events.failed(`query ${name}`, err);
    return new RegistryUnavailable('consul', `query ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** sortsNearAsker reads a query's definition: does it sort by the asker's address? */
  private async sortsNearAsker(name: string): Promise<boolean> {
    let body: unknown;
    try {
      body = await this.http.queryDefinition(name);
    } catch (err) {
      if (err instanceof ConsulHttpError && err.status === 404) return false;
      throw err;
    }
    const def = (Array.isArray(body) ? body[0] : body) as { Service?: { Near?: unknown } } | undefined;
    return def?.Service?.Near === '_ip';
  }

  /**
   * get returns a query's result in dc: from memory, or executed once (concurrent misses
   * share it). A query with Near "_ip" is executed, and kept, per asker's address
   * (source: the EDNS Client Subnet address, else the client's), as Consul's DNS does.
   */
  get(name: string, dc: string, source?: string): QueryResult | undefined | Promise<QueryResult | undefined> {
    const near = this.nearIp.get(keyOf(dc, name, ''));
    if (near === undefined) {
      return this.coalesce.run(`near:${keyOf(dc, name, '')}`, () => this.sortsNearAsker(name)).then(
        (yes) => {
          this.nearIp.set(keyOf(dc, name, ''), yes);
          return this.get(name, dc, source);
        },
        (err: unknown) => {
          throw this.unavailable(name, err);
        },
      );
    }
    const asker = near && source !== undefined ? source : undefined;
    const key = keyOf(dc, name, asker ?? '');
    const hit = this.cache.get(key);
    if (hit) return hit.result;
    return this.coalesce.run(key, async () => {
      let result: QueryResult | undefined;
      try {
        result = await this.execute(name, dc, asker);
        this.events.ok();
      } catch (err) {
        throw this.unavailable(name, err);
      }
      const entry: Entry = { result, dcs: new Set([dc.toLowerCase()]) };
      this.remember(entry);
      this.cache.set(key, entry);
      return result;
    });
  }

  /** remember watches the query's service where its answers come from. */
  private remember(entry: Entry): void {
    if (!entry.result) return;
    entry.dcs.add(entry.result.datacenter.toLowerCase());
    for (const where of entry.dcs) this.events.watch(entry.result.service, where);
  }

  /** refresh executes a cached query again and reports a change of its result. */
  private refresh(key: string): void {
    const [dc, name, source] = key.split('\0') as [string, string, string];
    void this.coalesce
      .run(`refresh:${key}`, () => this.execute(name, dc, source === '' ? undefined : source))
      .then(
        (result) => {
          this.events.ok();
          const entry = this.cache.peek(key);
          if (!entry) return;
          if (JSON.stringify(result) === JSON.stringify(entry.result)) return;
          entry.result = result;
          this.remember(entry);
          this.events.notify({ kind: 'keys', keys: [{ kind: 'service', datacenter: queryDatacenter(dc), name }] });
        },
        // The last result keeps answering; the registry's staleness rule applies.
        (err: unknown) => this.events.failed(`query ${name}`, err),
      );
  }

  /** changed hears of registry changes: a query whose service changed where it answers from runs again. */
  changed(change: Change): void {
    if (change.kind === 'all') return this.refreshAll();
    for (const k of change.keys) {
      if (k.kind !== 'service') continue;
      const dc = k.datacenter.toLowerCase();
      const service = k.name.toLowerCase();
      for (const [key, entry] of this.cache.entries()) {
        if (entry.result?.service.toLowerCase() === service && entry.dcs.has(dc)) this.refresh(key);
      }
    }
  }

  /**
   * refreshAll executes every cached query again, and reads again the definitions known
   * to sort by the asker or not (they may have changed). Both in the background: the
   * answers in memory keep answering, so no query waits on Consul for it.
   */
  private refreshAll(): void {
    for (const key of [...this.nearIp.keys()]) {
      const name = key.split('\0')[1]!;
      void this.coalesce.run(`near:${key}`, () => this.sortsNearAsker(name)).then(
        (yes) => void this.nearIp.set(key, yes),
        (err: unknown) => this.events.failed(`query ${name}`, err),
      );
    }
    for (const key of [...this.cache.keys()]) this.refresh(key);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
