// The Consul registry: a cache of Consul's answers, kept fresh by blocking queries.
// Each datacenter's service and node lists are watched (consul-directory.ts), so unknown
// names are NXDOMAIN from memory and nodes are answered from the node list. The first
// query for a service reads /v1/health/service/:name (concurrent misses share one
// request); from then on one blocking-query loop per cached service keeps it current,
// and a DNS query never waits on Consul. When Consul is down the last good data keeps
// answering (for --max-stale: staleness.ts), and the loops recover alone.
import { LRUCache } from 'lru-cache';
import { serviceChanged, type Change } from '../catalog/changes.js';
import { DEFAULT_DATACENTER, thenLookup, type CatalogNode, type Instance, type Lookup, type ReverseEntry } from '../catalog/types.js';
import { canonicalIp } from '../dns/addr.js';
import { LogLimiter, redact, type Logger } from '../log.js';
import type { Backoff } from './backoff.js';
import { decodeAgentSelf, decodeDatacenters, decodeHealthService } from './consul-decode.js';
import { ConsulDirectory } from './consul-directory.js';
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

/** Entry is one cached service, the loop that keeps it fresh, and the change its eviction is. */
interface Entry {
  value: Instance[];
  watch: BlockingWatch<unknown> | undefined;
  change: Change;
}

const DEFAULT_BACKOFF: Backoff = { baseMs: 250, maxMs: 30000 };
/** RECOVERY_JITTER_MS spreads the retries of every watch when Consul answers again. */
const RECOVERY_JITTER_MS = 250;

