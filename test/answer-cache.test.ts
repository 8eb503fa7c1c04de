// The hot path: cached answers must be indistinguishable from built ones — ids, flags
// and the question's case echoed — keep spreading load, and follow catalog changes.
import t from 'tap';
import { testCatalog } from './helpers/catalog.js';
import { Scan, scanQuery } from '../lib/dns/scan.js';
import { AnswerCache, ENTRY_OVERHEAD, keyOf } from '../lib/server/answer-cache.js';
import type { Zone } from '../lib/zones/zone.js';
import type { DataKey } from '../lib/catalog/changes.js';
import { buildQuery, query, type Proto } from './helpers/client.js';
import { eventually, expect } from './helpers/eventually.js';
import { startServer } from './helpers/server.js';

t.test('a cached answer echoes id, RD and the question case', async (t) => {
  const srv = await startServer(testCatalog);
  t.teardown(() => srv.stop());
  for (const proto of ['udp', 'tcp'] as Proto[]) {
    const first = await query(srv.port, 'web.service.consul', 'SRV', { proto, id: 1 });
    const hitsBefore = srv.server.cache.hits;
    const again = await query(srv.port, 'WEB.Service.CONSUL', 'SRV', { proto, id: 4242, rd: false });
    t.equal(srv.server.cache.hits, hitsBefore + 1, `${proto}: served from the cache`);
    t.equal(again.msg.id, 4242, 'id');
    t.equal(again.flags.rd, false, 'RD echoed clear');
    t.equal(first.flags.rd, true, 'RD echoed set');
    t.equal(again.msg.questions?.[0]?.name, 'WEB.Service.CONSUL', 'question as asked');
    t.ok(again.answer.every((a) => a.startsWith('WEB.Service.CONSUL. ')), 'owners in the case asked');
    t.same([...again.additional].sort(), [...first.additional].sort(), 'same glue');
    const nx = await query(srv.port, 'NOPE.service.consul', 'A', { proto });
    const nx2 = await query(srv.port, 'nope.SERVICE.consul', 'A', { proto });
    t.same(nx2.authority, nx.authority, 'the SOA owner keeps its own case');
    t.equal(nx2.authority[0]!.split(' ')[0], 'consul.', 'SOA owner is the zone, lower-case');
  }
});

t.test('a miss is counted once, and only for a question that could be cached', async (t) => {
  const srv = await startServer(testCatalog);
  t.teardown(() => srv.stop());
  const cache = srv.server.cache;
  const before = { hits: cache.hits, misses: cache.misses };
  await query(srv.port, 'db.service.consul', 'SRV'); // built and kept: one miss
  await query(srv.port, 'db.service.consul', 'SRV'); // one hit
  await query(srv.port, 'example.com', 'A'); // outside every zone: REFUSED, never cached
  t.same({ hits: cache.hits - before.hits, misses: cache.misses - before.misses }, { hits: 1, misses: 1 });
});

t.test('cached answers keep spreading load over every instance', async (t) => {
  const srv = await startServer(testCatalog);
  t.teardown(() => srv.stop());
  const first = new Map<string, number>();
  const N = 600;
  for (let i = 0; i < N; i++) {
    const r = await query(srv.port, 'web.service.consul', 'A');
    const a = r.answer[0]!.split(' ').pop()!;
    first.set(a, (first.get(a) ?? 0) + 1);
  }
  t.equal(first.size, 3, `every address comes first sometimes: ${JSON.stringify([...first])}`);
  // In proportion to the weights (test/weights.test.ts has the full table): 10.0.0.1
  // carries web-1 and web-5 (10 + 1), 10.0.0.2 web-2 (10), 10.0.1.3 a warning (1).
  const share = { '10.0.0.1': 11 / 22, '10.0.0.2': 10 / 22, '10.0.1.3': 1 / 22 };
  for (const [a, n] of first) t.ok(Math.abs(n / N - share[a as keyof typeof share]) < 0.03, `${a} first in ${n} of ${N}`);
  t.ok(srv.server.cache.hits > N * 0.9, `${srv.server.cache.hits} cache hits`);
});

