// Throughput, latency and CPU per query with dnsperf (Debian's dnsperf), the server pinned
// to one core and dnsperf to the other. Each figure stands beside a baseline measured in
// the same run: a bare dgram server sending srvdns's own reply bytes for that question
// (the floor), and Knot DNS serving the same records when knotd is installed. Prints
// figures and writes bench/RESULTS.md; asserts nothing.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import packet from 'dns-packet';
import { buildQuery, sendUdp } from '../test/helpers/client.js';
import { testCatalog } from '../test/helpers/catalog.js';
import { freePort } from '../test/helpers/ports.js';
import { knotInstalled, startKnot } from './knot.js';
import { writeResultsTop } from './lib.js';
import { alternate, canPin, dir, dnsperf, fmt, launch, ROUNDS, SECONDS, vs, type Perf, type Proc } from './perf.js';

const SIZES = (process.env.BENCH_SIZES ?? '100,10000,100000').split(',').map(Number);
const CHURN_SERVICES = Number(process.env.BENCH_CHURN_SERVICES ?? 100000);

const METRICS_LINE = /metrics listening on 127\.0\.0\.1:(\d+)/;
async function srvdns(file: string, extra: string[] = []): Promise<Proc> {
  const proc = await launch(['dist/bin/srvdns.js', '--file', file, '--listen', '127.0.0.1:0', ...extra], /srvdns listening on 127\.0\.0\.1:(\d+)/);
  // The metrics line follows; read it now (dnsperf runs synchronously and blocks reading).
  for (let i = 0; extra.includes('--metrics') && !METRICS_LINE.test(proc.output()) && i < 1000; i++) await new Promise((r) => setTimeout(r, 10));
  return proc;
}

/** scrape reads one metric's value from a server's /metrics. */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}
const metricsPort = (p: Proc): number => {
  const port = Number(METRICS_LINE.exec(p.output())?.[1]);
  if (!port) throw new Error(`no metrics port in: ${p.output()}`);
  return port;
};

/** catalogOfSize makes services of 1-10 instances each until `size` instances exist. */
function catalogOfSize(size: number, perService = (s: number): number => (s % 10) + 1): { file: string; names: string[] } {
  const nodes = Array.from({ length: 250 }, (_, i) => ({ name: `n${i}`, address: `10.${i >> 8}.${i & 255}.1` }));
  const services: unknown[] = [];
  const names: string[] = [];
  for (let s = 0, total = 0; total < size; s++) {
    const count = Math.min(perService(s), size - total);
    names.push(`svc${s}`);
    for (let i = 0; i < count; i++, total++) services.push({ name: `svc${s}`, id: `svc${s}-${i}`, node: `n${(s + i) % 250}`, port: 1000 + i });
  }
  const file = join(dir, `catalog-${size}-${names.length}.json`);
  writeFileSync(file, JSON.stringify({ nodes, services }));
  return { file, names };
}

const lines: string[] = [];
const report = (line: string): void => {
  console.log(line);
  lines.push(line);
};

if (spawnSync('dnsperf', ['-h']).error) {
  console.error('dnsperf not found: apt-get install -y dnsperf');
  process.exit(1);
}

const demo = join(dir, 'demo.json');
// The demo catalog, and `even`: three instances of equal weights (web's are 10/10/1).
const even = ['node1', 'node2', 'node3'].map((node, i) => ({ name: 'even', id: `even-${i}`, node, port: 9000 + i }));
writeFileSync(demo, JSON.stringify({ ...testCatalog, services: [...testCatalog.services, ...even] }));

