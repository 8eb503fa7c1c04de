// Issue 15's name forms, row by row, against the Consul API stand-in over UDP and TCP:
// what a client sees for the labelled forms, peers, Enterprise labels on Consul CE,
// Connect, ingress, prepared queries and node meta, as Consul's DNS docs describe them.
import t from 'tap';
import { query, type Proto } from './helpers/client.js';
import { ConsulStandin, consulPut } from './helpers/consul-standin.js';
import { eventually, expect } from './helpers/eventually.js';
import { startServer, type TestServer } from './helpers/server.js';

const SOA = 'consul. 0 IN SOA ns.consul. hostmaster.consul. SERIAL 3600 600 86400 0';

interface Row {
  name: string;
  q: [string, string];
  rcode?: string;
  answer?: string[];
  additional?: string[];
}

const register = (node: string, address: string, service: Record<string, unknown>, status = 'passing', meta: Record<string, string> = {}): Record<string, unknown> => ({
  Node: node,
  Address: address,
  NodeMeta: meta,
  Service: service,
  Check: { CheckID: `service:${String(service.ID)}`, Name: 'check', Status: status, ServiceID: service.ID },
});

const rows: Row[] = [
  { name: 'older form', q: ['web.service.consul', 'A'], answer: ['web.service.consul. 0 IN A 10.0.0.1', 'web.service.consul. 0 IN A 10.0.0.2'] },
  { name: 'labelled datacenter', q: ['web.service.dc1.dc.consul', 'A'], answer: ['web.service.dc1.dc.consul. 0 IN A 10.0.0.1', 'web.service.dc1.dc.consul. 0 IN A 10.0.0.2'] },
  { name: 'labelled other datacenter', q: ['web.service.dc2.dc.consul', 'SRV'], answer: ['web.service.dc2.dc.consul. 0 IN SRV 1 1 8080 far1.node.dc2.consul.'], additional: ['far1.node.dc2.consul. 0 IN A 10.9.0.1'] },
  { name: 'tag, labelled', q: ['blue.web.service.dc1.dc.consul', 'A'], answer: ['blue.web.service.dc1.dc.consul. 0 IN A 10.0.0.1'] },
  { name: 'RFC 2782, labelled', q: ['_web._tcp.service.dc1.dc.consul', 'SRV'], answer: ['_web._tcp.service.dc1.dc.consul. 0 IN SRV 1 1 8080 node1.node.dc1.consul.', '_web._tcp.service.dc1.dc.consul. 0 IN SRV 1 1 8080 node2.node.dc1.consul.'], additional: ['node1.node.dc1.consul. 0 IN A 10.0.0.1', 'node2.node.dc1.consul. 0 IN A 10.0.0.2', 'node1.node.dc1.consul. 0 IN TXT "v=spf1 -all"', 'node1.node.dc1.consul. 0 IN TXT "rack=a"'] },
  { name: 'node, labelled', q: ['node1.node.dc1.dc.consul', 'A'], answer: ['node1.node.dc1.dc.consul. 0 IN A 10.0.0.1'], additional: ['node1.node.dc1.dc.consul. 0 IN TXT "v=spf1 -all"', 'node1.node.dc1.dc.consul. 0 IN TXT "rack=a"'] },
  { name: 'node TXT: rfc1035- bare, others key=value', q: ['node1.node.consul', 'TXT'], answer: ['node1.node.consul. 0 IN TXT "v=spf1 -all"', 'node1.node.consul. 0 IN TXT "rack=a"'] },
  { name: 'peer', q: ['web.service.p1.peer.consul', 'SRV'], answer: ['web.service.p1.peer.consul. 0 IN SRV 1 1 8080 0a080001.addr.dc1.consul.'], additional: ['0a080001.addr.dc1.consul. 0 IN A 10.8.0.1'] },
  { name: 'unknown peer', q: ['web.service.p9.peer.consul', 'A'], rcode: 'NXDOMAIN' },
  { name: 'namespace on Consul CE: NXDOMAIN, as CE', q: ['web.service.default.ns.consul', 'A'], rcode: 'NXDOMAIN' },
  { name: 'partition on Consul CE: NXDOMAIN, as CE', q: ['web.service.default.ap.dc1.dc.consul', 'A'], rcode: 'NXDOMAIN' },
  { name: 'Connect: the sidecar', q: ['web.connect.consul', 'SRV'], answer: ['web.connect.consul. 0 IN SRV 1 1 21000 node2.node.dc1.consul.'], additional: ['node2.node.dc1.consul. 0 IN A 10.0.0.2'] },
  { name: 'Connect, labelled', q: ['web.connect.dc1.dc.consul', 'A'], answer: ['web.connect.dc1.dc.consul. 0 IN A 10.0.0.2'] },
  { name: 'ingress', q: ['web.ingress.consul', 'A'], answer: ['web.ingress.consul. 0 IN A 10.0.0.6'] },
  { name: 'prepared query', q: ['q-web.query.consul', 'A'], answer: ['q-web.query.consul. 30 IN A 10.0.0.1', 'q-web.query.consul. 30 IN A 10.0.0.2'] },
  { name: 'prepared query, RFC 2782', q: ['_q-web._tcp.query.consul', 'SRV'], answer: ['_q-web._tcp.query.consul. 30 IN SRV 1 1 8080 node1.node.dc1.consul.', '_q-web._tcp.query.consul. 30 IN SRV 1 1 8080 node2.node.dc1.consul.'] },
  { name: 'prepared query in a datacenter, labelled', q: ['q-web.query.dc1.dc.consul', 'A'], answer: ['q-web.query.dc1.dc.consul. 30 IN A 10.0.0.1', 'q-web.query.dc1.dc.consul. 30 IN A 10.0.0.2'] },
  { name: 'prepared query with !tag', q: ['q-notblue.query.consul', 'A'], answer: ['q-notblue.query.consul. 0 IN A 10.0.0.2'] },
  { name: 'unknown prepared query', q: ['nope.query.consul', 'A'], rcode: 'NXDOMAIN' },
  ...['dc.consul', 'dc1.dc.consul', 'service.dc1.dc.consul', 'p1.peer.consul', 'connect.consul', 'ingress.consul', 'query.consul'].map((name): Row => ({ name: `${name}: empty non-terminal`, q: [name, 'A'], answer: [] })),
];

