// Shared plumbing for registries that mirror their whole catalog in memory (file,
// etcd's Registrator layout): lookups are synchronous reads of the current Snapshot,
// and an update swaps a complete new Snapshot in.
import { Snapshot } from '../catalog/snapshot.js';
import type { Change } from '../catalog/changes.js';
import { isDefaultScope, type CatalogNode, type Instance, type ReverseEntry, type Scope } from '../catalog/types.js';
import type { Registry, SourceStats } from './registry.js';
import { Liveness } from './staleness.js';

/** SnapshotRegistry implements the lookup half of Registry over a swappable Snapshot. */
export abstract class SnapshotRegistry implements Registry {
  abstract readonly name: string;
  protected current: Snapshot;
  private readonly listeners = new Set<(change: Change) => void>();
  private loaded = false;
  /** lastSync and errors feed stats(); subclasses count their own failures. */
  protected lastSync = 0;
  protected failures = 0;
  /** liveness says whether the catalog is followed now; subclasses mark it down when their source cannot be read. */
  protected readonly liveness = new Liveness();

  constructor(protected readonly localDc: string) {
    this.current = new Snapshot(localDc, [], []);
  }

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  /** snapshot is the catalog being served now. */
  snapshot(): Snapshot {
    return this.current;
  }

  /** replace swaps a complete new catalog in and tells subscribers. */
  protected replace(next: Snapshot): void {
    this.current = next;
    this.loaded = true;
    this.lastSync = Date.now();
    this.liveness.up();
    for (const listener of this.listeners) listener({ kind: 'all' });
  }

  synced(): boolean {
    return this.loaded;
  }
  healthy(): boolean {
    return this.liveness.current();
  }
  staleSince(): number {
    return this.liveness.staleSince();
  }
  stats(): SourceStats {
    return { lastSync: this.lastSync, errors: this.failures, records: this.current.instanceCount };
  }
  datacenter(): string {
    return this.localDc;
  }
  hasDatacenter(dc: string): boolean {
    return dc.toLowerCase() === this.localDc.toLowerCase();
  }
  service(name: string, dc: string, scope?: Scope): readonly Instance[] | undefined {
    return this.hasDatacenter(dc) && isDefaultScope(scope) ? this.current.service(name) : undefined;
  }
  node(name: string, dc: string, scope?: Scope): CatalogNode | undefined {
    return this.hasDatacenter(dc) && isDefaultScope(scope) ? this.current.node(name) : undefined;
  }
  reverse(ip: string): ReverseEntry {
    return this.current.reverse(ip);
  }
  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
