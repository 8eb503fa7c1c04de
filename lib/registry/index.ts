// The registry factory: which sources a configuration asks for. The Consul-style
// domain has one registry (file, Consul, or etcd's Registrator layout); each SkyDNS
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
}

/** createRegistry makes the one registry of the Consul-style domain, if the config names one. */
export function createRegistry(config: SourcesConfig, log: Logger): Registry | undefined {
  const registrator = config.etcd?.sources.find((s) => s.layout === 'registrator');
  if (registrator) {
    return new RegistratorRegistry({
      connection: config.etcd!.connection,
      api: registrator.api,
      prefix: registrator.prefix,
      datacenter: config.datacenter ?? DEFAULT_DATACENTER,
      log,
    });
  }
  if (config.consul && config.consulKvPrefix !== undefined) {
    const consul = config.consul;
    const prefix = config.consulKvPrefix;
    return new RegistratorRegistry({
      prefix: `/${prefix.replace(/^\/+/, '')}`,
      datacenter: config.datacenter ?? DEFAULT_DATACENTER,
      log,
      mirror: { name: 'consul-kv', create: (sink, mirrorLog) => new ConsulKvMirror({ consul, prefix }, sink, mirrorLog) },
    });
  }
  if (config.consul) {
    return new ConsulRegistry({
      ...config.consul,
      datacenter: config.datacenter,
      cacheSize: config.cacheSize,
      cacheIdleMs: config.cacheIdleMs,
      log,
    });
  }
  if (config.file) return new FileRegistry({ path: config.file, datacenter: config.datacenter ?? DEFAULT_DATACENTER, log });
  return undefined;
}

/** createSkyDnsSources makes one source per skydns-layout etcd prefix. */
export function createSkyDnsSources(config: SourcesConfig, log: Logger): SkyDnsSource[] {
  return (config.etcd?.sources ?? []).filter((s) => s.layout === 'skydns').map((s) => new SkyDnsSource(s, config.etcd!.connection, log));
}
