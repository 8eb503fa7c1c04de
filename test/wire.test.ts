// SPEC §5: what goes over the wire — sizes and truncation, EDNS0, TCP framing, and the
// codes for queries that are wrong.
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import * as packet from 'dns-packet';
import { testCatalog } from './helpers/catalog.js';
import { buildQuery, decodeReply, query, sendTcp, sendUdp, type Proto } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

// 100 instances, each with an address of its own: 100 SRV records and 100 glue records.
const bigCatalog = {
  nodes: [{ name: 'n1', address: '10.1.0.1' }],
  services: Array.from({ length: 100 }, (_, i) => ({
    name: 'big',
    id: `big-${i}`,
    node: 'n1',
    address: `10.2.${i >> 8}.${i & 0xff}`,
    port: 10000 + i,
  })),
};

let srv: TestServer;
t.before(async () => {
  srv = await startServer({ nodes: [...testCatalog.nodes, ...bigCatalog.nodes], services: [...testCatalog.services, ...bigCatalog.services] }, ['--tcp-idle-timeout', '400ms']);
});
t.teardown(() => srv.stop());

/** srvTargetsUncompressed walks a raw reply and tells whether every SRV target is written label by label. */
function srvTargetsUncompressed(raw: Buffer): { srv: number; compressed: number } {
  const skipName = (at: number): number => {
    for (;;) {
      const len = raw[at]!;
      if (len === 0) return at + 1;
      if ((len & 0xc0) === 0xc0) return at + 2;
      at += len + 1;
    }
  };
  let at = skipName(12) + 4;
  const count = raw.readUInt16BE(6);
  let srvCount = 0;
  let compressed = 0;
  for (let i = 0; i < count; i++) {
    at = skipName(at);
    const type = raw.readUInt16BE(at);
    const rdlength = raw.readUInt16BE(at + 8);
    const rdata = at + 10;
    if (type === 33) {
      srvCount++;
      let p = rdata + 6;
      while (raw[p] !== 0) {
        if ((raw[p]! & 0xc0) !== 0) {
          compressed++;
          break;
        }
        p += raw[p]! + 1;
      }
    }
    at = rdata + rdlength;
  }
  return { srv: srvCount, compressed };
}

/** answerOwnersCompressed counts the answer records whose owner name is a compression pointer. */
function answerOwnersCompressed(raw: Buffer): { answers: number; pointers: number } {
  let at = 12;
  while (raw[at] !== 0) at += raw[at]! + 1;
  at += 5;
  const count = raw.readUInt16BE(6);
  let pointers = 0;
  for (let i = 0; i < count; i++) {
    if ((raw[at]! & 0xc0) === 0xc0) {
      pointers++;
      at += 2;
    } else {
      while (raw[at] !== 0 && (raw[at]! & 0xc0) !== 0xc0) at += raw[at]! + 1;
      at += raw[at] === 0 ? 1 : 2;
    }
    at += 8 + 2 + raw.readUInt16BE(at + 8);
  }
  return { answers: count, pointers };
}

function glueMatchesAnswers(t: Test, answer: string[], additional: string[]): void {
  const targets = new Set(answer.map((a) => a.split(' ').pop()));
  const owners = new Set(additional.map((a) => a.split(' ')[0]));
  t.same([...owners].sort(), [...targets].sort(), 'ADDITIONAL holds the glue of exactly the answers left');
}

t.test('a UDP answer without EDNS fits 512 bytes: trimmed, glue consistent, TC set', async (t) => {
  const r = await query(srv.port, '_big._tcp.service.consul', 'SRV');
  t.ok(r.raw.length <= 512, `${r.raw.length} bytes`);
  t.equal(r.flags.tc, true, 'TC');
  t.ok(r.answer.length > 0 && r.answer.length < 100, `${r.answer.length} answers kept`);
  glueMatchesAnswers(t, r.answer, r.additional);
});

t.test('the same over TCP is whole', async (t) => {
  const r = await query(srv.port, '_big._tcp.service.consul', 'SRV', { proto: 'tcp' });
  t.equal(r.flags.tc, false);
  t.equal(r.answer.length, 100);
  t.equal(r.additional.length, 100);
  glueMatchesAnswers(t, r.answer, r.additional);
});

t.test("UDP honours the client's EDNS0 buffer size up to --udp-max-size, 1232 by default", async (t) => {
  for (const size of [1000, 1232, 4096]) {
    const r = await query(srv.port, '_big._tcp.service.consul', 'SRV', { edns: { udpSize: size } });
    const ceiling = Math.min(size, 1232);
    t.ok(r.raw.length <= ceiling, `${size}: ${r.raw.length} <= ${ceiling}`);
    t.ok(r.raw.length > ceiling - 100, `${size}: the room up to ${ceiling} bytes was used`);
    t.equal(r.flags.tc, true, `${size}: TC set, the rest comes over TCP`);
    t.equal((r.opt as unknown as { udpPayloadSize: number }).udpPayloadSize, 1232, `${size}: our OPT advertises 1232`);
    glueMatchesAnswers(t, r.answer, r.additional);
  }
  const small = await query(srv.port, '_big._tcp.service.consul', 'SRV', { edns: { udpSize: 100 } });
  t.ok(small.raw.length <= 512 && small.raw.length > 300, 'a buffer below 512 counts as 512 (RFC 6891 §6.2.5)');
});

