// The ZooKeeper registry against a real ZooKeeper 3.8 (Debian's, started from its jars):
// Registrator's and Curator's znodes answer as Consul-style names over UDP and TCP;
// malformed znodes cost only themselves; a writer's session that expires takes its
// instances with it; srvdns's own session expiring, and ZooKeeper killed and restarted,
// keep the last answers and catch up; digest ACLs and a chroot; 10,000 instances load.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import zk from 'node-zookeeper-client';
import { silentLogger } from '../lib/log.js';
import { RegistratorRegistry } from '../lib/registry/registrator.js';
import { ZK_LAYOUTS, type ZkLayoutName } from '../lib/registry/zk-layouts.js';
import { ZkMirror } from '../lib/registry/zookeeper.js';
import { registrySuite, syncKeys, type CatalogInput } from './conformance/registry-suite.js';
import { query, type Proto } from './helpers/client.js';
import { eventually, expect } from './helpers/eventually.js';
import { capturingLogger, startServer, type TestServer } from './helpers/server.js';
import { curatorBody, registratorBody, Writer, ZooKeeperServer } from './helpers/zookeeper.js';

const server = new ZooKeeperServer();
await server.start();
t.teardown(() => server.stop());

const PROTOS: Proto[] = ['udp', 'tcp'];

/** fresh empties ZooKeeper between tests. */
async function fresh(): Promise<void> {
  const admin = await new Writer(server.connect).open();
  for (const base of ['/services', '/registrator', '/tenant', '/conformance']) await admin.removeAll(base);
  admin.close();
}

/** writer opens a session that ends with the test. */
async function writer(t: Test, connect = server.connect, sessionTimeoutMs?: number): Promise<Writer> {
  const w = await new Writer(connect, sessionTimeoutMs).open();
  t.teardown(() => w.close());
  return w;
}

async function srvdns(t: Test, flags: string[], log?: ReturnType<typeof capturingLogger>['log']): Promise<TestServer> {
  const srv = await startServer(null, flags, log);
  t.teardown(() => srv.stop());
  return srv;
}

const sorted = async (srv: TestServer, name: string, type: string, proto: Proto = 'udp'): Promise<string[]> => (await query(srv.port, name, type, { proto })).answer.sort();

/** Cases are a question and the answer records (sorted), or the rcode when there are none. */
type Case = [name: string, type: string, want: string[] | 'NXDOMAIN' | 'NODATA'];

async function table(t: Test, srv: TestServer, cases: Case[]): Promise<void> {
  for (const proto of PROTOS) {
    for (const [name, type, want] of cases) {
      const r = await query(srv.port, name, type, { proto });
      if (typeof want === 'string') {
        t.same([r.rcode, r.answer.length], [want === 'NXDOMAIN' ? 'NXDOMAIN' : 'NOERROR', 0], `${proto} ${name} ${type}: ${want}`);
      } else {
        t.same([r.rcode, ...r.answer.sort()], ['NOERROR', ...[...want].sort()], `${proto} ${name} ${type}`);
      }
    }
  }
}

