// Forwarding names outside our zones (--recursor): order and failover, spoofed replies
// ignored, TC handled per transport, answers cached for their TTL, RA set, and no open
// resolver (--allow-recursion).
import t, { type Test } from 'tap';
import { testCatalog } from './helpers/catalog.js';
import { query, type Proto } from './helpers/client.js';
import { FakeUpstream } from './helpers/upstream.js';
import { startServer } from './helpers/server.js';

async function upstream(t: Test, address?: string): Promise<FakeUpstream> {
  const u = new FakeUpstream(address);
  await u.start();
  t.teardown(() => u.stop());
  return u;
}

t.test('out-of-zone names are answered through the recursor, with RA; our zones stay authoritative', async (t) => {
  const up = await upstream(t);
  const srv = await startServer(testCatalog, ['--recursor', `127.0.0.1:${up.port}`]);
  t.teardown(() => srv.stop());
  for (const proto of ['udp', 'tcp'] as Proto[]) {
    const r = await query(srv.port, `www-${proto}.example.com`, 'A', { proto, id: 777 });
    t.equal(r.rcode, 'NOERROR', proto);
    t.equal(r.msg.id, 777, 'the client id');
    t.same(r.answer, [`www-${proto}.example.com. 120 IN A 192.0.2.1`]);
    t.equal(r.flags.ra, true, 'RA');
    t.equal(r.flags.aa, false, 'not authoritative');
    const own = await query(srv.port, 'web.service.consul', 'A', { proto });
    t.equal(own.flags.aa, true, 'our zone: AA');
    t.equal(own.flags.ra, true, 'our zone: RA too, recursion being available');
  }
  const ptr = await query(srv.port, '9.9.9.9.in-addr.arpa', 'PTR');
  t.equal(ptr.rcode, 'NOERROR', 'an unknown PTR is forwarded');
});

t.test('a recursor that times out, SERVFAILs or REFUSEs moves on to the next; all failing is SERVFAIL', async (t) => {
  const dead = await upstream(t);
  dead.behaviour = 'silent';
  const bad = await upstream(t);
  bad.behaviour = 'servfail';
  const good = await upstream(t, '192.0.2.9');
  const srv = await startServer(testCatalog, ['--recursor', `127.0.0.1:${dead.port}`, '--recursor', `127.0.0.1:${bad.port}`, '--recursor', `127.0.0.1:${good.port}`, '--recursor-timeout', '300ms']);
  t.teardown(() => srv.stop());
  const started = Date.now();
  const r = await query(srv.port, 'failover.example.com', 'A', { timeoutMs: 3000 });
  t.same(r.answer, ['failover.example.com. 120 IN A 192.0.2.9'], 'the third answered');
  t.ok(Date.now() - started < 1500, `in ${Date.now() - started} ms`);
  t.equal(bad.queries.udp, 1, 'the SERVFAIL one was asked');
  good.behaviour = 'refused';
  const all = await query(srv.port, 'nobody.example.com', 'A', { timeoutMs: 3000 });
  t.equal(all.rcode, 'SERVFAIL', 'every recursor failed');
});

t.test('spoofed replies (wrong id, wrong question) are ignored', async (t) => {
  const up = await upstream(t, '192.0.2.5');
  up.behaviour = 'spoof-first';
  const srv = await startServer(testCatalog, ['--recursor', `127.0.0.1:${up.port}`]);
  t.teardown(() => srv.stop());
  const r = await query(srv.port, 'target.example.com', 'A');
  t.same(r.answer, ['target.example.com. 120 IN A 192.0.2.5']);
});

t.test('a truncated upstream reply: retried over TCP for a TCP client, passed on with TC to a UDP client', async (t) => {
  const up = await upstream(t);
  up.behaviour = 'truncate';
  const srv = await startServer(testCatalog, ['--recursor', `127.0.0.1:${up.port}`]);
  t.teardown(() => srv.stop());
  const udp = await query(srv.port, 'big.example.com', 'A');
  t.equal(udp.flags.tc, true, 'UDP client sees TC');
  const tcp = await query(srv.port, 'big.example.com', 'A', { proto: 'tcp' });
  t.equal(tcp.flags.tc, false);
  t.equal(tcp.answer.length, 60, 'TCP client gets everything');
  t.equal(up.queries.tcp, 1, 'srvdns asked upstream over TCP');
});

