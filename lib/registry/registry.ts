// The one interface every registry backend implements (file, Consul, etcd). A registry
// returns data — instances and nodes — never DNS messages; lib/answer/ builds records.
import type { Change } from '../catalog/changes.js';
import type { CatalogNode, Instance, Lookup, QueryResult, ReverseEntry, Scope } from '../catalog/types.js';

/** Source is anything srvdns reads a registry through (a Registry, an etcd SkyDNS source): started first, stopped last. */
export interface Source {
  /** name identifies the backend in logs and metrics, e.g. "file". */
  readonly name: string;
  /** start loads the first full copy and begins watching; the file registry rejects if that fails, networked ones wait a while and serve on. */
  start(): Promise<void>;
  /** stop ends every watch and timer. */
  stop(): Promise<void>;
  /** synced tells whether the first full read has completed (readiness). */
  synced(): boolean;
  /** healthy tells whether the source follows its registry now; when not, answers are stale. */
  healthy(): boolean;
  /** staleSince is 0 while healthy, else when the registry stopped answering (1 before any data): the one staleness rule reads it. */
  staleSince(): number;
  /** stats are for metrics: when data was last known current, failures so far, and records held. */
  stats(): SourceStats;
  /** subscribe calls listener after every change, naming the data that changed; it returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void;
}

/** Registry is a source of catalog data kept fresh by a watch, answering Consul-style names. */
export interface Registry extends Source {
  /** datacenter is the local datacenter, used when a query names none. */
  datacenter(): string;
  /** hasDatacenter tells whether a datacenter exists. */
  hasDatacenter(dc: string): Lookup<boolean>;
  /**
   * service returns every instance of a service in any health state; undefined if the
   * service is unknown. A scope other than the default (a peer, a namespace or
   * partition other than "default") is unknown to registries without them.
   */
  service(name: string, dc: string, scope?: Scope): Lookup<readonly Instance[] | undefined>;
  /** node returns a node of a datacenter; undefined if unknown. */
  node(name: string, dc: string, scope?: Scope): Lookup<CatalogNode | undefined>;
  /** reverse returns what is known at a canonical IP address in the local datacenter. */
  reverse(ip: string): Lookup<ReverseEntry>;
  /** preparedQuery executes a prepared query by name or ID in dc (Consul only); undefined when there is no such query. */
  preparedQuery?(name: string, dc: string, source?: string): Lookup<QueryResult | undefined>;
}

/** SourceStats describe a registry or etcd source for metrics. */
export interface SourceStats {
  /** lastSync is when the source last knew it was current (ms since the epoch), 0 before the first sync. */
  lastSync: number;
  errors: number;
  records: number;
}

/** RegistryUnavailable is a lookup the registry cannot answer now (SERVFAIL). */
export class RegistryUnavailable extends Error {
  constructor(registry: string, reason: string) {
    super(`registry/${registry}: unavailable: ${reason}`);
    this.name = 'RegistryUnavailable';
  }
}
