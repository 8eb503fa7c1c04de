// The hot path's reader (lib/dns/scan.ts) against the full parser: every packet it
// accepts must parse with the same question and EDNS, anything unusual must be left to
// the parser, and the name hash must ignore ASCII case only.
import t from 'tap';
import { parseQuery } from '../lib/dns/parse.js';
import { Scan, scanQuery } from '../lib/dns/scan.js';
import { buildQuery } from './helpers/client.js';

const scan = (p: Buffer): Scan | undefined => {
  const s = new Scan();
  return scanQuery(p, s) ? s : undefined;
};

/** agrees checks that parseQuery reads what scanQuery read. */
function agrees(p: Buffer, s: Scan): string | undefined {
  let q;
  try {
    q = parseQuery(p);
  } catch (err) {
    return `parseQuery threw: ${(err as Error).message}`;
  }
  const want = { qr: false, opcode: 0, nameEnd: s.nameEnd, type: s.type, class: s.qclass, edns: s.edns > 0, dnssecOk: s.edns === 2, udpSize: s.edns > 0 ? s.udpSize : undefined, version: s.edns > 0 ? 0 : undefined };
  const got = { qr: q.qr, opcode: q.opcode, nameEnd: q.nameEnd, type: q.type, class: q.class, edns: q.edns !== undefined, dnssecOk: q.edns?.dnssecOk ?? false, udpSize: q.edns?.udpSize, version: q.edns?.version };
  return JSON.stringify(want) === JSON.stringify(got) ? undefined : `scan ${JSON.stringify(want)} vs parse ${JSON.stringify(got)}`;
}

function ednsSize0(): Buffer {
  const p = buildQuery('web.service.consul', 'A', { edns: { udpSize: 1232 } });
  p.writeUInt16BE(0, p.length - 8); // the OPT's CLASS field
  return p;
}

const longName = Array.from({ length: 4 }, (_, i) => String.fromCharCode(97 + i).repeat(61)).join('.'); // 4*62 + 1 = 249 bytes on the wire

t.test('queries of the common shape are scanned, and read as the parser reads them', async (t) => {
  const cases: [string, Buffer, { type: number; edns: number; udpSize: number }][] = [
    ['plain SRV', buildQuery('_web._tcp.service.consul', 'SRV'), { type: 33, edns: 0, udpSize: 0 }],
    ['EDNS 1232', buildQuery('web.service.consul', 'A', { edns: { udpSize: 1232 } }), { type: 1, edns: 1, udpSize: 1232 }],
    ['EDNS with DO and a cookie (dig)', buildQuery('web.service.consul', 'AAAA', { edns: { udpSize: 4096, do: true, options: [{ code: 10, data: Buffer.alloc(8, 7) }] } }), { type: 28, edns: 2, udpSize: 4096 }],
    ['the root', buildQuery('.', 'NS'), { type: 2, edns: 0, udpSize: 0 }],
    ['a 249-byte name', buildQuery(longName, 'A'), { type: 1, edns: 0, udpSize: 0 }],
    // dns-packet writes 4096 for a size of 0, so the size is set on the wire.
    ['EDNS size 0', ednsSize0(), { type: 1, edns: 1, udpSize: 0 }],
  ];
  for (const [name, p, want] of cases) {
    const s = scan(p);
    t.ok(s, `${name}: scanned`);
    if (!s) continue;
    t.same({ type: s.type, edns: s.edns, udpSize: s.udpSize }, want, `${name}: fields`);
    t.equal(agrees(p, s), undefined, `${name}: the parser agrees`);
  }
});

