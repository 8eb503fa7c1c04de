// The Consul registry against the Consul API stand-in: the shared conformance suite,
// then DNS answers through a running srvdns as Consul changes, fails and comes back.
import t, { type Test } from 'tap';
import { silentLogger, type Logger } from '../lib/log.js';
import { ConsulRegistry } from '../lib/registry/consul.js';
import { ConsulKvMirror } from '../lib/registry/consul-kv.js';
import { RegistratorRegistry } from '../lib/registry/registrator.js';
import { registrySuite, syncKeys, type CatalogInput } from './conformance/registry-suite.js';
import { buildQuery, flood, query } from './helpers/client.js';
import { ConsulStandin, consulPut } from './helpers/consul-standin.js';
import { eventually, expect } from './helpers/eventually.js';
import { capturingLogger, startServer, type TestServer } from './helpers/server.js';

/** setCatalog makes the stand-in hold exactly this catalog, through /v1/catalog/register and /deregister. */
async function setCatalog(consul: ConsulStandin, c: CatalogInput, previous: CatalogInput | undefined): Promise<void> {
  for (const n of previous?.nodes ?? []) {
    if (!c.nodes.some((m) => m.name === n.name)) await consulPut(consul.url, '/v1/catalog/deregister', { Node: n.name });
  }
  for (const s of previous?.services ?? []) {
    if (!c.services.some((x) => x.id === s.id && x.node === s.node)) await consulPut(consul.url, '/v1/catalog/deregister', { Node: s.node, ServiceID: s.id });
  }
  for (const n of c.nodes) await consulPut(consul.url, '/v1/catalog/register', { Node: n.name, Address: n.address, NodeMeta: n.meta ?? {} });
  for (const s of c.services) {
    const node = c.nodes.find((n) => n.name === s.node)!;
    await consulPut(consul.url, '/v1/catalog/register', {
      Node: node.name,
      Address: node.address,
      NodeMeta: node.meta ?? {},
      Service: { ID: s.id, Service: s.name, Tags: s.tags ?? [], Address: s.address ?? '', Port: s.port, Meta: s.meta ?? {}, Weights: s.weights ? { Passing: s.weights.passing, Warning: s.weights.warning } : undefined },
      Check: { CheckID: `service:${s.id}`, Name: 'health', Status: s.health ?? 'passing', ServiceID: s.id },
    });
  }
}

function registry(consul: ConsulStandin, extra: Partial<ConstructorParameters<typeof ConsulRegistry>[0]> = {}): ConsulRegistry {
  return new ConsulRegistry({
    url: consul.url,
    token: undefined,
    caFile: undefined,
    certFile: undefined,
    keyFile: undefined,
    waitMs: 10000,
    timeoutMs: 1000,
    datacenter: undefined,
    cacheSize: 100,
    cacheIdleMs: 3600000,
    log: silentLogger,
    ...extra,
  });
}

t.test('conformance', async (t) => {
  registrySuite(
    t,
    async () => {
      const consul = new ConsulStandin();
      await consul.start();
      const r = registry(consul);
      await r.start();
      let previous: CatalogInput | undefined;
      return {
        registry: r,
        datacenter: 'dc1',
        set: async (c) => {
          await setCatalog(consul, c, previous);
          previous = c;
        },
        close: async () => {
          await r.stop();
          await consul.stop();
        },
      };
    },
    { health: true, tags: true, weights: true, nodes: true, reverseServices: false },
  );
});

const web = (id: string, node: string, address: string, status: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Node: node,
  Address: address,
  Service: { ID: id, Service: 'web', Tags: ['http', 'v1'], Port: 8080, Weights: { Passing: 10, Warning: 1 }, ...extra },
  Check: { CheckID: `service:${id}`, Name: 'http', Status: status, ServiceID: id },
});

async function withConsul(t: Test, flags: string[] = [], opts: ConstructorParameters<typeof ConsulStandin>[0] = {}, log?: Logger): Promise<{ consul: ConsulStandin; srv: TestServer }> {
  const consul = new ConsulStandin(opts);
  await consul.start();
  await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'passing'), opts.token);
  await consulPut(consul.url, '/v1/catalog/register', web('web-2', 'node2', '10.0.0.2', 'passing'), opts.token);
  const srv = await startServer(null, ['--consul', consul.url, '--consul-wait', '10s', '--consul-timeout', '500ms', ...flags], log);
  t.teardown(async () => {
    await srv.stop();
    await consul.stop();
  });
  return { consul, srv };
}

const srvOf = (port: number, name = '_web._tcp.service.consul'): Promise<string[]> => query(port, name, 'SRV').then((r) => [...r.answer].sort());

t.test('conformance: Registrator\'s consulkv layout, from the KV store', async (t) => {
  const consul = new ConsulStandin();
  await consul.start();
  t.teardown(() => consul.stop());
  let n = 0;
  registrySuite(
    t,
    async () => {
      const prefix = `registrator${n++}`;
      const r = new RegistratorRegistry({
        prefix: `/${prefix}`,
        datacenter: 'dc1',
        log: silentLogger,
        mirror: { name: 'consul-kv', create: (sink, log) => new ConsulKvMirror({ consul: { url: consul.url, token: undefined, caFile: undefined, certFile: undefined, keyFile: undefined, waitMs: 10000, timeoutMs: 1000 }, prefix }, sink, log) },
      });
      await r.start();
      let previous: ReadonlyMap<string, string> = new Map();
      return {
        registry: r,
        datacenter: 'dc1',
        set: async (c) => {
          const next = new Map<string, string>();
          for (const s of c.services) {
            const ip = s.address || c.nodes.find((x) => x.name === s.node)!.address;
            next.set(`${prefix}/${s.name}/${s.id}`, ip.includes(':') ? `[${ip}]:${s.port}` : `${ip}:${s.port}`);
          }
          previous = await syncKeys(previous, next, {
            remove: (k) => fetch(`${consul.url}/v1/kv/${k}`, { method: 'DELETE' }),
            put: (k, v) => fetch(`${consul.url}/v1/kv/${k}`, { method: 'PUT', body: v }),
          });
        },
        close: () => r.stop(),
      };
    },
    { health: false, tags: false, weights: false, nodes: false, reverseServices: true },
  );
});

