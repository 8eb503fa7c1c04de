// Choosing an etcd mirror by API version, shared by both etcd layouts.
import type { Logger } from '../log.js';
import { keyDir, trimPrefix, type EtcdConnection, type KeyMirror, type KeySink } from './etcd-mirror.js';
import { EtcdV2Mirror } from './etcd-v2.js';
import { EtcdV3Mirror } from './etcd-v3.js';

/** EtcdApi is the etcd keyspace read: v3, or v2 (where Registrator writes). */
export type EtcdApi = 'v2' | 'v3';

/** createMirror makes the mirror of prefix for the API asked. v3 prefixes get a trailing slash, so /skydns never matches /skydnsx. */
export function createMirror(api: EtcdApi, conn: EtcdConnection, prefix: string, sink: KeySink, log: Logger): KeyMirror {
  return api === 'v2' ? new EtcdV2Mirror(conn, trimPrefix(prefix), sink, log) : new EtcdV3Mirror(conn, keyDir(prefix), sink, log);
}

/** deleteKeys removes key from map, or with a trailing '/', every key under it. */
export function deleteKeys(map: Map<string, unknown>, key: string): boolean {
  if (!key.endsWith('/')) return map.delete(key);
  let any = false;
  for (const k of [...map.keys()]) {
    if (k.startsWith(key)) {
      map.delete(k);
      any = true;
    }
  }
  return any;
}
