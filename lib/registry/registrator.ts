// Registrator's etcd backend, served as it is: `<prefix>/<name>/<id>` = `ip:port`
// (`[v6]:port`), refreshed with an etcd TTL. Each key is an instance of service <name>,
// passing (an expired key is a gone instance), answered with Consul-style names. The same
// registry serves every `<prefix>/<name>/<id>` layout through its mirror and decoder:
// Registrator's consulkv backend (consul-kv.ts), and the ZooKeeper layouts (zookeeper.ts,
// zk-layouts.ts), whose values are JSON.
import { isIP } from 'node:net';
import { Snapshot } from '../catalog/snapshot.js';
import { DEFAULT_WEIGHTS, type Instance } from '../catalog/types.js';
import type { Logger } from '../log.js';
import { createMirror, deleteKeys, type EtcdApi } from './etcd.js';
import { inParts, keyDir, nextTurn, RESET_PART, type EtcdConnection, type KeyMirror, type KeySink } from './etcd-mirror.js';
import type { SourceStats } from './registry.js';
import { SnapshotRegistry } from './snapshot-registry.js';

/**
 * RegistratorOptions configure the Registrator layout: read from etcd (its etcd backend),
 * or from another store through a mirror of its own (Consul's KV: the consulkv backend).
 */
export type RegistratorOptions = {
  prefix: string;
  datacenter: string;
  log: Logger;
  startTimeoutMs?: number;
  /** layout names the value format in logs; decode reads one value (default: Registrator's `ip:port`). */
  layout?: string;
  decode?: Decode;
} & ({ connection: EtcdConnection; api: EtcdApi } | { mirror: { name: string; create(sink: KeySink, log: Logger): KeyMirror } });

/** Decode reads the value at <prefix>/<service>/<id> into its instances, or says why it cannot. */
export type Decode = (service: string, id: string, value: string) => Instance[] | string;

/** decodeAddress reads Registrator's etcd and consulkv value, `ip:port`: one passing instance, its node the host part of the id (<host>:<container>:<port>). */
export function decodeAddress(service: string, id: string, value: string): Instance[] | string {
  const addr = parseAddress(value);
  if (!addr) return `expected ip:port, got ${JSON.stringify(value.slice(0, 64))}`;
  return [
    {
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
    },
  ];
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
  readonly name: string;
  private keys = new Map<string, string>();
  /** meanwhile records the changes made while a re-read is being copied in. */
  private meanwhile: [string, string | undefined][] | undefined;
  private readonly mirror: KeyMirror;
  private readonly log: Logger;
  private dirty = false;
  private readonly skipped = new Set<string>();
  private readonly decode: Decode;
  /** malformed counts keys skipped because their value or path is not Registrator's. */
  malformed = 0;

  constructor(private readonly o: RegistratorOptions) {
    super(o.datacenter);
    this.name = 'mirror' in o ? o.mirror.name : 'etcd';
    this.decode = o.decode ?? decodeAddress;
    this.log = o.log.child({ component: `registry/${this.name}`, layout: o.layout ?? 'registrator', prefix: o.prefix });
    this.mirror = 'mirror' in o ? o.mirror.create(this, this.log) : createMirror(o.api, o.connection, o.prefix, this, this.log);
  }

  reset(entries: ReadonlyMap<string, string>): void | Promise<void> {
    if (entries.size > RESET_PART) return this.resetInParts(entries);
    this.keys = new Map(entries);
    this.dirty = true;
  }

  /** resetInParts copies a large re-read in a part at a time; changes meanwhile apply on top. */
  private async resetInParts(entries: ReadonlyMap<string, string>): Promise<void> {
    const keys = new Map<string, string>();
    const meanwhile: [string, string | undefined][] = [];
    this.meanwhile = meanwhile;
    await inParts(entries, ([k, v]) => keys.set(k, v));
    this.meanwhile = undefined;
    this.keys = keys;
    for (const [k, v] of meanwhile) {
      if (v === undefined) deleteKeys(this.keys, k);
      else this.keys.set(k, v);
    }
    this.dirty = true;
  }

  put(key: string, value: string): void {
    this.meanwhile?.push([key, value]);
    if (this.keys.get(key) === value) return; // a TTL refresh re-sets the same value
    this.keys.set(key, value);
    this.dirty = true;
  }
  delete(key: string): void {
    this.meanwhile?.push([key, undefined]);
    if (deleteKeys(this.keys, key)) this.dirty = true;
  }
  commit(): void | Promise<void> {
    if (!this.dirty) return;
    if (this.keys.size <= RESET_PART) {
      this.dirty = false;
      this.replace(new Snapshot(this.localDc, [], this.instancesOf(this.keys)));
      return;
    }
    // A large catalog is built aside a part at a time; changes during a build start another after it.
    this.building ??= this.buildInParts().finally(() => {
      this.building = undefined;
      if (this.dirty) void this.commit();
    });
    return this.building;
  }

  private building: Promise<void> | undefined;

  /** buildInParts turns the keys into a new Snapshot a part at a time; the old one serves until it is swapped in. */
  private async buildInParts(): Promise<void> {
    this.dirty = false;
    const next = new Snapshot(this.localDc, [], []);
    // The map's iterator is live: a change during the build is seen or not, and sets dirty, so another build follows.
    const entries = this.keys.entries();
    for (;;) {
      const part: [string, string][] = [];
      for (let r = entries.next(); !r.done; r = entries.next()) if (part.push(r.value) === RESET_PART) break;
      if (part.length === 0) break;
      next.addInstances(this.instancesOf(part));
      await nextTurn();
    }
    this.replace(next);
  }

  private skip(key: string, why: string): void {
    this.malformed++;
    if (this.skipped.has(key)) return;
    this.skipped.add(key);
    this.log.warn({ key, why }, 'skipping a malformed entry');
  }

  /** instancesOf reads keys as Registrator's instances, skipping (and logging once) what is not. */
  private instancesOf(keys: Iterable<[string, string]>): Instance[] {
    const dir = keyDir(this.o.prefix);
    const instances: Instance[] = [];
    for (const [key, value] of keys) {
      const parts = key.slice(dir.length).split('/');
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        this.skip(key, 'expected <prefix>/<service>/<id>');
        continue;
      }
      const decoded = this.decode(parts[0]!, parts[1]!, value);
      if (typeof decoded === 'string') this.skip(key, decoded);
      else for (const i of decoded) instances.push(i);
    }
    return instances;
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
