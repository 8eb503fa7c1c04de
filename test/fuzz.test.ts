// Nothing a client sends can crash the server (SPEC §5). Seeded, so a failure replays:
// random and mutated packets straight into the pipeline (every reply must be a valid
// DNS message with the query's id), then over real UDP and TCP sockets, including
// truncated and lying TCP frames; afterwards the server must still answer correctly.
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import * as packet from 'dns-packet';
import { silentLogger } from '../lib/log.js';
import { buildHandler } from '../lib/srvdns.js';
import { AnswerCache } from '../lib/server/answer-cache.js';
import { testCatalog } from './helpers/catalog.js';
import { buildQuery, query, type Proto } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { rng } from './helpers/rng.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const rand = rng(SEED);
const int = (n: number): number => Math.floor(rand() * n);

const seeds: Buffer[] = [
  buildQuery('_web._tcp.service.consul', 'SRV'),
  buildQuery('web.service.consul', 'A', { edns: { udpSize: 1232, do: true, options: [{ code: 10, data: Buffer.alloc(8) }] } }),
  buildQuery('v1.primary.db.service.dc1.consul', 'ANY'),
  buildQuery('node1.node.consul', 'TXT'),
  buildQuery('1.0.0.10.in-addr.arpa', 'PTR'),
  buildQuery('consul', 'NS', { edns: { udpSize: 512 } }),
  buildQuery('api.service.consul', 'AAAA'),
  buildQuery('example.com', 'A'),
];

/** mutate damages a valid query in one of the ways real garbage looks. */
function mutate(): Buffer {
  const base = Buffer.from(seeds[int(seeds.length)]!);
  switch (int(8)) {
    case 0: // random bytes
      return Buffer.from(Array.from({ length: int(600) }, () => int(256)));
    case 1: // flipped bytes
      for (let i = 0, n = 1 + int(6); i < n; i++) base[int(base.length)] = int(256);
      return base;
    case 2: // truncated
      return base.subarray(0, int(base.length));
    case 3: // lying section counts
      base.writeUInt16BE(int(65536), 4 + 2 * int(4));
      return base;
    case 4: { // a compression pointer somewhere in the question
      const at = 12 + int(Math.max(1, base.length - 13));
      base[at] = 0xc0 | int(64);
      base[at + 1] = int(256);
      return base;
    }
    case 5: // a random opcode and flags
      base.writeUInt16BE(int(65536), 2);
      return base;
    case 6: // a valid query in another case (the answer cache matches names case-insensitively)
      for (let i = 13; i < base.length - 4; i++) if (rand() < 0.5 && /[a-z]/i.test(String.fromCharCode(base[i]!))) base[i]! ^= 0x20;
      return base;
    default: // trailing garbage
      return Buffer.concat([base, Buffer.from(Array.from({ length: int(64) }, () => int(256)))]);
  }
}

let srv: TestServer;
let rssBefore = 0;
t.before(async () => {
  srv = await startServer(testCatalog);
  rssBefore = process.memoryUsage().rss;
});
t.teardown(() => srv.stop());

async function stillCorrect(t: Test, label: string): Promise<void> {
  for (const proto of ['udp', 'tcp'] as Proto[]) {
    const r = await query(srv.port, '_web._tcp.service.consul', 'SRV', { proto });
    t.equal(r.answer.length, 3, `${label}: ${proto} still answers the full SRV set`);
  }
}

/**
 * normal is a reply as a comparable text: header, question and sorted sections (rotation
 * and shuffles aside); only counts when truncated. The SOA serial is the time of building
 * (as Consul's), so a cached negative answer may carry an older one: left out.
 */
function normal(wire: Buffer): string {
  const m = packet.decode(wire);
  const rr = (a: packet.Answer): string => JSON.stringify(a.type === 'SOA' ? { ...a, data: { ...a.data, serial: 0 } } : a);
  const tc = (m.flags ?? 0) & packet.TRUNCATED_RESPONSE;
  const section = (xs: packet.Answer[] | undefined): unknown => (tc ? (xs ?? []).length : (xs ?? []).map(rr).sort());
  return JSON.stringify({ id: m.id, flags: m.flags, questions: m.questions, answers: section(m.answers), authorities: section(m.authorities), additionals: section(m.additionals) });
}

