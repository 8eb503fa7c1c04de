// Knot DNS (Debian's `knot`) as a reference line in the throughput bench: a C server
// with batched socket calls, serving the same records srvdns sends. Started only when
// knotd is installed; one UDP worker, its threads re-pinned to the server's core.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import packet from 'dns-packet';
import { buildQuery, sendUdp } from '../test/helpers/client.js';

export interface Knot {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export const knotInstalled = (): boolean => !spawnSync('knotd', ['--version']).error;

/** zoneLine writes one record of a decoded reply in zone-file syntax. */
function zoneLine(a: packet.Answer): string | undefined {
  const name = `${a.name}.`;
  const d = (a as { data: unknown }).data;
  switch (a.type) {
    case 'A':
    case 'AAAA':
      return `${name} 0 IN ${a.type} ${d as string}`;
    case 'SRV': {
      const s = d as packet.SrvData;
      return `${name} 0 IN SRV ${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${s.target}.`;
    }
    case 'TXT':
      return `${name} 0 IN TXT ${(d as Buffer[]).map((b) => JSON.stringify(b.toString())).join(' ')}`;
    default:
      return undefined;
  }
}

/** startKnot serves, from a zone of the given origin, every record srvdns sends for the questions. */
export async function startKnot(srvdnsPort: number, port: number, origin: string, questions: [string, string][], core: number | undefined): Promise<Knot> {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-knot-'));
  const lines = new Set<string>([`$ORIGIN ${origin}.`, `@ 0 IN SOA ns.${origin}. hostmaster.${origin}. 1 3600 600 86400 0`, `@ 0 IN NS ns.${origin}.`, `ns 0 IN A 127.0.0.1`]);
  for (const [name, type] of questions) {
    const reply = await sendUdp(srvdnsPort, buildQuery(name, type, { id: 1 }));
    const decoded = packet.decode(reply!);
    for (const a of [...(decoded.answers ?? []), ...(decoded.additionals ?? [])]) {
      const line = zoneLine(a);
      if (line) lines.add(line);
    }
  }
  writeFileSync(join(dir, 'zone'), [...lines].join('\n') + '\n');
  writeFileSync(
    join(dir, 'knot.conf'),
    `server:\n  listen: 127.0.0.1@${port}\n  rundir: ${dir}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\ndatabase:\n  storage: ${dir}\ntemplate:\n  - id: default\n    storage: ${dir}\nzone:\n  - domain: ${origin}\n    file: ${join(dir, 'zone')}\nlog:\n  - target: stderr\n    any: error\n`,
  );
  const child: ChildProcess = spawn('knotd', ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
    });
  process.on('exit', () => child.kill('SIGKILL'));
  for (let i = 0; i < 100; i++) {
    const reply = await sendUdp(port, buildQuery(questions[0]![0], questions[0]![1], { id: 1 }), 100).catch(() => undefined);
    if (reply) {
      // Knot pins its UDP worker to a core itself: move every thread to the server's core.
      if (core !== undefined) spawnSync('taskset', ['-a', '-p', '-c', String(core), String(child.pid)]);
      return { pid: child.pid!, port, stop };
    }
  }
  await stop();
  throw new Error('knotd did not answer within 10 s');
}
