// SPEC §2, row by row: what a client sees for each Consul-style name, over UDP and TCP.
import t from 'tap';
import { testCatalog } from './helpers/catalog.js';
import { query, type Proto } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

const SOA = 'consul. 0 IN SOA ns.consul. hostmaster.consul. SERIAL 3600 600 86400 0';

interface Case {
  name: string;
  q: [string, string];
  rcode?: string;
  answer?: string[];
  additional?: string[];
  /** authority defaults to the SOA for empty answers and nothing otherwise. */
  authority?: string[];
  aa?: boolean;
}

const webSrv = (owner: string): string[] => [
  `${owner}. 0 IN SRV 1 10 8080 node1.node.dc1.consul.`,
  `${owner}. 0 IN SRV 1 10 8080 node2.node.dc1.consul.`,
  `${owner}. 0 IN SRV 1 1 8081 0a000103.addr.dc1.consul.`,
];
const webGlue = [
  'node1.node.dc1.consul. 0 IN A 10.0.0.1',
  'node2.node.dc1.consul. 0 IN A 10.0.0.2',
  '0a000103.addr.dc1.consul. 0 IN A 10.0.1.3',
];
// A target named by its node carries the node's meta in ADDITIONAL (Consul: enable_additional_node_meta_txt).
const node1Meta = 'node1.node.dc1.consul. 0 IN TXT "rack=a"';
const webExtra = [...webGlue, node1Meta];

// The IPv6 reverse name of fd00::6, nibble by nibble (RFC 3596 §2.5).
const v6rev = `${'fd000000000000000000000000000006'.split('').reverse().join('.')}.ip6.arpa`;