t.test(`pipeline: 50,000 mutated packets, every reply a valid message, the same with and without the answer cache (seed ${SEED})`, async (t) => {
  const handler = buildHandler(srv.server.config, srv.server.registry, [], silentLogger);
  const cache = new AnswerCache(1 << 24);
  const cached = buildHandler(srv.server.config, srv.server.registry, [], silentLogger, cache);
  let replies = 0;
  let dropped = 0;
  let differ = 0;
  for (let i = 0; i < 50000; i++) {
    const p = mutate();
    const transport = i % 2 === 0 ? 'udp' : 'tcp';
    let out = handler(p, transport, '127.0.0.1');
    if (out instanceof Promise) out = await out;
    let viaCache = cached(p, transport, '127.0.0.1');
    if (viaCache instanceof Promise) viaCache = await viaCache;
    if (out === null || viaCache === null) {
      if (out !== viaCache && differ++ < 5) t.fail(`query ${i}: one handler dropped it, the other answered; query ${p.toString('hex')}`);
      dropped++;
      continue;
    }
    replies++;
    let decoded;
    try {
      decoded = packet.decode(out);
    } catch (err) {
      t.fail(`reply ${i} does not decode: ${(err as Error).message}; query ${p.toString('hex')}`);
      return;
    }
    if (decoded.id !== p.readUInt16BE(0) || decoded.type !== 'response') {
      t.fail(`reply ${i}: id or QR wrong; query ${p.toString('hex')}`);
      return;
    }
    if (transport === 'udp' && out.length > 4096) {
      t.fail(`reply ${i}: ${out.length} bytes over UDP`);
      return;
    }
    if (normal(out) !== normal(viaCache) && differ++ < 5) t.fail(`query ${i}: the cached reply differs; query ${p.toString('hex')}\n${normal(out)}\n${normal(viaCache)}`);
  }
  t.ok(replies > 10000, `${replies} replies, ${dropped} dropped`);
  t.equal(differ, 0, 'replies with the answer cache are those built without it');
  t.ok(cache.hits > 5000, `the cache answered often enough to mean something (${cache.hits} hits)`);
});

t.test('UDP: 20,000 mutated datagrams', async (t) => {
  const sock = createSocket('udp4');
  let received = 0;
  sock.on('message', () => received++);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  for (let i = 0; i < 20000; i++) {
    sock.send(mutate(), srv.port, '127.0.0.1');
    if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2)); // let the kernel buffers drain
  }
  await new Promise((r) => setTimeout(r, 300));
  sock.close();
  t.ok(received > 4000, `${received} replies`);
  await stillCorrect(t, 'after UDP fuzz');
});

t.test('TCP: mutated frames, truncated frames, lying length prefixes', async (t) => {
  const rounds = Array.from({ length: 200 }, (_, round) =>
    new Promise<void>((resolve) => {
      const s = connect(srv.port, '127.0.0.1');
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.on('data', () => undefined);
      s.on('connect', () => {
        const frames: Buffer[] = [];
        for (let i = 0; i < 50; i++) {
          const p = mutate();
          const len = Buffer.alloc(2);
          len.writeUInt16BE(p.length);
          frames.push(len, p);
        }
        const kind = round % 3;
        if (kind === 1) frames.push(Buffer.from([0xff, 0xff]), Buffer.alloc(100)); // claims 65535, sends 100
        if (kind === 2) frames.push(Buffer.from([0x00])); // half a length prefix
        s.write(Buffer.concat(frames));
        setTimeout(() => s.destroy(), 50);
      });
    }),
  );
  await Promise.all(rounds);
  t.pass('200 abusive connections, 10,000 frames, done');
  await stillCorrect(t, 'after TCP fuzz');
});

t.test('memory is back near where it started', async (t) => {
  await new Promise((r) => setTimeout(r, 200));
  const grown = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  // 80,000 abusive packets: a leak of even 2 KB each would show as 120 MB.
  t.ok(grown < 100, `RSS grew ${grown.toFixed(1)} MB over the fuzz run`);
});
