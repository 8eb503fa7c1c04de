// Assembly: a Config becomes registries, zones, the pipeline and listeners.
import { serviceTtl } from './answer/ttl.js';
import type { Config, Endpoint } from './config.js';
import type { Logger } from './log.js';
import { FileRegistry } from './registry/file.js';
import { createRegistries, createRegistry, createSkyDnsSources } from './registry/index.js';
import { tooStale } from './registry/staleness.js';
import { setFlagsFromString } from 'node:v8';
import type { SkyDnsSource } from './registry/skydns.js';
import type { Registry, Source } from './registry/registry.js';
import type { Server as HttpServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Registry as PromRegistry } from 'prom-client';
import { Metrics, SAMPLE_EVERY } from './metrics.js';
import { RecursionAcl } from './forward/acl.js';
import { Forwarder } from './forward/forwarder.js';
import { AnswerCache } from './server/answer-cache.js';
import { startHttp } from './server/http.js';
import { listenError } from './server/listen-error.js';
import { resolveEndpoints } from './config/hosts.js';
import { createHandler, type Handler } from './server/handler.js';
import { withRrl } from './server/rrl.js';
import { TcpListener } from './server/tcp.js';
import cluster from 'node:cluster';
import { UdpListener } from './server/udp.js';
import { BatchUdpListener, loadNative } from './server/udp-batch.js';
import { ConsulZone } from './zones/consul.js';
import { ReverseZone } from './zones/reverse.js';
import { SkyZone } from './zones/skydns.js';
import { Router } from './zones/router.js';
import type { Zone } from './zones/zone.js';

