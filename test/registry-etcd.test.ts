// etcd as a registry against a real etcd: Registrator's layout through the shared
// conformance suite (v3 and v2), then outages, compaction and size.
import t from 'tap';
import { execSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { silentLogger } from '../lib/log.js';
import { EtcdV3Mirror } from '../lib/registry/etcd-v3.js';
import { RegistratorRegistry } from '../lib/registry/registrator.js';
import type { EtcdConnection } from '../lib/registry/etcd-mirror.js';
import { registrySuite, syncKeys, type CatalogInput } from './conformance/registry-suite.js';
import { query } from './helpers/client.js';
import { EtcdServer } from './helpers/etcd.js';
import { freePort } from './helpers/ports.js';
import { eventually, expect } from './helpers/eventually.js';
import { capturingLogger, startOnBothApis, startServer } from './helpers/server.js';

let etcd: EtcdServer;
t.before(async () => {
  etcd = new EtcdServer();
  await etcd.start();
});
t.teardown(() => etcd.stop());

const connection = (): EtcdConnection => ({
  endpoints: [etcd.url],
  user: undefined,
  password: undefined,
  caFile: undefined,
  certFile: undefined,
  keyFile: undefined,
});

/** registratorKeys is a catalog as Registrator's etcd backend writes it: <prefix>/<name>/<id> = ip:port. */
function registratorKeys(prefix: string, c: CatalogInput): Map<string, string> {
  const keys = new Map<string, string>();
  for (const s of c.services) {
    const ip = s.address || c.nodes.find((n) => n.name === s.node)!.address;
    keys.set(`${prefix}/${s.name}/${s.id}`, ip.includes(':') ? `[${ip}]:${s.port}` : `${ip}:${s.port}`);
  }
  return keys;
}

for (const api of ['v3', 'v2'] as const) {
  t.test(`conformance: registrator layout, etcd ${api}`, async (t) => {
    let n = 0;
    registrySuite(
      t,
      async () => {
        const prefix = `/registrator/${api}${n++}`;
        const r = new RegistratorRegistry({ connection: connection(), api, prefix, datacenter: 'dc1', log: silentLogger });
        await r.start();
        let previous: ReadonlyMap<string, string> = new Map();
        return {
          registry: r,
          datacenter: 'dc1',
          set: async (c) => {
            previous = await syncKeys(previous, registratorKeys(prefix, c), {
              remove: (k) => (api === 'v3' ? etcd.v3.delete().key(k).exec() : etcd.v2Delete(k)),
              put: (k, v) => (api === 'v3' ? etcd.v3.put(k).value(v).exec() : etcd.v2Set(k, v, 30)),
            });
          },
          close: () => r.stop(),
        };
      },
      { health: false, tags: false, weights: false, nodes: false, reverseServices: true },
    );
  });
}

t.test("Registrator's keys answer as Consul-style names; TTL expiry removes an instance", async (t) => {
  const srv = await startServer(null, ['--etcd', etcd.url, '--etcd-api', 'v2', '--etcd-layout', 'registrator', '--etcd-prefix', '/services']);
  t.teardown(() => srv.stop());
  // What `registrator etcd://host:2379/services` writes for two containers (refreshed with a TTL).
  await etcd.v2Set('/services/nginx-80/host1:nginx_1:80', '10.1.0.1:32768', 60);
  await etcd.v2Set('/services/nginx-80/host2:nginx_2:80', '[fd00::2]:32769', 1);
  await etcd.v2Set('/services/nginx-80/host3:bad:80', 'not-an-address', 60);
  const srvOf = async (): Promise<string[]> => (await query(srv.port, '_nginx-80._tcp.service.consul', 'SRV')).answer.sort();
  await eventually(async () => expect((await srvOf()).length === 2, 'two instances'));
  t.same(await srvOf(), [
    '_nginx-80._tcp.service.consul. 0 IN SRV 1 1 32768 0a010001.addr.dc1.consul.',
    '_nginx-80._tcp.service.consul. 0 IN SRV 1 1 32769 fd000000000000000000000000000002.addr.dc1.consul.',
  ], 'the malformed key is skipped');
  t.same((await query(srv.port, 'nginx-80.service.consul', 'AAAA')).answer, ['nginx-80.service.consul. 0 IN AAAA fd00::2']);
  await eventually(async () => expect((await srvOf()).length === 1, 'the unrefreshed key expired'), 5000);
  t.pass('an expired key is a gone instance');
});

t.test('etcd killed mid-run: the last copy answers; restarted: fresh again without a restart', async (t) => {
  const { srv3, srv2 } = await startOnBothApis(t, etcd.url);
  await etcd.v3.put('/skydns/local/skydns/outage/1').value('{"host":"10.3.0.1"}');
  await etcd.v2Set('/skydns/local/skydns/outage/1', '{"host":"10.3.0.1"}');
  const a = async (port: number): Promise<string> => (await query(port, 'outage.skydns.local', 'A')).answer.map((x) => x.split(' ').pop()).sort().join();
  await eventually(async () => expect((await a(srv3.port)) === '10.3.0.1' && (await a(srv2.port)) === '10.3.0.1', 'before'));
  await etcd.kill();
  for (let i = 0; i < 3; i++) {
    t.equal(await a(srv3.port), '10.3.0.1', 'v3: stale copy answers');
    t.equal(await a(srv2.port), '10.3.0.1', 'v2: stale copy answers');
    await new Promise((r) => setTimeout(r, 200));
  }
  await etcd.start();
  await etcd.v3.put('/skydns/local/skydns/outage/2').value('{"host":"10.3.0.2"}');
  await etcd.v2Set('/skydns/local/skydns/outage/2', '{"host":"10.3.0.2"}');
  await eventually(async () => expect((await a(srv3.port)) === '10.3.0.1,10.3.0.2', `v3 fresh: ${await a(srv3.port)}`), 15000);
  await eventually(async () => expect((await a(srv2.port)) === '10.3.0.1,10.3.0.2', `v2 fresh: ${await a(srv2.port)}`), 15000);
  t.pass('both recovered');
});

// Wide enough that a loaded machine (a full parallel test run) still sees the stale window.
const MAX_STALE = 3000;
t.test('--max-stale: etcd gone, the last copy answers (counted stale) for max-stale, then SERVFAIL; back, fresh again', async (t) => {
  const flags = ['--max-stale', `${MAX_STALE}ms`, '--metrics', '127.0.0.1:0'];
  const srv3 = await startServer(null, ['--etcd', etcd.url, ...flags]);
  const srv2 = await startServer(null, ['--etcd', etcd.url, '--etcd-api', 'v2', ...flags]);
  t.teardown(async () => {
    await srv3.stop();
    await srv2.stop();
  });
  await etcd.v3.put('/skydns/local/skydns/stale/1').value('{"host":"10.4.0.1"}');
  await etcd.v2Set('/skydns/local/skydns/stale/1', '{"host":"10.4.0.1"}');
  for (const srv of [srv3, srv2]) await eventually(async () => expect((await query(srv.port, 'stale.skydns.local', 'A')).answer.length === 1, 'before'));
  // Following etcd for longer than max-stale is current, not stale.
  await new Promise((r) => setTimeout(r, MAX_STALE + 200));
  for (const srv of [srv3, srv2]) t.equal((await query(srv.port, 'stale.skydns.local', 'A')).rcode, 'NOERROR', 'current while the watch is open');
  await etcd.kill();
  const down = Date.now();
  for (const [api, srv] of [['v3', srv3], ['v2', srv2]] as const) {
    await eventually(async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text();
      expect((await query(srv.port, 'stale.skydns.local', 'A')).answer.length === 1 && /^srvdns_stale_answers_total [1-9]/m.test(metrics), `${api}: a stale answer counted`);
    }, MAX_STALE - 500, 20);
  }
  t.ok(Date.now() - down < MAX_STALE, 'both answered stale within max-stale');
  for (const [api, srv] of [['v3', srv3], ['v2', srv2]] as const) {
    await eventually(async () => expect((await query(srv.port, 'stale.skydns.local', 'A')).rcode === 'SERVFAIL', `${api}: SERVFAIL`), MAX_STALE + 3000);
    t.ok(Date.now() - down >= MAX_STALE, `${api}: SERVFAIL only after max-stale (${Date.now() - down} ms)`);
  }
  await etcd.start();
  for (const [api, srv] of [['v3', srv3], ['v2', srv2]] as const) {
    await eventually(async () => expect((await query(srv.port, 'stale.skydns.local', 'A')).answer.length === 1, `${api}: current again`), 15000);
  }
  t.pass('both answer again once etcd is back');
});

