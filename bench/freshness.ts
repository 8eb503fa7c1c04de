// Freshness: the time from a registry acknowledging a change to srvdns answering the
// new state, polled with DNS queries. Registries: the file, the Consul API stand-in, a
// real etcd (v3 and v2) and a real ZooKeeper. Target p99 < 50 ms. And ZooKeeper's load:
// start -> every instance answering. Prints figures; asserts nothing.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { query } from '../test/helpers/client.js';
import { ConsulStandin, consulPut } from '../test/helpers/consul-standin.js';
import { EtcdServer } from '../test/helpers/etcd.js';
import { curatorBody, registratorBody, Writer, ZooKeeperServer } from '../test/helpers/zookeeper.js';
import zk from 'node-zookeeper-client';
import { startSrvdns, summarize, writeResultsSection } from './lib.js';

const CHANGES = Number(process.env.FRESHNESS_CHANGES ?? 200);

/** waitFor polls DNS until check holds; returns ms since t0. */
async function waitFor(port: number, name: string, check: (answer: string[]) => boolean, t0: number): Promise<number> {
  for (;;) {
    const r = await query(port, name, 'SRV', { timeoutMs: 1000 });
    if (check(r.answer)) return performance.now() - t0;
    if (performance.now() - t0 > 5000) throw new Error(`${name}: no change after 5 s: ${r.answer.join()}`);
  }
}

async function consulFreshness(): Promise<number[]> {
  const consul = new ConsulStandin();
  await consul.start();
  const reg = (id: string, status: string): Record<string, unknown> => ({
    Node: `n-${id}`,
    Address: '10.0.0.1',
    Service: { ID: id, Service: 'fresh', Port: 80 },
    Check: { CheckID: `service:${id}`, Name: 'c', Status: status, ServiceID: id },
  });
  await consulPut(consul.url, '/v1/catalog/register', reg('base', 'passing'));
  const srv = await startSrvdns(['--consul', consul.url, '--log-level', 'info']);
  const name = 'fresh.service.consul';
  await waitFor(srv.port, name, (a) => a.length === 1, performance.now());
  const latencies: number[] = [];
  let expected = 1;
  for (let i = 0; i < CHANGES; i++) {
    // Alternate: a new instance appears, then its health flips to critical.
    const id = `i${i >> 1}`;
    const status = i % 2 === 0 ? 'passing' : 'critical';
    expected += status === 'passing' ? 1 : -1;
    await consulPut(consul.url, '/v1/catalog/register', reg(id, status));
    const acked = performance.now();
    latencies.push(await waitFor(srv.port, name, (a) => a.length === expected, acked));
  }
  await srv.stop();
  await consul.stop();
  return latencies;
}

/** etcdFreshness alternates a put of a new record and a delete of it, in one API. */
async function etcdFreshness(api: 'v3' | 'v2'): Promise<number[]> {
  const etcd = new EtcdServer();
  await etcd.start();
  const base = '/skydns/local/skydns/fresh';
  await etcd.v3.put(`${base}/base`).value('{"host":"10.0.0.1","port":80}');
  await etcd.v2Set(`${base}/base`, '{"host":"10.0.0.1","port":80}');
  const srv = await startSrvdns(['--etcd', etcd.url, '--etcd-api', api]);
  const name = 'fresh.skydns.local';
  await waitFor(srv.port, name, (a) => a.length === 1, performance.now());
  const latencies: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const key = `${base}/i${i >> 1}`;
    const put = i % 2 === 0;
    if (api === 'v3') await (put ? etcd.v3.put(key).value('{"host":"10.0.0.2","port":81}') : etcd.v3.delete().key(key));
    else await (put ? etcd.v2Set(key, '{"host":"10.0.0.2","port":81}') : etcd.v2Delete(key));
    const acked = performance.now();
    latencies.push(await waitFor(srv.port, name, (a) => a.length === (put ? 2 : 1), acked));
  }
  await srv.stop();
  await etcd.stop();
  return latencies;
}

