// Options that change answers: --only-passing, TTLs, --domain / --alt-domain, --datacenter.
import t from 'tap';
import { testCatalog } from './helpers/catalog.js';
import { query, type Proto } from './helpers/client.js';
import { startServer } from './helpers/server.js';

const sorted = (a: string[]): string[] => [...a].sort();

t.test('--only-passing leaves warning instances out', async (t) => {
  const srv = await startServer(testCatalog, ['--only-passing']);
  t.teardown(() => srv.stop());
  for (const proto of ['udp', 'tcp'] as Proto[]) {
    const r = await query(srv.port, 'web.service.consul', 'SRV', { proto });
    t.same(sorted(r.answer), [
      'web.service.consul. 0 IN SRV 1 10 8080 node1.node.dc1.consul.',
      'web.service.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.',
    ], proto);
  }
});

t.test('TTLs: per service exact, prefix* and *, node TTL, SOA minimum', async (t) => {
  const srv = await startServer(testCatalog, [
    '--ttl', '3',
    '--service-ttl', 'web=30',
    '--service-ttl', 'd*=5',
    '--service-ttl', 'db*=6',
    '--node-ttl', '1m',
    '--soa-min-ttl', '9',
  ]);
  t.teardown(() => srv.stop());
  const web = await query(srv.port, 'web.service.consul', 'SRV');
  t.ok(web.answer.every((a) => a.split(' ')[1] === '30'), 'exact name: 30');
  t.ok(web.additional.every((a) => a.split(' ')[1] === '30'), 'glue takes the service TTL');
  const db = await query(srv.port, 'db.service.consul', 'A');
  t.ok(db.answer.every((a) => a.split(' ')[1] === '6'), 'longest prefix wins: 6');
  const api = await query(srv.port, 'api.service.consul', 'AAAA');
  t.ok(api.answer.every((a) => a.split(' ')[1] === '3'), 'no rule: --ttl');
  const node = await query(srv.port, 'node1.node.consul', 'A');
  t.same(node.answer, ['node1.node.consul. 60 IN A 10.0.0.1'], 'node TTL');
  const addr = await query(srv.port, '0a000001.addr.consul', 'A');
  t.same(addr.answer, ['0a000001.addr.consul. 60 IN A 10.0.0.1'], '.addr takes the node TTL');
  const nx = await query(srv.port, 'nope.service.consul', 'A');
  t.same(nx.authority, ['consul. 9 IN SOA ns.consul. hostmaster.consul. SERIAL 3600 600 86400 9'], 'negative TTL');
  t.ok(Math.abs((nx.msg.authorities![0] as { data: { serial: number } }).data.serial - Date.now() / 1000) < 60, 'serial is the current time');
});

t.test('a * rule matches every service', async (t) => {
  const srv = await startServer(testCatalog, ['--service-ttl', '*=12']);
  t.teardown(() => srv.stop());
  const r = await query(srv.port, 'api.service.consul', 'AAAA');
  t.ok(r.answer.length > 0 && r.answer.every((a) => a.split(' ')[1] === '12'));
});

t.test('--domain and --alt-domain: both answer, targets in the zone asked', async (t) => {
  const srv = await startServer(testCatalog, ['--domain', 'sd.example', '--alt-domain', 'Internal.', '--datacenter', 'east']);
  t.teardown(() => srv.stop());
  const r = await query(srv.port, 'web.service.sd.example', 'SRV');
  t.ok(r.answer.some((a) => a.endsWith(' node1.node.east.sd.example.')), 'targets use the domain and datacenter');
  const alt = await query(srv.port, '_web._tcp.service.east.internal', 'SRV');
  t.ok(alt.answer.some((a) => a.endsWith(' node1.node.east.internal.')), 'alt domain answers in its own names');
  const old = await query(srv.port, 'web.service.consul', 'A');
  t.equal(old.rcode, 'REFUSED', 'consul. is no longer ours');
  const otherDc = await query(srv.port, 'web.service.dc1.sd.example', 'A');
  t.equal(otherDc.rcode, 'NXDOMAIN', 'dc1 is not a datacenter here');
  const soa = await query(srv.port, 'internal', 'SOA');
  t.same(soa.answer, ['internal. 0 IN SOA ns.internal. hostmaster.internal. SERIAL 3600 600 86400 0']);
});
