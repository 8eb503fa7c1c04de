// The Consul registry: a cache of Consul's answers, kept fresh by blocking queries.
// The first query for a service reads /v1/health/service/:name (concurrent misses share
// one request); from then on one blocking-query loop per cached service keeps it
// current, and a DNS query never waits on Consul. A watch on /v1/catalog/services tells
// which services exist, so unknown names are NXDOMAIN from memory. When Consul is down
// the last good data keeps answering (for --max-stale: staleness.ts), and the loops
// recover alone.
import { LRUCache } from 'lru-cache';
import { thenLookup, type CatalogChange, type CatalogNode, type Instance, type Lookup, type ReverseEntry } from '../catalog/types.js';
import { canonicalIp } from '../dns/addr.js';
import { LogLimiter, type Logger } from '../log.js';
import type { Backoff } from './backoff.js';
import {
  decodeAgentSelf,
  decodeCatalogNode,
  decodeCatalogNodes,
  decodeDatacenters,
  decodeHealthService,
  decodeServices,
} from './consul-decode.js';
import { ConsulHttp, type ConsulHttpOptions } from './consul-http.js';
import { firstSyncOrTimeout } from './connect.js';
import { BlockingWatch, type BlockingResult } from './consul-watch.js';
import { RegistryUnavailable, type Registry, type SourceStats } from './registry.js';
import { Liveness } from './staleness.js';

/** ConsulRegistryOptions configure the Consul registry. */
export interface ConsulRegistryOptions extends ConsulHttpOptions {
  /** datacenter overrides the agent's own (from /v1/agent/self). */
  datacenter: string | undefined;
  cacheSize: number;
  /** cacheIdleMs evicts an entry (and stops its watch) when no query used it for this long. */
  cacheIdleMs: number;
  /** startTimeoutMs is how long start() waits for the first sync before serving anyway. */
  startTimeoutMs?: number;
  minIntervalMs?: number;
  backoff?: Backoff;
  log: Logger;
}

/** Entry is one cached Consul read and the loop that keeps it fresh. */
interface Entry<T> {
  value: T;
  watch: BlockingWatch<unknown> | undefined;
}

type Cached = Entry<Instance[]> | Entry<CatalogNode | undefined>;

const DEFAULT_BACKOFF: Backoff = { baseMs: 250, maxMs: 30000 };

/** ConsulRegistry implements Registry over Consul's HTTP API. */
export class ConsulRegistry implements Registry {
  readonly name = 'consul';
  private readonly http: ConsulHttp;
  private readonly log: Logger;
  private localDc: string;
  private readonly cache: LRUCache<string, Cached>;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<(change: CatalogChange) => void>();
  private readonly loops: BlockingWatch<unknown>[] = [];
  /** services maps lower-case names to Consul's spelling; undefined until the first sync. */
  private services: Map<string, string> | undefined;
  private nodesByAddress = new Map<string, CatalogNode[]>();
  private datacenters: { names: Set<string>; at: number } | undefined;
  private stopped = false;
  private readonly skipped = new Set<string>();
  private readonly logLimiter = new LogLimiter();
  /** errors counts failed requests to Consul, for metrics. */
  errors = 0;
  /** lastOk is when Consul last answered (ms). */
  lastOk = 0;
  private readonly liveness = new Liveness();

  constructor(private readonly o: ConsulRegistryOptions) {
    this.http = new ConsulHttp({
      ...o,
      onFiltered: () => this.warnOnce('filtered', 'consul left out services or nodes this token may not read (ACL); answers leave them out too'),
    });
    this.log = o.log.child({ component: 'registry/consul', url: o.url });
    this.localDc = o.datacenter ?? 'dc1';
    this.cache = new LRUCache<string, Cached>({
      max: o.cacheSize,
      ttl: o.cacheIdleMs,
      updateAgeOnGet: true,
      ttlAutopurge: true,
      dispose: (entry) => entry.watch?.stop(),
    });
  }

  private watchOptions(): { minIntervalMs: number; backoff: Backoff } {
    return { minIntervalMs: this.o.minIntervalMs ?? 20, backoff: this.o.backoff ?? DEFAULT_BACKOFF };
  }

  private failed(what: string, err: unknown): void {
    this.errors++;
    this.liveness.down();
    // Cold misses fail per query during an outage: one line a second, with a count.
    const suppressed = this.logLimiter.allow('failed');
    if (suppressed !== undefined) this.log.warn({ err: err instanceof Error ? err.message : String(err), what, suppressed }, 'consul request failed');
  }