t.test('a registered service answers; health flips show in the next answer', async (t) => {
  const { consul, srv } = await withConsul(t);
  t.same(await srvOf(srv.port), [
    '_web._tcp.service.consul. 0 IN SRV 1 10 8080 node1.node.dc1.consul.',
    '_web._tcp.service.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.',
  ]);
  const before = Date.now();
  await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'critical'));
  await eventually(async () => expect((await srvOf(srv.port)).length === 1, 'web-1 gone'), 2000, 5);
  t.ok(Date.now() - before < 1000, `critical seen in ${Date.now() - before} ms`);
  await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'warning'));
  await eventually(async () => expect((await srvOf(srv.port)).includes('_web._tcp.service.consul. 0 IN SRV 1 1 8080 node1.node.dc1.consul.'), 'warning weight'));
  t.pass('a warning instance answers with its warning weight');
  // A node-level check counts for every service on the node.
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node2', Address: '10.0.0.2', Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'critical' } });
  await eventually(async () => expect(!(await srvOf(srv.port)).some((a) => a.includes('node2')), 'node2 gone'));
  t.pass('a critical node check removes the node');
});

t.test('unknown names are NXDOMAIN from memory; a new service is found at once', async (t) => {
  const { consul, srv } = await withConsul(t);
  const r = await query(srv.port, 'nope.service.consul', 'A');
  t.equal(r.rcode, 'NXDOMAIN');
  t.equal(consul.requests.get('/v1/health/service/nope'), undefined, 'Consul was not asked');
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node3', Address: '10.0.0.3', Service: { ID: 'db-1', Service: 'db', Port: 5432 } });
  await eventually(async () => expect((await query(srv.port, 'db.service.consul', 'A')).answer.length === 1, 'db answers'), 2000, 5);
  t.pass('registered db answers');
});

t.test('concurrent misses share one request; hits never reach Consul', async (t) => {
  const { consul, srv } = await withConsul(t);
  const replies = await Promise.all(Array.from({ length: 20 }, () => query(srv.port, 'web.service.consul', 'A')));
  t.ok(replies.every((r) => r.answer.length === 2), '20 answers');
  t.equal(consul.requests.get('/v1/health/service/web'), 1, 'one non-blocking read');
  for (let i = 0; i < 20; i++) await query(srv.port, 'web.service.consul', 'A');
  t.equal(consul.requests.get('/v1/health/service/web'), 1, 'still one: answers come from memory');
});

t.test('tags, datacenters, weights and nodes', async (t) => {
  const { consul, srv } = await withConsul(t, [], { otherDatacenters: ['dc2'] });
  await consulPut(consul.url, '/v1/catalog/register', { ...web('web-9', 'far1', '10.9.0.1', 'passing', { Tags: ['v2'] }), Datacenter: 'dc2' });
  t.same(await srvOf(srv.port, 'v1.web.service.consul'), [
    'v1.web.service.consul. 0 IN SRV 1 10 8080 node1.node.dc1.consul.',
    'v1.web.service.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.',
  ]);
  t.same(await srvOf(srv.port, 'web.service.dc2.consul'), ['web.service.dc2.consul. 0 IN SRV 1 10 8080 far1.node.dc2.consul.']);
  t.same((await query(srv.port, 'v1.web.service.dc2.consul', 'A')).rcode, 'NXDOMAIN', 'tag absent in dc2');
  t.same((await query(srv.port, 'web.service.dc9.consul', 'A')).rcode, 'NXDOMAIN', 'unknown datacenter');
  t.same((await query(srv.port, 'node1.node.consul', 'A')).answer, ['node1.node.consul. 0 IN A 10.0.0.1']);
  t.same((await query(srv.port, 'nonode.node.consul', 'A')).rcode, 'NXDOMAIN');
  t.same((await query(srv.port, '1.0.0.10.in-addr.arpa', 'PTR')).answer, ['1.0.0.10.in-addr.arpa. 0 IN PTR node1.node.dc1.consul.']);
});

t.test("the datacenter comes from the agent; a stand-in in 'east' names targets in east", async (t) => {
  const { srv } = await withConsul(t, [], { datacenter: 'east' });
  t.same(await srvOf(srv.port, 'web.service.east.consul'), [
    'web.service.east.consul. 0 IN SRV 1 10 8080 node1.node.east.consul.',
    'web.service.east.consul. 0 IN SRV 1 10 8080 node2.node.east.consul.',
  ]);
});

