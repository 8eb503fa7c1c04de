// Registrator's etcd backend, served as it is: `<prefix>/<name>/<id>` = `ip:port`
// (`[v6]:port`), refreshed with an etcd TTL. Each key is an instance of service <name>,
// passing (an expired key is a gone instance), answered with Consul-style names.
import { isIP } from 'node:net';
import { Snapshot } from '../catalog/snapshot.js';
import { DEFAULT_WEIGHTS, type Instance } from '../catalog/types.js';
import type { Logger } from '../log.js';
import { createMirror, deleteKeys, type EtcdApi } from './etcd.js';
import type { EtcdConnection, KeyMirror, KeySink } from './etcd-mirror.js';
import type { SourceStats } from './registry.js';
import { SnapshotRegistry } from './snapshot-registry.js';

/** RegistratorOptions configure the Registrator layout. */
export interface RegistratorOptions {
  connection: EtcdConnection;
  api: EtcdApi;
  prefix: string;
  datacenter: string;
  log: Logger;
  startTimeoutMs?: number;
}

/** parseAddress reads Registrator's `ip:port` or `[ipv6]:port`. */
export function parseAddress(value: string): { ip: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value.trim());
  const ip = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!ip || isIP(ip) === 0 || port > 65535) return undefined;
  return { ip, port };
}

/** RegistratorRegistry serves Registrator's flat etcd layout as a catalog. */
export class RegistratorRegistry extends SnapshotRegistry implements KeySink {
  readonly name = 'etcd';
  private readonly keys = new Map<string, string>();
  private readonly mirror: KeyMirror;
  private readonly log: Logger;
  private dirty = false;
  private readonly skipped = new Set<string>();
  /** malformed counts keys skipped because their value or path is not Registrator's. */
  malformed = 0;

  constructor(private readonly o: RegistratorOptions) {
    super(o.datacenter);
    this.log = o.log.child({ component: 'registry/etcd', layout: 'registrator', prefix: o.prefix });
    this.mirror = createMirror(o.api, o.connection, o.prefix, this, this.log);
  }

  reset(entries: ReadonlyMap<string, string>): void {
    this.keys.clear();
    for (const [k, v] of entries) this.keys.set(k, v);
    this.dirty = true;
  }
  put(key: string, value: string): void {
    if (this.keys.get(key) === value) return; // a TTL refresh re-sets the same value
    this.keys.set(key, value);
    this.dirty = true;
  }
  delete(key: string): void {
    if (deleteKeys(this.keys, key)) this.dirty = true;
  }
  commit(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.replace(this.build());
  }

  private skip(key: string, why: string): void {
    this.malformed++;
    if (this.skipped.has(key)) return;
    this.skipped.add(key);
    this.log.warn({ key, why }, 'skipping a malformed registrator key');
  }

  /** build turns the keys into a new Snapshot; the old one serves until it is swapped in. */
  private build(): Snapshot {
    const dir = `${this.o.prefix.replace(/\/+$/, '')}/`;
    const instances: Instance[] = [];
    for (const [key, value] of this.keys) {
      const parts = key.slice(dir.length).split('/');
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        this.skip(key, 'expected <prefix>/<service>/<id>');
        continue;
      }
      const addr = parseAddress(value);
      if (!addr) {
        this.skip(key, `expected ip:port, got ${JSON.stringify(value.slice(0, 64))}`);
        continue;
      }
      const [service, id] = parts as [string, string];
      // Registrator ids are <host>:<container>:<port>; the host names the node.
      instances.push({
        service,
        id,
        node: id.split(':')[0] || id,
        nodeAddress: addr.ip,
        address: addr.ip,
        port: addr.port,
        tags: [],
        meta: {},
        weights: DEFAULT_WEIGHTS,
        priority: 1,
        health: 'passing',
      });
    }
    return new Snapshot(this.localDc, [], instances);
  }

  override synced(): boolean {
    return this.mirror.synced();
  }
  override healthy(): boolean {
    return this.mirror.healthy();
  }
  override staleSince(): number {
    return this.mirror.staleSince();
  }
  override stats(): SourceStats {
    return { lastSync: this.mirror.lastSync, errors: this.mirror.errors + this.malformed, records: this.current.instanceCount };
  }

  /** errors counts failed etcd requests and lost watches. */
  get errors(): number {
    return this.mirror.errors;
  }

  async start(): Promise<void> {
    await this.mirror.start(this.o.startTimeoutMs ?? 5000);
  }

  async stop(): Promise<void> {
    await this.mirror.stop();
  }
}
