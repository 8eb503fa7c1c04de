// The Consul registry, the facade over Consul: each datacenter's service and node lists
// are watched (consul-directory.ts), so unknown names are NXDOMAIN from memory and nodes
// are answered from the node list; services are cached and watched (consul-services.ts),
// so a DNS query never waits on Consul once a name is known. This file holds what they
// share: the local datacenter, the datacenter list, liveness (for the staleness rule,
// staleness.ts), logging, and recovery after an outage.
import type { Change } from '../catalog/changes.js';
import { DEFAULT_DATACENTER, thenLookup, type CatalogNode, type Instance, type Lookup, type QueryResult, type ReverseEntry, type Scope } from '../catalog/types.js';
import { LogLimiter, redact, type Logger } from '../log.js';
import { DEFAULT_BACKOFF, type Backoff } from './backoff.js';
import { Coalescer } from './coalesce.js';
import { decodeAgentSelf, decodeDatacenters } from './consul-decode.js';
import { ConsulDirectory } from './consul-directory.js';
import { ConsulHttp, type ConsulHttpOptions, type RequestReports } from './consul-http.js';
import { ConsulServices } from './consul-services.js';
import { PreparedQueries } from './consul-queries.js';
import { firstSyncOrTimeout } from './connect.js';
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

/** RECOVERY_JITTER_MS spreads the retries of every watch when Consul answers again. */
const RECOVERY_JITTER_MS = 250;