// 1. Cached answers against their floors (and Knot), alternated. Each floor sends the
// bytes srvdns sends to dnsperf's own query (RD set, no EDNS); after the run the floor's
// first query is put to srvdns and the two replies compared.
const base = await srvdns(demo);
const viaDgram = await srvdns(demo, ['--udp-io', 'dgram']);
const QUESTIONS: [string, string][] = [
  ['web.service.consul', 'SRV'],
  ['web.service.consul', 'A'],
];
for (const p of [base, viaDgram]) dnsperf(p.port, p.pid, QUESTIONS.map((q) => q.join(' ')).join('\n') + '\n', [], 1); // warm-up
const floors: { q: [string, string]; reply: Buffer; proc: Proc }[] = [];
for (const q of QUESTIONS) {
  const reply = (await sendUdp(base.port, buildQuery(q[0], q[1], { id: 1 })))!;
  floors.push({ q, reply, proc: await launch(['dist/bench/floor.js', '0', reply.toString('hex')], /floor listening on (\d+)/) });
}
const knot = knotInstalled() ? await startKnot(base.port, await freePort(), 'consul', QUESTIONS, canPin ? 1 : undefined) : undefined;
const runs: (() => Perf)[] = [];
for (const f of floors) {
  const line = `${f.q.join(' ')}\n`;
  runs.push(() => dnsperf(f.proc.port, f.proc.pid, line), () => dnsperf(base.port, base.pid, line), () => dnsperf(viaDgram.port, viaDgram.pid, line));
  if (knot) runs.push(() => dnsperf(knot.port, knot.pid, line));
}
const hot = alternate(runs);
let at = 0;
await new Promise((r) => setTimeout(r, 100)); // read what the floors printed while dnsperf ran
for (const f of floors) {
  const [floor, ours, dgram] = [hot[at++]!, hot[at++]!, hot[at++]!];
  const knotPerf = knot ? hot[at++]! : undefined;
  // Did the floor send what srvdns sends for that very query? (Rotation aside: same length, same records.)
  const first = Buffer.from(/first query ([0-9a-f]+)/.exec(f.proc.output())?.[1] ?? '', 'hex');
  const again = first.length ? await sendUdp(base.port, first) : undefined;
  const records = (b: Buffer): string => JSON.stringify([...(packet.decode(b).answers ?? []), ...(packet.decode(b).additionals ?? [])].map((a) => JSON.stringify(a)).sort());
  const same = again !== undefined && again.length === f.reply.length && records(again) === records(f.reply) && again.subarray(2, 12).equals(f.reply.subarray(2, 12));
  await f.proc.stop();
  const label = f.q.join(' ');
  report(`floor ${label} (dgram, srvdns's ${f.reply.length}-byte reply; dnsperf's query answered alike by srvdns: ${same ? 'yes' : 'NO'}): ${fmt(floor)}`);
  report(`srvdns ${label} (cached, --udp-io dgram: the floor's socket calls): ${fmt(dgram)}; ${vs(dgram, floor, 'ratio to floor')} (target >= 0.8)`);
  report(`srvdns ${label} (cached, batched UDP, the default): ${fmt(ours)}; ${vs(ours, floor, 'ratio to the dgram floor')}`);
  if (knotPerf) report(`knot ${label} (same records, 1 UDP worker): ${fmt(knotPerf)}; srvdns uses ${(ours.cpuUs / knotPerf.cpuUs).toFixed(2)}x Knot's CPU per query`);
}
await knot?.stop();
await viaDgram.stop();
if (!knot) report('knot: not installed (apt-get install knot), no reference line');

// 2. TCP with persistent connections; metrics on vs off, alternated.
const tcp = dnsperf(base.port, base.pid, 'web.service.consul SRV\n', ['-m', 'tcp']);
report(`srvdns TCP SRV (persistent connections): ${fmt(tcp)}`);
const withMetrics = await srvdns(demo, ['--metrics', '127.0.0.1:0']);
dnsperf(withMetrics.port, withMetrics.pid, 'web.service.consul SRV\n', [], 1); // warm-up
const [off, on] = alternate([() => dnsperf(base.port, base.pid, 'web.service.consul SRV\n'), () => dnsperf(withMetrics.port, withMetrics.pid, 'web.service.consul SRV\n')]) as [Perf, Perf];
// Weights: the weighted web answer against the unweighted even one, A and SRV, alternated.
for (const type of ['A', 'SRV']) {
  const [weighted, unweighted] = alternate([() => dnsperf(base.port, base.pid, `web.service.consul ${type}\n`), () => dnsperf(base.port, base.pid, `even.service.consul ${type}\n`)]) as [Perf, Perf];
  report(`srvdns ${type} weighted (web, 10/10/1) vs unweighted (even, equal weights), cached: ${fmt(weighted)} vs ${fmt(unweighted)}: ${((weighted.cpuUs / unweighted.cpuUs - 1) * 100).toFixed(1)}% by CPU/query`);
}
await base.stop();
await withMetrics.stop();
report(`srvdns UDP SRV with --metrics: ${fmt(on)} vs ${fmt(off)} without: cost ${((on.cpuUs / off.cpuUs - 1) * 100).toFixed(1)}% by CPU/query, ${((1 - on.qps / off.qps) * 100).toFixed(1)}% by q/s (target <= 5%)`);