let consul: ConsulStandin;
let srv: TestServer;
t.before(async () => {
  consul = new ConsulStandin({ otherDatacenters: ['dc2'], peers: ['p1'] });
  await consul.start();
  await consulPut(consul.url, '/v1/catalog/register', register('node1', '10.0.0.1', { ID: 'web-1', Service: 'web', Tags: ['blue'], Port: 8080 }, 'passing', { 'rfc1035-spf': 'v=spf1 -all', rack: 'a' }));
  await consulPut(consul.url, '/v1/catalog/register', register('node2', '10.0.0.2', { ID: 'web-2', Service: 'web', Port: 8080 }));
  await consulPut(consul.url, '/v1/catalog/register', register('node2', '10.0.0.2', { ID: 'web-2-sidecar', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web' } }));
  await consulPut(consul.url, '/v1/catalog/register', register('node6', '10.0.0.6', { ID: 'ing-1', Service: 'ing', Kind: 'ingress-gateway', Port: 8443 }));
  await consulPut(consul.url, '/v1/config', { Kind: 'ingress-gateway', Name: 'ing', Listeners: [{ Port: 8080, Protocol: 'http', Services: [{ Name: 'web' }] }] });
  await consulPut(consul.url, '/v1/catalog/register', { ...register('far1', '10.9.0.1', { ID: 'web-9', Service: 'web', Port: 8080 }), Datacenter: 'dc2' });
  consul.registerInPeer('p1', register('pnode', '10.8.0.1', { ID: 'web-p', Service: 'web', Port: 8080 }));
  for (const def of [
    { Name: 'q-web', Service: { Service: 'web' }, DNS: { TTL: '30s' } },
    { Name: 'q-notblue', Service: { Service: 'web', Tags: ['!blue'] } },
  ]) {
    await fetch(`${consul.url}/v1/query`, { method: 'POST', body: JSON.stringify(def) });
  }
  srv = await startServer(null, ['--consul', consul.url, '--consul-wait', '10s', '--consul-timeout', '500ms']);
  await eventually(async () => expect((await query(srv.port, 'ing.service.consul', 'A')).rcode === 'NOERROR', 'catalog listed'), 3000, 10);
});
t.teardown(async () => {
  await srv.stop();
  await consul.stop();
});

for (const proto of ['udp', 'tcp'] as Proto[]) {
  t.test(proto, async (t) => {
    for (const row of rows) {
      t.test(row.name, async (t) => {
        const r = await query(srv.port, row.q[0], row.q[1], { proto });
        t.equal(r.rcode, row.rcode ?? 'NOERROR', 'rcode');
        t.equal(r.flags.aa, true, 'AA');
        if (row.answer) t.same([...r.answer].sort(), [...row.answer].sort(), 'answer');
        if (row.additional) t.same([...r.additional].sort(), [...row.additional].sort(), 'additional');
        if ((row.answer ?? []).length === 0) t.same(r.authority, [SOA], 'negative answers carry the SOA');
      });
    }
  });
}
