// Runs a real srvdns in the test process on a free loopback port, serving a catalog
// written to a temporary file, configured through the same loadConfig the CLI uses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../lib/config.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { start, type Server } from '../../lib/srvdns.js';

export interface TestServer {
  port: number;
  server: Server;
  dir: string;
  file: string;
  /** write replaces the catalog file. */
  write(catalog: unknown): void;
  stop(): Promise<void>;
}

/** startServer starts srvdns on 127.0.0.1 with a catalog file (or, with catalog null, only the flags), logging to log (nowhere by default). */
export async function startServer(catalog: unknown, flags: string[] = [], log: Logger = silentLogger): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-test-'));
  const file = join(dir, 'catalog.yaml');
  const write = (c: unknown): void => writeFileSync(file, typeof c === 'string' ? c : stringify(c));
  if (catalog !== null) write(catalog);
  const registry = catalog === null ? [] : ['--file', file];
  const request = loadConfig(['--listen', '127.0.0.1:0', ...registry, '--log-level', 'silent', ...flags], {});
  if (request.kind !== 'run') throw new Error('expected a run request');
  const server = await start(request.config, log);
  return {
    port: server.endpoints[0]!.port,
    server,
    dir,
    file,
    write,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** startOnBothApis starts one srvdns reading etcd at url over v3 and one over v2, stopped when t ends. */
export async function startOnBothApis(t: { teardown(fn: () => Promise<void>): void }, url: string): Promise<{ srv3: TestServer; srv2: TestServer }> {
  const srv3 = await startServer(null, ['--etcd', url]);
  const srv2 = await startServer(null, ['--etcd', url, '--etcd-api', 'v2']);
  t.teardown(async () => {
    await srv3.stop();
    await srv2.stop();
  });
  return { srv3, srv2 };
}

/** capturingLogger logs JSON lines into lines, for tests that count what srvdns logs. */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}