// 3. Catalog sizes: queries spread over every service. Each server starts alone (start
// time), gets a warm-up (every answer built once), then the sizes are measured alternated.
const bySize: { size: number; services: number; proc: Proc; queries: string }[] = [];
for (const size of SIZES) {
  const { file, names } = catalogOfSize(size);
  const proc = await srvdns(file);
  const queries = names.map((n) => `${n}.service.consul SRV`).join('\n') + '\n';
  dnsperf(proc.port, proc.pid, queries, [], 2);
  bySize.push({ size, services: names.length, proc, queries });
}
const sized = alternate(bySize.map((b) => () => dnsperf(b.proc.port, b.proc.pid, b.queries)));
bySize.forEach((b, i) => {
  report(`catalog of ${b.size} instances (${b.services} services): ${fmt(sized[i]!)}, RSS ${b.proc.rssMb().toFixed(0)} MB, start to serving ${(b.proc.startupMs / 1000).toFixed(2)} s`);
});
const small = bySize[0];
const large = bySize[bySize.length - 1];
if (small && large && large !== small) {
  const [s0, s1] = [sized[0]!, sized[bySize.length - 1]!];
  report(`throughput at ${large.size} vs ${small.size} instances: ${(s0.cpuUs / s1.cpuUs).toFixed(2)} by CPU/query, ${(s1.qps / s0.qps).toFixed(2)} by q/s (target >= 0.9); RSS at ${large.size}: ${large.proc.rssMb().toFixed(0)} MB (target < 300); start ${(large.proc.startupMs / 1000).toFixed(2)} s (target < 3)`);
}
for (const b of bySize) await b.proc.stop();

// 4. A miss against a hit: the cache off (--answer-cache-size 0: every answer built
// from the catalog) and on, at 100 and at 100,000 instances; SRV spread over every
// service (1-10 instances each), and the largest answer alone (10 instances, cut to
// dnsperf's 512 bytes: the most encoding a miss does).
for (const size of [100, 100000]) {
  const { file, names } = catalogOfSize(size);
  const cached = await srvdns(file);
  const built = await srvdns(file, ['--answer-cache-size', '0']);
  const workloads: [string, string][] = [
    ['SRV over every service', names.map((n) => `${n}.service.consul SRV`).join('\n') + '\n'],
    ['SRV of 10 instances, truncated', 'svc9.service.consul SRV\n'],
  ];
  for (const [what, queries] of workloads) {
    for (const p of [cached, built]) dnsperf(p.port, p.pid, queries, [], 1);
    const [hit, miss] = alternate([() => dnsperf(cached.port, cached.pid, queries), () => dnsperf(built.port, built.pid, queries)]) as [Perf, Perf];
    report(`miss vs hit at ${size} instances, ${what}: miss ${fmt(miss)}; hit ${fmt(hit)}; a miss costs ${(miss.cpuUs / hit.cpuUs).toFixed(2)}x a hit's CPU (target <= 3)`);
  }
  await cached.stop();
  await built.stop();
}