t.test('an answer that fits is not truncated', async (t) => {
  const r = await query(srv.port, 'web.service.consul', 'SRV');
  t.equal(r.flags.tc, false);
  t.equal(r.answer.length, 3);
});

t.test('SRV targets are never compressed (RFC 2782)', async (t) => {
  for (const proto of ['udp', 'tcp'] as Proto[]) {
    const r = await query(srv.port, '_big._tcp.service.consul', 'SRV', { proto });
    const { srv: n, compressed } = srvTargetsUncompressed(r.raw);
    t.ok(n > 0, `${proto}: ${n} SRV records`);
    t.equal(compressed, 0, `${proto}: no compressed target`);
    const owners = answerOwnersCompressed(r.raw);
    t.equal(owners.pointers, owners.answers, `${proto}: every answer owner is a pointer to the question`);
  }
});

t.test('--udp-max-size raises or lowers the ceiling, and our OPT says so', async (t) => {
  for (const max of [512, 4096]) {
    const s = await startServer(bigCatalog, ['--udp-max-size', String(max)]);
    t.teardown(() => s.stop());
    for (const proto of ['udp', 'tcp'] as Proto[]) {
      const r = await query(s.port, '_big._tcp.service.consul', 'SRV', { proto, edns: { udpSize: 4096 } });
      t.equal((r.opt as unknown as { udpPayloadSize: number }).udpPayloadSize, max, `${max} ${proto}: advertised`);
      if (proto === 'tcp') {
        t.equal(r.answer.length, 100, `${max} tcp: the whole answer`);
        continue;
      }
      t.ok(r.raw.length <= max && r.raw.length > max - 100, `${max} udp: ${r.raw.length} bytes`);
      t.equal(r.flags.tc, r.answer.length < 100, `${max} udp: TC exactly when records were left out`);
    }
  }
});

t.test('EDNS0: OPT echoed only when asked, DO echoed, unknown options ignored', async (t) => {
  const plain = await query(srv.port, 'web.service.consul', 'A');
  t.equal(plain.opt, undefined, 'no OPT without one in the query');
  const withOpt = await query(srv.port, 'web.service.consul', 'A', {
    edns: { udpSize: 1232, do: true, options: [{ code: 10, data: Buffer.alloc(8, 1) }, { code: 65001, data: Buffer.from('xyz') }] },
  });
  t.equal(withOpt.rcode, 'NOERROR');
  t.equal(withOpt.answer.length, 3, 'answered despite two options, one unknown');
  t.ok(withOpt.opt, 'OPT echoed');
  t.equal((withOpt.opt as unknown as { flags: number }).flags & packet.DNSSEC_OK, packet.DNSSEC_OK, 'DO echoed');
  t.equal((withOpt.opt as unknown as { udpPayloadSize: number }).udpPayloadSize, 1232, 'our buffer size advertised: the 1232 default');
});

t.test('EDNS version above 0 is BADVERS (RFC 6891 §6.1.3)', async (t) => {
  for (const proto of ['udp', 'tcp'] as Proto[]) {
    const r = await query(srv.port, 'web.service.consul', 'A', { proto, edns: { udpSize: 1232, version: 1 } });
    t.equal(r.rcode, 'BADVERS', proto);
    t.ok(r.opt, 'with OPT');
    t.same(r.answer, []);
  }
});

function rawHeader(id: number, flags: number, qd: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  return b;
}