t.test("registrator layout: Registrator's znodes answer as Consul-style names", async (t) => {
  await fresh();
  // Two containers, each registered by its Registrator's session, byte-for-byte as its zookeeper backend writes them.
  const a = await writer(t);
  const b = await writer(t);
  await a.ephemeral('/registrator/web/10.8.0.1:8080', registratorBody({ name: 'web', ip: '10.8.0.1', port: 8080, privatePort: 80, container: 'c0ffee', tags: ['http', 'v1'], attrs: { env: 'prod' } }));
  await b.ephemeral('/registrator/web/10.8.0.2:8080', registratorBody({ name: 'web', ip: '10.8.0.2', port: 8080, privatePort: 80, tags: ['http', 'v2'] }));
  await b.ephemeral('/registrator/db/10.8.0.2:5432', registratorBody({ name: 'db', ip: '10.8.0.2', port: 5432 }));
  const srv = await srvdns(t, ['--zookeeper', server.connect, '--zk-layout', 'registrator', '--zk-base', '/registrator']);
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 2, 'synced'), 5000);
  await table(t, srv, [
    ['web.service.consul', 'A', ['web.service.consul. 0 IN A 10.8.0.1', 'web.service.consul. 0 IN A 10.8.0.2']],
    ['_web._tcp.service.consul', 'SRV', ['_web._tcp.service.consul. 0 IN SRV 1 1 8080 0a080001.addr.dc1.consul.', '_web._tcp.service.consul. 0 IN SRV 1 1 8080 0a080002.addr.dc1.consul.']],
    ['v1.web.service.consul', 'A', ['v1.web.service.consul. 0 IN A 10.8.0.1']],
    ['_web._v2.service.consul', 'SRV', ['_web._v2.service.consul. 0 IN SRV 1 1 8080 0a080002.addr.dc1.consul.']],
    ['db.service.dc1.consul', 'SRV', ['db.service.dc1.consul. 0 IN SRV 1 1 5432 0a080002.addr.dc1.consul.']],
    ['v3.web.service.consul', 'A', 'NXDOMAIN'],
    ['nope.service.consul', 'A', 'NXDOMAIN'],
  ]);
  const web = (await srv.server.registry!.service('web', 'dc1'))!;
  const first = web.find((i) => i.address === '10.8.0.1')!;
  t.same([first.id, first.node, first.meta, first.tags], ['10.8.0.1:8080', 'c0ffee', { env: 'prod' }, ['http', 'v1']], 'the znode name is the id, ContainerID the node, Attrs the meta');
  // The container stops: Registrator deregisters, or its session ends; the znode goes, so does the answer.
  b.close();
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).join() === 'web.service.consul. 0 IN A 10.8.0.1', 'b gone'), 2000, 5);
  await eventually(async () => expect((await query(srv.port, 'db.service.consul', 'SRV')).rcode === 'NXDOMAIN', 'db gone'), 2000, 5);
  await table(t, srv, [['db.service.consul', 'SRV', 'NXDOMAIN']]);
});

t.test("curator layout: Curator's ServiceInstance JSON, sslPort as tag tls, disabled and OUT_OF_SERVICE instances left out", async (t) => {
  await fresh();
  const w = await writer(t);
  const spring = (status: string): unknown => ({ '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance', id: 'api', name: 'api', metadata: { instance_status: status, zone: 'b' } });
  await w.ephemeral('/services/api/id-1', curatorBody({ name: 'api', id: 'id-1', address: '10.9.0.1', port: 8080, sslPort: 8443, payload: { zone: 'a', weight: 3, nested: { x: 1 } } }));
  // A STATIC instance is a persistent znode: it stays after its writer is gone, and is served.
  await w.persistent('/services/api/id-2', curatorBody({ name: 'api', id: 'id-2', address: 'api2.example.com', port: 8080, serviceType: 'STATIC', payload: spring('UP') }));
  await w.ephemeral('/services/api/id-3', curatorBody({ name: 'api', id: 'id-3', address: '10.9.0.3', port: 8080, payload: spring('OUT_OF_SERVICE') }));
  await w.ephemeral('/services/api/id-4', curatorBody({ name: 'api', id: 'id-4', address: '10.9.0.4', port: 8080, enabled: false }));
  await w.ephemeral('/services/secure/s-1', curatorBody({ name: 'secure', id: 's-1', address: '10.9.1.1', port: null, sslPort: 9443 }));
  const srv = await srvdns(t, ['--zookeeper', server.connect, '--zk-layout', 'curator']);
  await eventually(async () => expect((await sorted(srv, '_api._tcp.service.consul', 'SRV')).length === 2, 'synced'), 5000);
  await table(t, srv, [
    ['_api._tcp.service.consul', 'SRV', ['_api._tcp.service.consul. 0 IN SRV 1 1 8080 0a090001.addr.dc1.consul.', '_api._tcp.service.consul. 0 IN SRV 1 1 8080 api2.example.com.']],
    ['_api._tls.service.consul', 'SRV', ['_api._tls.service.consul. 0 IN SRV 1 1 8443 0a090001.addr.dc1.consul.']],
    ['tls.api.service.consul', 'A', ['tls.api.service.consul. 0 IN A 10.9.0.1']],
    // Only TLS: the plain name exists, with nothing to answer.
    ['_secure._tls.service.consul', 'SRV', ['_secure._tls.service.consul. 0 IN SRV 1 1 9443 0a090101.addr.dc1.consul.']],
    ['secure.service.consul', 'A', 'NODATA'],
    ['_secure._tcp.service.consul', 'SRV', 'NODATA'],
  ]);
  // A of a service with a hostname instance: the IP instance (the hostname one is a CNAME only alone).
  for (const proto of PROTOS) {
    const a = (await query(srv.port, 'api.service.consul', 'A', { proto })).answer;
    t.ok(a.includes('api.service.consul. 0 IN A 10.9.0.1') && !a.some((r) => /10\.9\.0\.[34]/.test(r)), `${proto}: disabled and OUT_OF_SERVICE left out: ${a.join(', ')}`);
  }
  const api = (await srv.server.registry!.service('api', 'dc1'))!;
  t.same(api.find((i) => i.id === 'id-1')!.meta, { zone: 'a', weight: '3' }, "the payload's scalar fields are meta");
  t.same(api.find((i) => i.id === 'id-2')!.meta, { instance_status: 'UP', zone: 'b' }, "Spring Cloud's payload: its metadata are meta");
  // An instance's data changes in place (Curator's updateService): its data watch sees it.
  await w.setData('/services/api/id-1', curatorBody({ name: 'api', id: 'id-1', address: '10.9.0.1', port: 9090, sslPort: 8443 }));
  await eventually(async () => expect((await sorted(srv, '_api._tcp.service.consul', 'SRV')).some((r) => r.includes(' 9090 ')), 'port 9090'), 3000, 5);
  // And again: the watch was re-armed by the read the first change triggered.
  await w.setData('/services/api/id-1', curatorBody({ name: 'api', id: 'id-1', address: '10.9.0.1', port: 9091, sslPort: 8443 }));
  await eventually(async () => expect((await sorted(srv, '_api._tcp.service.consul', 'SRV')).some((r) => r.includes(' 9091 ')), 'port 9091'), 3000, 5);
  w.close();
  await eventually(async () => expect((await sorted(srv, '_api._tcp.service.consul', 'SRV')).join() === '_api._tcp.service.consul. 0 IN SRV 1 1 8080 api2.example.com.', 'ephemeral gone, STATIC stays'), 3000, 5);
  t.pass('the writer gone: its ephemeral instances leave, the STATIC one stays');
});

