// /metrics, /healthz and /readyz: names follow Prometheus conventions and values move.
import t from 'tap';
import { testCatalog } from './helpers/catalog.js';
import { query } from './helpers/client.js';
import { ConsulStandin, consulPut } from './helpers/consul-standin.js';
import { startServer } from './helpers/server.js';

/** scrape reads /metrics into name{labels} -> value. */
async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

t.test('query counts, cache counters and registry gauges move', async (t) => {
  const srv = await startServer(testCatalog, ['--metrics', '127.0.0.1:0']);
  t.teardown(() => srv.stop());
  const port = srv.server.metricsPort!;
  const before = await scrape(port);
  for (let i = 0; i < 5; i++) await query(srv.port, 'web.service.consul', 'SRV');
  await query(srv.port, 'nope.service.consul', 'A', { proto: 'tcp' });
  const after = await scrape(port);
  const srvKey = 'srvdns_requests_total{proto="udp",qtype="SRV",rcode="NOERROR"}';
  t.equal((after.get(srvKey) ?? 0) - (before.get(srvKey) ?? 0), 5, srvKey);
  t.equal(after.get('srvdns_requests_total{proto="tcp",qtype="A",rcode="NXDOMAIN"}'), 1, 'NXDOMAIN over TCP');
  t.ok((after.get('srvdns_answer_cache_hits_total') ?? 0) >= 4, 'cache hits counted');
  t.ok((after.get('srvdns_answer_cache_misses_total') ?? 0) >= 2, 'cache misses counted');
  t.equal(after.get('srvdns_answer_cache_entries'), srv.server.cache.size, 'cache entries gauge');
  t.ok(srv.server.cache.size >= 1 && after.get('srvdns_answer_cache_bytes') === srv.server.cache.byteSize && srv.server.cache.byteSize > 800, 'cache bytes gauge');
  t.equal(after.get('srvdns_registry_up{registry="file"}'), 1);
  t.equal(after.get('srvdns_catalog_instances{registry="file"}'), testCatalog.services.length);
  t.ok(Math.abs((after.get('srvdns_registry_last_sync_timestamp_seconds{registry="file"}') ?? 0) - Date.now() / 1000) < 60, 'last sync is recent');
  t.ok(after.has('process_resident_memory_bytes'), 'default process metrics');
  t.ok([...after.keys()].some((k) => k.startsWith('srvdns_request_duration_seconds_bucket')), 'duration histogram');
  // One assertion whatever metrics exist (nodejs_gc_* appear only once a GC has run).
  const names = [...new Set([...after.keys()].map((k) => k.split('{')[0]!))];
  t.same(names.filter((name) => !/^(srvdns|process|nodejs)_[a-z0-9_]+$/.test(name)), [], `all ${names.length} names prefixed, snake case`);
  for (const name of ['srvdns_requests_total', 'srvdns_answer_cache_hits_total', 'srvdns_registry_errors_total', 'srvdns_stale_answers_total']) {
    t.ok([...after.keys()].some((k) => k.startsWith(name)), `${name} exported`);
  }
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.equal(health.status, 200);
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  t.equal(ready.status, 200);
});

t.test('a registry outage shows: up 0, stale answers counted, not ready before the first sync', async (t) => {
  const consul = new ConsulStandin();
  await consul.start();
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { ID: 'web', Service: 'web', Port: 80 } });
  await consulPut(consul.url, '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { ID: 'db', Service: 'db', Port: 5432 } });
  const srv = await startServer(null, ['--consul', consul.url, '--consul-wait', '10s', '--consul-timeout', '300ms', '--metrics', '127.0.0.1:0']);
  t.teardown(async () => {
    await srv.stop();
    await consul.stop();
  });
  const port = srv.server.metricsPort!;
  t.equal((await query(srv.port, 'web.service.consul', 'A')).answer.length, 1);
  t.equal((await scrape(port)).get('srvdns_registry_up{registry="consul"}'), 1);
  await consul.stop();
  await query(srv.port, 'db.service.consul', 'A'); // a cold miss (listed, never cached) fails
  for (let i = 0; i < 3; i++) t.equal((await query(srv.port, 'web.service.consul', 'A')).answer.length, 1, 'stale answer');
  const m = await scrape(port);
  t.equal(m.get('srvdns_registry_up{registry="consul"}'), 0, 'registry down');
  t.ok((m.get('srvdns_stale_answers_total') ?? 0) >= 3, `stale answers: ${m.get('srvdns_stale_answers_total')}`);
  t.ok((m.get('srvdns_registry_errors_total{registry="consul"}') ?? 0) >= 1, 'errors counted');
  t.equal(m.get('srvdns_requests_total{proto="udp",qtype="A",rcode="SERVFAIL"}'), 1, 'the cold miss was SERVFAIL');

  const never = await startServer(null, ['--consul', 'http://127.0.0.1:1', '--consul-timeout', '100ms', '--metrics', '127.0.0.1:0']);
  t.teardown(() => never.stop());
  const ready = await fetch(`http://127.0.0.1:${never.server.metricsPort!}/readyz`);
  t.equal(ready.status, 503, 'not ready: consul never synced');
  t.match(await ready.text(), /waiting for: consul/);
});
