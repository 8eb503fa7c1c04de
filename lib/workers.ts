// --workers N: N processes answering on the same sockets (Node's cluster shares the
// listening handles), for hosts with more cores. The primary answers no queries: it
// restarts workers that die, passes signals on, and serves /metrics (summed over the
// workers) and /readyz (every worker has synced).
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { startHttp } from './server/http.js';
import type { Server } from './srvdns.js';

const READY = 'srvdns:ready';

/** runPrimary forks the workers and supervises them until SIGTERM/SIGINT; it resolves with the exit code. */
export async function runPrimary(config: Config, workers: number, log: Logger): Promise<number> {
  const ready = new Set<number>();
  let stopping = false;
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('message', (m: unknown) => {
      if (m === READY) ready.add(w.id);
    });
    return w;
  };
  cluster.on('exit', (w, code, signal) => {
    ready.delete(w.id);
    if (stopping) return;
    log.error({ worker: w.id, code, signal }, 'worker died; starting another');
    setTimeout(fork, 500);
  });
  for (let i = 0; i < workers; i++) fork();
  let http: Awaited<ReturnType<typeof startHttp>> | undefined;
  if (config.metrics) {
    const aggregator = new AggregatorRegistry();
    http = await startHttp(config.metrics.host, config.metrics.port, {
      metrics: () => aggregator.clusterMetrics(),
      contentType: aggregator.contentType,
      notReady: () => Object.values(cluster.workers ?? {}).filter((w) => w && !ready.has(w.id)).map((w) => `worker ${w!.id}`),
      log,
    });
    log.info({ metrics: `${config.metrics.host}:${http.port}` }, 'metrics listening');
  }
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping workers');
      http?.server.close();
      const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      if (alive.length === 0) return resolve(0);
      let left = alive.length;
      for (const w of alive) {
        w.once('exit', () => --left === 0 && resolve(0));
        w.process.kill('SIGTERM');
      }
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => Object.values(cluster.workers ?? {}).forEach((w) => w?.process.kill('SIGHUP')));
  });
}

/** workerReady tells the primary once every source of this worker has synced, and makes its metrics collectable. */
export function workerReady(server: Server): void {
  if (!cluster.isWorker) return;
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