t.test("a service znode deleted with its last instance and created again (Registrator's deregister, then a new container) is read again", async (t) => {
  await fresh();
  const w = await writer(t);
  await w.ephemeral('/services/other/10.18.0.9:80', registratorBody({ name: 'other', ip: '10.18.0.9', port: 80 }));
  await w.ephemeral('/services/web/10.18.0.1:80', registratorBody({ name: 'web', ip: '10.18.0.1', port: 80 }));
  const srv = await srvdns(t, ['--zookeeper', server.connect]);
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 1, 'synced'), 5000);
  for (let round = 2; round <= 8; round++) {
    // Registrator's Deregister: the instance's znode, then the service's once it has no children.
    await w.remove(`/services/web/10.18.0.${round - 1}:80`);
    await w.remove('/services/web');
    await eventually(async () => expect((await query(srv.port, 'web.service.consul', 'A')).rcode === 'NXDOMAIN', `round ${round}: gone`), 3000, 5);
    await w.ephemeral(`/services/web/10.18.0.${round}:80`, registratorBody({ name: 'web', ip: `10.18.0.${round}`, port: 80 }));
    await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).join() === `web.service.consul. 0 IN A 10.18.0.${round}`, `round ${round}: back`), 3000, 5);
  }
  t.pass('seven times deleted and created again, answered each time');
});

