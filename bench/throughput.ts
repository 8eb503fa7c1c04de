// Throughput and latency with dnsperf (Debian's dnsperf), server pinned to one core and
// dnsperf to the other, each figure beside the precomputed-reply dgram floor measured in
// the same run. Prints figures and writes bench/RESULTS.md; asserts nothing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildQuery, sendUdp } from '../test/helpers/client.js';
import { testCatalog } from '../test/helpers/catalog.js';
import { writeResultsTop } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const SIZES = (process.env.BENCH_SIZES ?? '100,10000,100000').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'srvdns-bench-'));
const pin = (core: number): string[] => (spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length > 1 ? ['taskset', '-c', String(core)] : []);

interface Perf {
  qps: number;
  latencyMs: number;
  lost: number;
}

function dnsperf(port: number, queries: string, extra: string[] = [], seconds = SECONDS): Perf {
  const file = join(dir, `queries-${port}.txt`);
  writeFileSync(file, queries);
  const cmd = [...pin(0), 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', '8', '-q', '100', ...extra];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dnsperf failed: ${r.stderr || r.stdout}`);
  const num = (re: RegExp): number => Number(re.exec(r.stdout)?.[1] ?? NaN);
  return { qps: num(/Queries per second:\s+([\d.]+)/), latencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000, lost: num(/Queries lost:\s+(\d+)/) };
}

interface Proc {
  child: ChildProcess;
  /** port is the first number the ready pattern captured. */
  port: number;
  startupMs: number;
  rssMb(): number;
  stop(): Promise<void>;
}

/** children are killed when the bench exits, also when it fails half-way. */
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

async function launch(args: string[], ready: RegExp): Promise<Proc> {
  const cmd = [...pin(1), process.execPath, ...args];
  const started = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started server behind
      reject(new Error(`not ready after 60 s: ${out}`));
    }, 60000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${out}`));
    });
  });
  const startupMs = performance.now() - started;
  child.stdout!.resume();
  return {
    child,
    port,
    startupMs,
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function srvdns(file: string, extra: string[] = []): Promise<{ proc: Proc; port: number }> {
  const proc = await launch(['dist/bin/srvdns.js', '--file', file, '--listen', '127.0.0.1:0', ...extra], /listening on 127\.0\.0\.1:(\d+)/);
  return { proc, port: proc.port };
}

/** catalogOfSize makes services of 1-10 instances each until `size` instances exist. */
function catalogOfSize(size: number): { file: string; names: string[] } {
  const nodes = Array.from({ length: 250 }, (_, i) => ({ name: `n${i}`, address: `10.${i >> 8}.${i & 255}.1` }));
  const services: unknown[] = [];
  const names: string[] = [];
  for (let s = 0, total = 0; total < size; s++) {
    const count = Math.min((s % 10) + 1, size - total);
    names.push(`svc${s}`);
    for (let i = 0; i < count; i++, total++) services.push({ name: `svc${s}`, id: `svc${s}-${i}`, node: `n${(s + i) % 250}`, port: 1000 + i });
  }
  const file = join(dir, `catalog-${size}.json`);
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
writeFileSync(demo, JSON.stringify(testCatalog));

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
/**
 * alternate runs each measurement in turn, ROUNDS times, and gives each one's median
 * run (by q/s): the machine's swings then fall on every side of a comparison alike.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
function alternate(runs: (() => Perf)[]): Perf[] {
  const results: Perf[][] = runs.map(() => []);
  for (let r = 0; r < ROUNDS; r++) runs.forEach((run, i) => results[i]!.push(run()));
  return results.map((xs) => {
    const m = median(xs.map((x) => x.qps));
    return xs.find((x) => x.qps === m)!;
  });
}

// 1. Cached SRV and A against the floor, alternated.
const base = await srvdns(demo);
dnsperf(base.port, 'web.service.consul SRV\nweb.service.consul A\n', [], 1); // warm-up
const srvReply = await sendUdp(base.port, buildQuery('web.service.consul', 'SRV', { id: 1, edns: { udpSize: 1232 } }));
const floor = await launch(['dist/bench/floor.js', '0', srvReply!.toString('hex')], /floor listening on (\d+)/);
const [f, s, a] = alternate([
  () => dnsperf(floor.port, 'web.service.consul SRV\n'),
  () => dnsperf(base.port, 'web.service.consul SRV\n'),
  () => dnsperf(base.port, 'web.service.consul A\n'),
]) as [Perf, Perf, Perf];
await floor.stop();
report(`floor (dgram, precomputed ${srvReply!.length}-byte SRV reply): ${f.qps.toFixed(0)} q/s, ${f.latencyMs.toFixed(3)} ms avg`);
report(`srvdns UDP SRV (3 instances, cached): ${s.qps.toFixed(0)} q/s, ${s.latencyMs.toFixed(3)} ms avg, ratio to floor ${(s.qps / f.qps).toFixed(2)} (target >= 0.8)`);
report(`srvdns UDP A (cached): ${a.qps.toFixed(0)} q/s, ${a.latencyMs.toFixed(3)} ms avg, ratio to floor ${(a.qps / f.qps).toFixed(2)}`);

// 3. TCP with persistent connections; metrics on vs off, alternated.
const tcp = dnsperf(base.port, 'web.service.consul SRV\n', ['-m', 'tcp']);
report(`srvdns TCP SRV (persistent connections): ${tcp.qps.toFixed(0)} q/s, ${tcp.latencyMs.toFixed(3)} ms avg`);
const withMetrics = await srvdns(demo, ['--metrics', '127.0.0.1:0']);
dnsperf(withMetrics.port, 'web.service.consul SRV\n', [], 1); // warm-up
const [off, on] = alternate([() => dnsperf(base.port, 'web.service.consul SRV\n'), () => dnsperf(withMetrics.port, 'web.service.consul SRV\n')]) as [Perf, Perf];
await base.proc.stop();
await withMetrics.proc.stop();
report(`srvdns UDP SRV with --metrics: median ${on.qps.toFixed(0)} q/s vs ${off.qps.toFixed(0)} without (${ROUNDS} alternated runs each): cost ${((1 - on.qps / off.qps) * 100).toFixed(1)}% (target <= 5%)`);

// 2. Catalog sizes: queries spread over every service. Each server starts alone (start
// time), gets a warm-up (every answer built once), then the sizes are measured alternated.
const bySize: { size: number; services: number; run: { proc: Proc; port: number }; queries: string }[] = [];
for (const size of SIZES) {
  const { file, names } = catalogOfSize(size);
  const run = await srvdns(file);
  const queries = names.map((n) => `${n}.service.consul SRV`).join('\n') + '\n';
  dnsperf(run.port, queries, [], 2);
  bySize.push({ size, services: names.length, run, queries });
}
const sized = alternate(bySize.map((b) => () => dnsperf(b.run.port, b.queries)));
bySize.forEach((b, i) => {
  const p = sized[i]!;
  report(`catalog of ${b.size} instances (${b.services} services): ${p.qps.toFixed(0)} q/s, ${p.latencyMs.toFixed(3)} ms avg, RSS ${b.run.proc.rssMb().toFixed(0)} MB, start to serving ${(b.run.proc.startupMs / 1000).toFixed(2)} s`);
});
const small = bySize[0];
const large = bySize[bySize.length - 1];
if (small && large && large !== small) {
  report(`throughput at ${large.size} vs ${small.size} instances: ratio ${(sized[bySize.length - 1]!.qps / sized[0]!.qps).toFixed(2)} (target >= 0.9); RSS at ${large.size}: ${large.run.proc.rssMb().toFixed(0)} MB (target < 300); start ${(large.run.proc.startupMs / 1000).toFixed(2)} s (target < 3)`);
}
for (const b of bySize) await b.run.proc.stop();

rmSync(dir, { recursive: true, force: true });
const when = new Date().toISOString().slice(0, 10);
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
writeResultsTop(
  `# Benchmark results\n\nLast run: ${when}, ${machine}. dnsperf pinned to core 0, the server to core 1, ${SECONDS} s per figure, UDP unless said.\nCatalog-size runs start with a 2 s warm-up (each answer built once) and measure the steady state. Every comparison is measured alternated, ${ROUNDS} rounds, and each side's median run is shown: these machines are shared and noisy (successive runs here have moved the same figure by 30% or more), so compare ratios within one run, not absolute figures across runs.\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`,
);
