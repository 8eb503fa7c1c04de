// An in-memory mirror of a ZooKeeper subtree two levels deep (<base>/<service>/<instance>),
// fed to a KeySink as path -> data, so that the layouts (zk-layouts.ts) are served by the
// same registry as etcd's Registrator layout. Kept fresh by watches: a child watch on the
// base and on each service, a data watch on each instance, re-armed by the read each
// event triggers (ZooKeeper's watches fire once). After every (re)connection the whole
// subtree is read again; after a session expiry, a new session first. Never a read per query.
import zk from 'node-zookeeper-client';
import type { Logger } from '../log.js';
import { firstSyncOrTimeout } from './connect.js';
import { FollowingMirror, trimPrefix, type KeySink } from './etcd-mirror.js';

/** ZkConnection is how to reach a ZooKeeper ensemble. */
export interface ZkConnection {
  /** connect is ZooKeeper's connection string: host:port[,host:port…][/chroot]. */
  connect: string;
  /** auth is `user:password` for the digest scheme, if the znodes' ACLs ask for it. */
  auth: string | undefined;
  sessionTimeoutMs: number;
}

/** ZkSource is one layout read from ZooKeeper, under one base znode. */
export interface ZkSource {
  layout: 'registrator' | 'curator';
  /** base is the parent of the service znodes, without a trailing slash ('/' for the root). */
  base: string;
}

/** IN_FLIGHT bounds the reads a full re-read keeps outstanding. */
const IN_FLIGHT = 512;

type Callback<T> = (err: Error | zk.Exception | null, value: T) => void;

const code = (err: unknown): number | undefined => (err as { getCode?: () => number } | null)?.getCode?.();

/** noNode tells a ZooKeeper NO_NODE error (the znode is gone) from failures. */
function noNode(err: unknown): boolean {
  return code(err) === zk.Exception.NO_NODE;
}

/** noAuth: the znode's ACL does not let us read it (--zk-auth missing or wrong). */
function noAuth(err: unknown): boolean {
  return code(err) === zk.Exception.NO_AUTH;
}

/** RETRY_MS is the wait before a full read that failed while connected is tried again. */
const RETRY_MS = 1000;