/** ConsulRegistry implements Registry over Consul's HTTP API. */
export class ConsulRegistry implements Registry {
  readonly name = 'consul';
  private readonly http: ConsulHttp;
  private readonly log: Logger;
  private localDc: string;
  private readonly services: ConsulServices;
  private readonly coalesce = new Coalescer();
  private readonly listeners = new Set<(change: Change) => void>();
  /** directories hold each datacenter's lists, the local one from start, others from their first query. */
  private readonly directories = new Map<string, ConsulDirectory>();
  private datacenters: { names: Set<string>; at: number } | undefined;
  private stopped = false;
  private readonly skipped = new Set<string>();
  private readonly warned = new Set<string>();
  private readonly logLimiter = new LogLimiter();
  private readonly queries: PreparedQueries;
  /** reports are the request outcomes every part (lists, services, queries) reports the same way. */
  private readonly reports: RequestReports = {
    ok: () => this.ok(),
    failed: (what, err) => this.failed(what, err),
    skip: (why) => this.skip(why),
  };
  /** enterprise is false once Consul refused `ns`/`partition` (CE); undefined until asked. */
  private enterprise: boolean | undefined;
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
    this.queries = new PreparedQueries(this.http, o.cacheSize, {
      ...this.reports,
      notify: (change) => this.notify(change),
      watch: (service, dc) => void Promise.resolve(this.service(service, dc)).catch(() => undefined),
    });
    this.services = new ConsulServices(this.http, { cacheSize: o.cacheSize, cacheIdleMs: o.cacheIdleMs, watch: this.watchOptions() }, {
      ...this.reports,
      notify: (change) => this.notify(change),
      enterpriseRefused: () => {
        if (this.enterprise !== false) this.log.info('Consul refused the ns/partition parameters (HTTP 400: Consul CE): names with .ns or .ap labels are NXDOMAIN, as in Consul CE\'s own DNS');
        this.enterprise = false;
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
    this.queries.changed(change);
  }

  preparedQuery(name: string, dc: string, source?: string): Lookup<QueryResult | undefined> {
    return thenLookup(this.hasDatacenter(dc), (known) => (known ? this.queries.get(name, dc, source) : undefined));
  }

  /** ok records an answer from Consul; the first after an outage wakes every watch waiting in backoff. */
  private ok(): void {
    this.lastOk = Date.now();
    if (!this.liveness.current()) this.wakeAll();
    this.liveness.up();
  }

  /** wakeAll retries every watch soon, each within RECOVERY_JITTER_MS so that they do not all arrive at once. */
  private wakeAll(): void {
    for (const d of this.directories.values()) setTimeout(() => d.wake(), Math.random() * RECOVERY_JITTER_MS).unref();
    this.services.wake(RECOVERY_JITTER_MS);
  }

  /** directory makes (and starts) the watched lists of a datacenter. */
  private directory(dc: string): ConsulDirectory {
    const key = dc.toLowerCase();
    let dir = this.directories.get(key);
    if (!dir) {
      dir = new ConsulDirectory(this.http, dc, this.watchOptions(), {
        ...this.reports,
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
    this.services.stop();
    this.queries.stop();
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
    return { lastSync: this.lastOk, errors: this.errors, records: this.services.records() };
  }

  hasDatacenter(dc: string): Lookup<boolean> {
    const want = dc.toLowerCase();
    if (want === this.localDc.toLowerCase()) return true;
    const known = this.datacenters;
    // The list is re-read at most once a minute, and only when asked.
    if (known && Date.now() - known.at < 60000) return known.names.has(want);
    return this.coalesce.run('datacenters', async () => {
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
      return this.coalesce.run(`directory/${dc.toLowerCase()}`, async () => {
        if (!(await firstSyncOrTimeout(dir.ready, this.o.timeoutMs))) throw new RegistryUnavailable('consul', `no service list for datacenter ${dc} yet`);
        return dir;
      });
    });
  }

  service(name: string, dc: string, scope?: Scope): Lookup<readonly Instance[] | undefined> {
    if (scope?.gateway !== undefined) return this.gatewayService(name, dc, scope);
    if (scope !== undefined && (scope.peer !== undefined || scope.namespace !== undefined || scope.partition !== undefined)) return this.scopedService(name, dc, scope);
    return thenLookup(this.listed(dc), (dir) => {
      // Unknown names are answered from memory: the service list is watched.
      const spelled = dir?.service(name);
      if (!dir || spelled === undefined) return undefined;
      return this.services.service(dir.dc, spelled);
    });
  }

  /**
   * gatewayService reads a service's Connect-capable endpoints (/v1/health/connect) or
   * ingress gateways (/v1/health/ingress), watched like its instances. Only for services
   * in the watched list: an unknown name costs Consul nothing.
   */
  private gatewayService(name: string, dc: string, scope: Scope): Lookup<readonly Instance[] | undefined> {
    if (scope.peer !== undefined || ((scope.namespace !== undefined || scope.partition !== undefined) && this.enterprise === false)) return undefined;
    return thenLookup(this.listed(dc), (dir) => {
      const spelled = dir?.service(name);
      if (!dir || spelled === undefined) return undefined;
      return thenLookup(this.services.service(dir.dc, spelled, { via: scope.gateway, ns: scope.namespace, partition: scope.partition }), (all) => (all.length > 0 ? all : undefined));
    });
  }

  /**
   * scopedService reads a peer's, namespace's or partition's service (the watched lists
   * cover the local default scope only): watched once read; unknown or empty is
   * undefined. Consul CE refuses namespaces and partitions: NXDOMAIN, as its DNS says.
   */
  private scopedService(name: string, dc: string, scope: Scope): Lookup<readonly Instance[] | undefined> {
    if ((scope.namespace !== undefined || scope.partition !== undefined) && this.enterprise === false) return undefined;
    const params = { peer: scope.peer, ns: scope.namespace, partition: scope.partition };
    const read = (): Lookup<readonly Instance[] | undefined> => thenLookup(this.services.service(dc, name, params), (all) => (all.length > 0 ? all : undefined));
    return scope.peer !== undefined ? read() : thenLookup(this.hasDatacenter(dc), (known) => (known ? read() : undefined));
  }

  node(name: string, dc: string, scope?: Scope): Lookup<CatalogNode | undefined> {
    // Nodes are listed for the default partition; Consul CE has no other.
    if (scope !== undefined && (scope.partition ?? 'default') !== 'default') return undefined;
    if (scope?.partition !== undefined && this.enterprise === false) return undefined;
    return thenLookup(this.listed(dc), (dir) => dir?.node(name));
  }

  reverse(ip: string): ReverseEntry {
    return { nodes: this.directories.get(this.localDc.toLowerCase())?.nodesAt(ip) ?? [], services: this.services.servicesAt(ip) };
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