t.test('anything unusual is left to the full parser', async (t) => {
  const q = buildQuery('web.service.consul', 'A');
  const edns = buildQuery('web.service.consul', 'A', { edns: { udpSize: 1232 } });
  const edit = (p: Buffer, f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(p);
    f(b);
    return b;
  };
  const cases: [string, Buffer][] = [
    ['a response (QR)', edit(q, (b) => (b[2]! |= 0x80))],
    ['opcode NOTIFY', edit(q, (b) => (b[2]! |= 4 << 3))],
    ['QDCOUNT 2', edit(q, (b) => (b[5] = 2))],
    ['QDCOUNT 0', edit(q, (b) => (b[5] = 0))],
    ['an answer record in a query', edit(q, (b) => (b[7] = 1))],
    ['ARCOUNT 2', edit(edns, (b) => (b[11] = 2))],
    ['a compressed question name', Buffer.concat([q.subarray(0, 12), Buffer.from([3, 0x77, 0x65, 0x62, 0xc0, 12]), q.subarray(q.length - 4)])],
    ['an unknown label type', edit(q, (b) => (b[12] = 0x40 | 3))],
    ['a trailing byte', Buffer.concat([q, Buffer.from([0])])],
    ['EDNS version 1', buildQuery('web.service.consul', 'A', { edns: { udpSize: 1232, version: 1 } })],
    ['OPT owned by a name', Buffer.concat([edns.subarray(0, edns.length - 11), Buffer.from([1, 0x61, 0]), edns.subarray(edns.length - 10)])],
    ['an additional record that is not OPT', edit(edns, (b) => b.writeUInt16BE(1, b.length - 10))],
    ['an EDNS option running past the OPT', edit(buildQuery('a.b', 'A', { edns: { udpSize: 1232, options: [{ code: 10, data: Buffer.alloc(8) }] } }), (b) => b.writeUInt16BE(9, b.length - 10))],
    ['truncated in the name', q.subarray(0, 16)],
    ['truncated in the type', q.subarray(0, q.length - 1)],
    ['a header only', q.subarray(0, 12)],
  ];
  for (const [name, p] of cases) t.equal(scan(p), undefined, name);
});

t.test('the name hash ignores ASCII case and nothing else', async (t) => {
  const h = (name: string, type = 'A'): number => scan(buildQuery(name, type))!.hash;
  t.equal(h('WEB.Service.CONSUL'), h('web.service.consul'), 'case-insensitive');
  t.not(h('web.service.consul'), h('wec.service.consul'), 'one letter');
  t.not(h('ab.c'), h('a.bc'), 'label boundaries count');
  t.equal(h('web.service.consul', 'SRV'), h('web.service.consul', 'A'), 'the hash is the name only; the type is compared apart');
  // Bytes that differ from an upper-case letter by 0x20 but are not letters stay apart.
  const at = buildQuery('x@y', 'A'); // '@' is 0x40, '`' is 0x60
  const tick = Buffer.from(at);
  tick[14] = 0x60;
  t.not(scan(at)!.hash, scan(tick)!.hash, "'@' and '`' are not case variants");
  const s = scan(buildQuery(longName, 'A'))!;
  t.ok(Number.isInteger(s.hash) && s.hash >= 0 && s.hash < 2 ** 30, 'the hash stays a small integer');
});

t.test('whatever it accepts, the parser reads the same way (seeded mutations)', async (t) => {
  let seed = 20261122;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const bases = [
    buildQuery('web.service.consul', 'SRV'),
    buildQuery('_db._tcp.service.dc1.consul', 'SRV', { edns: { udpSize: 1232, do: true, options: [{ code: 10, data: Buffer.alloc(8) }, { code: 8, data: Buffer.from([0, 1, 24, 0, 10, 0, 0]) }] } }),
    buildQuery('node1.node.consul', 'TXT', { edns: { udpSize: 512 } }),
  ];
  let scanned = 0;
  let disagreements = 0;
  for (let i = 0; i < 30000; i++) {
    const p = Buffer.from(bases[rand(bases.length)]!);
    const flips = 1 + rand(3);
    for (let f = 0; f < flips; f++) p[rand(p.length)] = rand(4) === 0 ? rand(256) : rand(70);
    const cut = rand(4) === 0 ? p.subarray(0, rand(p.length + 1)) : p;
    const s = scan(cut);
    if (!s) continue;
    scanned++;
    const why = agrees(cut, s);
    if (why && disagreements++ < 5) t.fail(`${cut.toString('hex')}: ${why}`);
  }
  t.equal(disagreements, 0, `no disagreement in ${scanned} scanned packets`);
  t.ok(scanned > 3000, `mutations kept the common shape often enough to mean something (${scanned})`);
});
