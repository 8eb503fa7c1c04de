// A strict QNAME-minimising resolver (unbound, RFC 9156) in front of srvdns: it walks
// down one label at a time (`service.consul`, `_tcp.service.consul`, ...), so every
// empty non-terminal on the way must be NODATA (RFC 8020 §2), or the name fails.
import t from 'tap';
import { testCatalog } from './helpers/catalog.js';
import { dig } from './helpers/dig.js';
import { startServer, type TestServer } from './helpers/server.js';
import { Unbound } from './helpers/unbound.js';

let srv: TestServer;
const unbound = new Unbound();
t.before(async () => {
  srv = await startServer(testCatalog);
  await unbound.start(['consul.'], srv.port);
});
t.teardown(async () => {
  await unbound.stop();
  await srv.stop();
});

const cases: { q: [string, string]; status?: string; answer: string[] }[] = [
  { q: ['_web._tcp.service.consul', 'SRV'], answer: ['1 10 8080 node1.node.dc1.consul.', '1 10 8080 node2.node.dc1.consul.', '1 1 8081 0a000103.addr.dc1.consul.'] },
  { q: ['_web._tcp.service.dc1.consul', 'SRV'], answer: ['1 10 8080 node1.node.dc1.consul.', '1 10 8080 node2.node.dc1.consul.', '1 1 8081 0a000103.addr.dc1.consul.'] },
  { q: ['_db._replica.consul', 'SRV'], answer: ['2 1 5432 node2.node.dc1.consul.'] },
  { q: ['web.service.consul', 'A'], answer: ['10.0.0.1', '10.0.0.2', '10.0.1.3'] },
  { q: ['web.service.dc1.consul', 'A'], answer: ['10.0.0.1', '10.0.0.2', '10.0.1.3'] },
  { q: ['v1.primary.db.service.consul', 'A'], answer: ['10.0.0.1'] },
  { q: ['v3.blue.db.service.consul', 'A'], answer: ['10.0.0.2'] },
  { q: ['node1.node.dc1.consul', 'A'], answer: ['10.0.0.1'] },
  { q: ['node2.node.consul', 'A'], answer: ['10.0.0.2'] },
  { q: ['0a000001.addr.dc1.consul', 'A'], answer: ['10.0.0.1'] },
  // The names a minimising resolver asks on the way down, asked directly.
  ...['service.consul', '_tcp.service.consul', 'node.consul', 'addr.consul', 'dc1.consul', 'service.dc1.consul', 'node.dc1.consul', '_tcp.dc1.consul', 'blue.db.service.consul'].map(
    (name): { q: [string, string]; answer: string[] } => ({ q: [name, 'A'], answer: [] }),
  ),
  // What does not exist still fails, below as well.
  { q: ['nope.service.consul', 'A'], status: 'NXDOMAIN', answer: [] },
  { q: ['web.service.dc2.consul', 'A'], status: 'NXDOMAIN', answer: [] },
];

for (const c of cases) {
  t.test(`through unbound: ${c.q[0]} ${c.q[1]}`, async (t) => {
    const r = await dig(unbound.port, c.q[0], c.q[1]);
    t.equal(r.status, c.status ?? 'NOERROR', 'status');
    t.same(r.answer.map((rr) => rr.split(' ').slice(4).join(' ')).sort(), [...c.answer].sort(), 'answer');
  });
}