t.test('a catalog change drops the cached answers it affects', async (t) => {
  const srv = await startServer(testCatalog);
  t.teardown(() => srv.stop());
  t.equal((await query(srv.port, 'db.service.consul', 'SRV')).answer.length, 2);
  await query(srv.port, 'db.service.consul', 'SRV'); // cached now
  srv.write({ ...testCatalog, services: testCatalog.services.filter((s) => s.id !== 'db-2') });
  await eventually(async () => expect((await query(srv.port, 'db.service.consul', 'SRV')).answer.length === 1, 'db-2 gone'));
  srv.write({ ...testCatalog, services: [...testCatalog.services, { name: 'newsvc', id: 'n1', node: 'node1', port: 1 }] });
  await eventually(async () => expect((await query(srv.port, 'newsvc.service.consul', 'A')).rcode === 'NOERROR', 'new service'));
  t.pass('removals and additions seen through the cache');
});

/** manyCatalog has one service of 40 instances: more than a 512-byte reply holds. */
const manyCatalog = {
  nodes: [{ name: 'n1', address: '10.1.0.1' }],
  services: Array.from({ length: 40 }, (_, i) => ({ name: 'many', id: `m${i}`, node: 'n1', address: `10.7.0.${i + 1}`, port: 2000 + i })),
};

t.test('rotated cached answers stay well-formed when truncated, with glue for exactly the answers kept', async (t) => {
  const srv = await startServer(manyCatalog);
  t.teardown(() => srv.stop());
  const firsts = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const r = await query(srv.port, 'many.service.consul', 'SRV');
    t.equal(r.flags.tc, true, 'truncated to 512 bytes');
    const targets = new Set(r.answer.map((a) => a.split(' ').pop()));
    const owners = new Set(r.additional.map((a) => a.split(' ')[0]));
    t.same([...owners].sort(), [...targets].sort(), `reply ${i}: glue matches answers`);
    firsts.add(r.answer[0]!);
  }
  t.ok(firsts.size > 5, `${firsts.size} different records came first`);
  const full = await query(srv.port, 'many.service.consul', 'SRV', { proto: 'tcp' });
  t.equal(full.answer.length, 40, 'all 40 over TCP');
});

/**
 * COLLIDING is a pair of names whose questions share the hot path's 30-bit name hash,
 * found once by brute force over s<i>.service.consul (a search of about 2 s, so kept as
 * data); the test checks that they still collide.
 */
const COLLIDING = ['s329599.service.consul', 's532382.service.consul'] as const;

function hashOf(name: string): number {
  const s = new Scan();
  if (!scanQuery(buildQuery(name, 'A', { id: 0 }), s)) throw new Error('not scanned');
  return s.hash;
}

t.test('names sharing a hash bucket keep their own answers, through hits and invalidation', async (t) => {
  const [a, b] = COLLIDING;
  t.equal(hashOf(a), hashOf(b), 'the pair shares a hash (if the hash function changed, find a new pair)');
  const [sa, sb] = [a.split('.')[0]!, b.split('.')[0]!];
  const catalog = {
    nodes: [{ name: 'n1', address: '10.1.0.1' }],
    services: [
      { name: sa, id: `${sa}-1`, node: 'n1', address: '10.9.0.1', port: 1 },
      { name: sb, id: `${sb}-1`, node: 'n1', address: '10.9.0.2', port: 2 },
    ],
  };
  const srv = await startServer(catalog);
  t.teardown(() => srv.stop());
  for (let i = 0; i < 3; i++) {
    for (const proto of ['udp', 'tcp'] as Proto[]) {
      t.same((await query(srv.port, a, 'A', { proto })).answer, [`${a}. 0 IN A 10.9.0.1`], `${a} ${proto} round ${i}`);
      t.same((await query(srv.port, b, 'A', { proto })).answer, [`${b}. 0 IN A 10.9.0.2`], `${b} ${proto} round ${i}`);
    }
  }
  t.ok(srv.server.cache.hits >= 8, `answered from the cache (${srv.server.cache.hits} hits)`);
  srv.write({ ...catalog, services: [catalog.services[0], { ...catalog.services[1]!, address: '10.9.0.3' }] });
  await eventually(async () => expect((await query(srv.port, b, 'A')).answer[0] === `${b}. 0 IN A 10.9.0.3`, `${b} changed`));
  t.same((await query(srv.port, a, 'A')).answer, [`${a}. 0 IN A 10.9.0.1`], `${a} unchanged beside it`);
});