/** ConsulRegistry implements Registry over Consul's HTTP API. */
export class ConsulRegistry implements Registry {
  readonly name = 'consul';
  private readonly http: ConsulHttp;
  private readonly log: Logger;
  private localDc: string;
  private readonly cache: LRUCache<string, Entry>;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<(change: Change) => void>();
  /** directories hold each datacenter's lists, the local one from start, others from their first query. */
  private readonly directories = new Map<string, ConsulDirectory>();
  private datacenters: { names: Set<string>; at: number } | undefined;
  private stopped = false;
  private readonly skipped = new Set<string>();
  private readonly warned = new Set<string>();
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
    this.log = o.log.child({ component: 'registry/consul', url: redact(o.url) });
    this.localDc = o.datacenter ?? DEFAULT_DATACENTER;
    this.cache = new LRUCache<string, Entry>({
      max: o.cacheSize,
      ttl: o.cacheIdleMs,
      updateAgeOnGet: true,
      ttlAutopurge: true,
      // An evicted service is no longer watched: every answer built from it must go too.
      dispose: (entry, _key, reason) => {
        entry.watch?.stop();
        if (reason !== 'set' && !this.stopped) this.notify(entry.change);
      },
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
    const message = redact(err instanceof Error ? err.message : String(err), this.o.token ? [this.o.token] : []);
    if (suppressed !== undefined) this.log.warn({ err: message, what, suppressed }, 'consul request failed');
  }

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

  private notify(change: Change): void {
    for (const l of this.listeners) l(change);
  }

  /** ok records an answer from Consul; the first after an outage wakes every watch waiting in backoff. */
  private ok(): void {
    this.lastOk = Date.now();
    if (!this.liveness.current()) this.wakeAll();
    this.liveness.up();
  }

  /** wakeAll retries every watch soon, each within RECOVERY_JITTER_MS so that they do not all arrive at once. */
  private wakeAll(): void {
    const watches: { wake(): void }[] = [...this.directories.values()];
    for (const e of this.cache.values()) if (e.watch) watches.push(e.watch);
    for (const w of watches) setTimeout(() => w.wake(), Math.random() * RECOVERY_JITTER_MS).unref();
  }

  /** directory makes (and starts) the watched lists of a datacenter. */
  private directory(dc: string): ConsulDirectory {
    const key = dc.toLowerCase();
    let dir = this.directories.get(key);
    if (!dir) {
      dir = new ConsulDirectory(this.http, dc, this.watchOptions(), {
        ok: () => this.ok(),
        failed: (what, err) => this.failed(what, err),
        skip: (why) => this.skip(why),
        changed: () => this.notify({ kind: 'all' }),
        // With ACLs on, the anonymous token sees nothing, and Consul does not say so.
        listed: (names) => {
          if (names.length === 0 && !this.o.token) this.warnOnce('empty', 'consul lists no services; if its ACLs are on, requests without a token see nothing: set --consul-token');
        },
      });
      this.directories.set(key, dir);
      if (!this.stopped) dir.start();
    }
    return dir;
  }

  /** start learns the datacenter and its service and node lists, waiting at most startTimeoutMs; then it serves regardless. */
  async start(): Promise<void> {
    const first = (async (): Promise<void> => {
      if (!this.o.datacenter) {
        try {
          this.localDc = decodeAgentSelf(await this.http.agentSelf());
        } catch (err) {
          this.failed('agent/self', err); // serve the default datacenter rather than nothing
        }
      }
      if (this.stopped) return;
      await this.directory(this.localDc).ready;
    })();
    if (!(await firstSyncOrTimeout(first, this.o.startTimeoutMs ?? 5000))) {
      this.log.error('consul did not answer at start-up; answering SERVFAIL until it does');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.directories.values()) d.stop();
    this.cache.clear();
    this.http.close();
  }

  datacenter(): string {
    return this.localDc;
  }

  /** synced tells whether the local service and node lists have been read at least once. */
  synced(): boolean {
    return this.directories.get(this.localDc.toLowerCase())?.synced() ?? false;
  }

  healthy(): boolean {
    return this.liveness.current();
  }

  staleSince(): number {
    return this.liveness.staleSince();
  }

  stats(): SourceStats {
    let records = 0;
    for (const e of this.cache.values()) records += e.value.length;
    return { lastSync: this.lastOk, errors: this.errors, records };
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
        this.ok();
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
   * listed returns a datacenter's lists once they have been read: at once in steady
   * state; a datacenter's first query waits for its first read, at most --consul-timeout.
   * Unknown datacenters are undefined.
   */
  private listed(dc: string): Lookup<ConsulDirectory | undefined> {
    return thenLookup(this.hasDatacenter(dc), (known) => {
      if (!known) return undefined;
      const dir = this.directory(dc);
      if (dir.synced()) return dir;
      return this.shared(`directory/${dc.toLowerCase()}`, async () => {
        if (!(await firstSyncOrTimeout(dir.ready, this.o.timeoutMs))) throw new RegistryUnavailable('consul', `no service list for datacenter ${dc} yet`);
        return dir;
      });
    });
  }

  /**
   * cached returns a cached, watched service or reads it once: the first read is
   * non-blocking, then a blocking loop from its index keeps the entry current.
   */
  private cached(key: string, read: (index: bigint, signal?: AbortSignal) => Promise<BlockingResult<unknown>>, change: Change): Lookup<Instance[]> {
    const hit = this.cache.get(key);
    if (hit) return hit.value;
    const decode = (body: unknown): Instance[] => decodeHealthService(body, (why) => this.skip(`${key}: ${why}`));
    return this.shared(key, async () => {
      let first: BlockingResult<unknown>;
      let value: Instance[];
      try {
        first = await read(0n);
        value = decode(first.body);
        this.ok();
      } catch (err) {
        this.failed(key, err);
        throw new RegistryUnavailable('consul', `${key}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const entry: Entry = { value, watch: undefined, change };
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
        this.cache.set(key, entry);
      }
      return value;
    });
  }

  service(name: string, dc: string): Lookup<readonly Instance[] | undefined> {
    return thenLookup(this.listed(dc), (dir) => {
      // Unknown names are answered from memory: the service list is watched.
      const spelled = dir?.service(name);
      if (!dir || spelled === undefined) return undefined;
      const key = `service/${dc.toLowerCase()}/${spelled}`;
      return this.cached(key, (index, signal) => this.http.healthService(spelled, dir.dc, index, signal), serviceChanged(dc, spelled));
    });
  }

  node(name: string, dc: string): Lookup<CatalogNode | undefined> {
    return thenLookup(this.listed(dc), (dir) => dir?.node(name));
  }

  reverse(ip: string): ReverseEntry {
    const nodes = this.directories.get(this.localDc.toLowerCase())?.nodesAt(ip) ?? [];
    const services = new Set<string>();
    for (const entry of this.cache.values()) {
      for (const i of entry.value) if (i.address !== '' && canonicalIp(i.address) === ip) services.add(i.service);
    }
    return { nodes, services: [...services] };
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
