// Shared bench plumbing: run srvdns as a child process, percentiles, printing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** SrvdnsProcess is srvdns running from dist/bin, as users run it. */
export interface SrvdnsProcess {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** startSrvdns runs the built bin with flags on a free loopback port and waits until it listens. */
export async function startSrvdns(flags: string[], env: NodeJS.ProcessEnv = {}): Promise<SrvdnsProcess> {
  const child = spawn(process.execPath, ['dist/bin/srvdns.js', '--listen', '127.0.0.1:0', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started server behind
      reject(new Error(`srvdns did not start: ${out}`));
    }, 60000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`srvdns exited ${code}: ${out}`)));
  });
  child.stdout!.resume();
  return {
    port,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** percentile of sorted numbers, p in [0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** summarize prints p50/p99/max of latencies in ms. */
export function summarize(label: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `${label}: n=${s.length} p50=${percentile(s, 50).toFixed(1)}ms p99=${percentile(s, 99).toFixed(1)}ms max=${s[s.length - 1]!.toFixed(1)}ms`;
}

const RESULTS = 'bench/RESULTS.md';

/** splitResults cuts bench/RESULTS.md into its top part and its "## " sections. */
function splitResults(): { top: string; sections: string[] } {
  const text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  const [top, ...sections] = text.split(/\n(?=## )/);
  return { top: top!.trimEnd() + '\n', sections: sections.map((s) => s.trimEnd() + '\n') };
}

/** writeResultsTop replaces the top part of bench/RESULTS.md (the throughput figures), keeping its sections. */
export function writeResultsTop(top: string): void {
  const { sections } = splitResults();
  writeFileSync(RESULTS, [top.trimEnd() + '\n', ...sections].join('\n'));
}

/** writeResultsSection replaces the section of bench/RESULTS.md whose heading starts with key, or adds it. */
export function writeResultsSection(key: string, heading: string, lines: readonly string[], note = ''): void {
  const { top, sections } = splitResults();
  const section = `## ${heading}\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n${note ? `\n${note.trimEnd()}\n` : ''}`;
  const at = sections.findIndex((s) => s.startsWith(`## ${key}`));
  if (at >= 0) sections[at] = section;
  else sections.push(section);
  writeFileSync(RESULTS, [top, ...sections].join('\n'));
}