t.test('malformed znodes are skipped, logged once with their path, counted; the rest answers', async (t) => {
  await fresh();
  const w = await writer(t);
  await w.ephemeral('/services/web/good', curatorBody({ name: 'web', id: 'good', address: '10.10.0.1', port: 80 }));
  const bad: [string, string][] = [
    ['/services/web/not-json', 'hello'],
    ['/services/web/no-port', '{"name":"web","id":"no-port","address":"10.10.0.2","port":null,"sslPort":null}'],
    ['/services/web/string-port', '{"name":"web","id":"string-port","address":"10.10.0.3","port":"80"}'],
    ['/services/web/bad-address', '{"name":"web","id":"bad-address","address":"not an address","port":80}'],
    ['/services/web/array', '[1,2]'],
  ];
  for (const [path, data] of bad) await w.ephemeral(path, data);
  // Znodes outside the layout's two levels are ignored: data on a service znode, a third level.
  await w.setData('/services/web', 'service-level data');
  await w.persistent('/services/web/good2/deeper', 'anything');
  const { log, lines } = capturingLogger();
  const srv = await srvdns(t, ['--zookeeper', server.connect, '--zk-layout', 'curator', '--metrics', '127.0.0.1:0'], log);
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 1, 'synced'), 5000);
  await table(t, srv, [['web.service.consul', 'A', ['web.service.consul. 0 IN A 10.10.0.1']]]);
  // A later change rebuilds the catalog: the bad znodes are not logged again.
  await w.ephemeral('/services/web/later', curatorBody({ name: 'web', id: 'later', address: '10.10.0.9', port: 80 }));
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 2, 'later added'), 3000);
  const skipped = lines.filter((l) => l.msg === 'skipping a malformed entry').map((l) => l.key);
  t.same([...skipped].sort(), [...bad.map(([p]) => p), '/services/web/good2'].sort(), 'each logged once, with its path');
  const metrics = await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text();
  const errors = Number(/^srvdns_registry_errors_total\{registry="zookeeper"\} (\d+)/m.exec(metrics)?.[1]);
  t.ok(errors >= bad.length, `counted: srvdns_registry_errors_total ${errors}`);
});

/** Proxy stands between a ZooKeeper client and the server, so a test can cut the network without stopping either. */
class Proxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  /** silent: new connections are accepted and left unanswered. */
  silent = false;
  private readonly net: NetServer;
  port = 0;

  constructor(target: number) {
    this.net = createServer((client) => {
      if (this.cut) return void client.destroy();
      if (this.silent) {
        // Accepted, then never answered nor closed: a server that hangs while starting.
        this.sockets.add(client);
        client.on('error', () => undefined);
        client.on('close', () => this.sockets.delete(client));
        return;
      }
      const upstream = new (client.constructor as typeof Socket)();
      upstream.connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.net.listen(0, '127.0.0.1', () => r()));
    this.port = (this.net.address() as { port: number }).port;
    return `127.0.0.1:${this.port}`;
  }

  /** down drops every connection and refuses new ones: a network partition. */
  down(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  up(): void {
    this.cut = false;
    this.silent = false;
  }

  close(): Promise<void> {
    this.down();
    return new Promise((r) => this.net.close(() => r()));
  }
}

/** proxied puts a Proxy before ZooKeeper for one test; through is the connection string that goes through it. */
async function proxied(t: Test): Promise<{ proxy: Proxy; through: string }> {
  const proxy = new Proxy(server.port);
  const through = await proxy.start();
  t.teardown(() => proxy.close());
  return { proxy, through };
}

t.test("a writer's session that expires takes its instances with it", async (t) => {
  await fresh();
  const { proxy, through } = await proxied(t);
  const stays = await writer(t);
  await stays.ephemeral('/services/web/10.11.0.1:80', registratorBody({ name: 'web', ip: '10.11.0.1', port: 80 }));
  // The dying container's session: 1 s, reaching ZooKeeper only through the proxy.
  const dies = await writer(t, through, 1000);
  await dies.ephemeral('/services/web/10.11.0.2:80', registratorBody({ name: 'web', ip: '10.11.0.2', port: 80 }));
  const srv = await srvdns(t, ['--zookeeper', server.connect]);
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 2, 'both'), 5000);
  // Cut off, not closed: nothing deletes the znode but ZooKeeper's session timeout.
  proxy.down();
  const cut = Date.now();
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).join() === 'web.service.consul. 0 IN A 10.11.0.1', 'expired'), 10000, 20);
  t.ok(Date.now() - cut >= 500, `gone after the session timed out on the server (${Date.now() - cut} ms)`);
});

