// The registry factory: which sources a configuration asks for. The Consul-style
// domain is answered by every registry given (file, Consul or its KV store, etcd's
// Registrator layout, ZooKeeper layouts), merged when there are several; each SkyDNS
// etcd prefix is a source of its own.
import { DEFAULT_DATACENTER } from '../catalog/types.js';
import type { Logger } from '../log.js';
import { ConsulRegistry } from './consul.js';
import type { ConsulConnection } from './consul-http.js';
import type { EtcdConnection, EtcdSource } from './etcd-mirror.js';
import { FileRegistry } from './file.js';
import { RegistratorRegistry } from './registrator.js';
import { ConsulKvMirror } from './consul-kv.js';
import type { Registry } from './registry.js';
import { SkyDnsSource } from './skydns.js';
import { MergedRegistry } from './merged.js';
import { ZK_LAYOUTS } from './zk-layouts.js';
import { ZkMirror, type ZkConnection, type ZkSource } from './zookeeper.js';

/** SourcesConfig is the part of the configuration that names registries. */
export interface SourcesConfig {
  file: string | undefined;
  consul: ConsulConnection | undefined;
  etcd: { connection: EtcdConnection; sources: EtcdSource[] } | undefined;
  /** datacenter is undefined when not set: Consul then says, and other registries use dc1. */
  datacenter: string | undefined;
  cacheSize: number;
  cacheIdleMs: number;
  /** consulKvPrefix reads Registrator's consulkv backend from Consul's KV store instead of Consul's catalog. */
  consulKvPrefix?: string;
  zookeeper?: { connection: ZkConnection; sources: ZkSource[] };
}

/**
 * createRegistries makes the registries of the Consul-style domain the config names, in
 * the order their names for the local datacenter win: Consul's (it knows its own), then
 * the file, etcd's Registrator layout and the ZooKeeper sources.
 */
export function createRegistries(config: SourcesConfig, log: Logger): Registry[] {
  const out: Registry[] = [];
  const datacenter = config.datacenter ?? DEFAULT_DATACENTER;
  if (config.consul && config.consulKvPrefix !== undefined) {
    const consul = config.consul;
    const prefix = config.consulKvPrefix;
    out.push(
      new RegistratorRegistry({
        prefix: `/${prefix.replace(/^\/+/, '')}`,
        datacenter,
        log,
        mirror: { name: 'consul-kv', create: (sink, mirrorLog) => new ConsulKvMirror({ consul, prefix }, sink, mirrorLog) },
      }),
    );
  } else if (config.consul) {
    out.push(new ConsulRegistry({ ...config.consul, datacenter: config.datacenter, cacheSize: config.cacheSize, cacheIdleMs: config.cacheIdleMs, log }));
  }
  if (config.file) out.push(new FileRegistry({ path: config.file, datacenter, log }));
  const registrator = config.etcd?.sources.find((s) => s.layout === 'registrator');
  if (registrator) out.push(new RegistratorRegistry({ connection: config.etcd!.connection, api: registrator.api, prefix: registrator.prefix, datacenter, log }));
  for (const source of config.zookeeper?.sources ?? []) {
    const zk = config.zookeeper!.connection;
    const name = config.zookeeper!.sources.length > 1 ? `zookeeper-${source.layout}` : 'zookeeper';
    out.push(
      new RegistratorRegistry({
        prefix: source.base,
        datacenter,
        log,
        layout: source.layout,
        decode: ZK_LAYOUTS[source.layout],
        mirror: { name, create: (sink, mirrorLog) => new ZkMirror(zk, source.base, sink, mirrorLog) },
      }),
    );
  }
  return out;
}

/** createRegistry makes the registry answering the Consul-style domain: the one given, or several merged. */
export function createRegistry(members: readonly Registry[], maxStaleMs: number): Registry | undefined {
  return members.length > 1 ? new MergedRegistry(members, maxStaleMs) : members[0];
}

/** createSkyDnsSources makes one source per skydns-layout etcd prefix. */
export function createSkyDnsSources(config: SourcesConfig, log: Logger): SkyDnsSource[] {
  return (config.etcd?.sources ?? []).filter((s) => s.layout === 'skydns').map((s) => new SkyDnsSource(s, config.etcd!.connection, log));
}