t.test('one name asked with different transports, EDNS sizes and DO bits gets the answer for each', async (t) => {
  // With the ceiling raised from 1232, so that 1232 and 4096 are two variants.
  const srv = await startServer(manyCatalog, ['--udp-max-size', '4096']);
  t.teardown(() => srv.stop());
  const variants: [string, Parameters<typeof query>[3], (r: Awaited<ReturnType<typeof query>>) => boolean][] = [
    ['UDP without EDNS: truncated to 512', {}, (r) => r.flags.tc && r.raw.length <= 512 && r.opt === undefined],
    ['UDP, EDNS 4096: all 40', { edns: { udpSize: 4096 } }, (r) => !r.flags.tc && r.answer.length === 40 && r.opt?.udpPayloadSize === 4096],
    ['UDP, EDNS 1232: truncated within 1232', { edns: { udpSize: 1232 } }, (r) => r.flags.tc && r.raw.length <= 1232 && r.raw.length > 512],
    ['UDP, EDNS 4096 and DO: DO echoed', { edns: { udpSize: 4096, do: true } }, (r) => r.answer.length === 40 && ((r.opt?.flags ?? 0) & 0x8000) !== 0],
    ['TCP: all 40, no OPT', { proto: 'tcp' }, (r) => !r.flags.tc && r.answer.length === 40 && r.opt === undefined],
  ];
  for (let round = 0; round < 3; round++) {
    for (const [name, opts, ok] of variants) {
      const r = await query(srv.port, 'many.service.consul', 'SRV', opts);
      t.ok(ok(r), `round ${round}: ${name} (tc=${r.flags.tc}, ${r.answer.length} answers, ${r.raw.length} bytes)`);
    }
  }
  t.ok(srv.server.cache.hits >= 10, `rounds 2 and 3 from the cache (${srv.server.cache.hits} hits)`);
});

t.test('the store: bounded by bytes oldest first, dropped by tag, rebuilt after 4096 hits', async (t) => {
  const zone = { healthy: () => true } as unknown as Zone;
  const s = new Scan();
  const wire = (n: number): Buffer => Buffer.alloc(n, 1);
  const ask = (name: string): Buffer => {
    const p = buildQuery(name, 'A', { id: 7 });
    if (!scanQuery(p, s)) throw new Error('not scanned');
    return p;
  };
  // Each entry costs its bytes plus a fixed overhead: room for three of 1,000 bytes.
  const cache = new AnswerCache(3.5 * (1000 + ENTRY_OVERHEAD));
  for (const name of ['a.consul', 'b.consul', 'c.consul', 'd.consul']) {
    const p = ask(name);
    cache.set(keyOf(p, s, 512), zone, { kind: 'service', datacenter: 'dc1', name: name === 'b.consul' ? 'b' : 'other' }, wire(1000));
  }
  const has = (name: string): boolean => {
    const p = ask(name);
    return cache.find(p, s, 512) !== undefined;
  };
  t.same(['a.consul', 'b.consul', 'c.consul', 'd.consul'].map(has), [false, true, true, true], 'the oldest went first');
  t.equal(cache.size, 3, 'three left');
  cache.invalidate({ kind: 'service', datacenter: 'DC1', name: 'B' });
  t.same(['b.consul', 'c.consul', 'd.consul'].map(has), [false, true, true], 'a change drops exactly the entries built from it (names compared case-insensitively)');
  const p = ask('c.consul');
  let served = 0;
  while (cache.find(p, s, 512) !== undefined) served++;
  t.equal(served, 4095 - 2, 'served 4095 times, the 4096th use rebuilds (two were used above)');
  t.notOk(has('c.consul'), 'and gone until rebuilt');
});

