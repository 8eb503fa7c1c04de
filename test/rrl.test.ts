// Response rate limiting (--rrl-responses-per-second, --rrl-slip): one source over the
// limit gets at most the limit in full replies plus the slipped truncated ones; TCP is
// never limited; and srvdns is not an amplifier.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { clientPrefix, truncated } from '../lib/server/rrl.js';
import { testCatalog } from './helpers/catalog.js';
import { buildQuery, decodeReply, query } from './helpers/client.js';
import { startServer } from './helpers/server.js';

/** burst sends n queries at once from one socket and sorts the replies that arrive within a second. */
async function burst(port: number, n: number): Promise<{ full: number; truncated: number; bytes: number; took: number }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  // Room for every reply even when the test process is slow to read them (a full parallel
  // run): 400 replies are ~1.6 MB of buffer at ~4 KB each as the kernel counts them.
  socket.setRecvBufferSize(4 << 20); // net.core.rmem_max here; the kernel caps larger asks
  const out = { full: 0, truncated: 0, bytes: 0, took: 0 };
  socket.on('message', (msg: Buffer) => {
    out.bytes += msg.length;
    if ((msg[2]! & 0x02) !== 0 && msg.readUInt16BE(6) === 0) out.truncated++;
    else out.full++;
  });
  const started = Date.now();
  // In batches of 50, so that no socket buffer overflows on the way.
  for (let i = 0; i < n; i++) {
    socket.send(buildQuery('_web._tcp.service.consul', 'SRV', { id: i }), port, '127.0.0.1');
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
  }
  out.took = Date.now() - started;
  await new Promise((r) => setTimeout(r, 1000));
  socket.close();
  return out;
}

t.test('over the limit: at most the limit in full replies, every 2nd limited reply truncated, the rest dropped', async (t) => {
  const srv = await startServer(testCatalog, ['--rrl-responses-per-second', '50', '--rrl-slip', '2', '--metrics', '127.0.0.1:0']);
  t.teardown(() => srv.stop());
  const r = await burst(srv.port, 400);
  // A second's worth of burst, plus what refills while the burst is being sent.
  const allowed = 50 + Math.ceil((r.took / 1000) * 50) + 5;
  t.ok(r.full >= 45 && r.full <= allowed, `${r.full} full replies for 400 queries (limit ${allowed})`);
  const limited = 400 - r.full;
  t.ok(Math.abs(r.truncated - limited / 2) <= 3, `${r.truncated} truncated of ${limited} limited (slip 2)`);
  const metrics = await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text();
  t.match(metrics, /srvdns_rrl_limited_total\{action="slipped"\} \d+/, 'slipped counted');
  t.match(metrics, /srvdns_rrl_limited_total\{action="dropped"\} \d+/, 'dropped counted');
  // TCP is never limited: the client that got TC gets everything.
  for (let i = 0; i < 100; i++) {
    const tcp = await query(srv.port, '_web._tcp.service.consul', 'SRV', { proto: 'tcp' });
    if (tcp.answer.length !== 3) t.fail(`tcp ${i}: ${tcp.answer.length} answers`);
  }
  t.pass('100 TCP queries right after, all answered in full');
});

t.test('off by default: every query answered', async (t) => {
  const srv = await startServer(testCatalog);
  t.teardown(() => srv.stop());
  const r = await burst(srv.port, 400);
  t.equal(r.full, 400, 'all answered');
});

t.test('the truncated reply is header and question only, TC set: smaller than the query', async (t) => {
  const srv = await startServer(testCatalog, ['--rrl-responses-per-second', '1', '--rrl-slip', '1']);
  t.teardown(() => srv.stop());
  await query(srv.port, 'web.service.consul', 'A');
  const q = buildQuery('web.service.consul', 'A');
  const r = await query(srv.port, 'web.service.consul', 'A');
  t.equal(r.flags.tc, true, 'TC');
  t.same([r.answer, r.authority, r.additional], [[], [], []], 'no records');
  t.equal(r.msg.questions?.[0]?.name, 'web.service.consul', 'the question');
  t.ok(r.raw.length <= q.length, `${r.raw.length} bytes for a ${q.length}-byte query`);
  const own = truncated(Buffer.from(decodeReply(r.raw).raw));
  t.equal(own.length, r.raw.length, 'truncating again changes nothing');
});

t.test('client prefixes: /24 for IPv4, /56 for IPv6', async (t) => {
  t.equal(clientPrefix('192.0.2.7'), clientPrefix('192.0.2.200'));
  t.not(clientPrefix('192.0.2.7'), clientPrefix('192.0.3.7'));
  t.equal(clientPrefix('2001:db8:0:ab00::1'), clientPrefix('2001:db8:0:abff:ffff::9'));
  t.not(clientPrefix('2001:db8:0:ab00::1'), clientPrefix('2001:db8:0:ac00::1'));
  t.equal(clientPrefix('::ffff:192.0.2.7'), clientPrefix('192.0.2.9'), 'IPv4-mapped addresses are IPv4');
});