t.test("srvdns's own session expiring: a new session, everything read again, changes made meanwhile seen", async (t) => {
  await fresh();
  const { proxy, through } = await proxied(t);
  const w = await writer(t);
  await w.ephemeral('/services/web/10.12.0.1:80', registratorBody({ name: 'web', ip: '10.12.0.1', port: 80 }));
  const { log, lines } = capturingLogger();
  const srv = await srvdns(t, ['--zookeeper', through, '--zk-session-timeout', '1s', '--metrics', '127.0.0.1:0'], log);
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 1, 'synced'), 5000);
  proxy.down();
  // Meanwhile: one instance leaves, another comes (no watch of ours can see them).
  await w.remove('/services/web/10.12.0.1:80');
  await w.ephemeral('/services/web/10.12.0.2:80', registratorBody({ name: 'web', ip: '10.12.0.2', port: 80 }));
  await w.ephemeral('/services/new/10.12.0.3:80', registratorBody({ name: 'new', ip: '10.12.0.3', port: 80 }));
  await eventually(() => expect(!srv.server.registry!.healthy(), 'srvdns notices'), 5000);
  t.same(await sorted(srv, 'web.service.consul', 'A'), ['web.service.consul. 0 IN A 10.12.0.1'], 'the last data answers meanwhile');
  const up = /^srvdns_registry_up\{registry="zookeeper"\} (\d)/m;
  t.match(await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text(), up, 'srvdns_registry_up reported');
  t.equal(up.exec(await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text())?.[1], '0', 'srvdns_registry_up 0');
  // Longer than the session timeout: the server expires srvdns's session (well before
  // srvdns would give up on the connection itself, at three session timeouts).
  await new Promise((r) => setTimeout(r, 1600));
  proxy.up();
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).join() === 'web.service.consul. 0 IN A 10.12.0.2', 'caught up'), 15000, 50);
  t.same(await sorted(srv, 'new.service.consul', 'A'), ['new.service.consul. 0 IN A 10.12.0.3'], 'a service created meanwhile');
  t.ok(lines.some((l) => l.why === 'session expired'), 'the expiry was seen as one (not a mere disconnection)');
  // The new session's watches work: a change after it is seen.
  await w.remove('/services/new/10.12.0.3:80');
  await eventually(async () => expect((await query(srv.port, 'new.service.consul', 'A')).answer.length === 0, 'watched again'), 3000);
  t.equal(up.exec(await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text())?.[1], '1', 'srvdns_registry_up 1');
});

t.test('a server that accepts the connection and never answers it: a new session after three session timeouts', async (t) => {
  await fresh();
  const { proxy, through } = await proxied(t);
  const w = await writer(t);
  await w.ephemeral('/services/web/10.17.0.1:80', registratorBody({ name: 'web', ip: '10.17.0.1', port: 80 }));
  proxy.silent = true;
  const { log, lines } = capturingLogger();
  const srv = await srvdns(t, ['--zookeeper', through, '--zk-session-timeout', '1s'], log);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal((await query(srv.port, 'web.service.consul', 'A')).rcode, 'SERVFAIL', 'nothing read yet: SERVFAIL');
  proxy.up();
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 1, 'read through a later session'), 8000, 50);
  t.ok(lines.some((l) => /no connection within the session timeout/.test(String(l.why))), 'the hung attempt was given up');
});