t.test('a rotating answer sends each record first in turn, with the rest of the message unchanged', async (t) => {
  const zone = { healthy: () => true } as unknown as Zone;
  const s = new Scan();
  const p = buildQuery('r.consul', 'A', { id: 0x1234 });
  scanQuery(p, s);
  // header + question, three 4-byte "records", a 3-byte tail.
  const head = Buffer.concat([Buffer.from([0, 0, 0x84, 0, 0, 1, 0, 3, 0, 0, 0, 0]), p.subarray(12, s.nameEnd + 4)]);
  const at = head.length;
  const built = Buffer.concat([head, Buffer.from('AAAABBBBCCCC'), Buffer.from('end')]);
  const cache = new AnswerCache(1 << 20);
  cache.set(keyOf(p, s, 512), zone, { kind: 'static', origin: 'consul.' }, built, { starts: [at, at + 4, at + 8], end: at + 12 });
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const e = cache.find(p, s, 512)!;
    const out = cache.reply(e, p, s.nameEnd, false);
    t.equal(out.readUInt16BE(0), 0x1234, 'the id copied in');
    t.equal(out.subarray(at + 12).toString(), 'end', 'the tail unchanged');
    seen.push(out.subarray(at, at + 12).toString());
  }
  t.same(seen, ['BBBBCCCCAAAA', 'CCCCAAAABBBB', 'AAAABBBBCCCC', 'BBBBCCCCAAAA'], 'rotated one place per hit (the build itself sent the first order)');
});

t.test('negative answers are kept only from their second asking: random names cannot fill the cache', async (t) => {
  const srv = await startServer(testCatalog);
  t.teardown(() => srv.stop());
  for (let i = 0; i < 200; i++) t.equal((await query(srv.port, `random${i}.service.consul`, 'A')).rcode, 'NXDOMAIN');
  t.equal(srv.server.cache.size, 0, '200 names asked once: none kept');
  for (let i = 0; i < 3; i++) await query(srv.port, 'asked-often.service.consul', 'A');
  t.equal(srv.server.cache.size, 1, 'a name asked again is kept');
  const hits = srv.server.cache.hits;
  await query(srv.port, 'asked-often.service.consul', 'A');
  t.equal(srv.server.cache.hits, hits + 1, 'and answered from the cache');
});

t.test('eviction at scale: oldest first, the bound held, deletions in the middle kept in order', async (t) => {
  const zone = { healthy: () => true } as unknown as Zone;
  const s = new Scan();
  const keyFor = (i: number): ReturnType<typeof keyOf> => {
    const p = buildQuery(`n${i}.service.consul`, 'A', { id: 1 });
    if (!scanQuery(p, s)) throw new Error('not scanned');
    return keyOf(p, s, 512);
  };
  const has = (i: number): boolean => {
    const p = buildQuery(`n${i}.service.consul`, 'A', { id: 1 });
    scanQuery(p, s);
    return cache.find(p, s, 512) !== undefined;
  };
  // Each entry: 200 bytes of answer and the counted overhead; room for 1,000.
  const cache = new AnswerCache(1000 * (200 + ENTRY_OVERHEAD));
  for (let i = 0; i < 10000; i++) cache.set(keyFor(i), zone, { kind: 'service', datacenter: 'dc1', name: `n${i}` }, Buffer.alloc(200));
  t.equal(cache.size, 1000, 'bounded');
  t.ok([9000, 9500, 9999].every(has) && ![0, 5000, 8999].some(has), 'the newest 1,000 are kept, the rest went oldest first');
  for (let i = 9400; i < 9410; i++) cache.invalidate({ kind: 'service', datacenter: 'dc1', name: `n${i}` });
  t.equal(cache.size, 990, 'ten dropped from the middle');
  for (let i = 10000; i < 10010; i++) cache.set(keyFor(i), zone, { kind: 'service', datacenter: 'dc1', name: `n${i}` }, Buffer.alloc(200));
  t.ok(has(9000), 'room was there: nothing evicted');
  cache.set(keyFor(10010), zone, { kind: 'service', datacenter: 'dc1', name: 'n10010' }, Buffer.alloc(200));
  t.same([has(9000), has(9001), has(10010)], [false, true, true], 'then the oldest goes first');
  cache.clear();
  t.equal(cache.size, 0, 'cleared');
  cache.set(keyFor(1), zone, { kind: 'static', origin: 'consul.' }, Buffer.alloc(200));
  t.ok(has(1) && cache.size === 1, 'and usable again');
  cache.set(keyFor(2), zone, { kind: 'static', origin: 'consul.' }, Buffer.alloc(2 * 1000 * 1000));
  t.ok(has(1) && !has(2) && cache.size === 1, 'an answer bigger than the whole cache is not kept, and pushes nothing out');
});