const cases: Case[] = [
  // Services: SRV with glue, weights by health, dedup on node+address+port, critical left out.
  { name: 'RFC 2782 SRV lists healthy instances, warning ones with the warning weight', q: ['_web._tcp.service.consul', 'SRV'], answer: webSrv('_web._tcp.service.consul'), additional: webExtra },
  { name: 'SRV on the plain service name', q: ['web.service.consul', 'SRV'], answer: webSrv('web.service.consul'), additional: webExtra },
  { name: 'RFC 2782 form without .service', q: ['_web._tcp.consul', 'SRV'], answer: webSrv('_web._tcp.consul'), additional: webExtra },
  { name: 'RFC 2782 form with a datacenter', q: ['_web._tcp.service.dc1.consul', 'SRV'], answer: webSrv('_web._tcp.service.dc1.consul'), additional: webExtra },
  { name: 'A lists each distinct address once', q: ['web.service.consul', 'A'], answer: ['web.service.consul. 0 IN A 10.0.0.1', 'web.service.consul. 0 IN A 10.0.0.2', 'web.service.consul. 0 IN A 10.0.1.3'] },
  { name: 'ANY gives the addresses', q: ['web.service.consul', 'ANY'], answer: ['web.service.consul. 0 IN A 10.0.0.1', 'web.service.consul. 0 IN A 10.0.0.2', 'web.service.consul. 0 IN A 10.0.1.3'] },
  { name: 'AAAA of an IPv4-only service is NODATA', q: ['web.service.consul', 'AAAA'], answer: [], authority: [SOA] },
  { name: 'MX of a service is NODATA', q: ['web.service.consul', 'MX'], answer: [], authority: [SOA] },
  { name: 'the datacenter form', q: ['web.service.dc1.consul', 'A'], answer: ['web.service.dc1.consul. 0 IN A 10.0.0.1', 'web.service.dc1.consul. 0 IN A 10.0.0.2', 'web.service.dc1.consul. 0 IN A 10.0.1.3'] },
  // Tags.
  { name: 'a tag filters instances', q: ['http.web.service.consul', 'SRV'], answer: ['http.web.service.consul. 0 IN SRV 1 10 8080 node1.node.dc1.consul.', 'http.web.service.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.'], additional: [...webGlue.slice(0, 2), node1Meta] },
  { name: 'a tag with a datacenter', q: ['v2.web.service.dc1.consul', 'SRV'], answer: ['v2.web.service.dc1.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.', 'v2.web.service.dc1.consul. 0 IN SRV 1 1 8081 0a000103.addr.dc1.consul.'], additional: webGlue.slice(1) },
  { name: 'RFC 2782 protocol other than _tcp is a tag', q: ['_web._v2.service.consul', 'SRV'], answer: ['_web._v2.service.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.', '_web._v2.service.consul. 0 IN SRV 1 1 8081 0a000103.addr.dc1.consul.'], additional: webGlue.slice(1) },
  { name: 'labels in front of the service join into one tag', q: ['v1.primary.db.service.consul', 'SRV'], answer: ['v1.primary.db.service.consul. 0 IN SRV 1 1 5432 node1.node.dc1.consul.'], additional: ['node1.node.dc1.consul. 0 IN A 10.0.0.1', node1Meta] },
  { name: 'SRV priorities come from the registry', q: ['db.service.consul', 'SRV'], answer: ['db.service.consul. 0 IN SRV 1 1 5432 node1.node.dc1.consul.', 'db.service.consul. 0 IN SRV 2 1 5432 node2.node.dc1.consul.'], additional: ['node1.node.dc1.consul. 0 IN A 10.0.0.1', 'node2.node.dc1.consul. 0 IN A 10.0.0.2', node1Meta] },
  { name: 'tags match case-insensitively', q: ['CANARY.mixed.service.consul', 'A'], answer: ['CANARY.mixed.service.consul. 0 IN A 10.0.0.2'] },
  // IPv6 and hostnames.
  { name: 'AAAA of an IPv6 service', q: ['api.service.consul', 'AAAA'], answer: ['api.service.consul. 0 IN AAAA fd00::6', 'api.service.consul. 0 IN AAAA fd00::7'] },
  { name: 'A of an IPv6-only service is NODATA', q: ['api.service.consul', 'A'], answer: [], authority: [SOA] },
  { name: 'SRV of an IPv6 service has AAAA glue and 32-digit .addr targets', q: ['api.service.consul', 'SRV'], answer: ['api.service.consul. 0 IN SRV 1 1 9000 node6.node.dc1.consul.', 'api.service.consul. 0 IN SRV 1 1 9001 fd000000000000000000000000000007.addr.dc1.consul.'], additional: ['node6.node.dc1.consul. 0 IN AAAA fd00::6', 'fd000000000000000000000000000007.addr.dc1.consul. 0 IN AAAA fd00::7'] },
  { name: 'SRV to a hostname names it as the target', q: ['search.service.consul', 'SRV'], answer: ['search.service.consul. 0 IN SRV 1 1 9200 search.example.com.'], additional: [] },
  { name: 'A of a hostname service is a CNAME', q: ['search.service.consul', 'A'], answer: ['search.service.consul. 0 IN CNAME search.example.com.'] },
  // Negative answers (RFC 2308): NXDOMAIN for what does not exist, NODATA for what does.
  { name: 'an unknown service is NXDOMAIN', q: ['nope.service.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'an unknown tag is NXDOMAIN', q: ['nope.web.service.consul', 'SRV'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'an unknown datacenter is NXDOMAIN', q: ['web.service.dc2.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'ours: a service with no healthy instance is NODATA', q: ['payments.service.consul', 'SRV'], answer: [], authority: [SOA] },
  { name: 'a tag carried only by critical instances is NODATA', q: ['legacy.web.service.consul', 'A'], answer: [], authority: [SOA] },
  { name: 'a name of no known form is NXDOMAIN', q: ['foo.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'a deep name of no known form is NXDOMAIN', q: ['a.b.c.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  // Empty non-terminals (RFC 8020 §2): names exist below them, so NODATA, never NXDOMAIN.
  ...[
    'service.consul',
    '_tcp.service.consul',
    '_web.consul',
    '_tcp.consul',
    'node.consul',
    'addr.consul',
    'dc1.consul',
    'service.dc1.consul',
    'node.dc1.consul',
    'addr.dc1.consul',
    '_tcp.dc1.consul',
    '_tcp.service.dc1.consul',
    'blue.db.service.consul',
  ].flatMap((name): Case[] => [
    { name: `${name} A is an empty non-terminal: NODATA`, q: [name, 'A'], answer: [], authority: [SOA] },
    { name: `${name} SRV is an empty non-terminal: NODATA`, q: [name, 'SRV'], answer: [], authority: [SOA] },
  ]),
  { name: 'below an unknown datacenter nothing exists', q: ['service.dc2.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'an unknown datacenter is NXDOMAIN', q: ['dc2.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'a suffix of no tag is NXDOMAIN', q: ['lue.db.service.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  // The labelled forms (Consul 1.17 docs): .<dc>.dc, .<peer>.peer, .<ns>.ns, .<partition>.ap.
  { name: 'labelled: a service in a datacenter', q: ['web.service.dc1.dc.consul', 'A'], answer: ['web.service.dc1.dc.consul. 0 IN A 10.0.0.1', 'web.service.dc1.dc.consul. 0 IN A 10.0.0.2', 'web.service.dc1.dc.consul. 0 IN A 10.0.1.3'] },
  { name: 'labelled: RFC 2782 in a datacenter', q: ['_web._tcp.service.dc1.dc.consul', 'SRV'], answer: webSrv('_web._tcp.service.dc1.dc.consul'), additional: webExtra },
  { name: 'labelled: a tag in a datacenter', q: ['v2.web.service.dc1.dc.consul', 'SRV'], answer: ['v2.web.service.dc1.dc.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.', 'v2.web.service.dc1.dc.consul. 0 IN SRV 1 1 8081 0a000103.addr.dc1.consul.'], additional: webGlue.slice(1) },
  { name: 'labelled: a node in a datacenter', q: ['node2.node.dc1.dc.consul', 'A'], answer: ['node2.node.dc1.dc.consul. 0 IN A 10.0.0.2'] },
  { name: 'labelled: an .addr name in a datacenter', q: ['0a000103.addr.dc1.dc.consul', 'A'], answer: ['0a000103.addr.dc1.dc.consul. 0 IN A 10.0.1.3'] },
  { name: 'labelled: an unknown datacenter is NXDOMAIN', q: ['web.service.dc2.dc.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'ours: the default namespace of a registry without namespaces is everything', q: ['web.service.default.ns.consul', 'A'], answer: ['web.service.default.ns.consul. 0 IN A 10.0.0.1', 'web.service.default.ns.consul. 0 IN A 10.0.0.2', 'web.service.default.ns.consul. 0 IN A 10.0.1.3'] },
  { name: 'ours: the default partition too, with a datacenter', q: ['web.service.default.ap.dc1.dc.consul', 'A'], answer: ['web.service.default.ap.dc1.dc.consul. 0 IN A 10.0.0.1', 'web.service.default.ap.dc1.dc.consul. 0 IN A 10.0.0.2', 'web.service.default.ap.dc1.dc.consul. 0 IN A 10.0.1.3'] },
  { name: 'another namespace of a registry without namespaces is NXDOMAIN', q: ['web.service.team.ns.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'a peer of a registry without peers is NXDOMAIN', q: ['web.service.p1.peer.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'a datacenter and a peer together is NXDOMAIN (Consul: one or the other)', q: ['web.service.p1.peer.dc1.dc.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'a locality label given twice is NXDOMAIN', q: ['web.service.dc1.dc.dc1.dc.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'the older form still reads a datacenter named like a label', q: ['web.service.ns.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  ...['dc.consul', 'dc1.dc.consul', 'service.dc1.dc.consul', 'node.dc1.dc.consul', 'peer.consul', 'p1.peer.consul', 'service.p1.peer.consul', 'default.ns.consul', 'service.default.ns.consul', 'ap.consul', 'default.ap.consul', 'default.ap.dc1.dc.consul'].map(
    (name): Case => ({ name: `labelled: ${name} is an empty non-terminal on the way (QNAME minimisation): NODATA`, q: [name, 'A'], answer: [], authority: [SOA] }),
  ),
  { name: 'a registry without Connect has no .connect names', q: ['web.connect.consul', 'SRV'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  { name: 'nor .ingress names', q: ['web.ingress.dc1.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  ...['connect.consul', 'ingress.consul', 'connect.dc1.consul', 'connect.dc1.dc.consul'].map((name): Case => ({ name: `${name} is an empty non-terminal: NODATA`, q: [name, 'A'], answer: [], authority: [SOA] })),
  { name: 'labelled: below an unknown datacenter nothing exists', q: ['dc2.dc.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  // Nodes.
  { name: 'A of a node', q: ['node1.node.consul', 'A'], answer: ['node1.node.consul. 0 IN A 10.0.0.1'] },
  { name: 'a node in a datacenter', q: ['node2.node.dc1.consul', 'A'], answer: ['node2.node.dc1.consul. 0 IN A 10.0.0.2'] },
  { name: 'TXT of a node is its meta', q: ['node1.node.consul', 'TXT'], answer: ['node1.node.consul. 0 IN TXT "rack=a"'] },
  { name: 'ANY of a node is address and meta', q: ['node1.node.consul', 'ANY'], answer: ['node1.node.consul. 0 IN A 10.0.0.1', 'node1.node.consul. 0 IN TXT "rack=a"'] },
  { name: 'an rfc1035- meta key answers its bare value, others key=value', q: ['metanode.node.consul', 'TXT'], answer: ['metanode.node.consul. 0 IN TXT "v=spf1 -all"', 'metanode.node.consul. 0 IN TXT "owner=team-a"'] },
  { name: 'A of a node carries its meta TXT in ADDITIONAL (Consul: enable_additional_node_meta_txt)', q: ['metanode.node.consul', 'A'], answer: ['metanode.node.consul. 0 IN A 10.0.0.9'], additional: ['metanode.node.consul. 0 IN TXT "v=spf1 -all"', 'metanode.node.consul. 0 IN TXT "owner=team-a"'] },
  { name: 'A of a node without meta has nothing in ADDITIONAL', q: ['node2.node.consul', 'A'], answer: ['node2.node.consul. 0 IN A 10.0.0.2'], additional: [] },
  { name: 'TXT of a node without meta is NODATA', q: ['node2.node.consul', 'TXT'], answer: [], authority: [SOA] },
  { name: 'node names match case-insensitively', q: ['node6.node.consul', 'AAAA'], answer: ['node6.node.consul. 0 IN AAAA fd00::6'] },
  { name: 'a node with a hostname address is a CNAME', q: ['hostnode.node.consul', 'A'], answer: ['hostnode.node.consul. 0 IN CNAME host.example.net.'] },
  { name: 'an unknown node is NXDOMAIN', q: ['nonode.node.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  // .addr names.
  { name: 'an 8-digit .addr name is an A', q: ['0a000001.addr.consul', 'A'], answer: ['0a000001.addr.consul. 0 IN A 10.0.0.1'] },
  { name: 'a 32-digit .addr name is an AAAA', q: ['fd000000000000000000000000000006.addr.dc1.consul', 'AAAA'], answer: ['fd000000000000000000000000000006.addr.dc1.consul. 0 IN AAAA fd00::6'] },
  { name: 'AAAA of an IPv4 .addr name is NODATA', q: ['0a000001.addr.consul', 'AAAA'], answer: [], authority: [SOA] },
  { name: 'a .addr name that is not hex is NXDOMAIN', q: ['zz.addr.consul', 'A'], rcode: 'NXDOMAIN', answer: [], authority: [SOA] },
  // Reverse.
  { name: 'PTR of a node address names the node', q: ['1.0.0.10.in-addr.arpa', 'PTR'], answer: ['1.0.0.10.in-addr.arpa. 0 IN PTR node1.node.dc1.consul.'] },
  { name: 'PTR of a service address names the service', q: ['3.1.0.10.in-addr.arpa', 'PTR'], answer: ['3.1.0.10.in-addr.arpa. 0 IN PTR web.service.dc1.consul.'] },
  { name: 'PTR of an IPv6 node address', q: [v6rev, 'PTR'], answer: [`${v6rev}. 0 IN PTR node6.node.dc1.consul.`] },
  { name: 'PTR of an unknown address is REFUSED without recursors', q: ['9.9.9.9.in-addr.arpa', 'PTR'], rcode: 'REFUSED', answer: [], authority: [], aa: false },
  // Apex.
  { name: 'SOA at the apex', q: ['consul', 'SOA'], answer: [SOA] },
  { name: 'NS at the apex, with glue', q: ['consul', 'NS'], answer: ['consul. 0 IN NS ns.consul.'], additional: ['ns.consul. 0 IN A 127.0.0.1'] },
  { name: 'A at the apex is NODATA', q: ['consul', 'A'], answer: [], authority: [SOA] },
  { name: 'the nameserver name has our address', q: ['ns.consul', 'A'], answer: ['ns.consul. 0 IN A 127.0.0.1'] },
  // Case and zones.
  { name: 'owner names echo the question case', q: ['_WEB._Tcp.Service.CONSUL', 'SRV'], answer: webSrv('_WEB._Tcp.Service.CONSUL'), additional: webExtra },
  { name: 'a name outside every zone is REFUSED without recursors', q: ['example.com', 'A'], rcode: 'REFUSED', answer: [], authority: [], aa: false },
];

let srv: TestServer;
t.before(async () => {
  srv = await startServer(testCatalog);
});
t.teardown(() => srv.stop());

for (const proto of ['udp', 'tcp'] as Proto[]) {
  t.test(proto, async (t) => {
    for (const c of cases) {
      t.test(c.name, async (t) => {
        const r = await query(srv.port, c.q[0], c.q[1], { proto });
        t.equal(r.rcode, c.rcode ?? 'NOERROR', 'rcode');
        t.equal(r.flags.aa, c.aa ?? true, 'AA');
        t.equal(r.flags.tc, false, 'TC');
        t.equal(r.msg.questions?.[0]?.name, c.q[0], 'question echoed as asked');
        if (c.answer) t.same([...r.answer].sort(), [...c.answer].sort(), 'answer');
        const authority = c.authority ?? (c.answer && c.answer.length === 0 ? [SOA] : []);
        t.same(r.authority, authority, 'authority');
        if (c.additional) t.same([...r.additional].sort(), [...c.additional].sort(), 'additional');
      });
    }
  });
}