/** fileFreshness alternates adding an instance to the catalog file and removing it, each written aside and renamed over. */
async function fileFreshness(): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-fresh-'));
  const file = join(dir, 'catalog.yaml');
  const write = (instances: number): void => {
    const services = Array.from({ length: instances }, (_, i) => `  - {name: fresh, id: f${i}, node: n1, port: ${80 + i}}`).join('\n');
    writeFileSync(`${file}.tmp`, `nodes: [{name: n1, address: 10.0.0.1}]\nservices:\n${services}\n`);
    renameSync(`${file}.tmp`, file);
  };
  write(1);
  const srv = await startSrvdns(['--file', file]);
  const name = 'fresh.service.consul';
  await waitFor(srv.port, name, (a) => a.length === 1, performance.now());
  const latencies: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const instances = i % 2 === 0 ? 2 : 1;
    write(instances);
    const written = performance.now();
    latencies.push(await waitFor(srv.port, name, (a) => a.length === instances, written));
  }
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
  return latencies;
}

/** zkFreshness alternates creating an ephemeral instance znode (Registrator's layout) and deleting it. */
async function zkFreshness(): Promise<number[]> {
  const server = new ZooKeeperServer();
  await server.start();
  const w = await new Writer(server.connect).open();
  const body = (ip: string): string => registratorBody({ name: 'fresh', ip, port: 80 });
  await w.ephemeral('/services/fresh/10.0.0.1:80', body('10.0.0.1'));
  const srv = await startSrvdns(['--zookeeper', server.connect]);
  const name = 'fresh.service.consul';
  await waitFor(srv.port, name, (a) => a.length === 1, performance.now());
  const latencies: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const put = i % 2 === 0;
    const path = `/services/fresh/10.0.0.2:${1000 + (i >> 1)}`;
    await (put ? w.ephemeral(path, body('10.0.0.2')) : w.remove(path));
    const acked = performance.now();
    latencies.push(await waitFor(srv.port, name, (a) => a.length === (put ? 2 : 1), acked));
  }
  await srv.stop();
  w.close();
  await server.stop();
  return latencies;
}

/** zkLoad writes n Curator instances (100 services) and times srvdns's start until the last service answers all of its own. */
async function zkLoad(n: number): Promise<string> {
  const server = new ZooKeeperServer();
  await server.start();
  const w = await new Writer(server.connect).open();
  const create = (path: string, data: string): Promise<void> =>
    new Promise((resolve, reject) => w.client.create(path, Buffer.from(data), zk.CreateMode.PERSISTENT, (err) => (err ? reject(err) : resolve())));
  await w.mkdirp('/services');
  const per = n / 100;
  for (let s = 0; s < 100; s++) {
    await create(`/services/svc${s}`, '');
    for (let i = 0; i < per; i += 500) {
      await Promise.all(Array.from({ length: Math.min(500, per - i) }, (_, k) => create(`/services/svc${s}/i${i + k}`, curatorBody({ name: `svc${s}`, id: `i${i + k}`, address: `10.${s}.${(i + k) >> 8}.${(i + k) & 255}`, port: 8000 }))));
    }
  }
  const t0 = performance.now();
  const srv = await startSrvdns(['--zookeeper', server.connect, '--zk-layout', 'curator']);
  for (;;) {
    const r = await query(srv.port, 'svc99.service.consul', 'A', { proto: 'tcp', timeoutMs: 5000 });
    if (r.answer.length === per) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const took = performance.now() - t0;
  await srv.stop();
  w.close();
  await server.stop();
  return `load zookeeper curator layout, ${n.toLocaleString('en')} instances in 100 services (process start -> all answering; target < 5 s for 10,000): ${(took / 1000).toFixed(2)} s`;
}

const lines = [
  summarize('freshness file registry (rename over -> DNS answer; target p99 < 20 ms)', await fileFreshness()),
  summarize('freshness consul stand-in (registry ack -> DNS answer)', await consulFreshness()),
  summarize('freshness etcd v3 skydns (put/delete ack -> DNS answer)', await etcdFreshness('v3')),
  summarize('freshness etcd v2 skydns (put/delete ack -> DNS answer)', await etcdFreshness('v2')),
  summarize('freshness zookeeper registrator layout (ephemeral create/delete ack -> DNS answer)', await zkFreshness()),
  await zkLoad(10000),
  await zkLoad(50000),
];
for (const l of lines) console.log(l);
writeResultsSection('Freshness', 'Freshness (target p99 < 50 ms)', lines);