const malformed: { name: string; packet: Buffer; rcode?: string }[] = [
  { name: 'no question', packet: rawHeader(0x1234, 0x0100, 0), rcode: 'FORMERR' },
  {
    name: 'two questions',
    packet: (() => {
      const q = buildQuery('web.service.consul', 'A', { id: 0x1234 });
      q.writeUInt16BE(2, 4);
      return Buffer.concat([q, q.subarray(12)]);
    })(),
    rcode: 'FORMERR',
  },
  { name: 'a question past the end', packet: Buffer.concat([rawHeader(0x1234, 0, 1), Buffer.from([3, 0x77, 0x65])]), rcode: 'FORMERR' },
  { name: 'a compression loop', packet: Buffer.concat([rawHeader(0x1234, 0, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), rcode: 'FORMERR' },
  { name: 'a forward pointer', packet: Buffer.concat([rawHeader(0x1234, 0, 1), Buffer.from([0xc0, 30, 0, 1, 0, 1])]), rcode: 'FORMERR' },
  {
    name: 'two OPT records',
    packet: (() => {
      const q = buildQuery('web.service.consul', 'A', { id: 0x1234, edns: { udpSize: 1232 } });
      const opt = q.subarray(q.length - 11);
      q.writeUInt16BE(2, 10);
      return Buffer.concat([q, opt]);
    })(),
    rcode: 'FORMERR',
  },
  { name: 'an unknown opcode (STATUS)', packet: Buffer.concat([rawHeader(0x1234, 2 << 11, 1), buildQuery('web.service.consul', 'A').subarray(12)]), rcode: 'NOTIMP' },
  { name: 'an UPDATE', packet: Buffer.concat([rawHeader(0x1234, 5 << 11, 1), buildQuery('consul', 'SOA').subarray(12)]), rcode: 'NOTIMP' },
  { name: 'class CH', packet: buildQuery('version.bind', 'TXT', { id: 0x1234, class: 'CH' }), rcode: 'REFUSED' },
  { name: 'a zone transfer', packet: buildQuery('consul', 'AXFR', { id: 0x1234 }), rcode: 'REFUSED' },
];

for (const proto of ['udp', 'tcp'] as Proto[]) {
  t.test(`${proto}: queries that are wrong get the right code and their id back`, async (t) => {
    for (const m of malformed) {
      const raw = proto === 'udp' ? await sendUdp(srv.port, m.packet) : (await sendTcp(srv.port, [m.packet]))[0];
      t.ok(raw, `${m.name}: a reply`);
      const r = decodeReply(raw!);
      t.equal(r.rcode, m.rcode, `${m.name}: ${m.rcode}`);
      t.equal(r.msg.id, 0x1234, `${m.name}: id`);
      t.equal(r.msg.type, 'response', `${m.name}: QR`);
    }
  });
}

t.test('packets that cannot be answered get no reply', async (t) => {
  t.equal(await sendUdp(srv.port, Buffer.from([1, 2, 3]), 300), undefined, 'shorter than a header');
  const response = buildQuery('web.service.consul', 'A');
  response[2]! |= 0x80;
  t.equal(await sendUdp(srv.port, response, 300), undefined, 'QR=1: a response is never answered');
  const r = await query(srv.port, 'web.service.consul', 'A');
  t.equal(r.answer.length, 3, 'still answering');
});

t.test('class ANY is answered like IN', async (t) => {
  const r = await query(srv.port, 'web.service.consul', 'A', { class: 'ANY' });
  t.equal(r.answer.length, 3);
});

t.test('TCP: several queries on one connection, split across writes', async (t) => {
  const names = ['web.service.consul', 'db.service.consul', 'node1.node.consul', 'nope.service.consul'];
  const qs = names.map((n, i) => buildQuery(n, 'A', { id: 100 + i }));
  const replies = (await sendTcp(srv.port, qs)).map(decodeReply);
  t.same(replies.map((r) => r.msg.id).sort(), [100, 101, 102, 103]);
  t.same(replies.find((r) => r.msg.id === 103)?.rcode, 'NXDOMAIN');
  // A frame delivered one byte at a time is still read whole.
  const q = buildQuery('web.service.consul', 'A', { id: 7 });
  const frame = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const s = connect(srv.port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        s.destroy();
        resolve(got.subarray(2));
      }
    });
    s.on('error', reject);
    let i = 0;
    const drip = setInterval(() => {
      s.write(frame.subarray(i, i + 1));
      if (++i >= frame.length) clearInterval(drip);
    }, 2);
  });
  t.equal(decodeReply(reply).answer.length, 3);
});

t.test('TCP: an idle connection is closed after the idle timeout', async (t) => {
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const s = connect(srv.port, '127.0.0.1');
    s.on('close', () => resolve());
    s.on('error', () => undefined);
  });
  const waited = Date.now() - started;
  t.ok(waited >= 300 && waited < 5000, `closed after ${waited} ms (timeout 400ms)`);
});

t.test('TCP: a slow-loris client dribbling one frame is cut off; thousands of idle connections do not stop service', async (t) => {
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const s = connect(srv.port, '127.0.0.1');
    const q = buildQuery('web.service.consul', 'A');
    const frame = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
    let i = 0;
    // One byte every 100 ms: never idle for 400 ms, but the frame would take seconds.
    const drip = setInterval(() => {
      if (i < frame.length - 1) s.write(frame.subarray(i, ++i));
    }, 100);
    s.on('close', () => {
      clearInterval(drip);
      resolve();
    });
    s.on('error', () => undefined);
  });
  const held = Date.now() - started;
  t.ok(held < 1500, `closed after ${held} ms, before the frame completed`);
  const idle = await Promise.all(
    Array.from({ length: 1500 }, () => new Promise<import('node:net').Socket>((resolve) => {
      const s = connect(srv.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('connect', () => resolve(s));
      s.on('close', () => resolve(s));
    })),
  );
  t.equal((await query(srv.port, 'web.service.consul', 'A')).answer.length, 3, 'UDP answers while 1,500 connections sit idle');
  for (const s of idle) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
  t.equal((await query(srv.port, 'web.service.consul', 'A', { proto: 'tcp' })).answer.length, 3, 'TCP answers once they are gone');
});

t.test('ANY is never amplified beyond what the query allows (RFC 8482)', async (t) => {
  for (const size of [512, 1232]) {
    const r = await query(srv.port, '_big._tcp.service.consul', 'ANY', { edns: { udpSize: size } });
    t.ok(r.raw.length <= size, `${r.raw.length} bytes for a ${size}-byte buffer`);
  }
});