t.test('maintenance mode and Registrator-style agent registrations', async (t) => {
  const { consul, srv } = await withConsul(t, [], { agentNode: { name: 'host1', address: '10.1.0.1' } });
  // What Registrator's consul backend sends for a container publishing port 80 as 32768.
  await consulPut(consul.url, '/v1/agent/service/register', { ID: 'host1:nginx-1:80', Name: 'nginx', Port: 32768, Address: '10.1.0.1', Tags: ['www'] });
  await eventually(async () => expect((await srvOf(srv.port, 'nginx.service.consul')).length === 1, 'nginx answers'));
  t.same(await srvOf(srv.port, 'www.nginx.service.consul'), ['www.nginx.service.consul. 0 IN SRV 1 1 32768 0a010001.addr.dc1.consul.']);
  await consulPut(consul.url, '/v1/agent/service/maintenance/host1:nginx-1:80?enable=true&reason=deploy', {});
  await eventually(async () => expect((await srvOf(srv.port, 'nginx.service.consul')).length === 0, 'in maintenance'));
  t.equal((await query(srv.port, 'nginx.service.consul', 'A')).rcode, 'NOERROR', 'maintenance is critical: NODATA, the service still exists');
  await consulPut(consul.url, '/v1/agent/service/maintenance/host1:nginx-1:80?enable=false', {});
  await eventually(async () => expect((await srvOf(srv.port, 'nginx.service.consul')).length === 1, 'back'));
  await consulPut(consul.url, '/v1/agent/service/deregister/host1:nginx-1:80', {});
  await eventually(async () => expect((await query(srv.port, 'nginx.service.consul', 'A')).rcode === 'NXDOMAIN', 'gone'));
  t.pass('deregistered: NXDOMAIN');
});

t.test('the index going backwards (snapshot restore) resets the watch: a fresh non-blocking read, then changes', async (t) => {
  const { consul, srv } = await withConsul(t);
  await srvOf(srv.port);
  // The restore must find the watch blocked on its index (one arriving after it would block
  // on an index Consul no longer has, for the whole wait, as it would on Consul).
  await eventually(() => expect((consul.requests.get('/v1/health/service/web blocking') ?? 0) >= 1, 'the watch is blocking'), 2000);
  await new Promise((r) => setTimeout(r, 50));
  const reads = consul.requests.get('/v1/health/service/web') ?? 0;
  consul.resetIndex();
  // The woken query returns a lower index: the watch must read again from 0 (Consul's docs).
  await eventually(() => expect((consul.requests.get('/v1/health/service/web') ?? 0) > reads, 'a non-blocking read after the reset'), 2000);
  await new Promise((r) => setTimeout(r, 100));
  await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'critical'));
  await eventually(async () => expect((await srvOf(srv.port)).length === 1, 'change after the reset seen'));
  t.pass('changes after an index reset are seen');
});

t.test('a zero index does not make the watch spin: it blocks from index 1', async (t) => {
  const { consul, srv } = await withConsul(t);
  await srvOf(srv.port);
  consul.fault = 'zeroIndex';
  // Wake every blocked query so that each returns X-Consul-Index: 0 once.
  consul.resetIndex();
  await new Promise((r) => setTimeout(r, 100));
  const count = (): number => (consul.requests.get('/v1/health/service/web') ?? 0) + (consul.requests.get('/v1/health/service/web blocking') ?? 0);
  const before = count();
  await new Promise((r) => setTimeout(r, 500));
  const during = count() - before;
  t.ok(during <= 1, `${during} requests in 500 ms: the watch waits at index 1`);
  t.ok(consul.blocking >= 1, 'a blocking query is waiting');
  consul.fault = 'none';
  t.equal((await srvOf(srv.port)).length, 2);
});

t.test('500s, garbage and slow responses never empty a good entry', async (t) => {
  const { consul, srv } = await withConsul(t);
  t.equal((await srvOf(srv.port)).length, 2);
  for (const fault of ['status500', 'garbage'] as const) {
    consul.fault = fault;
    await consulPut(consul.url, '/v1/catalog/register', web('web-3', 'node3', '10.0.0.3', 'passing')).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    t.equal((await srvOf(srv.port)).length, 2, `${fault}: the last good answer`);
    consul.fault = 'none';
    await eventually(async () => expect((await srvOf(srv.port)).length === 3, 'recovered'), 5000);
    await consulPut(consul.url, '/v1/catalog/deregister', { Node: 'node3' });
    await eventually(async () => expect((await srvOf(srv.port)).length === 2, 'back to two'), 5000);
  }
  consul.delayMs = 3000;
  const started = Date.now();
  t.equal((await srvOf(srv.port)).length, 2, 'slow Consul: answered from memory');
  t.ok(Date.now() - started < 500, `in ${Date.now() - started} ms`);
  consul.delayMs = 0;
});

t.test('Consul down: stale answers flow, cold misses SERVFAIL fast, and it recovers alone', async (t) => {
  const { consul, srv } = await withConsul(t);
  t.equal((await srvOf(srv.port)).length, 2);
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node3', Address: '10.0.0.3', Service: { ID: 'db-1', Service: 'db', Port: 5432 } });
  await eventually(async () => expect((await query(srv.port, 'node3.node.consul', 'A')).answer.length === 1, 'db and node3 listed'));
  await consul.stop();
  for (let i = 0; i < 5; i++) t.equal((await srvOf(srv.port)).length, 2, `stale answer ${i}`);
  const started = Date.now();
  const cold = await query(srv.port, 'db.service.consul', 'A');
  t.equal(cold.rcode, 'SERVFAIL', 'a cold miss (a listed service never asked for) is SERVFAIL');
  t.same((await query(srv.port, 'node1.node.consul', 'A')).answer, ['node1.node.consul. 0 IN A 10.0.0.1'], 'nodes answer from the node list');
  t.ok(Date.now() - started < 1500, `in ${Date.now() - started} ms`);
  await consul.start();
  await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'critical'));
  await eventually(async () => expect((await srvOf(srv.port)).length === 1, 'fresh again'), 10000);
  t.pass('fresh after Consul came back, without a restart');
  t.equal((await query(srv.port, 'db.service.consul', 'A')).answer.length, 1, 'cold misses work again');
});