t.test('answers are cached for their TTL, negative ones per RFC 2308', async (t) => {
  const up = await upstream(t);
  const srv = await startServer(testCatalog, ['--recursor', `127.0.0.1:${up.port}`]);
  t.teardown(() => srv.stop());
  await query(srv.port, 'cached.example.com', 'A');
  const again = await query(srv.port, 'CACHED.example.com', 'A', { id: 4321 });
  t.equal(up.queries.udp, 1, 'the second came from the cache');
  t.equal(again.msg.id, 4321);
  t.equal(again.msg.questions?.[0]?.name, 'CACHED.example.com', 'question as asked');
  t.match(again.answer[0], /^cached\.example\.com\. 1[12]\d IN A 192\.0\.2\.1$/, 'TTL counts down from 120');
  up.behaviour = 'nxdomain';
  const nx = await query(srv.port, 'gone.example.com', 'A');
  t.equal(nx.rcode, 'NXDOMAIN');
  await query(srv.port, 'gone.example.com', 'A');
  t.equal(up.queries.udp, 2, 'the NXDOMAIN was cached');
});

t.test('not an open resolver: clients outside --allow-recursion get REFUSED outside our zones', async (t) => {
  const up = await upstream(t);
  const srv = await startServer(testCatalog, ['--recursor', `127.0.0.1:${up.port}`, '--allow-recursion', '10.0.0.0/8']);
  t.teardown(() => srv.stop());
  const r = await query(srv.port, 'www.example.com', 'A');
  t.equal(r.rcode, 'REFUSED');
  t.equal(r.flags.ra, false, 'no RA for this client');
  t.equal(up.queries.udp, 0, 'nothing was forwarded');
  const own = await query(srv.port, 'web.service.consul', 'A');
  t.equal(own.answer.length, 3, 'authoritative answers stay open to all');
});

t.test('names outside our zones in our answers get their addresses through the recursor', async (t) => {
  const up = await upstream(t, '192.0.2.42');
  const srv = await startServer(testCatalog, ['--recursor', `127.0.0.1:${up.port}`]);
  t.teardown(() => srv.stop());
  for (const proto of ['udp', 'tcp'] as Proto[]) {
    const s = await query(srv.port, 'search.service.consul', 'SRV', { proto });
    t.same(s.answer, ['search.service.consul. 0 IN SRV 1 1 9200 search.example.com.'], `${proto}: SRV to the outside hostname`);
    t.same(s.additional, ['search.example.com. 120 IN A 192.0.2.42'], `${proto}: its A in ADDITIONAL, from the recursor`);
    const a = await query(srv.port, 'search.service.consul', 'A', { proto });
    t.same(a.answer, ['search.service.consul. 0 IN CNAME search.example.com.', 'search.example.com. 120 IN A 192.0.2.42'], `${proto}: the CNAME completed`);
  }
  // A client that may not recurse gets the authoritative part only.
  const closed = await startServer(testCatalog, ['--recursor', `127.0.0.1:${up.port}`, '--allow-recursion', '10.0.0.0/8']);
  t.teardown(() => closed.stop());
  const c = await query(closed.port, 'search.service.consul', 'SRV');
  t.same(c.additional, [], 'no recursion, no outside glue');
});

t.test('--recursor-max-concurrent: beyond the cap a forwarded query is SERVFAIL at once, counted; below it, answered again', async (t) => {
  const slow = await upstream(t);
  slow.behaviour = 'silent';
  const srv = await startServer(testCatalog, ['--recursor', `127.0.0.1:${slow.port}`, '--recursor-timeout', '1500ms', '--recursor-max-concurrent', '3', '--metrics', '127.0.0.1:0']);
  t.teardown(() => srv.stop());
  // Three queries the silent recursor holds until the timeout.
  const held = [1, 2, 3].map((i) => query(srv.port, `held${i}.example.com`, 'A', { timeoutMs: 4000 }));
  await new Promise((r) => setTimeout(r, 200));
  t.equal(slow.queries.udp, 3, 'three in flight');
  for (const proto of ['udp', 'tcp'] as Proto[]) {
    const started = Date.now();
    const r = await query(srv.port, `over-${proto}.example.com`, 'A', { proto, timeoutMs: 4000 });
    t.equal(r.rcode, 'SERVFAIL', `${proto}: over the cap`);
    t.ok(Date.now() - started < 500, `${proto}: at once (${Date.now() - started} ms), not after the timeout`);
  }
  t.equal(slow.queries.udp, 3, 'the recursor was not asked beyond the cap');
  const metrics = await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text();
  t.match(metrics, /^srvdns_forward_max_concurrent_rejects_total 2$/m, 'counted');
  await Promise.all(held);
  slow.behaviour = 'answer';
  t.equal((await query(srv.port, 'after.example.com', 'A')).rcode, 'NOERROR', 'the slots are given back');
});
