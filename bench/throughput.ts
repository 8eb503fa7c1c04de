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

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
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

async function launch(args: string[], ready: RegExp): Promise<Proc> {
  const cmd = [...pin(1), process.execPath, ...args];
  const started = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started server behind
      reject(new Error(`not ready after 60 s: ${out}`));
    }, 60000).unref();
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

// 1. Cached SRV and A against the floor, same run.
const base = await srvdns(demo);
dnsperf(base.port, 'web.service.consul SRV\nweb.service.consul A\n', [], 1); // warm-up
const srvReply = await sendUdp(base.port, buildQuery('web.service.consul', 'SRV', { id: 1, edns: { udpSize: 1232 } }));
const floor = await launch(['dist/bench/floor.js', '0', srvReply!.toString('hex')], /floor listening on (\d+)/);
const floorPort = floor.port;
// Alternate floor and srvdns, twice each, so that the machine's noise falls on both.
const mean = (xs: Perf[]): Perf => ({ qps: xs.reduce((t, x) => t + x.qps, 0) / xs.length, latencyMs: xs.reduce((t, x) => t + x.latencyMs, 0) / xs.length, lost: xs.reduce((t, x) => t + x.lost, 0) });
const floorRuns: Perf[] = [];
const srvRuns: Perf[] = [];
for (let i = 0; i < 2; i++) {
  floorRuns.push(dnsperf(floorPort, 'web.service.consul SRV\n'));
  srvRuns.push(dnsperf(base.port, 'web.service.consul SRV\n'));
}
await floor.stop();
const f = mean(floorRuns);
const s = mean(srvRuns);
const a = dnsperf(base.port, 'web.service.consul A\n');
report(`floor (dgram, precomputed ${srvReply!.length}-byte SRV reply): ${f.qps.toFixed(0)} q/s, ${f.latencyMs.toFixed(3)} ms avg`);
report(`srvdns UDP SRV (3 instances, cached): ${s.qps.toFixed(0)} q/s, ${s.latencyMs.toFixed(3)} ms avg, ratio to floor ${(s.qps / f.qps).toFixed(2)} (target >= 0.8)`);
report(`srvdns UDP A (cached): ${a.qps.toFixed(0)} q/s, ${a.latencyMs.toFixed(3)} ms avg, ratio to floor ${(a.qps / f.qps).toFixed(2)}`);

// 3. TCP with persistent connections; metrics on vs off.
const tcp = dnsperf(base.port, 'web.service.consul SRV\n', ['-m', 'tcp']);
report(`srvdns TCP SRV (persistent connections): ${tcp.qps.toFixed(0)} q/s, ${tcp.latencyMs.toFixed(3)} ms avg`);
// Metrics on and off: two servers, alternated three times, medians compared.
const withMetrics = await srvdns(demo, ['--metrics', '127.0.0.1:0']);
dnsperf(withMetrics.port, 'web.service.consul SRV\n', [], 1); // warm-up
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const offRuns: number[] = [];
const onRuns: number[] = [];
for (let i = 0; i < 3; i++) {
  offRuns.push(dnsperf(base.port, 'web.service.consul SRV\n').qps);
  onRuns.push(dnsperf(withMetrics.port, 'web.service.consul SRV\n').qps);
}
await base.proc.stop();
await withMetrics.proc.stop();
const off = median(offRuns);
const on = median(onRuns);
report(`srvdns UDP SRV with --metrics: median ${on.toFixed(0)} q/s vs ${off.toFixed(0)} without (3 alternated runs each): cost ${((1 - on / off) * 100).toFixed(1)}% (target <= 5%)`);

// 2. Catalog sizes: queries spread over every service.
const bySize: { size: number; qps: number; rss: number; startup: number }[] = [];
for (const size of SIZES) {
  const { file, names } = catalogOfSize(size);
  const run = await srvdns(file);
  const queries = names.map((n) => `${n}.service.consul SRV`).join('\n') + '\n';
  dnsperf(run.port, queries, [], 2); // warm-up: every answer built once, then steady state is measured
  const p = dnsperf(run.port, queries);
  bySize.push({ size, qps: p.qps, rss: run.proc.rssMb(), startup: run.proc.startupMs });
  report(`catalog of ${size} instances (${names.length} services): ${p.qps.toFixed(0)} q/s, ${p.latencyMs.toFixed(3)} ms avg, RSS ${run.proc.rssMb().toFixed(0)} MB, start to serving ${(run.proc.startupMs / 1000).toFixed(2)} s`);
  await run.proc.stop();
}
const small = bySize[0];
const large = bySize[bySize.length - 1];
if (small && large && large !== small) {
  report(`throughput at ${large.size} vs ${small.size} instances: ratio ${(large.qps / small.qps).toFixed(2)} (target >= 0.9); RSS at ${large.size}: ${large.rss.toFixed(0)} MB (target < 300); start ${(large.startup / 1000).toFixed(2)} s (target < 3)`);
}

rmSync(dir, { recursive: true, force: true });
const when = new Date().toISOString().slice(0, 10);
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
writeFileSync(
  'bench/RESULTS.md',
  `# Benchmark results\n\nLast run: ${when}, ${machine}. dnsperf pinned to core 0, the server to core 1, ${SECONDS} s per figure, UDP unless said.\nCatalog-size runs start with a 2 s warm-up (each answer built once) and measure the steady state. These machines are shared and noisy: successive runs here have moved the same figure by 30% or more, so compare ratios within one run, and several runs, not single absolute figures.\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n\nFreshness (\`node dist/bench/freshness.js\`) is appended by that benchmark.\n`,
);
