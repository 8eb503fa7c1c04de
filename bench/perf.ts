// Shared by the dnsperf benches: servers pinned to core 1 and dnsperf to core 0, CPU per
// query from /proc, measurements alternated in rounds.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
export const dir = mkdtempSync(join(tmpdir(), 'srvdns-bench-'));
export const canPin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length > 1;
export const pin = (core: number): string[] => (canPin ? ['taskset', '-c', String(core)] : []);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** cpuSeconds is a process's user+system time so far, all threads, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

export interface Perf {
  qps: number;
  latencyMs: number;
  lost: number;
  /** cpuUs is the server's CPU time (user+system) over the queries answered, in microseconds. */
  cpuUs: number;
}

/** dnsperf runs queries against the server on port, charging the CPU time of process pid. */
export function dnsperf(port: number, pid: number, queries: string, extra: string[] = [], seconds = SECONDS): Perf {
  const file = join(dir, `queries-${port}.txt`);
  writeFileSync(file, queries);
  const cmd = [...pin(0), 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', '8', '-q', '100', ...extra];
  const cpu0 = cpuSeconds(pid);
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  const cpu = cpuSeconds(pid) - cpu0;
  if (r.status !== 0) throw new Error(`dnsperf failed: ${r.stderr || r.stdout}`);
  const num = (re: RegExp): number => Number(re.exec(r.stdout)?.[1] ?? NaN);
  const completed = num(/Queries completed:\s+(\d+)/);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    latencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    lost: num(/Queries lost:\s+(\d+)/),
    cpuUs: (cpu / completed) * 1e6,
  };
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** port is the first number the ready pattern captured. */
  port: number;
  startupMs: number;
  /** output is everything the process printed so far. */
  output(): string;
  rssMb(): number;
  stop(): Promise<void>;
}

/** children are killed when the bench exits, also when it fails half-way. */
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

export async function launch(args: string[], ready: RegExp): Promise<Proc> {
  const cmd = [...pin(1), process.execPath, ...args];
  const started = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    if (out.length < 65536) out += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started server behind
      reject(new Error(`not ready after 60 s: ${out}`));
    }, 60000);
    const check = (): void => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${out}`));
    });
  });
  const startupMs = performance.now() - started;
  return {
    child,
    pid: child.pid!,
    port,
    startupMs,
    output: () => out,
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
/**
 * alternate runs each measurement in turn, ROUNDS times, and gives each one's median
 * q/s run, with the median CPU per query of all its runs: the machine's swings then fall
 * on every side of a comparison alike.
 */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
export function alternate(runs: (() => Perf)[]): Perf[] {
  const results: Perf[][] = runs.map(() => []);
  for (let r = 0; r < ROUNDS; r++) runs.forEach((run, i) => results[i]!.push(run()));
  return results.map((xs) => {
    const m = median(xs.map((x) => x.qps));
    return { ...xs.find((x) => x.qps === m)!, cpuUs: median(xs.map((x) => x.cpuUs)) };
  });
}
export const fmt = (p: Perf): string => `${p.qps.toFixed(0)} q/s, ${p.cpuUs.toFixed(1)} us CPU/query, ${p.latencyMs.toFixed(3)} ms avg`;
/** vs compares a figure with its baseline, by CPU per query (stable here) and by q/s (swings). */
export const vs = (p: Perf, base: Perf, what: string): string => `${what} ${(base.cpuUs / p.cpuUs).toFixed(2)} by CPU/query, ${(p.qps / base.qps).toFixed(2)} by q/s`;
