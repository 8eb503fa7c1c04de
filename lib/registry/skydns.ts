// A SkyDNS/CoreDNS-layout etcd source: a mirror of its prefix feeding a SkyStore,
// which its SkyZone answers from. Also what Registrator's skydns2 backend writes.
import type { Change } from '../catalog/changes.js';
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
  private readonly listeners = new Set<(change: Change) => void>();

  constructor(
    readonly source: EtcdSource,
    connection: EtcdConnection,
    log: Logger,
    private readonly startTimeoutMs = 5000,
  ) {
    this.name = `etcd:${source.zone}`;
    const l = log.child({ component: 'registry/etcd', layout: 'skydns', prefix: source.prefix, api: source.api });
    // A SkyDNS name answers for its whole subtree: any change may touch any answer of the zone.
    const changed: Change = { kind: 'keys', keys: [{ kind: 'zone', origin: source.zone }] };
    this.store = new SkyStore(source.prefix, l, () => this.listeners.forEach((f) => f(changed)));
    this.mirror = createMirror(source.api, connection, source.prefix, this.store, l);
  }

  /** subscribe hears of every committed change (the whole zone); it returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void {
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
