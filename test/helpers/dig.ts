// Runs the real dig (bind9-dnsutils) and reads what it prints.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  text: string;
}

/** dig asks one question and returns status, header flags and records, one line each with single spaces. */
export async function dig(port: number, name: string, type: string, extra: string[] = []): Promise<DigResult> {
  const { stdout } = await run('dig', [`@127.0.0.1`, '-p', String(port), name, type, '+tries=1', '+time=2', '+nocookie', ...extra]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? '';
  const flags = (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
  const sections: Record<string, string[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const header = /^;; (\w+) SECTION:/.exec(line);
    if (header) {
      current = sections[header[1]!];
      continue;
    }
    if (line.trim() === '' || line.startsWith(';')) {
      if (line.trim() === '') current = undefined;
      continue;
    }
    current?.push(line.trim().split(/\s+/).join(' '));
  }
  return { status, flags, answer: sections.ANSWER!, authority: sections.AUTHORITY!, additional: sections.ADDITIONAL!, text: stdout };
}
