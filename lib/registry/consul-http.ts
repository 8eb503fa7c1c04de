// Talking to Consul's HTTP API through the `consul` npm client. Its own Watch is not
// used: it treats a zero index as an error instead of resetting it to 1, does not
// rate-limit, and reports every index change as a change (lib/registry/consul-watch.ts
// follows Consul's documented rules instead). The client still does the HTTP: paths,
// the token header, keep-alive agents, timeouts and cancellation.
import { EventEmitter } from 'node:events';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import Consul from 'consul';
import { keepAliveAgent } from './connect.js';
import type { BlockingResult } from './consul-watch.js';

/** ConsulConnection is how to reach Consul: the validated --consul options. */
export interface ConsulConnection {
  url: string;
  token: string | undefined;
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
  /** waitMs is the blocking `wait`; timeoutMs bounds a non-blocking request. */
  waitMs: number;
  timeoutMs: number;
}

/** ConsulHttpOptions say where Consul is and how to talk to it. */
export type ConsulHttpOptions = ConsulConnection & {
  /** onFiltered hears of each response Consul filtered by ACL (X-Consul-Results-Filtered-By-ACLs). */
  onFiltered?: () => void;
};

/** RequestReports is how each part of the Consul registry reports its requests: answered, failed, an entry skipped as malformed. */
export interface RequestReports {
  ok(): void;
  failed(what: string, err: unknown): void;
  skip(why: string): void;
}

/** ConsulHttpError is an HTTP error status from Consul (400 for an Enterprise parameter on CE, 403 for a refused token). */
export class ConsulHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ConsulHttpError';
  }
}

/** ScopeParams are the query parameters of a labelled name's scope. */
export interface ScopeParams {
  peer?: string;
  ns?: string;
  partition?: string;
  /** via reads /v1/health/connect/:service or /v1/health/ingress/:service instead of /v1/health/service/:service. */
  via?: 'connect' | 'ingress';
}

// The client's own response-body middleware, for the one request built by hand below.
const { body: bodyMiddleware } = createRequire(import.meta.url)('consul/lib/utils') as { body: unknown };

type Call = (opts: Record<string, unknown>) => Promise<[{ headers: Record<string, string | string[] | undefined> }, unknown]>;

/** ConsulHttp performs the reads srvdns needs, each returning X-Consul-Index and body. */
export class ConsulHttp {
  private readonly agent: HttpAgent | HttpsAgent;
  /**
   * calls are the client's methods srvdns uses, typed once here: with includeResponse the
   * client resolves [response, body], which its typings do not say. Bodies stay unknown
   * until consul-decode.ts has checked them.
   */
  private readonly calls: Record<'healthService' | 'scopedHealthService' | 'catalogServices' | 'catalogNodes' | 'agentSelf' | 'datacenters' | 'kvGet' | 'queryExecute' | 'queryExecuteFrom' | 'queryGet', Call>;

  constructor(private readonly o: ConsulHttpOptions) {
    const url = new URL(o.url);
    this.agent = keepAliveAgent(url.protocol === 'https:', o);
    // The typings omit baseUrl, which the client supports (it sets it from host/port otherwise).
    const client = new Consul({
      baseUrl: `${url.origin}${url.pathname.replace(/\/$/, '')}/v1`,
      agent: this.agent,
      defaults: o.token ? { token: o.token } : undefined,
    } as ConstructorParameters<typeof Consul>[0]);
    // The client passes `partition` but neither `peer` nor `ns` (consul 2.0.1): a scoped
    // health read is built by hand through the client's own request method (papi's
    // _get), with the same token header, context, timeout and body handling.
    type Papi = { _get(req: Record<string, unknown>, ...middleware: unknown[]): Promise<unknown> };
    const scopedHealthService = (opts: Record<string, unknown>): Promise<unknown> => {
      const query: Record<string, string> = {};
      for (const k of ['dc', 'peer', 'ns', 'partition', 'index', 'wait']) if (typeof opts[k] === 'string' && opts[k] !== '') query[k] = opts[k] as string;
      return (client as unknown as Papi)._get(
        { name: `health.${String(opts.via ?? 'service')}`, path: `/health/${String(opts.via ?? 'service')}/{service}`, params: { service: opts.service }, query, headers: o.token ? { 'x-consul-token': o.token } : {}, ctx: opts.ctx, timeout: opts.timeout },
        bodyMiddleware,
      );
    };
    this.calls = {
      healthService: client.health.service.bind(client.health),
      scopedHealthService,
      catalogServices: client.catalog.service.list.bind(client.catalog.service),
      catalogNodes: client.catalog.node.list.bind(client.catalog.node),
      agentSelf: client.agent.self.bind(client.agent),
      datacenters: client.catalog.datacenters.bind(client.catalog),
      // A missing prefix is a 404 with X-Consul-Index: the client resolves it with no body.
      kvGet: client.kv.get.bind(client.kv),
      queryExecute: client.query.execute.bind(client.query),
      queryExecuteFrom: (opts: Record<string, unknown>): Promise<unknown> =>
        (client as unknown as Papi)._get(
          { name: 'query.execute', path: '/query/{query}/execute', params: { query: opts.query }, query: { dc: opts.dc }, headers: { ...(o.token ? { 'x-consul-token': o.token } : {}), 'x-forwarded-for': opts.source }, ctx: opts.ctx, timeout: opts.timeout },
          bodyMiddleware,
        ),
      queryGet: client.query.get.bind(client.query),
    } as unknown as ConsulHttp['calls'];
  }