t.test('--max-stale counts from when Consul stopped answering: current while a blocking query waits, stale after, then SERVFAIL', async (t) => {
  // A max-stale far shorter than the blocking wait (10s): data is current while Consul is up.
  const { consul, srv } = await withConsul(t, ['--max-stale', '1s', '--metrics', '127.0.0.1:0']);
  t.equal((await srvOf(srv.port)).length, 2);
  await new Promise((r) => setTimeout(r, 1500));
  for (const name of ['_web._tcp.service.consul', 'nope.service.consul']) {
    const r = await query(srv.port, name, 'SRV');
    t.not(r.rcode, 'SERVFAIL', `${name}: Consul up for longer than max-stale, blocking query in flight: still current (${r.rcode})`);
  }
  await consul.stop();
  const down = Date.now();
  // Within max-stale of the outage: the last data, counted as stale.
  await eventually(async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text();
    expect((await srvOf(srv.port)).length === 2 && /^srvdns_stale_answers_total [1-9]/m.test(metrics), 'a stale answer counted');
  }, 900, 20);
  t.ok(Date.now() - down < 1000, 'stale answers flowed within max-stale');
  await eventually(async () => expect((await query(srv.port, 'web.service.consul', 'SRV')).rcode === 'SERVFAIL', 'SERVFAIL'), 3000);
  t.ok(Date.now() - down >= 1000, `SERVFAIL only after max-stale (${Date.now() - down} ms)`);
  t.equal((await query(srv.port, 'nope.service.consul', 'A')).rcode, 'SERVFAIL', 'unknown names too: the service list is as stale');
});

t.test('ACL token sent as X-Consul-Token', async (t) => {
  const { srv } = await withConsul(t, ['--consul-token', 's3cret'], { token: 's3cret' });
  t.equal((await srvOf(srv.port)).length, 2);
});

t.test('ACLs: without a token nothing is seen, and the log says to set --consul-token', async (t) => {
  const { log, lines } = capturingLogger();
  const { srv } = await withConsul(t, [], { token: 's3cret' }, log);
  t.equal((await query(srv.port, 'web.service.consul', 'SRV')).rcode, 'NXDOMAIN', 'the anonymous token lists no services');
  t.ok(lines.some((l) => String(l.msg).includes('set --consul-token')), 'the log says why');
});

t.test('ACLs: a token Consul does not know fails every read (SERVFAIL), logged', async (t) => {
  const { log, lines } = capturingLogger();
  const { srv } = await withConsul(t, ['--consul-token', 'wrong'], { token: 's3cret' }, log);
  t.equal((await query(srv.port, 'web.service.consul', 'SRV')).rcode, 'SERVFAIL');
  t.ok(lines.some((l) => l.msg === 'consul request failed' && String(l.err).includes('403')), `the 403 is logged: ${JSON.stringify(lines.map((l) => [l.msg, l.err]))}`);
});

t.test('ACLs: a limited token sees its services only; the filtering is logged once', async (t) => {
  const { log, lines } = capturingLogger();
  const { consul, srv } = await withConsul(t, ['--consul-token', 'web-only'], { token: 's3cret', readTokens: { 'web-only': ['web'] } }, log);
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node3', Address: '10.0.0.3', Service: { ID: 'db-1', Service: 'db', Port: 5432 } }, 's3cret');
  t.equal((await srvOf(srv.port)).length, 2, 'web answers');
  t.equal((await query(srv.port, 'db.service.consul', 'A')).rcode, 'NXDOMAIN', 'db is filtered out of the service list');
  await eventually(() => expect(lines.some((l) => String(l.msg).includes('may not read')), 'filtering logged'));
  t.equal(lines.filter((l) => String(l.msg).includes('may not read')).length, 1, 'once');
});

t.test('the stand-in follows Consul: an invalid wait is a 400, an unknown token a 403, the anonymous token reads empty lists', async (t) => {
  const consul = new ConsulStandin({ token: 's3cret' });
  await consul.start();
  t.teardown(() => consul.stop());
  await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'passing'), 's3cret');
  const get = (path: string, token?: string): Promise<Response> => fetch(`${consul.url}${path}`, { headers: token ? { 'X-Consul-Token': token } : {} });
  t.equal((await get('/v1/catalog/services?index=1&wait=forever', 's3cret')).status, 400);
  t.equal((await get('/v1/catalog/services', 'nope')).status, 403);
  const anonymous = await get('/v1/catalog/services');
  t.equal(anonymous.status, 200);
  t.same(await anonymous.json(), {});
  t.equal(anonymous.headers.get('x-consul-results-filtered-by-acls'), null, 'not said to the anonymous token');
  t.same(await (await get('/v1/health/service/web')).json(), []);
  t.equal((await get('/v1/agent/self')).status, 403);
  t.same(Object.keys((await (await get('/v1/catalog/services', 's3cret')).json()) as object).sort(), ['consul', 'web']);
});

t.test('hundreds of services: all answer, the cache stays bounded and evicted watches stop', async (t) => {
  const { consul, srv } = await withConsul(t, ['--cache-size', '50']);
  for (let i = 0; i < 300; i++) {
    await consulPut(consul.url, '/v1/catalog/register', { Node: 'many', Address: '10.5.0.1', Service: { ID: `svc${i}`, Service: `svc${i}`, Port: 1000 + i } });
  }
  await eventually(async () => expect((await query(srv.port, 'svc299.service.consul', 'SRV')).answer.length === 1, 'list synced'));
  for (let i = 0; i < 300; i++) {
    const r = await query(srv.port, `svc${i}.service.consul`, 'SRV');
    if (r.answer[0] !== `svc${i}.service.consul. 0 IN SRV 1 1 ${1000 + i} many.node.dc1.consul.`) t.fail(`svc${i}: ${r.answer.join()}`);
  }
  t.pass('300 services answered correctly');
  await eventually(() => expect(consul.blocking <= 50 + 2, `${consul.blocking} blocking queries open`));
  t.ok(consul.blocking <= 52, `${consul.blocking} blocking queries open for a cache of 50`);
});