/** ZkMirror keeps a KeySink in step with <base>/<service>/<instance> znodes. */
export class ZkMirror extends FollowingMirror {
  private client: zk.Client | undefined;
  private readonly base: string;
  private resolveFirst!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.resolveFirst = resolve));
  private stopped = false;
  /** generation counts sessions and reconnections: replies to an older one are ignored. */
  private generation = 0;
  /** known is what the sink holds: the instances of each service. */
  private known = new Map<string, Set<string>>();
  /** reading is set while a full re-read runs; events meanwhile wait in it and apply after. */
  private reading: (() => void)[] | undefined;
  private commitPending = false;
  private retry: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: ZkConnection,
    base: string,
    private readonly sink: KeySink,
    private readonly log: Logger,
  ) {
    super();
    this.base = trimPrefix(base) || '/';
  }

  private childPath(parent: string, name: string): string {
    return parent === '/' ? `/${name}` : `${parent}/${name}`;
  }

  async start(timeoutMs: number): Promise<void> {
    this.open();
    await firstSyncOrTimeout(this.ready, timeoutMs);
  }

  /** open starts a session: one client per session, as a session's expiry ends its client. */
  private open(): void {
    if (this.stopped) return;
    const client = zk.createClient(this.conn.connect, { sessionTimeout: this.conn.sessionTimeoutMs, spinDelay: 200, retries: 0 });
    this.client = client;
    if (this.conn.auth) client.addAuthInfo('digest', Buffer.from(this.conn.auth));
    this.armWatchdog(client);
    client.on('state', (state: zk.State) => {
      if (this.stopped || client !== this.client) return;
      if (state === zk.State.SYNC_CONNECTED || state === zk.State.CONNECTED_READ_ONLY) {
        clearTimeout(this.watchdog);
        void this.readAll(++this.generation);
      } else if (state === zk.State.DISCONNECTED) {
        this.generation++;
        this.lost('disconnected');
        this.armWatchdog(client);
      } else if (state === zk.State.EXPIRED) {
        this.generation++;
        this.lost('session expired');
        client.close();
        this.open();
      } else if (state === zk.State.AUTH_FAILED) {
        this.generation++;
        this.lost('authentication failed (--zk-auth)');
        clearTimeout(this.watchdog);
        client.close();
        this.retry = setTimeout(() => this.open(), 5000);
      }
    });
    client.connect();
  }

  /**
   * armWatchdog gives a connection attempt three session timeouts. node-zookeeper-client
   * 1.1.3 waits for ever on a server that accepted the TCP connection but never answered
   * its ConnectRequest (seen once in six runs against a ZooKeeper restarting); the server
   * has long expired our session by then, so the client is closed and a new session
   * started. (Three, not one: a reconnection in time is told of the expiry itself.)
   */
  private armWatchdog(client: zk.Client): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (this.stopped || client !== this.client) return;
      this.generation++;
      this.lost('no connection within the session timeout: starting a new session');
      client.close();
      this.open();
    }, 3 * this.conn.sessionTimeoutMs);
  }

  private lost(why: string): void {
    this.errors++;
    if (this.liveness.down()) this.log.warn({ why }, 'zookeeper unreachable: serving the last data');
    else this.log.info({ why }, 'zookeeper');
  }

  // A request made while disconnected waits in the client's queue for the next
  // connection; if the session expired meanwhile, node-zookeeper-client 1.1.3 never calls
  // it back. Such reads belong to an older generation: their results would be ignored anyway.
  private call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
    return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
  }

  // One watcher function of each kind: the client keeps a watcher once per path and
  // function, so a path read again (every event re-arms its watch) never gains a second.
  private readonly childWatcher = (e: zk.Event): void => this.onChildEvent(e, this.generation);
  private readonly dataWatcher = (e: zk.Event): void => this.onDataEvent(e, this.generation);

  private children(path: string): Promise<string[]> {
    return this.call<string[]>((cb) => this.client!.getChildren(path, this.childWatcher, cb));
  }

  private data(path: string): Promise<string> {
    return this.call<Buffer>((cb) => this.client!.getData(path, this.dataWatcher, cb)).then((b) => (b ? b.toString('utf8') : ''));
  }

  /** readAll reads the whole subtree, arming every watch, and hands the sink a complete copy. */
  private async readAll(gen: number): Promise<void> {
    const queued: (() => void)[] = [];
    this.reading = queued;
    try {
      const entries = new Map<string, string>();
      const known = new Map<string, Set<string>>();
      const services = await this.listBase();
      const instances: string[] = [];
      await pool(services, async (svc) => {
        const path = this.childPath(this.base, svc);
        try {
          const ids = await this.children(path);
          known.set(svc, new Set(ids));
          for (const id of ids) instances.push(this.childPath(path, id));
        } catch (err) {
          this.skipped(err, path);
        }
      });
      await pool(instances, async (path) => {
        try {
          entries.set(path, await this.data(path));
        } catch (err) {
          this.skipped(err, path);
        }
      });
      if (gen !== this.generation || this.stopped) return;
      this.known = known;
      await this.sink.reset(entries);
      await this.sink.commit();
      this.lastSync = Date.now();
      if (this.liveness.up()) this.log.info({ services: known.size, instances: entries.size }, 'zookeeper read in full');
      this.resolveFirst();
    } catch (err) {
      if (gen !== this.generation || this.stopped) return;
      // A failed read: the connection lost mid-way (the next connection reads again), or a
      // server error on a live connection (read again after a pause).
      this.errors++;
      if (this.liveness.down()) this.log.warn({ err: (err as Error).message }, 'zookeeper: full read failed; serving the last data and reading again');
      clearTimeout(this.retry);
      this.retry = setTimeout(() => gen === this.generation && !this.stopped && void this.readAll(++this.generation), RETRY_MS);
    } finally {
      if (this.reading === queued) this.reading = undefined;
    }
    for (const replay of queued) replay();
  }

  /** listBase lists the services; a missing base is empty, watched until it is created. */
  private async listBase(): Promise<string[]> {
    try {
      return await this.children(this.base);
    } catch (err) {
      if (!noNode(err)) throw err;
      await this.call<zk.Stat>((cb) => this.client!.exists(this.base, this.childWatcher, cb));
      return [];
    }
  }

  /** defer runs fn now, or after the full re-read in progress. */
  private defer(gen: number, fn: () => Promise<void>): void {
    if (gen !== this.generation || this.stopped) return;
    const run = (): void => {
      if (gen !== this.generation || this.stopped) return;
      fn().catch((err: unknown) => {
        if (gen !== this.generation || this.stopped) return;
        this.errors++;
        this.log.warn({ err: (err as Error).message }, 'zookeeper: a read after a watch event failed; reading everything again');
        void this.readAll(++this.generation);
      });
    };
    if (this.reading) this.reading.push(run);
    else run();
  }

  private onChildEvent(e: zk.Event, gen: number): void {
    const path = e.getPath();
    if (path === this.base) this.defer(gen, () => this.syncServices(gen));
    else this.defer(gen, () => this.syncService(path.slice(path.lastIndexOf('/') + 1), gen));
  }

  private onDataEvent(e: zk.Event, gen: number): void {
    const path = e.getPath();
    if (e.getType() === zk.Event.NODE_DELETED) this.defer(gen, async () => this.forget(path));
    else this.defer(gen, () => this.syncInstance(path, gen));
  }

  private async syncServices(gen: number): Promise<void> {
    const now = new Set(await this.listBase());
    if (gen !== this.generation) return;
    for (const svc of this.known.keys()) {
      if (!now.has(svc)) {
        this.known.delete(svc);
        this.sink.delete(`${this.childPath(this.base, svc)}/`);
      }
    }
    for (const svc of now) if (!this.known.has(svc)) await this.syncService(svc, gen);
    this.scheduleCommit();
  }

  private async syncService(svc: string, gen: number): Promise<void> {
    const path = this.childPath(this.base, svc);
    let ids: string[];
    try {
      ids = await this.children(path);
    } catch (err) {
      if (this.skipped(err, path) === 'gone' && gen === this.generation) {
        // The service znode is gone (Registrator deletes it with its last instance): not
        // known any more, so that a znode of that name created later is read again.
        this.known.delete(svc);
        this.sink.delete(`${path}/`);
        this.scheduleCommit();
        return;
      }
      ids = [];
    }
    if (gen !== this.generation) return;
    const had = this.known.get(svc) ?? new Set<string>();
    const now = new Set(ids);
    this.known.set(svc, now);
    for (const id of had) if (!now.has(id)) this.sink.delete(this.childPath(path, id));
    await pool(
      ids.filter((id) => !had.has(id)),
      (id) => this.syncInstance(this.childPath(path, id), gen),
    );
    this.scheduleCommit();
  }

  private async syncInstance(path: string, gen: number): Promise<void> {
    try {
      const value = await this.data(path);
      if (gen === this.generation) this.sink.put(path, value);
    } catch (err) {
      this.skipped(err, path);
      if (gen === this.generation) this.forget(path);
    }
    this.scheduleCommit();
  }

  private readonly denied = new Set<string>();

  /**
   * skipped sorts out a read of one znode that failed: 'gone' (NO_NODE), or 'denied' (NO_AUTH:
   * our credentials may not read it; skipped, logged once, counted). Anything else, a
   * lost connection, is thrown on.
   */
  private skipped(err: unknown, path: string): 'gone' | 'denied' {
    if (noNode(err)) return 'gone';
    if (!noAuth(err)) throw err;
    this.errors++;
    if (!this.denied.has(path)) {
      this.denied.add(path);
      this.log.warn({ path }, 'zookeeper: not allowed to read this znode (its ACL; see --zk-auth): skipped');
    }
    return 'denied';
  }

  /** forget drops an instance whose znode is gone (its owner's session ended). */
  private forget(path: string): void {
    const at = path.lastIndexOf('/');
    const svc = path.slice(path.lastIndexOf('/', at - 1) + 1, at);
    this.known.get(svc)?.delete(path.slice(at + 1));
    this.sink.delete(path);
    this.scheduleCommit();
  }

  /** scheduleCommit ends a batch of changes once the event loop turns: one rebuild for a burst of events. */
  private scheduleCommit(): void {
    if (this.commitPending) return;
    this.commitPending = true;
    setImmediate(() => {
      this.commitPending = false;
      if (!this.stopped) void this.sink.commit();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.watchdog);
    this.client?.close();
    this.client = undefined;
  }
}

/** pool runs fn over items with at most IN_FLIGHT running at once. */
async function pool<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, items.length) }, worker));
}