// 5. Churn: CHURN_SERVICES single-instance services, SRV, A and AAAA asked at random
// over all of them (3 questions a service), with an answer cache a third of the
// questions' size, beside the hot name on the same server.
{
  const { file, names } = catalogOfSize(CHURN_SERVICES, () => 1);
  const questions = names.flatMap((n) => ['SRV', 'A', 'AAAA'].map((t) => `${n}.service.consul ${t}`));
  // The size of an entry, from a probe server's own gauges after each question once.
  const probe = await srvdns(file, ['--metrics', '127.0.0.1:0']);
  dnsperf(probe.port, probe.pid, questions.slice(0, 3000).join('\n') + '\n' + questions.slice(0, 3000).join('\n') + '\n', ['-n', '1'], 10);
  const perEntry = (await metric(metricsPort(probe), 'srvdns_answer_cache_bytes')) / (await metric(metricsPort(probe), 'srvdns_answer_cache_entries'));
  await probe.stop();
  const cacheBytes = Math.round((questions.length / 3) * perEntry);
  const proc = await srvdns(file, ['--metrics', '127.0.0.1:0', '--answer-cache-size', String(cacheBytes)]);
  // Each run gets fresh draws (dnsperf reads its file from the start every run, so one
  // file would ask the same prefix again and again). xorshift32, seeded: the same
  // sequence every bench run (a power-of-two LCG's low bits, tried first, cycled through
  // 2,370 of 30,000 questions).
  let x = 2463534242;
  const draw = (count: number): string => {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      lines.push(questions[(x >>> 0) % questions.length]!);
    }
    return lines.join('\n') + '\n';
  };
  const perRun = Math.max(200000, SECONDS * 150000);
  const hotLine = 'svc9.service.consul SRV\n';
  dnsperf(proc.port, proc.pid, draw(perRun * 2), [], 4); // warm-up: the cache fills
  const mport = metricsPort(proc);
  let peakRss = 0;
  const [hotRun, churn] = alternate([
    () => dnsperf(proc.port, proc.pid, hotLine),
    () => {
      const p = dnsperf(proc.port, proc.pid, draw(perRun));
      peakRss = Math.max(peakRss, proc.rssMb());
      return p;
    },
  ]) as [Perf, Perf];
  // One more churn run alone, between two reads of the cache counters: its hit rate.
  const counters = async (): Promise<[number, number]> => [await metric(mport, 'srvdns_answer_cache_hits_total'), await metric(mport, 'srvdns_answer_cache_misses_total')];
  const [h0, m0] = await counters();
  dnsperf(proc.port, proc.pid, draw(perRun));
  const [h1, m1] = await counters();
  const entries = await metric(mport, 'srvdns_answer_cache_entries');
  report(
    `churn: ${names.length} single-instance services, SRV/A/AAAA at random over ${questions.length} questions, --answer-cache-size ${cacheBytes} (${entries} answers held at the end, ~${perEntry.toFixed(0)} bytes each): ${fmt(churn)}; hit rate ${(((h1 - h0) / (h1 - h0 + m1 - m0)) * 100).toFixed(0)}%`,
  );
  report(`churn vs hot name on the same server (${fmt(hotRun)}): ${(churn.qps / hotRun.qps).toFixed(2)} by q/s (target >= 0.35), ${(hotRun.cpuUs / churn.cpuUs).toFixed(2)} by CPU/query; peak RSS under churn ${peakRss.toFixed(0)} MB (target < 300)`);
  await proc.stop();
}

rmSync(dir, { recursive: true, force: true });
const when = new Date().toISOString().slice(0, 10);
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
writeResultsTop(
  `# Benchmark results\n\nLast run: ${when}, ${machine}. dnsperf (8 clients, 100 queries outstanding, queries with RD set and no EDNS) pinned to core 0, the server to core 1, ${SECONDS} s per figure, UDP unless said.\n` +
    `CPU/query is the server process's user+system time (all threads, from /proc) over the queries dnsperf saw answered: on these 2 shared cores q/s swings 30% or more between rounds while CPU per query moves a few percent, so compare by CPU/query first. ` +
    `Every comparison is measured alternated, ${ROUNDS} rounds: each side's median q/s run is shown, with the median CPU/query of its rounds. Each floor is a bare Node dgram socket sending the exact reply srvdns sends for that question (checked after the run by putting the floor's first query to srvdns): the floor for srvdns with \`--udp-io dgram\`. srvdns's default, batched UDP (recvmmsg/sendmmsg through its native part), goes below that floor. Knot (Debian's knot 3.2, one UDP worker, every thread re-pinned to the server's core with \`taskset -a -p\`) serves the same records from a zone file written from srvdns's replies.\n` +
    `Catalog-size runs start with a 2 s warm-up (each answer built once) and measure the steady state. The churn run asks questions drawn at random (with repeats, fresh draws every run) from every service's SRV, A and AAAA, after a 4 s warm-up; the cache holds a third of the questions.\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`,
);
