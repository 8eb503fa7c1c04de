// One server of the batching study (bench/batching.ts), run as its own process:
//   floor HEXREPLY BATCH     the precomputed reply, through the mmsg addon
//   srvdns CATALOG BATCH     srvdns's own handler, through the mmsg addon
// BATCH 1 reads and writes one datagram per system call, as Node's dgram does; more
// uses recvmmsg/sendmmsg. JavaScript is called once per batch either way.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/log.js';
import { start } from '../../lib/srvdns.js';

interface Mmsg {
  open(port: number, batch: number, onBatch: (n: number) => void): { port: number; in: Buffer; out: Buffer; lens: Int32Array };
}
const MAX_BATCH = 64;
const IN_SIZE = 512;
const OUT_SIZE = 1232;

const [mode, arg, batchText] = process.argv.slice(2);
const batch = Number(batchText);
const mmsg = createRequire(import.meta.url)(join(process.cwd(), 'bench/batching/build/Release/mmsg.node')) as Mmsg;

let answer: (query: Buffer) => Buffer | undefined;
if (mode === 'floor') {
  const reply = Buffer.from(arg!, 'hex');
  answer = (q) => {
    reply[0] = q[0]!;
    reply[1] = q[1]!;
    return reply;
  };
} else {
  const request = loadConfig(['--listen', '127.0.0.1:0', '--file', arg!, '--log-level', 'silent'], {});
  if (request.kind !== 'run') throw new Error('expected a run request');
  const server = await start(request.config, createLogger('silent'));
  answer = (q) => {
    const out = server.handler(q, 'udp', '127.0.0.1');
    return out instanceof Buffer ? out : undefined; // a hot name is answered synchronously
  };
}
const io = mmsg.open(0, batch, (n) => {
  for (let i = 0; i < n; i++) {
    const reply = answer(io.in.subarray(i * IN_SIZE, i * IN_SIZE + io.lens[i]!));
    if (reply === undefined || reply.length > OUT_SIZE) {
      io.lens[MAX_BATCH + i] = 0;
      continue;
    }
    reply.copy(io.out, i * OUT_SIZE);
    io.lens[MAX_BATCH + i] = reply.length;
  }
});
process.stdout.write(`batch listening on ${io.port}\n`);
process.on('SIGTERM', () => process.exit(0));
