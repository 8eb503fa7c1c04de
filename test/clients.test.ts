// Real clients against a running srvdns: dig (bind9-dnsutils) and Node's dns.Resolver
// (c-ares, which rejects compressed SRV targets), over UDP and TCP.
import t from 'tap';
import { Resolver } from 'node:dns/promises';
import { testCatalog } from './helpers/catalog.js';
import { dig } from './helpers/dig.js';
import { startServer, type TestServer } from './helpers/server.js';

const big = {
  nodes: [...testCatalog.nodes, { name: 'bignode', address: '10.9.0.1' }],
  services: [
    ...testCatalog.services,
    ...Array.from({ length: 100 }, (_, i) => ({ name: 'big', id: `big-${i}`, node: 'bignode', address: `10.9.1.${i + 1}`, port: 20000 + i })),
  ],
};

let srv: TestServer;
t.before(async () => {
  srv = await startServer(big);
});
t.teardown(() => srv.stop());

const sorted = (a: string[]): string[] => [...a].sort();

t.test('dig: SRV with glue, over UDP and TCP', async (t) => {
  for (const extra of [[], ['+tcp']]) {
    const r = await dig(srv.port, '_web._tcp.service.consul', 'SRV', extra);
    t.equal(r.status, 'NOERROR');
    t.ok(r.flags.includes('aa'), 'authoritative');
    t.same(sorted(r.answer), [
      '_web._tcp.service.consul. 0 IN SRV 1 1 8081 0a000103.addr.dc1.consul.',
      '_web._tcp.service.consul. 0 IN SRV 1 10 8080 node1.node.dc1.consul.',
      '_web._tcp.service.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.',
    ]);
    t.same(sorted(r.additional), [
      '0a000103.addr.dc1.consul. 0 IN A 10.0.1.3',
      'node1.node.dc1.consul. 0 IN A 10.0.0.1',
      'node1.node.dc1.consul. 0 IN TXT "rack=a"',
      'node2.node.dc1.consul. 0 IN A 10.0.0.2',
    ]);
  }
});

t.test('dig: NXDOMAIN and NODATA carry the SOA', async (t) => {
  const nx = await dig(srv.port, 'nope.service.consul', 'A');
  t.equal(nx.status, 'NXDOMAIN');
  t.match(nx.authority[0], /^consul\. 0 IN SOA ns\.consul\. hostmaster\.consul\. \d+ 3600 600 86400 0$/);
  const nodata = await dig(srv.port, 'payments.service.consul', 'A');
  t.equal(nodata.status, 'NOERROR');
  t.same(nodata.answer, []);
  t.equal(nodata.authority.length, 1);
});

t.test('dig: a truncated UDP answer makes dig retry over TCP and get all 100', async (t) => {
  const r = await dig(srv.port, 'big.service.consul', 'SRV', ['+noedns']);
  t.match(r.text, /Truncated, retrying in TCP mode/);
  t.equal(r.answer.length, 100);
  t.equal(r.additional.length, 100);
  const ignored = await dig(srv.port, 'big.service.consul', 'SRV', ['+noedns', '+ignore']);
  t.ok(ignored.flags.includes('tc'), 'TC set on the UDP answer');
  t.ok(ignored.answer.length < 100);
});

t.test('dig: reverse lookup', async (t) => {
  const r = await dig(srv.port, '-x', '10.0.0.2');
  t.same(r.answer, ['2.0.0.10.in-addr.arpa. 0 IN PTR node2.node.dc1.consul.']);
});

t.test("Node's dns.Resolver reads every record type, and falls back to TCP on TC", async (t) => {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${srv.port}`]);
  const srvs = await resolver.resolveSrv('_web._tcp.service.consul');
  t.same(
    srvs.map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`).sort(),
    ['1 1 8081 0a000103.addr.dc1.consul', '1 10 8080 node1.node.dc1.consul', '1 10 8080 node2.node.dc1.consul'],
    'SRV',
  );
  t.same((await resolver.resolve4('web.service.consul')).sort(), ['10.0.0.1', '10.0.0.2', '10.0.1.3'], 'A');
  t.same((await resolver.resolve6('api.service.consul')).sort(), ['fd00::6', 'fd00::7'], 'AAAA');
  t.same(await resolver.resolveTxt('node1.node.consul'), [['rack=a']], 'TXT');
  t.same(await resolver.reverse('10.0.0.1'), ['node1.node.dc1.consul'], 'PTR');
  t.same((await resolver.resolveSoa('consul')).hostmaster, 'hostmaster.consul', 'SOA');
  await t.rejects(resolver.resolve4('nope.service.consul'), { code: 'ENOTFOUND' }, 'NXDOMAIN');
  await t.rejects(resolver.resolve4('payments.service.consul'), { code: 'ENODATA' }, 'NODATA');
  // c-ares retries over TCP on TC: the 100-instance answer arrives whole.
  t.equal((await resolver.resolveSrv('big.service.consul')).length, 100, '100 SRV through TC and TCP');
});
