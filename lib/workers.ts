// --workers N: N processes answering on the same sockets (Node's cluster shares the
// listening handles), for hosts with more cores. The primary answers no queries: it
// passes signals on, serves /metrics (counters summed over the workers, gauges of the
// one registry not) and /readyz (every worker has synced), and supervises: a worker
// that dies before it has started ends the server with its status (its error is on
// stderr), one that dies later is restarted with backoff, and a crash loop ends the
// server.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { startHttp } from './server/http.js';
import type { Server } from './srvdns.js';

const READY = 'srvdns:ready';
const STARTED = 'srvdns:started';
/** CRASH_LOOP: this many deaths within CRASH_WINDOW_MS end the server. */
const CRASH_LOOP = 5;
const CRASH_WINDOW_MS = 30000;

/** runPrimary forks the workers and supervises them until SIGTERM/SIGINT; it resolves with the exit code. */
export async function runPrimary(config: Config, workers: number, log: Logger): Promise<number> {
  const ready = new Set<number>();
  const started = new Set<number>();
  const deaths: number[] = [];
  let stopping = false;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('message', (m: unknown) => {
      if (m === STARTED) started.add(w.id);
      if (m === READY) ready.add(w.id);
    });
    return w;
  };
  /** stopAll ends every worker, then the primary with code. */
  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    http?.server.close();
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
    if (alive.length === 0) return finish(code);
    let left = alive.length;
    for (const w of alive) {
      w.once('exit', () => --left === 0 && finish(code));
      w.process.kill('SIGTERM');
    }
  };
  cluster.on('exit', (w, code, signal) => {
    ready.delete(w.id);
    if (stopping) return;
    // A worker that exits by itself before it started could not start (its error is
    // above): another would fail the same way. One killed by a signal meanwhile (the OOM
    // killer, an operator) died like any other: its STARTED message may still be in flight.
    if (!started.has(w.id) && signal === null) {
      log.fatal({ worker: w.id, code, signal }, 'a worker could not start; stopping');
      return stopAll(typeof code === 'number' && code !== 0 ? code : 1);
    }
    started.delete(w.id);
    const now = Date.now();
    deaths.push(now);
    while (deaths.length > 0 && now - deaths[0]! > CRASH_WINDOW_MS) deaths.shift();
    if (deaths.length >= CRASH_LOOP) {
      log.fatal({ deaths: deaths.length, windowSeconds: CRASH_WINDOW_MS / 1000 }, 'workers keep dying; stopping');
      return stopAll(1);
    }
    const delay = 500 * 2 ** (deaths.length - 1);
    log.error({ worker: w.id, code, signal, restartInMs: delay }, 'worker died; starting another');
    setTimeout(() => !stopping && fork(), delay);
  });
  let http: Awaited<ReturnType<typeof startHttp>> | undefined;
  for (let i = 0; i < workers; i++) fork();
  if (config.metrics) {
    const aggregator = new AggregatorRegistry();
    try {
      http = await startHttp(config.metrics.host, config.metrics.port, {
        metrics: () => aggregator.clusterMetrics(),
        contentType: aggregator.contentType,
        notReady: () => Object.values(cluster.workers ?? {}).filter((w) => w && !ready.has(w.id)).map((w) => `worker ${w!.id}`),
        log,
      });
      log.info({ metrics: `${config.metrics.host}:${http.port}` }, 'metrics listening');
    } catch (err) {
      process.stderr.write(`srvdns: ${(err as Error).message}\n`);
      stopAll(1);
    }
  }
  const stop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'stopping workers');
    stopAll(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => Object.values(cluster.workers ?? {}).forEach((w) => w?.process.kill('SIGHUP')));
  return done;
}

/** workerReady tells the primary once every source of this worker has synced, and makes its metrics collectable. */
export function workerReady(server: Server): void {
  if (!cluster.isWorker) return;
  process.send?.(STARTED);
  if (server.metricsRegistry) {
    AggregatorRegistry.setRegistries([server.metricsRegistry]);
    new AggregatorRegistry(); // installs the worker's answer to the primary's metrics requests
  }
  const check = (): void => {
    if (server.sources.every((s) => s.synced())) process.send?.(READY);
    else setTimeout(check, 200).unref();
  };
  check();
}