t.test('a node whose name cannot be a DNS name costs its own record, never the reply', async (t) => {
  const { consul, srv } = await withConsul(t);
  // A 64-octet label: Consul accepts it; RFC 1035 §2.3.4 does not.
  const long = 'n'.repeat(64);
  await consulPut(consul.url, '/v1/catalog/register', web('web-9', long, '10.0.0.9', 'passing'));
  for (const proto of ['udp', 'tcp'] as const) {
    // The first query is a cold miss (the answer waits on Consul), the next ones come from memory.
    for (let i = 0; i < 3; i++) {
      const r = await query(srv.port, `_web._tcp.service.consul`, 'SRV', { proto });
      t.equal(r.rcode, 'NOERROR', `${proto} ${i}: answered`);
      t.same([...r.answer].sort(), ['_web._tcp.service.consul. 0 IN SRV 1 10 8080 node1.node.dc1.consul.', '_web._tcp.service.consul. 0 IN SRV 1 10 8080 node2.node.dc1.consul.'], `${proto} ${i}: the other instances`);
      t.equal(r.additional.length, 2, `${proto} ${i}: their glue`);
    }
  }
  const a = await query(srv.port, 'web.service.consul', 'A');
  t.equal(a.answer.length, 3, 'A records do not name the node: all three answer');
});

t.test('Consul down: failures on the query path log one line a second, not one per query', async (t) => {
  const { log, lines } = capturingLogger();
  const { consul, srv } = await withConsul(t, [], {}, log);
  for (let i = 0; i < 60; i++) await consulPut(consul.url, '/v1/catalog/register', { Node: 'node9', Address: '10.0.0.9', Service: { ID: `s${i}`, Service: `s${i}`, Port: 80 } });
  await eventually(async () => expect((await query(srv.port, 's59.service.consul', 'A')).answer.length === 1, 'listed'));
  await consul.stop();
  const replies = await Promise.all(Array.from({ length: 59 }, (_, i) => query(srv.port, `s${i}.service.consul`, 'A', { timeoutMs: 3000 })));
  t.ok(replies.every((r) => r.rcode === 'SERVFAIL'), '59 cold misses: SERVFAIL');
  const failed = lines.filter((l) => l.msg === 'query failed');
  const requests = lines.filter((l) => l.msg === 'consul request failed');
  t.ok(failed.length >= 1 && failed.length <= 3, `${failed.length} 'query failed' lines for 59 failures`);
  t.ok(requests.length <= 3, `${requests.length} 'consul request failed' lines`);
});

t.test('a flood of random names (nodes, services, tags, datacenters) costs Consul O(1) requests and evicts nothing', async (t) => {
  const { consul, srv } = await withConsul(t, ['--cache-size', '5'], { otherDatacenters: ['dc2'] });
  t.equal((await srvOf(srv.port)).length, 2);
  await query(srv.port, 'web.service.dc2.consul', 'A'); // the dc list and dc2's lists, once
  const total = (): number => [...consul.requests.entries()].filter(([k]) => !k.endsWith(' blocking')).reduce((n, [, v]) => n + v, 0);
  const before = total();
  const healthReads = consul.requests.get('/v1/health/service/web');
  const rand = (): string => Math.random().toString(36).slice(2, 10);
  const forms = [(r: string) => `${r}.node.consul`, (r: string) => `${r}.service.consul`, (r: string) => `${r}.web.service.consul`, (r: string) => `web.service.${r}.consul`, (r: string) => `_${r}._tcp.service.consul`, (r: string) => `${r}.node.dc2.consul`, (r: string) => `${r}.service.dc2.consul`];
  const packets = Array.from({ length: 20000 }, (_, i) => buildQuery(forms[i % forms.length]!(rand()), 'A'));
  const started = Date.now();
  const rcodes = await flood(srv.port, packets);
  const took = Date.now() - started;
  const requests = total() - before;
  t.ok(requests <= 3, `${requests} Consul requests for 20,000 random names in ${took} ms`);
  t.ok((rcodes.get(3) ?? 0) > 19000, `${rcodes.get(3)} NXDOMAIN from memory`);
  t.equal(rcodes.get(2) ?? 0, 0, 'no SERVFAIL');
  t.equal((await srvOf(srv.port)).length, 2, 'web still answers');
  t.equal(consul.requests.get('/v1/health/service/web'), healthReads, 'web was never read again: nothing evicted it');
});

t.test('an answer is never served after its data left the registry cache', async (t) => {
  const cases: [string, string[], (srv: TestServer) => Promise<void>][] = [
    ['--cache-idle: the entry expires while its answer is served from the answer cache', ['--cache-idle', '1s'], async (srv) => {
      for (let i = 0; i < 30; i++) {
        await query(srv.port, '_web._tcp.service.consul', 'SRV');
        await new Promise((r) => setTimeout(r, 50));
      }
    }],
    ['--cache-size: the entry is pushed out by other services', ['--cache-size', '2'], async (srv) => {
      for (const name of ['db', 'cache', 'queue']) await query(srv.port, `${name}.service.consul`, 'A');
    }],
  ];
  for (const [name, flags, drop] of cases) {
    t.test(name, async (t) => {
      const { consul, srv } = await withConsul(t, flags);
      for (const s of ['db', 'cache', 'queue']) await consulPut(consul.url, '/v1/catalog/register', { Node: 'node3', Address: '10.0.0.3', Service: { ID: s, Service: s, Port: 1 } });
      await eventually(async () => expect((await query(srv.port, 'queue.service.consul', 'A', { proto: 'tcp' })).answer.length === 1, 'listed'));
      t.equal((await srvOf(srv.port)).length, 2);
      await drop(srv);
      await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'critical'));
      const changed = Date.now();
      await eventually(async () => expect((await srvOf(srv.port)).length === 1, 'the change is served'), 1000, 10);
      t.ok(Date.now() - changed < 1000, `the change was served after ${Date.now() - changed} ms`);
    });
  }
});

