// The v3 mirror: one prefix range read, then a watch from the next revision. A lost
// watch (compaction, etcd restarted, connection reset) means a full re-read, built
// aside and handed over whole, so the sink never sees a half-copy; meanwhile the old
// copy keeps answering.
import { readFileSync } from 'node:fs';
import type { Etcd3, IOptions, Watcher } from 'etcd3';
import type { Logger } from '../log.js';
import { Liveness } from './staleness.js';
import { backoffDelay, Sleeper, type Backoff } from './backoff.js';
import { firstSyncOrTimeout } from './connect.js';
import type { EtcdConnection, KeyMirror, KeySink } from './etcd-mirror.js';

const BACKOFF: Backoff = { baseMs: 200, maxMs: 10000 };

/**
 * WatchBackoff paces the client's watch-stream reconnects. The client's default grows to
 * 30 s, which would keep answers stale that long after etcd returns; ours stops at 5 s.
 * It implements the client's (cockatiel's) IBackoff shape: duration, then next().
 */
class WatchBackoff {
  constructor(private readonly attempt = 0) {}
  get duration(): number {
    return backoffDelay({ baseMs: 200, maxMs: 5000 }, this.attempt);
  }
  next(): WatchBackoff {
    return new WatchBackoff(this.attempt + 1);
  }
}

/** EtcdV3Mirror mirrors a prefix through etcd's v3 API. */
export class EtcdV3Mirror implements KeyMirror {
  private readonly options: IOptions;
  private client: Etcd3 | undefined;
  private watcher: Watcher | undefined;
  private stopped = false;
  private resyncing = false;
  private readonly sleeper = new Sleeper();
  private first: (() => void) | undefined;
  errors = 0;
  lastSync = 0;

  constructor(
    conn: EtcdConnection,
    private readonly prefix: string,
    private readonly sink: KeySink,
    private readonly log: Logger,
  ) {
    const options: IOptions = { hosts: conn.endpoints, dialTimeout: 2000, faultHandling: { watchBackoff: new WatchBackoff() } };
    if (conn.user) options.auth = { username: conn.user, password: conn.password ?? '' };
    if (conn.caFile) {
      options.credentials = {
        rootCertificate: readFileSync(conn.caFile),
        privateKey: conn.keyFile ? readFileSync(conn.keyFile) : undefined,
        certChain: conn.certFile ? readFileSync(conn.certFile) : undefined,
      };
    }
    // Unary calls get a deadline, so a hung etcd cannot stall a resync forever.
    options.defaultCallOptions = (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 5000 });
    this.options = options;
  }

  private readonly liveness = new Liveness();

  synced(): boolean {
    return this.lastSync > 0;
  }
  healthy(): boolean {
    return this.liveness.current();
  }
  staleSince(): number {
    return this.liveness.staleSince();
  }

  async start(timeoutMs: number): Promise<void> {
    // The client (gRPC and protobuf) takes about half a second to load, so it is loaded
    // only when an etcd v3 source starts, not by every srvdns.
    const { Etcd3 } = await import('etcd3');
    if (this.stopped) return;
    this.client = new Etcd3(this.options);
    const first = new Promise<void>((resolve) => (this.first = resolve));
    void this.resync();
    if (!(await firstSyncOrTimeout(first, timeoutMs))) {
      this.log.error({ prefix: this.prefix }, 'etcd did not answer at start-up; serving nothing until it does');
    }
  }

  /** resync reads the whole prefix until it succeeds, hands it over, then watches from the next revision. */
  private async resync(): Promise<void> {
    if (this.resyncing || this.stopped) return;
    this.resyncing = true;
    await this.closeWatcher();
    for (let failures = 0; !this.stopped; ) {
      try {
        const res = await this.client!.getAll().prefix(this.prefix).exec();
        const copy = new Map<string, string>();
        for (const kv of res.kvs) copy.set(kv.key.toString(), kv.value.toString());
        const revision = BigInt(res.header.revision);
        await this.watchFrom(revision + 1n);
        this.sink.reset(copy);
        this.sink.commit();
        this.lastSync = Date.now();
        this.liveness.up();
        this.first?.();
        break;
      } catch (err) {
        failures++;
        this.errors++;
        this.liveness.down();
        this.log.warn({ err: (err as Error).message, prefix: this.prefix }, 'etcd read failed; serving the last copy');
        await this.sleeper.sleep(backoffDelay(BACKOFF, failures));
      }
    }
    this.resyncing = false;
  }

  private async watchFrom(revision: bigint): Promise<void> {
    const watcher = await this.client!.watch().prefix(this.prefix).startRevision(revision.toString()).create();
    this.watcher = watcher;
    watcher.on('data', (res) => {
      for (const ev of res.events) {
        const key = ev.kv.key.toString();
        if (ev.type === 'Delete') this.sink.delete(key);
        else this.sink.put(key, ev.kv.value.toString());
      }
      this.sink.commit();
      this.lastSync = Date.now();
      this.liveness.up();
    });
    // The client reconnects a dropped stream from the last revision by itself; a
    // cancelled watch (its revision compacted away) needs a full re-read.
    watcher.on('disconnected', (err: Error) => {
      this.errors++;
      this.liveness.down();
      this.log.warn({ err: err.message, prefix: this.prefix }, 'etcd watch disconnected; serving the last copy');
    });
    watcher.on('connected', () => {
      if (this.lastSync > 0) this.lastSync = Date.now();
      this.liveness.up();
    });
    watcher.on('error', (err: Error) => {
      if (this.watcher !== watcher) return;
      // The client has already dropped a cancelled watcher; cancelling it again would wait forever.
      this.watcher = undefined;
      this.errors++;
      this.liveness.down();
      this.log.warn({ err: err.message, prefix: this.prefix }, 'etcd watch lost; reading everything again');
      void this.resync();
    });
  }

  /** closeWatcher cancels the live watch; it waits at most a second, as the client may never confirm. */
  private async closeWatcher(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (!w) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
    await Promise.race([w.cancel().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.cancel();
    await this.closeWatcher();
    this.client?.close();
  }
}
