// The v3 mirror: one prefix range read, then a watch from the next revision. A lost
// watch (compaction, etcd restarted, connection reset) means a full re-read, built
// aside and handed over whole, so the sink never sees a half-copy; meanwhile the old
// copy keeps answering.
import { readFileSync } from 'node:fs';
import type { Etcd3, IOptions, Watcher } from 'etcd3';
import type { Logger } from '../log.js';
import { backoffDelay, Sleeper, type Backoff } from './backoff.js';
import { firstSyncOrTimeout } from './connect.js';
import { FollowingMirror, type EtcdConnection, type KeySink } from './etcd-mirror.js';

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

/** WatchManagerShape is the part of the etcd3 client's (internal) WatchManager that is patched. */
interface WatchManagerShape {
  state: number;
  handleError(err: Error): void;
  establishStream(): void;
  srvdnsReconnecting?: boolean;
}

/**
 * patchWatchReconnects works around the etcd3 client (1.1.2) reconnecting a watch stream
 * once for its 'error' and again for its 'end': each failure scheduled two reconnects, so
 * while etcd was down the attempts doubled (measured: 26 log lines in the first 5 s of an
 * outage, 2,058 in the sixth, 166 connections left open after recovery). One failure now
 * schedules one reconnect: a second report while one is pending is ignored. Narrow by
 * design: the client's own backoff and reconnect logic are otherwise unchanged.
 */
function patchWatchReconnects(WatchManager: { prototype: WatchManagerShape }): void {
  const proto = WatchManager.prototype as WatchManagerShape & { srvdnsPatched?: boolean };
  if (proto.srvdnsPatched) return;
  proto.srvdnsPatched = true;
  const handleError = proto.handleError;
  const establishStream = proto.establishStream;
  const IDLE = 0;
  proto.handleError = function (this: WatchManagerShape, err: Error): void {
    if (this.state === IDLE && this.srvdnsReconnecting) return;
    this.srvdnsReconnecting = true;
    handleError.call(this, err);
  };
  proto.establishStream = function (this: WatchManagerShape): void {
    this.srvdnsReconnecting = false;
    establishStream.call(this);
  };
}

/** EtcdV3Mirror mirrors a prefix through etcd's v3 API. */
export class EtcdV3Mirror extends FollowingMirror {
  private readonly options: IOptions;
  private client: Etcd3 | undefined;
  private watcher: Watcher | undefined;
  private stopped = false;
  private resyncing = false;
  private readonly sleeper = new Sleeper();
  private first: (() => void) | undefined;

  constructor(
    conn: EtcdConnection,
    private readonly prefix: string,
    private readonly sink: KeySink,
    private readonly log: Logger,
  ) {
    super();
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

  /** down marks etcd unreachable, logging the first failure of an outage only. */
  private down(err: Error): void {
    // "Serving the last copy" only when there is one.
    if (this.liveness.down()) this.log.warn({ err: err.message, prefix: this.prefix }, this.lastSync > 0 ? 'etcd unreachable; serving the last copy' : 'etcd unreachable; nothing to serve until it answers');
  }

  /** up marks etcd answering, logging the end of an outage. */
  private up(): void {
    if (this.liveness.up()) this.log.info({ prefix: this.prefix }, 'etcd answers again');
  }

  async start(timeoutMs: number): Promise<void> {
    // The client (gRPC and protobuf) takes about half a second to load, so it is loaded
    // only when an etcd v3 source starts, not by every srvdns.
    const { Etcd3 } = await import('etcd3');
    // @ts-expect-error: an internal module of the client, without declarations for this path.
    const watch = (await import('etcd3/lib/watch.js')) as { WatchManager: { prototype: WatchManagerShape } };
    patchWatchReconnects(watch.WatchManager);
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
        await this.sink.reset(copy);
        await this.sink.commit();
        this.lastSync = Date.now();
        this.up();
        this.first?.();
        break;
      } catch (err) {
        failures++;
        this.errors++;
        this.down(err as Error);
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
      this.up();
    });
    // The client reconnects a dropped stream from the last revision by itself; a
    // cancelled watch (its revision compacted away) needs a full re-read.
    watcher.on('disconnected', (err: Error) => {
      this.errors++;
      this.down(err);
    });
    watcher.on('connected', () => {
      if (this.lastSync > 0) this.lastSync = Date.now();
      this.up();
    });
    watcher.on('error', (err: Error) => {
      if (this.watcher !== watcher) return;
      // The client has already dropped a cancelled watcher; cancelling it again would wait forever.
      this.watcher = undefined;
      this.errors++;
      this.down(err);
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