t.test('recovery is prompt: after an outage long enough for backoffs to grow, a change is served within 2 s of Consul coming back', async (t) => {
  const { consul, srv } = await withConsul(t);
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node3', Address: '10.0.0.3', Service: { ID: 'db-1', Service: 'db', Port: 5432 } });
  t.equal((await srvOf(srv.port)).length, 2);
  await eventually(async () => expect((await query(srv.port, 'db.service.consul', 'A')).answer.length === 1, 'db listed and cached'));
  await consul.stop();
  // Six seconds of failures: each watch's backoff ceiling has grown past 16 s.
  await new Promise((r) => setTimeout(r, 6000));
  await consul.start();
  await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'critical'));
  await consulPut(consul.url, '/v1/catalog/deregister', { Node: 'node3', ServiceID: 'db-1' });
  const back = Date.now();
  await eventually(async () => expect((await srvOf(srv.port)).length === 1 && (await query(srv.port, 'db.service.consul', 'A')).rcode === 'NXDOMAIN', 'both changes served'), 2000, 20);
  t.ok(Date.now() - back < 2000, `served ${Date.now() - back} ms after Consul came back`);
});

t.test('a Consul URL with credentials and a token never appear in the logs', async (t) => {
  const { log, lines } = capturingLogger();
  const consul = new ConsulStandin();
  await consul.start();
  const srv = await startServer(null, ['--consul', `http://admin:pw-secret-1@127.0.0.1:${consul.port}`, '--consul-token', 'tok-secret-2', '--consul-timeout', '300ms'], log);
  t.teardown(async () => {
    await srv.stop();
    await consul.stop();
  });
  await consul.stop();
  await query(srv.port, 'web.service.consul', 'A');
  await eventually(() => expect(lines.some((l) => l.msg === 'consul request failed'), 'a failure logged'));
  const text = lines.map((l) => JSON.stringify(l)).join('\n');
  t.notMatch(text, 'pw-secret-1', 'no password');
  t.notMatch(text, 'tok-secret-2', 'no token');
  t.match(text, /http:\/\/\*\*\*@127\.0\.0\.1/, 'the URL is logged with its credentials hidden');
});

t.test('reverse lookups of service addresses follow changes (an index kept as services change, not a scan per query)', async (t) => {
  const { consul, srv } = await withConsul(t);
  await consulPut(consul.url, '/v1/catalog/register', web('web-9', 'node9', '10.0.0.9', 'passing', { Address: '10.9.9.1' }));
  await eventually(async () => expect((await srvOf(srv.port)).length === 3, 'web-9 cached'));
  const ptr = async (ip: string): Promise<string[]> => (await query(srv.port, `${ip.split('.').reverse().join('.')}.in-addr.arpa`, 'PTR')).answer;
  t.same(await ptr('10.9.9.1'), ['1.9.9.10.in-addr.arpa. 0 IN PTR web.service.dc1.consul.']);
  await consulPut(consul.url, '/v1/catalog/register', web('web-9', 'node9', '10.0.0.9', 'passing', { Address: '10.9.9.2' }));
  await eventually(async () => expect((await ptr('10.9.9.2')).length === 1, 'the new address'));
  t.equal((await query(srv.port, '1.9.9.10.in-addr.arpa', 'PTR')).rcode, 'REFUSED', 'the old address is no longer ours (declined, no recursors)');
});

t.test('labelled names: a peer\'s services through ?peer=, watched; .dc labels like the older form', async (t) => {
  const { consul, srv } = await withConsul(t, [], { peers: ['east-peer'], otherDatacenters: ['dc2'] });
  consul.registerInPeer('east-peer', web('web-p1', 'pnode1', '10.8.0.1', 'passing'));
  const peerSrv = ['web.service.east-peer.peer.consul. 0 IN SRV 1 10 8080 0a080001.addr.dc1.consul.'];
  for (const proto of ['udp', 'tcp'] as const) {
    const r = await query(srv.port, 'web.service.east-peer.peer.consul', 'SRV', { proto });
    t.same(r.answer, peerSrv, `${proto}: the peer's instance, its target named by address`);
    t.same(r.additional, ['0a080001.addr.dc1.consul. 0 IN A 10.8.0.1'], `${proto}: glue`);
  }
  t.same((await query(srv.port, '_web._tcp.service.east-peer.peer.consul', 'SRV')).answer.length, 1, 'RFC 2782 form in a peer');
  t.equal((await query(srv.port, 'web.service.nope.peer.consul', 'A')).rcode, 'NXDOMAIN', 'an unknown peer has nothing');
  t.equal((await query(srv.port, 'web.service.consul', 'A')).answer.length, 2, 'the local service is not the peer\'s');
  consul.registerInPeer('east-peer', web('web-p2', 'pnode2', '10.8.0.2', 'passing'));
  await eventually(async () => expect((await query(srv.port, 'web.service.east-peer.peer.consul', 'A')).answer.length === 2, 'second peer instance'), 2000, 5);
  t.pass('a change in the peer shows (watched)');
  t.ok((consul.requests.get('/v1/health/service/web blocking') ?? 0) >= 1, 'by a blocking query');
  await consulPut(consul.url, '/v1/catalog/register', { ...web('web-9', 'far1', '10.9.0.1', 'passing'), Datacenter: 'dc2' });
  t.same(await srvOf(srv.port, 'web.service.dc2.dc.consul'), ['web.service.dc2.dc.consul. 0 IN SRV 1 10 8080 far1.node.dc2.consul.'], 'labelled datacenter');
});