t.test('a watch whose revision was compacted away reads everything again', async (t) => {
  const lines: string[] = [];
  const log = pino(new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }));
  const keys = new Map<string, string>();
  const mirror = new EtcdV3Mirror(connection(), '/compact/', { reset: (e) => { keys.clear(); for (const [k, v] of e) keys.set(k, v); }, put: (k, v) => keys.set(k, v), delete: (k) => keys.delete(k), commit: () => undefined }, log);
  await etcd.v3.put('/compact/a').value('1');
  await mirror.start(5000);
  t.teardown(() => mirror.stop());
  t.equal(keys.get('/compact/a'), '1');
  // Take etcd away from the mirror: while it listens on another port, change and compact
  // past the mirror's revision; then back on its own port, the watch cannot resume.
  const port = etcd.clientPort;
  await etcd.kill();
  etcd.clientPort = await freePort();
  await etcd.start();
  for (let i = 0; i < 20; i++) await etcd.v3.put('/compact/a').value(String(i + 2));
  await etcd.v3.put('/compact/b').value('new');
  const rev = (await etcd.v3.get('/compact/b').exec()).header.revision;
  await etcd.v3.kv.compact({ revision: rev, physical: true });
  await etcd.kill();
  etcd.clientPort = port;
  await etcd.start();
  await eventually(() => expect(keys.get('/compact/a') === '21' && keys.get('/compact/b') === 'new', JSON.stringify([...keys])), 15000);
  t.pass('the mirror caught up after compaction');
  t.ok(mirror.errors > 0, 'the lost watch was seen and counted');
  t.ok(lines.some((l) => l.includes('reading everything again')), 'the compacted watch was cancelled and the prefix read again');
});

