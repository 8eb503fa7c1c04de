// SRV from the client libraries people use: Node's dns.resolveSrv (c-ares), the dns2 npm
// client, Python's dnspython and Go's net.Resolver. Each must get the full weighted
// answer, including a 100-instance service that needs TC and the TCP fallback.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import DNS from 'dns2';
import { testCatalog } from './helpers/catalog.js';
import { startServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);

const catalog = {
  nodes: [...testCatalog.nodes, { name: 'bignode', address: '10.9.0.1' }],
  services: [
    ...testCatalog.services,
    ...Array.from({ length: 100 }, (_, i) => ({ name: 'big', id: `big-${i}`, node: 'bignode', address: `10.9.1.${i + 1}`, port: 20000 + i })),
  ],
};

const WEB = ['1 1 8081 0a000103.addr.dc1.consul', '1 10 8080 node1.node.dc1.consul', '1 10 8080 node2.node.dc1.consul'];
const BIG = Array.from({ length: 100 }, (_, i) => `1 1 ${20000 + i} ${Buffer.from([10, 9, 1, i + 1]).toString('hex')}.addr.dc1.consul`).sort();

type Lookup = (port: number, name: string) => Promise<string[]>;

const goCache = mkdtempSync(join(tmpdir(), 'srvdns-go-'));
t.teardown(() => rmSync(goCache, { recursive: true, force: true }));

const clients: [string, Lookup][] = [
  [
    'Node dns.resolveSrv',
    async (port, name) => {
      const r = new Resolver({ timeout: 3000, tries: 1 });
      r.setServers([`127.0.0.1:${port}`]);
      return (await r.resolveSrv(name)).map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`);
    },
  ],
  [
    'dns2',
    async (port, name) => {
      const dns = new DNS({ nameServers: ['127.0.0.1'], port, recursive: false });
      const res = await dns.resolve(name, 'SRV');
      return res.answers.map((a) => {
        const s = a as unknown as { priority: number; weight: number; port: number; target: string };
        return `${s.priority} ${s.weight} ${s.port} ${s.target.replace(/\.$/, '')}`;
      });
    },
  ],
  [
    'dnspython',
    async (port, name) => (await run('/usr/bin/python3', ['test/clients/srv.py', String(port), name])).stdout.trim().split('\n').map((l) => l.replace(/\.$/, '')),
  ],
  [
    'Go net.Resolver',
    async (port, name) =>
      (await run('go', ['run', 'test/clients/srv.go', String(port), name], { env: { ...process.env, GOCACHE: goCache, GOPATH: join(goCache, 'path'), HOME: goCache, GOFLAGS: '-mod=mod', GO111MODULE: 'off' }, timeout: 120000 })).stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/\.$/, '')),
  ],
];

let srv: TestServer;
t.before(async () => {
  srv = await startServer(catalog);
});
t.teardown(() => srv.stop());

for (const [name, lookup] of clients) {
  t.test(name, async (t) => {
    t.same((await lookup(srv.port, '_web._tcp.service.consul')).sort(), WEB, 'weighted SRV of web');
    t.same((await lookup(srv.port, 'big.service.consul')).sort(), BIG, 'all 100 instances of big, through TC and TCP');
  });
}
