// Registrator's consulkv backend, read from Consul's KV store: `<prefix>/<name>/<id>` =
// `ip:port`. A mirror of the prefix kept by one recursive blocking query
// (/v1/kv/<prefix>?recurse, docs "KV Store" and "Blocking Queries"), fed to the same
// sink as the etcd mirrors, so that the keys are served by the Registrator layout
// (registrator.ts) exactly as from etcd.
import type { Logger } from '../log.js';
import { DEFAULT_BACKOFF, type Backoff } from './backoff.js';
import { ConsulHttp, type ConsulHttpOptions } from './consul-http.js';
import { BlockingWatch } from './consul-watch.js';
import { firstSyncOrTimeout } from './connect.js';
import { FollowingMirror, trimPrefix, type KeySink } from './etcd-mirror.js';

/** ConsulKvMirrorOptions say where Consul is and which KV prefix to follow. */
export interface ConsulKvMirrorOptions {
  consul: ConsulHttpOptions;
  /** prefix is the KV path Registrator writes under (`services`, `/services/`: one prefix). */
  prefix: string;
  minIntervalMs?: number;
  backoff?: Backoff;
}

/** kvKey is a KV key as the sink sees it: with a leading slash, as etcd's are. */
const kvKey = (key: string): string => `/${key.replace(/^\/+/, '')}`;

/**
 * decodeKvTree reads /v1/kv?recurse's body (an array of {Key, Value}; none on 404) into
 * key -> value. Consul sends Value in base64; the consul client has decoded it to text.
 */
export function decodeKvTree(body: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (body === undefined || body === null) return out; // 404: nothing under the prefix yet
  if (!Array.isArray(body)) throw new Error('consul kv: expected a list of keys');
  for (const e of body as unknown[]) {
    const entry = e as { Key?: unknown; Value?: unknown };
    if (typeof entry?.Key !== 'string' || entry.Key.endsWith('/')) continue; // folders
    out.set(kvKey(entry.Key), typeof entry.Value === 'string' ? entry.Value : '');
  }
  return out;
}

function sameTree(a: ReadonlyMap<string, string> | undefined, b: ReadonlyMap<string, string>): boolean {
  if (a === undefined || a.size !== b.size) return false;
  for (const [k, v] of b) if (a.get(k) !== v) return false;
  return true;
}

/** ConsulKvMirror keeps a KeySink in step with a Consul KV prefix. */
export class ConsulKvMirror extends FollowingMirror {
  private readonly http: ConsulHttp;
  private readonly watch: BlockingWatch<unknown>;
  private resolveFirst!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.resolveFirst = resolve));
  private applying: Promise<void> = Promise.resolve();
  private last: Map<string, string> | undefined;

  constructor(
    o: ConsulKvMirrorOptions,
    private readonly sink: KeySink,
    private readonly log: Logger,
  ) {
    super();
    this.http = new ConsulHttp(o.consul);
    const key = trimPrefix(o.prefix).replace(/^\/+/, '');
    this.watch = new BlockingWatch<unknown>(
      {
        fetch: (index, signal) => this.http.kvTree(key, index, signal),
        onData: (body) => this.take(decodeKvTree(body)),
        onError: (err) => {
          this.errors++;
          if (this.liveness.down()) this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'consul kv unreachable: serving the last keys');
        },
        minIntervalMs: o.minIntervalMs ?? 20,
        backoff: o.backoff ?? DEFAULT_BACKOFF,
      },
      0n,
    );
  }

  /**
   * take applies one complete copy of the prefix (a blocking query returns the whole
   * tree). A return is no proof of a change (Consul docs): an equal tree changes nothing.
   */
  private take(keys: Map<string, string>): void {
    this.applying = this.applying.then(async () => {
      if (!sameTree(this.last, keys)) {
        this.last = keys;
        await this.sink.reset(keys);
        await this.sink.commit();
      }
      this.lastSync = Date.now();
      if (this.liveness.up()) this.log.info('consul kv reachable again');
      this.resolveFirst();
    });
  }

  async start(timeoutMs: number): Promise<void> {
    this.watch.start();
    await firstSyncOrTimeout(this.ready, timeoutMs);
  }

  async stop(): Promise<void> {
    this.watch.stop();
    this.http.close();
    await this.applying;
  }
}