t.test('10,000 keys: read at start, every one answers', async (t) => {
  const puts: Promise<unknown>[] = [];
  for (let i = 0; i < 10000; i++) {
    puts.push(etcd.v3.put(`/skydns/local/skydns/big/s${i}`).value(JSON.stringify({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 80 })).exec());
    if (puts.length >= 200) await Promise.all(puts.splice(0));
  }
  await Promise.all(puts);
  const started = Date.now();
  const srv = await startServer(null, ['--etcd', etcd.url]);
  t.teardown(() => srv.stop());
  t.comment(`serving 10,000 keys ${Date.now() - started} ms after start (bench/ measures this properly)`);
  for (const i of [0, 1, 4999, 9999, 1234, 8765]) {
    const r = await query(srv.port, `s${i}.big.skydns.local`, 'A');
    t.same(r.answer, [`s${i}.big.skydns.local. 0 IN A 10.0.${(i >> 8) & 255}.${i & 255}`], `s${i}`);
  }
  const all = await query(srv.port, 'big.skydns.local', 'A', { proto: 'tcp' });
  t.ok(all.answer.length > 1000, `the subtree answers over TCP (${all.answer.length} records fit 64 KiB)`);
});

t.test('etcd down for 20 s: retries stay paced, one line says down and one says back, no connections pile up', async (t) => {
  const { log, lines } = capturingLogger();
  const srv = await startServer(null, ['--etcd', etcd.url, '--metrics', '127.0.0.1:0'], log);
  t.teardown(() => srv.stop());
  await etcd.v3.put('/skydns/local/skydns/storm/1').value('{"host":"10.5.0.1"}');
  await eventually(async () => expect((await query(srv.port, 'storm.skydns.local', 'A')).answer.length === 1, 'before'));
  const connections = (): number => Number(execSync(`ss -tnH state established '( dport = :${etcd.clientPort} )' | wc -l`).toString().trim());
  const before = connections();
  const errors = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text();
    return Number(/^srvdns_registry_errors_total\{registry="etcd:skydns\.local\."\} (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  const errorsBefore = await errors();
  await etcd.kill();
  await new Promise((r) => setTimeout(r, 20000));
  const failures = (await errors()) - errorsBefore;
  // Reconnects back off to one per 5 s at most: 20 s is a handful, never hundreds.
  t.ok(failures <= 25, `${failures} failed attempts in 20 s`);
  t.equal((await query(srv.port, 'storm.skydns.local', 'A')).answer.length, 1, 'the last copy answered throughout');
  await etcd.start();
  await eventually(async () => expect((await query(srv.port, 'storm.skydns.local', 'A')).rcode === 'NOERROR' && lines.some((l) => l.msg === 'etcd answers again'), 'back'), 15000);
  await new Promise((r) => setTimeout(r, 1000));
  // etcd's own gateway and the test's writer hold a few connections too, so a couple
  // more or fewer is noise; the storm this guards against left 160.
  t.ok(connections() <= before + 3, `${connections()} connections to etcd after recovery (${before} before)`);
  t.equal(lines.filter((l) => l.msg === 'etcd unreachable; serving the last copy').length, 1, 'down: said once');
  t.equal(lines.filter((l) => l.msg === 'etcd answers again').length, 1, 'back: said once');
});

t.test('"serving the last copy" is said only when there is a last copy', async (t) => {
  const { log, lines } = capturingLogger();
  const sink = { reset: () => undefined, put: () => undefined, delete: () => undefined, commit: () => undefined };
  const mirror = new EtcdV3Mirror({ ...connection(), endpoints: ['http://127.0.0.1:1'] }, '/never/', sink, log);
  t.teardown(() => mirror.stop());
  await mirror.start(300);
  await eventually(() => expect(lines.some((l) => String(l.msg).startsWith('etcd unreachable')), 'the outage logged'), 5000);
  const said = lines.filter((l) => String(l.msg).startsWith('etcd unreachable')).map((l) => l.msg);
  t.same(said, ['etcd unreachable; nothing to serve until it answers'], 'no last copy is claimed');
});