t.test('--answer-cache-size bounds the ready answers', async (t) => {
  const srv = await startServer(testCatalog, ['--answer-cache-size', '65536']);
  t.teardown(() => srv.stop());
  for (let i = 0; i < 200; i++) {
    await query(srv.port, 'web.service.consul', 'A', { edns: { udpSize: 600 + i } }); // 200 size variants: 200 entries
  }
  t.ok(srv.server.cache.size > 20 && srv.server.cache.size < 70, `${srv.server.cache.size} answers kept in 64 KiB`);
});

t.test('--answer-cache-size 0 turns the cache off: every answer is built, and right', async (t) => {
  const srv = await startServer(testCatalog, ['--answer-cache-size', '0']);
  t.teardown(() => srv.stop());
  for (let i = 0; i < 5; i++) {
    const r = await query(srv.port, 'web.service.consul', 'A');
    t.equal(r.answer.length, 3, `answer ${i} has every instance`);
  }
  t.equal(srv.server.cache.size, 0, 'nothing kept');
  t.equal(srv.server.cache.hits, 0, 'no hit');
});

t.test('invalidation drops every entry of a tag, and only those, after evictions from the middle of its list', async (t) => {
  const zone = { healthy: () => true } as unknown as Zone;
  const s = new Scan();
  const probe = (i: number): [Buffer, Scan] => {
    const p = buildQuery(`m${i}.service.consul`, 'A', { id: 1 });
    scanQuery(p, s);
    return [p, s];
  };
  const has = (i: number): boolean => cache.find(...probe(i), 512) !== undefined;
  const tagOf = (i: number): DataKey => ({ kind: 'service', datacenter: 'dc1', name: `t${i % 3}` });
  // Room for 25 entries of 200 bytes and the overhead: the first five of 30 are evicted.
  const cache = new AnswerCache(25 * (200 + ENTRY_OVERHEAD));
  for (let i = 0; i < 30; i++) cache.set(keyOf(...probe(i), 512), zone, tagOf(i), Buffer.alloc(200));
  t.equal(cache.size, 25, 'bounded');
  cache.invalidate(tagOf(1));
  const left = Array.from({ length: 30 }, (_, i) => i).filter(has);
  t.same(left, Array.from({ length: 30 }, (_, i) => i).filter((i) => i >= 5 && i % 3 !== 1), 'tag 1 gone, the others kept');
  cache.invalidate(tagOf(0));
  cache.invalidate(tagOf(2));
  t.equal(cache.size, 0, 'every tag dropped: nothing left');
  cache.set(keyOf(...probe(100), 512), zone, tagOf(1), Buffer.alloc(200));
  cache.invalidate(tagOf(1));
  t.equal(cache.size, 0, 'a tag used again after invalidation is found again');
});

t.test("cached bytes live in the cache's own chunks, not in Node's shared Buffer pool beside transient replies", async (t) => {
  const zone = { healthy: () => true } as unknown as Zone;
  const s = new Scan();
  const cache = new AnswerCache(1 << 20);
  const entries = ['a.consul', 'b.consul', 'c.consul'].map((name) => {
    const p = buildQuery(name, 'A', { id: 7 });
    if (!scanQuery(p, s)) throw new Error('not scanned');
    // What the encoder hands over: a slice of Node's pool (Buffer.from copies small buffers into it).
    const built = Buffer.from(Buffer.alloc(100, name.charCodeAt(0)));
    t.equal(built.buffer.byteLength, Buffer.poolSize, `${name}: the built bytes are in a pool slab (as the encoder's are)`);
    return { built, e: cache.set(keyOf(p, s, 512), zone, { kind: 'service', datacenter: 'dc1', name }, built)! };
  });
  for (const { built, e } of entries) {
    t.not(e.wire.buffer, built.buffer, 'the cached copy is not in the pool slab');
    t.same(e.wire, built, 'the same bytes');
  }
  t.equal(entries[0]!.e.wire.buffer, entries[2]!.e.wire.buffer, 'answers cached one after another share a chunk (evicted together, collected together)');
  t.equal(entries[0]!.e.wire.buffer.byteLength, 64 * 1024, 'of 64 KB');
});