t.test('Consul CE refuses ns= and partition= with 400: such names are NXDOMAIN as in CE\'s DNS, the rest answers, no outage', async (t) => {
  const { log, lines } = capturingLogger();
  const { consul, srv } = await withConsul(t, ['--metrics', '127.0.0.1:0'], {}, log);
  for (const proto of ['udp', 'tcp'] as const) {
    for (const name of ['web.service.default.ns.consul', 'web.service.team.ns.consul', 'web.service.default.ap.consul', '_web._tcp.service.team.ns.dc1.dc.consul']) {
      const r = await query(srv.port, name, 'A', { proto });
      t.equal(r.rcode, 'NXDOMAIN', `${proto} ${name}`);
    }
  }
  t.equal(consul.requests.get('/v1/health/service/web'), 1, 'Consul asked once with ns= (the 400 is remembered); web itself read once more below');
  t.equal((await query(srv.port, 'web.service.consul', 'A')).answer.length, 2, 'the rest answers');
  t.ok(srv.server.registry!.healthy(), 'a 400 is no outage');
  t.equal((await fetch(`http://127.0.0.1:${srv.server.metricsPort}/readyz`)).status, 200, 'ready');
  t.equal(lines.filter((l) => String(l.msg).includes('Consul CE')).length, 1, 'said once in the log');
  // The stand-in is that strict, as CE is (agent/http_ce.go).
  for (const q of ['ns=default', 'partition=default', 'ns=team']) t.equal((await fetch(`${consul.url}/v1/health/service/web?${q}`)).status, 400, q);
  t.equal((await fetch(`${consul.url}/v1/health/service/web?peer=x&dc=dc1`)).status, 400, 'dc and peer together');
});

t.test('.connect and .ingress: sidecar proxies, Connect-native instances and ingress gateways, watched; unknown names cost nothing', async (t) => {
  const { consul, srv } = await withConsul(t);
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node1', Address: '10.0.0.1', Service: { ID: 'web-1-sidecar', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web' } } });
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node5', Address: '10.0.0.5', Service: { ID: 'api-1', Service: 'api', Port: 9443, Connect: { Native: true } } });
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node6', Address: '10.0.0.6', Service: { ID: 'ing-1', Service: 'ing', Kind: 'ingress-gateway', Port: 8443 } });
  await consulPut(consul.url, '/v1/config', { Kind: 'ingress-gateway', Name: 'ing', Listeners: [{ Port: 8080, Protocol: 'http', Services: [{ Name: 'web' }] }] });
  await eventually(async () => expect((await query(srv.port, 'api.service.consul', 'A')).rcode === 'NOERROR', 'api listed'), 2000, 5);
  for (const proto of ['udp', 'tcp'] as const) {
    const connect = await query(srv.port, 'web.connect.consul', 'SRV', { proto });
    t.same(connect.answer, ['web.connect.consul. 0 IN SRV 1 1 21000 node1.node.dc1.consul.'], `${proto}: web's sidecar proxy, not web itself`);
    t.same(connect.additional, ['node1.node.dc1.consul. 0 IN A 10.0.0.1'], `${proto}: glue`);
    t.same((await query(srv.port, 'api.connect.dc1.dc.consul', 'SRV', { proto })).answer, ['api.connect.dc1.dc.consul. 0 IN SRV 1 1 9443 node5.node.dc1.consul.'], `${proto}: a Connect-native service, labelled form`);
    t.same((await query(srv.port, 'web.ingress.consul', 'A', { proto })).answer, ['web.ingress.consul. 0 IN A 10.0.0.6'], `${proto}: the ingress gateway exposing web`);
  }
  t.equal((await query(srv.port, 'api.ingress.consul', 'A')).rcode, 'NXDOMAIN', 'no gateway exposes api');
  const before = consul.requests.get('/v1/health/connect/nope') ?? 0;
  t.equal((await query(srv.port, 'nope.connect.consul', 'A')).rcode, 'NXDOMAIN', 'an unknown service');
  t.equal(consul.requests.get('/v1/health/connect/nope') ?? 0, before, 'answered from the watched list: Consul not asked');
  t.equal((await query(srv.port, 'connect.consul', 'A')).rcode, 'NOERROR', 'connect.consul is an empty non-terminal');
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'node2', Address: '10.0.0.2', Service: { ID: 'web-2-sidecar', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web' } } });
  await eventually(async () => expect((await query(srv.port, 'web.connect.consul', 'SRV')).answer.length === 2, 'second sidecar'), 2000, 5);
  t.pass('a new sidecar shows: watched by a blocking query');
  t.ok((consul.requests.get('/v1/health/connect/web blocking') ?? 0) >= 1, 'the blocking query on /v1/health/connect');
});

