// In-process cost of one query through the handler: a hit (ready bytes) against a miss
// (the answer built from the catalog, --answer-cache-size 0), no sockets: what building
// an answer costs, for work on the miss path. Prints the best of ROUNDS rounds, ns per query.
import { performance } from 'node:perf_hooks';
import { buildQuery } from '../test/helpers/client.js';
import { startServer, type TestServer } from '../test/helpers/server.js';

const N = Number(process.env.N ?? 50000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const ONLY = process.env.ONLY;
const nodes = Array.from({ length: 250 }, (_, i) => ({ name: `n${i}`, address: `10.0.${i}.1` }));
const services = [10, 3, 1].flatMap((n) => Array.from({ length: n }, (_, i) => ({ name: `svc${n}`, id: `svc${n}-${i}`, node: `n${i}`, port: 1000 + i })));
const servers: [string, TestServer][] = [
  ['hit ', await startServer({ nodes, services })],
  ['miss', await startServer({ nodes, services }, ['--answer-cache-size', '0'])],
];
const cases = [10, 3, 1].flatMap((n) => [
  [`svc${n}.service.consul`, 'SRV', false],
  [`svc${n}.service.consul`, 'SRV', true],
  [`svc${n}.service.consul`, 'A', false],
] as const).filter(([name, type, edns]) => !ONLY || `${name} ${type}${edns ? ' +EDNS' : ''}`.includes(ONLY));
for (const [name, type, edns] of cases) {
  const packet = buildQuery(name, type, { id: 7, edns: edns ? { udpSize: 1232 } : undefined });
  const best = new Map<string, number>();
  let bytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [label, srv] of servers) {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) bytes += (srv.server.handler(packet, 'udp', '127.0.0.1') as Buffer).length;
      const ns = ((performance.now() - t0) * 1e6) / N;
      best.set(label, Math.min(best.get(label) ?? Infinity, ns));
    }
  }
  const [hit, miss] = [best.get('hit ')!, best.get('miss')!];
  console.log(`${name} ${type}${edns ? ' +EDNS' : ''}: hit ${hit.toFixed(0)} ns, miss ${miss.toFixed(0)} ns (${bytes > 0 ? '' : '?'}${(miss / hit).toFixed(0)}x in process)`);
}
for (const [, srv] of servers) await srv.stop();