  private async call(fn: Call, opts: Record<string, unknown>, index: bigint, signal?: AbortSignal): Promise<BlockingResult<unknown>> {
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
    const cancel = (): boolean => ctx.emit('cancel');
    signal?.addEventListener('abort', cancel, { once: true });
    const blocking = index > 0n;
    // Consul adds up to wait/16 of jitter to a blocking request; allow for it and a margin.
    const timeout = blocking ? Math.ceil(this.o.waitMs * (1 + 1 / 16)) + this.o.timeoutMs : this.o.timeoutMs;
    try {
      const [res, body] = await fn({ ...opts, ctx, timeout, ...(blocking ? { index: index.toString(), wait: `${Math.ceil(this.o.waitMs / 1000)}s` } : {}) });
      if (res.headers['x-consul-results-filtered-by-acls'] === 'true') this.o.onFiltered?.();
      const header = res.headers['x-consul-index'];
      const text = Array.isArray(header) ? header[0] : header;
      return { index: text !== undefined && /^\d+$/.test(text) ? BigInt(text) : 0n, body };
    } catch (err) {
      // Say which HTTP status Consul gave, and what to do about a refused token.
      const status = (err as { statusCode?: unknown }).statusCode;
      if (typeof status !== 'number') throw err;
      const hint = status === 403 ? ' (the ACL token was refused: check --consul-token)' : '';
      throw new ConsulHttpError(status, `HTTP ${status}: ${(err as Error).message}${hint}`);
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  healthService(service: string, dc: string, index: bigint, signal?: AbortSignal, scope?: ScopeParams): Promise<BlockingResult<unknown>> {
    if (scope && (scope.peer !== undefined || scope.ns !== undefined || scope.partition !== undefined || scope.via !== undefined)) {
      // A peer's services are asked without a datacenter (Consul: one or the other).
      return this.call(this.calls.scopedHealthService, { service, ...(scope.peer !== undefined ? {} : { dc }), ...scope }, index, signal);
    }
    return this.call(this.calls.healthService, { service, dc }, index, signal);
  }
  /** kvTree reads every key under a KV prefix (?recurse); a prefix with no keys has no body. */
  kvTree(key: string, index: bigint, signal?: AbortSignal): Promise<BlockingResult<unknown>> {
    return this.call(this.calls.kvGet, { key, recurse: true }, index, signal);
  }
  catalogServices(dc: string, index: bigint, signal?: AbortSignal): Promise<BlockingResult<unknown>> {
    return this.call(this.calls.catalogServices, { dc }, index, signal);
  }
  catalogNodes(dc: string, index: bigint, signal?: AbortSignal): Promise<BlockingResult<unknown>> {
    return this.call(this.calls.catalogNodes, { dc }, index, signal);
  }
  /**
   * executeQuery runs a prepared query (by name or ID) in dc. With source, Consul sorts by
   * nearness to that address for a query whose Near is "_ip": its API takes the address
   * from X-Forwarded-For (the client library passes no such header: a hand-built request).
   */
  async executeQuery(query: string, dc: string, source?: string): Promise<unknown> {
    if (source === undefined) return (await this.call(this.calls.queryExecute, { query, dc }, 0n)).body;
    return (await this.call(this.calls.queryExecuteFrom, { query, dc, source }, 0n)).body;
  }
  /** queryDefinition reads a prepared query's definition (by name or ID). */
  async queryDefinition(query: string): Promise<unknown> {
    return (await this.call(this.calls.queryGet, { query }, 0n)).body;
  }
  async agentSelf(): Promise<unknown> {
    return (await this.call(this.calls.agentSelf, {}, 0n)).body;
  }
  async datacenters(): Promise<unknown> {
    return (await this.call(this.calls.datacenters, {}, 0n)).body;
  }

  /** close releases the keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