t.test('prepared queries: <query>.query names by name or ID, DNS.TTL, tags with !tag, OnlyPassing, failover to another datacenter and back, from memory', async (t) => {
  const { consul, srv } = await withConsul(t, [], { otherDatacenters: ['dc2'] });
  await consulPut(consul.url, '/v1/catalog/register', web('web-3', 'node3', '10.0.0.3', 'warning', { Tags: ['http', 'v2'] }));
  await consulPut(consul.url, '/v1/catalog/register', { ...web('web-9', 'far1', '10.9.0.1', 'passing'), Datacenter: 'dc2' });
  const create = async (def: Record<string, unknown>): Promise<string> => {
    const res = await fetch(`${consul.url}/v1/query`, { method: 'POST', body: JSON.stringify(def) });
    return ((await res.json()) as { ID: string }).ID;
  };
  const id = await create({ Name: 'q-web', Service: { Service: 'web', Failover: { Datacenters: ['dc2'] } }, DNS: { TTL: '10s' } });
  await create({ Name: 'q-v1', Service: { Service: 'web', Tags: ['v1', '!v2'] } });
  await create({ Name: 'q-passing', Service: { Service: 'web', OnlyPassing: true } });
  const sorted = async (name: string, type: string, proto: 'udp' | 'tcp' = 'udp'): Promise<string[]> => [...(await query(srv.port, name, type, { proto })).answer].sort();
  for (const proto of ['udp', 'tcp'] as const) {
    t.same(await sorted('q-web.query.consul', 'A', proto), ['q-web.query.consul. 10 IN A 10.0.0.1', 'q-web.query.consul. 10 IN A 10.0.0.2', 'q-web.query.consul. 10 IN A 10.0.0.3'], `${proto}: by name, with the query's TTL`);
    t.same(await sorted('_q-web._tcp.query.consul', 'SRV', proto), [
      '_q-web._tcp.query.consul. 10 IN SRV 1 1 8080 node3.node.dc1.consul.',
      '_q-web._tcp.query.consul. 10 IN SRV 1 10 8080 node1.node.dc1.consul.',
      '_q-web._tcp.query.consul. 10 IN SRV 1 10 8080 node2.node.dc1.consul.',
    ], `${proto}: RFC 2782 form`);
  }
  t.equal((await query(srv.port, `${id}.query.consul`, 'A')).answer.length, 3, 'by ID');
  t.same(await sorted('q-v1.query.dc1.dc.consul', 'A'), ['q-v1.query.dc1.dc.consul. 0 IN A 10.0.0.1', 'q-v1.query.dc1.dc.consul. 0 IN A 10.0.0.2'], 'tags: v1 required, v2 excluded; labelled form; no DNS.TTL: the service TTL');
  t.same(await sorted('q-passing.query.consul', 'A'), ['q-passing.query.consul. 0 IN A 10.0.0.1', 'q-passing.query.consul. 0 IN A 10.0.0.2'], 'OnlyPassing leaves the warning instance out');
  t.equal((await query(srv.port, 'nope.query.consul', 'A')).rcode, 'NXDOMAIN', 'an unknown query');
  t.equal((await query(srv.port, 'query.consul', 'A')).rcode, 'NOERROR', 'query.consul is an empty non-terminal');
  const executes = [...consul.requests].filter(([k]) => k.startsWith('/v1/query/q-web/execute')).reduce((n, [, c]) => n + c, 0);
  for (let i = 0; i < 10; i++) await query(srv.port, 'q-web.query.consul', 'A');
  t.equal([...consul.requests].filter(([k]) => k.startsWith('/v1/query/q-web/execute')).reduce((n, [, c]) => n + c, 0), executes, 'answers come from memory');
  // Every local instance critical: Consul fails over to dc2, and srvdns hears of it through the service's watch.
  for (const [i, node, ip] of [['web-1', 'node1', '10.0.0.1'], ['web-2', 'node2', '10.0.0.2'], ['web-3', 'node3', '10.0.0.3']] as const) {
    await consulPut(consul.url, '/v1/catalog/register', web(i, node, ip, 'critical'));
  }
  await eventually(async () => expect((await sorted('_q-web._tcp.query.consul', 'SRV')).join() === '_q-web._tcp.query.consul. 10 IN SRV 1 10 8080 far1.node.dc2.consul.', 'failed over'), 3000, 10);
  t.pass('failover: the instance in dc2, its target named in dc2');
  await consulPut(consul.url, '/v1/catalog/register', web('web-1', 'node1', '10.0.0.1', 'passing'));
  await eventually(async () => expect((await sorted('q-web.query.consul', 'A')).join() === 'q-web.query.consul. 10 IN A 10.0.0.1', 'back in dc1'), 3000, 10);
  t.pass('and back when dc1 recovers');
});

t.test('prepared queries with Near "_ip": sorted near the asker, the EDNS Client Subnet address winning over the client\'s, never cached for another asker', async (t) => {
  const { consul, srv } = await withConsul(t);
  await consulPut(consul.url, '/v1/catalog/register', web('web-3', 'node3', '10.0.0.3', 'passing'));
  await fetch(`${consul.url}/v1/query`, { method: 'POST', body: JSON.stringify({ Name: 'q-near', Service: { Service: 'web', Near: '_ip' } }) });
  // ECS option (RFC 7871): family 1, source /32, scope 0, the address.
  const ecs = (ip: string): { code: number; data: Buffer } => ({ code: 8, data: Buffer.from([0, 1, 32, 0, ...ip.split('.').map(Number)]) });
  for (const proto of ['udp', 'tcp'] as const) {
    for (const near of ['10.0.0.2', '10.0.0.3', '10.0.0.1']) {
      const r = await query(srv.port, 'q-near.query.consul', 'A', { proto, edns: { udpSize: 1232, options: [ecs(near)] } });
      t.equal(r.answer[0], `q-near.query.consul. 0 IN A ${near}`, `${proto}: asked from ${near}: ${near} first`);
      t.equal(r.answer.length, 3, `${proto}: every instance, nearest first`);
    }
  }
  const plain = await query(srv.port, 'q-near.query.consul', 'A');
  t.equal(plain.answer.length, 3, 'without ECS the client address (127.0.0.1) sorts');
  t.equal(srv.server.cache.size, 0, 'no per-asker answer entered the answer cache');
});