/** Server is a running srvdns. */
export interface Server {
  /** endpoints are where it listens, with ports resolved (port 0 in the config picks one). */
  endpoints: Endpoint[];
  /** metricsPort is where /metrics listens, when --metrics is set. */
  metricsPort: number | undefined;
  metricsRegistry: PromRegistry | undefined;
  config: Config;
  /** registry answers the Consul-style domain, when one is configured. */
  registry: Registry | undefined;
  sky: SkyDnsSource[];
  /** sources are every registry and etcd source, for readiness and metrics. */
  sources: Source[];
  cache: AnswerCache;
  /** handler is the query pipeline the listeners call (for in-process benchmarks). */
  handler: Handler;
  /** reload re-reads what can be re-read without a restart (SIGHUP). */
  reload(): Promise<void>;
  /** stop closes the listeners, then the registries. */
  stop(): Promise<void>;
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function buildZones(config: Config, registry: Registry | undefined, sky: readonly SkyDnsSource[]): Zone[] {
  const ttlOf = serviceTtl(config.serviceTtl, config.ttl);
  const nameserverAddresses = config.listen.map((e) => e.host).filter((h) => !isUnspecified(h));
  const zones: Zone[] = sky.map(
    (s) =>
      new SkyZone({ origin: s.source.zone, prefix: s.source.prefix, store: s.store, ttl: config.ttl, soaMinTtl: config.soaMinTtl, nameserverAddresses, source: s }),
  );
  if (!registry) return zones;
  for (const origin of [config.domain, config.altDomain]) {
    if (origin === undefined) continue;
    zones.push(
      new ConsulZone({
        origin,
        registry,
        onlyPassing: config.onlyPassing,
        serviceTtl: ttlOf,
        ttl: config.ttl,
        nodeTtl: config.nodeTtl,
        soaMinTtl: config.soaMinTtl,
        nameserverAddresses,
      }),
    );
  }
  for (const origin of ['in-addr.arpa.', 'ip6.arpa.'] as const) {
    zones.push(new ReverseZone({ origin, domain: config.domain, registry, nodeTtl: config.nodeTtl, serviceTtl: ttlOf }));
  }
  return zones;
}

/** UdpTransport is either UDP listener: Node's dgram, or the batched native one. */
interface UdpTransport {
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * udpTransports picks how UDP is read and written (--udp-io): batched through the native
 * part when it is built and this process serves alone (cluster workers share one dgram
 * socket through the primary; a socket of each would need SO_REUSEPORT, which would also
 * let a second srvdns take half the traffic instead of failing to start), else dgram.
 */
function udpTransports(config: Config, log: Logger): (handler: Handler) => UdpTransport {
  const udpLog = log.child({ component: 'server/udp' });
  const dgram = (handler: Handler): UdpTransport => new UdpListener(handler, udpLog);
  if (config.udpIo === 'dgram') return dgram;
  const { native, error } = loadNative();
  if (config.udpIo === 'batch') {
    if (!native) throw new Error(`--udp-io batch: srvdns's native part is not built (${error}); build it with "npm rebuild srvdns" (needs a C compiler), or use --udp-io auto`);
    if (cluster.isWorker) throw new Error('--udp-io batch does not combine with --workers (the workers share one socket): use --udp-io auto');
  }
  if (!native || cluster.isWorker) {
    udpLog.info({ udpIo: 'dgram', why: native ? 'cluster worker' : error }, "UDP through Node's dgram");
    return dgram;
  }
  udpLog.info({ udpIo: 'batch' }, 'UDP batched (recvmmsg/sendmmsg)');
  return (handler) => new BatchUdpListener(native, handler, udpLog);
}

/**
 * bindBoth listens on UDP and TCP at one address. With port 0 it looks for a port free
 * for both, so that clients can fall back from UDP to TCP on the same port.
 */
async function bindBoth(udp: UdpTransport, tcp: TcpListener, e: Endpoint): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await udp.listen(e.host, e.port).catch((err: unknown) => Promise.reject(listenError(err, 'DNS UDP', e.host, e.port)));
    try {
      await tcp.listen(e.host, port);
      return port;
    } catch (err) {
      await udp.close();
      if (e.port !== 0 || attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw listenError(err, 'DNS TCP', e.host, port);
    }
  }
}


/**
 * createAnswerCache makes the answer cache and keeps it honest: every change a registry
 * or etcd source reports drops exactly the cached answers built from what changed.
 */
export function createAnswerCache(sources: readonly Source[], maxBytes: number): { cache: AnswerCache; unsubscribe: () => void } {
  const cache = new AnswerCache(maxBytes);
  const subscriptions = sources.map((s) =>
    s.subscribe((change) => {
      if (change.kind === 'all') cache.clear();
      else for (const key of change.keys) cache.invalidate(key);
    }),
  );
  return { cache, unsubscribe: () => subscriptions.forEach((u) => u()) };
}

/** buildHandler assembles the query pipeline: zones, router, forwarding, handler (with cache and metrics when given). */
export function buildHandler(config: Config, registry: Registry | undefined, sky: readonly SkyDnsSource[], log: Logger, cache?: AnswerCache, metrics?: Metrics): Handler {
  const forwarder =
    config.recursors.length > 0
      ? new Forwarder({
          upstreams: config.recursors,
          strategy: config.recursorStrategy,
          timeoutMs: config.recursorTimeoutMs,
          maxConcurrent: config.recursorMaxConcurrent,
          log,
          onReply: metrics ? (upstream, rcode) => metrics.forwardRequests.inc({ upstream, rcode }) : undefined,
          onLimit: metrics ? () => metrics.forwardRejects.inc() : undefined,
        })
      : undefined;
  return createHandler({
    router: new Router(buildZones(config, registry, sky)),
    log,
    maxUdpSize: config.udpMaxSize,
    aRecordLimit: config.aRecordLimit,
    maxStaleMs: config.maxStaleMs,
    cache,
    forwarder,
    acl: forwarder ? new RecursionAcl(config.allowRecursion) : undefined,
    observe: metrics
      ? (transport, qtype, rcode, stale) => {
          metrics.request(transport, qtype, rcode);
          if (stale) metrics.staleAnswers.inc();
        }
      : undefined,
  });
}

/** instrument times one query in SAMPLE_EVERY into the duration histogram; without metrics it adds nothing. */
function instrument(handler: Handler, metrics: Metrics | undefined): Handler {
  if (!metrics) return handler;
  let n = 0;
  return (packet, transport, client) => {
    if (++n % SAMPLE_EVERY !== 0) return handler(packet, transport, client);
    const started = performance.now();
    const out = handler(packet, transport, client);
    const observe = (): void => metrics.duration.observe((performance.now() - started) / 1000);
    if (out instanceof Promise) return out.finally(observe);
    observe();
    return out;
  };
}

/** StartOptions adjust start() for cluster workers. */
export interface StartOptions {
  /** serveHttp: false leaves /metrics to the cluster primary. */
  serveHttp?: boolean;
}

/** start runs srvdns with a validated Config. */
export async function start(given: Config, log: Logger, options: StartOptions = {}): Promise<Server> {
  // Before the catalog is read: the heap's growth over its live data (measured under
  // churn at 100,000 instances: peak RSS 286 MB at 20% against 606 MB with V8's own
  // choice, for ~5% more CPU per query there and none on cached answers; bench/RESULTS.md).
  if (given.gcHeapGrowth > 0) setFlagsFromString(`--heap-growing-percent=${given.gcHeapGrowth}`);
  // Host names are resolved once, here: everything below sees addresses.
  const config: Config = {
    ...given,
    listen: await resolveEndpoints(given.listen, '--listen', log),
    recursors: await resolveEndpoints(given.recursors, '--recursor', log),
    metrics: given.metrics && (await resolveEndpoints([given.metrics], '--metrics', log))[0],
  };
  const members = createRegistries(config, log);
  const registry = createRegistry(members, config.maxStaleMs);
  const sky = createSkyDnsSources(config, log);
  const sources: Source[] = [...members, ...sky];
  // If one source cannot start (an invalid catalog file), the others are stopped again.
  const started = await Promise.allSettled(sources.map((s) => s.start()));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(sources.map((s) => s.stop()));
    throw failed.reason;
  }
  const { cache, unsubscribe } = createAnswerCache(sources, config.answerCacheBytes);
  const metrics = config.metrics ? new Metrics(() => sources, () => cache) : undefined;
  const built = instrument(buildHandler(config, registry, sky, log, cache, metrics), metrics);
  const handler = config.rrl
    ? withRrl(built, { ...config.rrl, onLimited: metrics ? (slipped) => metrics.rrlLimited.inc({ action: slipped ? 'slipped' : 'dropped' }) : undefined })
    : built;
  let http: { server: HttpServer; port: number } | undefined;
  const listeners: { close(): Promise<void> }[] = [];
  const endpoints: Endpoint[] = [];
  try {
    const newUdp = udpTransports(config, log);
    for (const e of config.listen) {
      const udp = newUdp(handler);
      const tcp = new TcpListener(handler, log.child({ component: 'server/tcp' }), {
        idleTimeoutMs: config.tcpIdleTimeoutMs,
        maxConnections: config.tcpMaxConnections,
        maxPerClient: config.tcpMaxConnectionsPerClient,
      });
      const port = await bindBoth(udp, tcp, e);
      listeners.push(udp, tcp);
      endpoints.push({ host: e.host, port });
    }
    if (config.metrics && metrics && options.serveHttp !== false) {
      const m = config.metrics;
      http = await startHttp(m.host, m.port, {
        metrics: () => metrics.registry.metrics(),
        contentType: metrics.registry.contentType,
        // Not ready: a source never read, or one whose data is past --max-stale (it answers SERVFAIL).
        notReady: () => sources.filter((s) => !s.synced() || (!s.healthy() && tooStale(s.staleSince(), config.maxStaleMs))).map((s) => s.name),
        log,
      });
      const server = http.server;
      listeners.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    unsubscribe();
    await Promise.all(sources.map((s) => s.stop()));
    throw err;
  }
  return {
    endpoints,
    metricsPort: http?.port,
    metricsRegistry: metrics?.registry,
    config,
    registry,
    sky,
    sources,
    cache,
    handler,
    reload: async () => {
      for (const m of members) if (m instanceof FileRegistry) await m.reload();
    },
    stop: async () => {
      await Promise.all(listeners.map((l) => l.close()));
      unsubscribe();
      await Promise.all(sources.map((s) => s.stop()));
    },
  };
}
