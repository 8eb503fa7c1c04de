#!/usr/bin/env node
// srvdns command line: argv + env + config file -> Config -> start().
// SIGTERM/SIGINT stop; SIGHUP reloads.
import { readFileSync } from 'node:fs';
import { ConfigError, helpText, loadConfig } from '../lib/config.js';
import { createLogger, redact } from '../lib/log.js';
import { start } from '../lib/srvdns.js';
import { runPrimary, workerReady } from '../lib/workers.js';
import cluster from 'node:cluster';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(): Promise<number> {
  let request;
  try {
    request = loadConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`srvdns: ${err.message}\nTry 'srvdns --help'.\n`);
      return 2;
    }
    throw err;
  }
  if (request.kind === 'help') {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  if (request.kind === 'version') {
    process.stdout.write(`srvdns ${version()}\n`);
    return 0;
  }
  const { config } = request;
  const log = createLogger(config.logLevel);
  for (const warning of request.warnings) log.warn(warning);
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, config.workers, log);
  let server;
  try {
    server = await start(config, log, { serveHttp: !cluster.isWorker });
  } catch (err) {
    const message = redact((err as Error).message);
    log.fatal({ err: message }, 'srvdns could not start');
    process.stderr.write(`srvdns: ${message}\n`);
    return 1;
  }
  const where = server.endpoints.map((e) => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`));
  log.info({ listen: where, domain: config.domain, version: version() }, `srvdns listening on ${where.join(', ')} (udp+tcp)`);
  if (server.metricsPort !== undefined) log.info({ metrics: server.metricsPort }, `metrics listening on ${config.metrics!.host}:${server.metricsPort}`);
  workerReady(server);
  const running = server;
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info({ signal }, 'stopping');
      void running.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => void running.reload());
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    // A cluster worker's IPC channel would keep it alive after a stop.
    if (cluster.isWorker) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`srvdns: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