t.test('ZooKeeper killed and restarted mid-run: the last answers throughout, /readyz past --max-stale, caught up after', async (t) => {
  await fresh();
  const w = await writer(t);
  await w.ephemeral('/services/web/10.13.0.1:80', registratorBody({ name: 'web', ip: '10.13.0.1', port: 80 }));
  const srv = await srvdns(t, ['--zookeeper', server.connect, '--zk-session-timeout', '4s', '--max-stale', '2s', '--metrics', '127.0.0.1:0']);
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 1, 'synced'), 5000);
  const ready = async (): Promise<number> => (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/readyz`)).status;
  t.equal(await ready(), 200, 'ready');
  const down = Date.now(); // srvdns may notice before kill() returns
  await server.kill();
  t.teardown(() => server.start()); // up again for the next test, whatever this one asserts
  for (const proto of PROTOS) t.same(await sorted(srv, 'web.service.consul', 'A', proto), ['web.service.consul. 0 IN A 10.13.0.1'], `${proto}: the last data answers`);
  await eventually(async () => expect((await ready()) === 503, '/readyz 503'), 6000, 50);
  t.ok(Date.now() - down >= 2000, `not ready only past --max-stale (${Date.now() - down} ms)`);
  await server.start();
  // A change after the restart, from a new writer (the old one's session may or may not have outlived the outage).
  const after = await writer(t);
  await after.ephemeral('/services/web/10.13.0.2:80', registratorBody({ name: 'web', ip: '10.13.0.2', port: 80 }));
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).includes('web.service.consul. 0 IN A 10.13.0.2'), 'caught up'), 20000, 50);
  t.equal(await ready(), 200, 'ready again');
});

t.test('digest ACLs with --zk-auth, and a chroot in the connection string', async (t) => {
  await fresh();
  const w = await new Writer(server.connect).open();
  t.teardown(() => w.close());
  w.client.addAuthInfo('digest', Buffer.from('app:s3cret'));
  await w.mkdirp('/tenant/services/web');
  // Readable only by the creator's credentials (ZooKeeper's CREATOR_ALL_ACL).
  const creatorOnly = [new zk.ACL(zk.Permission.ALL, new zk.Id('auth', ''))];
  await new Promise<void>((resolve, reject) =>
    w.client.create('/tenant/services/web/10.14.0.1:80', Buffer.from(registratorBody({ name: 'web', ip: '10.14.0.1', port: 80 })), creatorOnly, zk.CreateMode.EPHEMERAL, (err) => (err ? reject(err) : resolve())),
  );
  await w.ephemeral('/tenant/services/web/10.14.0.2:80', registratorBody({ name: 'web', ip: '10.14.0.2', port: 80 }));
  const chroot = `${server.connect}/tenant`;
  const withAuth = await srvdns(t, ['--zookeeper', chroot, '--zk-auth', 'app:s3cret']);
  const { log, lines } = capturingLogger();
  const without = await srvdns(t, ['--zookeeper', chroot], log);
  await eventually(async () => expect((await sorted(withAuth, 'web.service.consul', 'A')).length === 2, 'with auth: both'), 5000);
  await eventually(async () => expect((await sorted(without, 'web.service.consul', 'A')).length === 1, 'without: the open one'), 5000);
  t.same(await sorted(without, 'web.service.consul', 'A'), ['web.service.consul. 0 IN A 10.14.0.2'], 'without credentials: the znode it may not read is skipped');
  t.ok(lines.some((l) => l.path === '/services/web/10.14.0.1:80' && /not allowed/.test(String(l.msg))), 'and logged with its path');
  // Watches under the chroot: a deletion is seen (event paths come without the chroot).
  await w.remove('/tenant/services/web/10.14.0.2:80');
  await eventually(async () => expect((await sorted(withAuth, 'web.service.consul', 'A')).join() === 'web.service.consul. 0 IN A 10.14.0.1', 'removed under the chroot'), 3000);
});

t.test('several sources together: two ZooKeeper layouts and the file registry, one service merged', async (t) => {
  await fresh();
  const w = await writer(t);
  await w.ephemeral('/registrator/web/10.15.0.1:80', registratorBody({ name: 'web', ip: '10.15.0.1', port: 80 }));
  await w.ephemeral('/services/web/c-1', curatorBody({ name: 'web', id: 'c-1', address: '10.15.0.2', port: 80 }));
  const srv = await startServer(
    { nodes: [{ name: 'n1', address: '10.15.0.3' }], services: [{ name: 'web', id: 'f-1', node: 'n1', port: 80 }, { name: 'fileonly', id: 'fo', node: 'n1', port: 81 }] },
    ['--zookeeper', server.connect, '--zk-source', 'layout=registrator,base=/registrator', '--zk-source', 'layout=curator,base=/services', '--metrics', '127.0.0.1:0'],
  );
  t.teardown(() => srv.stop());
  await eventually(async () => expect((await sorted(srv, 'web.service.consul', 'A')).length === 3, 'merged'), 5000);
  await table(t, srv, [
    ['web.service.consul', 'A', ['web.service.consul. 0 IN A 10.15.0.1', 'web.service.consul. 0 IN A 10.15.0.2', 'web.service.consul. 0 IN A 10.15.0.3']],
    ['fileonly.service.consul', 'A', ['fileonly.service.consul. 0 IN A 10.15.0.3']],
    ['n1.node.consul', 'A', ['n1.node.consul. 0 IN A 10.15.0.3']],
  ]);
  const metrics = await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text();
  for (const name of ['file', 'zookeeper-registrator', 'zookeeper-curator']) t.match(metrics, new RegExp(`srvdns_registry_up\\{registry="${name}"\\} 1`), `${name} reported on its own`);
});

t.test('10,000 instances load in under 5 s', async (t) => {
  await fresh();
  const w = await writer(t);
  await w.mkdirp('/services');
  const create = (path: string, data?: string): Promise<void> =>
    new Promise((resolve, reject) => w.client.create(path, Buffer.from(data ?? ''), zk.CreateMode.PERSISTENT, (err) => (err ? reject(err) : resolve())));
  for (let s = 0; s < 100; s++) await create(`/services/svc${s}`);
  // Pipelined on the one session, a service's hundred at a time.
  for (let s = 0; s < 100; s++) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => create(`/services/svc${s}/i${i}`, curatorBody({ name: `svc${s}`, id: `i${i}`, address: `10.${16 + (s >> 6)}.${s & 63}.${i + 1}`, port: 8000 + i }))));
  }
  const started = Date.now();
  const srv = await srvdns(t, ['--zookeeper', server.connect, '--zk-layout', 'curator']);
  await eventually(() => expect(srv.server.sources[0]!.stats().records === 10000, `${srv.server.sources[0]!.stats().records} of 10000`), 10000, 20);
  const took = Date.now() - started;
  t.ok(took < 5000, `10,000 instances served ${took} ms after start`);
  // 100 addresses (1.6 KB) go whole over TCP; UDP sends what fits in 512 bytes.
  t.equal((await query(srv.port, 'svc99.service.consul', 'A', { proto: 'tcp' })).answer.length, 100, 'tcp: the last service answers');
  t.equal((await query(srv.port, 'i42.svc0.service.consul', 'A')).rcode, 'NXDOMAIN', 'ids are not tags');
  t.same(await sorted(srv, '_svc0._tcp.service.consul', 'SRV').then((a) => a.length > 0), true, 'udp: SRV answers');
});

// The registry conformance suite, for both layouts: what the instances mean is the same as
// for every other backend. Each harness writes the catalog as its layout's writer does.
const bodies: Record<ZkLayoutName, (s: CatalogInput['services'][number], ip: string) => string> = {
  registrator: (s, ip) => registratorBody({ name: s.name, ip, port: s.port, tags: s.tags ?? null, attrs: s.meta ?? null }),
  curator: (s, ip) => curatorBody({ name: s.name, id: s.id, address: ip, port: s.port, payload: s.meta ?? null }),
};
for (const layout of ['registrator', 'curator'] as const) {
  t.test(`conformance: ${layout} layout`, async (t) => {
    let n = 0;
    registrySuite(
      t,
      async () => {
        const base = `/conformance/${layout}${n++}`;
        const w = await new Writer(server.connect).open();
        await w.mkdirp(base);
        const connection = { connect: server.connect, auth: undefined, sessionTimeoutMs: 10000 };
        const r = new RegistratorRegistry({
          prefix: base,
          datacenter: 'dc1',
          log: silentLogger,
          layout,
          decode: ZK_LAYOUTS[layout],
          mirror: { name: 'zookeeper', create: (sink, log) => new ZkMirror(connection, base, sink, log) },
        });
        await r.start();
        let previous: ReadonlyMap<string, string> = new Map();
        return {
          registry: r,
          datacenter: 'dc1',
          set: async (c) => {
            const next = new Map<string, string>();
            for (const s of c.services) next.set(`${base}/${s.name}/${s.id}`, bodies[layout](s, s.address || c.nodes.find((x) => x.name === s.node)!.address));
            previous = await syncKeys(previous, next, {
              remove: (path) => w.remove(path),
              // An unchanged znode is left alone; a changed one gets new data, a new one is created.
              put: async (path, body, before) => (before === body ? undefined : before !== undefined ? w.setData(path, body) : w.ephemeral(path, body)),
            });
          },
          close: async () => {
            await r.stop();
            w.close();
          },
        };
      },
      { health: false, tags: layout === 'registrator', weights: false, nodes: false, reverseServices: true },
    );
  });
}
