// The v2 mirror, for what Registrator writes (etcd's v2 keyspace, served by etcd 3.4
// with --enable-v2): a recursive GET, then long polls with wait=true&recursive=true and
// waitIndex. "Event index cleared" (errorCode 401: the poll fell more than 1000 events
// behind) and any lost poll mean a full re-read, built aside and handed over whole.
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from '../log.js';
import { backoffDelay, Sleeper, type Backoff } from './backoff.js';
import { firstSyncOrTimeout, keepAliveAgent } from './connect.js';
import { FollowingMirror, type EtcdConnection, type KeySink } from './etcd-mirror.js';

const BACKOFF: Backoff = { baseMs: 200, maxMs: 10000 };
/** POLL_MS bounds one long poll; an idle prefix simply polls again from the same index. */
const POLL_MS = 60000;

interface V2Node {
  key?: string;
  value?: string;
  dir?: boolean;
  nodes?: V2Node[];
  modifiedIndex?: number;
}

interface V2Response {
  status: number;
  etcdIndex: number | undefined;
  body: { action?: string; node?: V2Node; errorCode?: number; message?: string; index?: number };
}

/** EtcdV2Error is a v2 API error, with etcd's errorCode. */
class EtcdV2Error extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(`registry/etcd: v2: ${message}`);
  }
}

/** EtcdV2Mirror mirrors a directory through etcd's v2 HTTP API. */
export class EtcdV2Mirror extends FollowingMirror {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly secure: boolean;
  private stopped = false;
  private readonly sleeper = new Sleeper();
  private readonly abort = new AbortController();
  private endpoint = 0;
  private first: (() => void) | undefined;

  constructor(
    private readonly conn: EtcdConnection,
    private readonly prefix: string,
    private readonly sink: KeySink,
    private readonly log: Logger,
  ) {
    super();
    this.secure = conn.endpoints[0]!.startsWith('https:');
    this.agent = keepAliveAgent(this.secure, conn);
  }

  /** up marks etcd answering, logging the end of an outage. */
  private up(): void {
    if (this.liveness.up()) this.log.info({ prefix: this.prefix }, 'etcd (v2) answers again');
  }

  private get(query: string, timeoutMs: number): Promise<V2Response> {
    const base = this.conn.endpoints[this.endpoint % this.conn.endpoints.length]!.replace(/\/$/, '');
    const url = new URL(`${base}/v2/keys${this.prefix}${query}`);
    const headers: Record<string, string> = {};
    if (this.conn.user) headers.authorization = `Basic ${Buffer.from(`${this.conn.user}:${this.conn.password ?? ''}`).toString('base64')}`;
    return new Promise((resolve, reject) => {
      const req = (this.secure ? httpsRequest : httpRequest)(url, { agent: this.agent, headers, signal: this.abort.signal, timeout: timeoutMs }, (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('error', reject);
        res.on('end', () => {
          try {
            const header = res.headers['x-etcd-index'];
            resolve({ status: res.statusCode ?? 0, etcdIndex: header ? Number(header) : undefined, body: JSON.parse(text) as V2Response['body'] });
          } catch {
            reject(new EtcdV2Error(undefined, `HTTP ${res.statusCode}: not JSON`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new EtcdV2Error(undefined, 'request timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  async start(timeoutMs: number): Promise<void> {
    const first = new Promise<void>((resolve) => (this.first = resolve));
    void this.run();
    if (!(await firstSyncOrTimeout(first, timeoutMs))) {
      this.log.error({ prefix: this.prefix }, 'etcd (v2) did not answer at start-up; serving nothing until it does');
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        let waitIndex = await this.readAll();
        failures = 0;
        for (;;) waitIndex = await this.poll(waitIndex);
      } catch (err) {
        if (this.stopped) return;
        this.errors++;
        const cleared = err instanceof EtcdV2Error && err.code === 401;
        if (!cleared) {
          failures++;
          this.endpoint++; // try the next endpoint
          const what = this.lastSync > 0 ? 'etcd (v2) unreachable; serving the last copy' : 'etcd (v2) unreachable; nothing to serve until it answers';
          if (this.liveness.down()) this.log.warn({ err: (err as Error).message, prefix: this.prefix }, what);
          await this.sleeper.sleep(backoffDelay(BACKOFF, failures));
        }
      }
    }
  }

  /** readAll reads the whole directory and returns the index to poll from. */
  private async readAll(): Promise<number> {
    const res = await this.get('?recursive=true&sorted=true', 10000);
    const copy = new Map<string, string>();
    if (res.status === 200 && res.body.node) {
      const walk = (n: V2Node): void => {
        if (n.dir) (n.nodes ?? []).forEach(walk);
        else if (n.key !== undefined && n.value !== undefined) copy.set(n.key, n.value);
      };
      walk(res.body.node);
    } else if (!(res.status === 404 && res.body.errorCode === 100)) {
      // 100 "Key not found": the directory does not exist yet, which is an empty copy.
      throw new EtcdV2Error(res.body.errorCode, `${res.status} ${res.body.message ?? ''}`);
    }
    await this.sink.reset(copy);
    await this.sink.commit();
    this.lastSync = Date.now();
    this.up();
    this.first?.();
    return (res.etcdIndex ?? res.body.index ?? 0) + 1;
  }

  /** poll waits for one change at or after waitIndex and returns the next index. */
  private async poll(waitIndex: number): Promise<number> {
    let res: V2Response;
    try {
      res = await this.get(`?wait=true&recursive=true&waitIndex=${waitIndex}`, POLL_MS);
    } catch (err) {
      if (err instanceof EtcdV2Error && err.message.endsWith('timed out')) return waitIndex; // idle: poll again
      throw err;
    }
    if (res.status !== 200 || !res.body.node) throw new EtcdV2Error(res.body.errorCode, `${res.status} ${res.body.message ?? ''}`);
    const { action, node } = res.body;
    const key = node.key ?? '';
    if (action === 'delete' || action === 'expire' || action === 'compareAndDelete') {
      if (node.dir) this.sink.delete(`${key}/`);
      else this.sink.delete(key);
    } else if (!node.dir && node.value !== undefined) {
      this.sink.put(key, node.value);
    }
    this.sink.commit();
    this.lastSync = Date.now();
    this.up();
    return (node.modifiedIndex ?? waitIndex) + 1;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.sleeper.cancel();
    this.agent.destroy();
  }
}
