// A SkyDNS/CoreDNS-layout etcd source: a mirror of its prefix feeding a SkyStore,
// which its SkyZone answers from. Also what Registrator's skydns2 backend writes.
import type { Logger } from '../log.js';
import { SkyStore } from '../catalog/skydns-store.js';
import { createMirror } from './etcd.js';
import type { EtcdConnection, EtcdSource, KeyMirror } from './etcd-mirror.js';
import type { Source, SourceStats } from './registry.js';

/** SkyDnsSource keeps one prefix's SkyDNS records in memory. */
export class SkyDnsSource implements Source {
  readonly name: string;
  readonly store: SkyStore;
  private readonly mirror: KeyMirror;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly source: EtcdSource,
    connection: EtcdConnection,
    log: Logger,
    private readonly startTimeoutMs = 5000,
  ) {
    this.name = `etcd:${source.zone}`;
    const l = log.child({ component: 'registry/etcd', layout: 'skydns', prefix: source.prefix, api: source.api });
    this.store = new SkyStore(source.prefix, l, () => this.listeners.forEach((f) => f()));
    this.mirror = createMirror(source.api, connection, source.prefix, this.store, l);
  }

  /** subscribe hears of every committed change; it returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  synced(): boolean {
    return this.mirror.synced();
  }
  healthy(): boolean {
    return this.mirror.healthy();
  }
  staleSince(): number {
    return this.mirror.staleSince();
  }
  stats(): SourceStats {
    return { lastSync: this.mirror.lastSync, errors: this.mirror.errors + this.store.malformed, records: this.store.size };
  }
  get errors(): number {
    return this.mirror.errors;
  }
  start(): Promise<void> {
    return this.mirror.start(this.startTimeoutMs);
  }
  stop(): Promise<void> {
    return this.mirror.stop();
  }
}