  private readonly warned = new Set<string>();
  /** warnOnce logs a condition the operator should fix, once per run. */
  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(message);
  }

  private skip(why: string): void {
    if (this.skipped.has(why)) return;
    this.skipped.add(why);
    this.log.warn({ why }, 'skipping a malformed entry from consul');
  }

  private notify(change: CatalogChange): void {
    for (const l of this.listeners) l(change);
  }

  /** start learns the datacenter and the service list, waiting at most startTimeoutMs; then it serves regardless. */
  async start(): Promise<void> {
    const first = new Promise<void>((resolve) => {
      const services = new BlockingWatch<unknown>(
        {
          ...this.watchOptions(),
          fetch: (index, signal) => this.http.catalogServices(this.localDc, index, signal),
          onData: (body) => {
            const names = decodeServices(body);
            // With ACLs on, the anonymous token sees nothing, and Consul does not say so.
            if (names.length === 0 && !this.o.token) this.warnOnce('empty', 'consul lists no services; if its ACLs are on, requests without a token see nothing: set --consul-token');
            const next = new Map(names.map((n) => [n.toLowerCase(), n]));
            const changed = !this.services || this.services.size !== next.size || names.some((n) => !this.services!.has(n.toLowerCase()));
            this.services = next;
            this.ok();
            if (changed) this.notify({ kind: 'all' });
            resolve();
          },
          onError: (err) => this.failed('catalog/services', err),
        },
        0n,
      );
      const nodes = new BlockingWatch<unknown>(
        {
          ...this.watchOptions(),
          fetch: (index, signal) => this.http.catalogNodes(this.localDc, index, signal),
          onData: (body) => {
            const byAddress = new Map<string, CatalogNode[]>();
            for (const n of decodeCatalogNodes(body, this.localDc, (why) => this.skip(why))) {
              const ip = canonicalIp(n.address);
              if (ip) byAddress.set(ip, [...(byAddress.get(ip) ?? []), n]);
            }
            const changed = JSON.stringify([...byAddress]) !== JSON.stringify([...this.nodesByAddress]);
            this.nodesByAddress = byAddress;
            if (changed) this.notify({ kind: 'all' });
          },
          onError: (err) => this.failed('catalog/nodes', err),
        },
        0n,
      );
      this.loops.push(services, nodes);
      const begin = (): void => {
        if (this.stopped) return;
        services.start();
        nodes.start();
      };
      if (this.o.datacenter) begin();
      else
        this.http.agentSelf().then(
          (body) => {
            this.localDc = decodeAgentSelf(body);
            begin();
          },
          (err: unknown) => {
            this.failed('agent/self', err);
            begin(); // serve the default datacenter rather than nothing
          },
        );
    });
    if (!(await firstSyncOrTimeout(first, this.o.startTimeoutMs ?? 5000))) {
      this.log.error('consul did not answer at start-up; answering SERVFAIL until it does');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const l of this.loops) l.stop();
    this.cache.clear();
    this.http.close();
  }

  datacenter(): string {
    return this.localDc;
  }

  /** synced tells whether the service list has been read at least once. */
  synced(): boolean {
    return this.services !== undefined;
  }

  healthy(): boolean {
    return this.liveness.current();
  }

  staleSince(): number {
    return this.liveness.staleSince();
  }

  stats(): SourceStats {
    let records = 0;
    for (const e of this.cache.values()) if (Array.isArray(e.value)) records += e.value.length;
    return { lastSync: this.lastOk, errors: this.errors, records };
  }

  /** ok records an answer from Consul. */
  private ok(): void {
    this.lastOk = Date.now();
    this.liveness.up();
  }

  hasDatacenter(dc: string): Lookup<boolean> {
    const want = dc.toLowerCase();
    if (want === this.localDc.toLowerCase()) return true;
    const known = this.datacenters;
    // The list is re-read at most once a minute, and only when asked.
    if (known && Date.now() - known.at < 60000) return known.names.has(want);
    return this.shared('datacenters', async () => {
      try {
        const names = decodeDatacenters(await this.http.datacenters()).map((d) => d.toLowerCase());
        this.datacenters = { names: new Set(names), at: Date.now() };
      } catch (err) {
        this.failed('catalog/datacenters', err);
        if (!known) throw new RegistryUnavailable('consul', 'cannot list datacenters');
      }
      return this.datacenters!.names.has(want);
    });
  }

  /** shared runs one request per key at a time; concurrent callers get the same promise. */
  private shared<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = this.inflight.get(key);
    if (pending) return pending as Promise<T>;
    const p = run().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /**
   * cached returns a cached, watched value or fetches it once: the first read is
   * non-blocking, then a blocking loop from its index keeps the entry current.
   */
  private cached<T>(key: string, read: (index: bigint, signal?: AbortSignal) => Promise<BlockingResult<unknown>>, decode: (body: unknown) => T, change: CatalogChange): Lookup<T> {
    const hit = this.cache.get(key) as Entry<T> | undefined;
    if (hit) return hit.value;
    return this.shared(key, async () => {
      let first: BlockingResult<unknown>;
      let value: T;
      try {
        first = await read(0n);
        value = decode(first.body);
        this.ok();
      } catch (err) {
        this.failed(key, err);
        throw new RegistryUnavailable('consul', `${key}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const entry: Entry<T> = { value, watch: undefined };
      if (!this.stopped) {
        entry.watch = new BlockingWatch<unknown>(
          {
            ...this.watchOptions(),
            fetch: (index, signal) => read(index, signal),
            onData: (body) => {
              const next = decode(body);
              this.ok();
              // A return is no proof of a change (Consul docs): compare what we serve.
              if (JSON.stringify(next) !== JSON.stringify(entry.value)) {
                entry.value = next;
                this.notify(change);
              }
            },
            onError: (err) => this.failed(key, err),
          },
          first.index > 0n ? first.index : 1n,
        );
        entry.watch.start();
        this.cache.set(key, entry as Cached);
      }
      return value;
    });
  }

  /** inDatacenter runs fn for the local datacenter, or for another one that exists; otherwise undefined. */
  private inDatacenter<T>(dc: string, fn: (local: boolean) => Lookup<T | undefined>): Lookup<T | undefined> {
    if (dc.toLowerCase() === this.localDc.toLowerCase()) return fn(true);
    return thenLookup(this.hasDatacenter(dc), (known) => (known ? fn(false) : undefined));
  }

  service(name: string, dc: string): Lookup<readonly Instance[] | undefined> {
    return this.inDatacenter(dc, (local) => this.serviceIn(name, dc, local));
  }

  private serviceIn(name: string, dc: string, local: boolean): Lookup<readonly Instance[] | undefined> {
    let spelled = name;
    if (local && this.services) {
      // Unknown names are answered from memory (the service list is watched).
      const known = this.services.get(name.toLowerCase());
      if (known === undefined) return undefined;
      spelled = known;
    }
    const key = `service/${dc.toLowerCase()}/${spelled}`;
    const instances = this.cached(
      key,
      (index, signal) => this.http.healthService(spelled, dc, index, signal),
      (body) => decodeHealthService(body, (why) => this.skip(`${key}: ${why}`)),
      { kind: 'service', name: spelled, datacenter: dc },
    );
    // Without a service list (remote datacenters), no instances means no such service.
    const known = (list: Instance[]): readonly Instance[] | undefined => (list.length === 0 && !(local && this.services) ? undefined : list);
    return thenLookup(instances, known);
  }

  node(name: string, dc: string): Lookup<CatalogNode | undefined> {
    return this.inDatacenter(dc, () => this.nodeIn(name, dc));
  }

  private nodeIn(name: string, dc: string): Lookup<CatalogNode | undefined> {
    const key = `node/${dc.toLowerCase()}/${name.toLowerCase()}`;
    return this.cached(
      key,
      (index, signal) => this.http.catalogNode(name, dc, index, signal),
      (body) => decodeCatalogNode(body, dc),
      { kind: 'all' },
    );
  }

  reverse(ip: string): ReverseEntry {
    const nodes = this.nodesByAddress.get(ip) ?? [];
    const services = new Set<string>();
    for (const entry of this.cache.values()) {
      if (!Array.isArray(entry.value)) continue;
      for (const i of entry.value) if (i.address !== '' && canonicalIp(i.address) === ip) services.add(i.service);
    }
    return { nodes, services: [...services] };
  }

  subscribe(listener: (change: CatalogChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
