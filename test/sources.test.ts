// Every source srvdns reads passes the one source conformance suite
// (test/conformance/source-suite.ts): the file registry, Consul (the API stand-in), its
// KV store in Registrator's consulkv layout, a real etcd over v3 and v2, in the SkyDNS
// and the Registrator layouts, and a real ZooKeeper in Registrator's and Curator's layouts.
import t from 'tap';
import { renameSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sourceSuite, type SourceHarness } from './conformance/source-suite.js';
import { ConsulStandin, consulPut } from './helpers/consul-standin.js';
import { EtcdServer } from './helpers/etcd.js';
import { curatorBody, registratorBody, Writer, ZooKeeperServer } from './helpers/zookeeper.js';

/** A label of 64 octets: a name the wire cannot carry, as a broken writer might register. */
const LONG = `${'x'.repeat(64)}.example`;

t.test('file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-sources-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'catalog.yaml');
  let services: { name: string; id: string; node: string; address: string; port: number }[] = [];
  const write = (extra: unknown[] = []): void => {
    writeFileSync(`${file}.tmp`, stringify({ nodes: [{ name: 'n1', address: '10.7.255.1' }], services: [...services, ...extra] }));
    renameSync(`${file}.tmp`, file);
  };
  sourceSuite(t, {
    flags: () => ['--file', file],
    name: (s) => `${s}.service.consul`,
    put: async (name, id, address) => {
      services.push({ name, id, node: 'n1', address, port: 80 });
      write();
    },
    remove: async (name, id) => {
      services = services.filter((s) => !(s.name === name && s.id === id));
      write();
    },
    // The file is validated whole: a broken entry keeps the last good catalog answering.
    malformed: async (name) => write([{ name, id: 'bad', node: 'n1', port: 'eighty' }]),
    down: async () => rmSync(file, { force: true }),
    up: async () => write(),
    clear: async () => {
      services = [];
      write();
    },
  } satisfies SourceHarness);
});

t.test('consul', async (t) => {
  const consul = new ConsulStandin();
  await consul.start();
  t.teardown(() => consul.stop());
  const ids = new Set<string>();
  const register = (name: string, id: string, address: string): Promise<void> =>
    consulPut(consul.url, '/v1/catalog/register', { Node: `n-${id}`, Address: '10.7.255.2', Service: { ID: id, Service: name, Address: address, Port: 80 } });
  sourceSuite(t, {
    flags: () => ['--consul', consul.url, '--consul-wait', '10s', '--consul-timeout', '500ms'],
    name: (s) => `${s}.service.consul`,
    put: async (name, id, address) => {
      ids.add(id);
      await register(name, id, address);
    },
    remove: async (_name, id) => {
      ids.delete(id);
      await consulPut(consul.url, '/v1/catalog/deregister', { Node: `n-${id}` });
    },
    // Consul takes any string as an address: one no DNS name can carry.
    malformed: async (name) => {
      ids.add('bad');
      await register(name, 'bad', LONG);
    },
    down: () => consul.stop(),
    up: () => consul.start(),
    clear: async () => {
      for (const id of ids) await consulPut(consul.url, '/v1/catalog/deregister', { Node: `n-${id}` });
      ids.clear();
    },
  } satisfies SourceHarness);
});

t.test('consul kv (Registrator\'s consulkv backend)', async (t) => {
  const consul = new ConsulStandin();
  await consul.start();
  t.teardown(() => consul.stop());
  // What Registrator's consulkv backend writes: PUT /v1/kv/<prefix>/<name>/<id> = ip:port.
  const kv = async (method: 'PUT' | 'DELETE', key: string, value = '', query = ''): Promise<void> => {
    const res = await fetch(`${consul.url}/v1/kv/${key}${query}`, { method, body: method === 'PUT' ? value : undefined });
    if (!res.ok) throw new Error(`kv ${method} ${key}: HTTP ${res.status}`);
  };
  sourceSuite(t, {
    flags: () => ['--consul', consul.url, '--consul-kv-prefix', 'services', '--consul-wait', '10s', '--consul-timeout', '500ms'],
    name: (s) => `${s}.service.consul`,
    put: (name, id, address) => kv('PUT', `services/${name}/${id}`, `${address}:80`),
    remove: (name, id) => kv('DELETE', `services/${name}/${id}`),
    malformed: (name) => kv('PUT', `services/${name}/bad`, 'garbage'),
    down: () => consul.stop(),
    up: () => consul.start(),
    clear: () => kv('DELETE', 'services/', '', '?recurse'),
  } satisfies SourceHarness);
});

t.test('etcd', async (t) => {
  const etcd = new EtcdServer();
  await etcd.start();
  t.teardown(() => etcd.stop());
  const layouts: [string, string[], (s: string) => string, (s: string, id: string) => string, (ip: string) => string, string][] = [
    ['skydns', [], (s) => `${s}.skydns.local`, (s, id) => `/skydns/local/skydns/${s}/${id}`, (ip) => JSON.stringify({ host: ip, port: 80 }), '{"host":"10.7.9.9","port":"80"}'],
    ['registrator', ['--etcd-layout', 'registrator'], (s) => `${s}.service.consul`, (s, id) => `/services/${s}/${id}`, (ip) => `${ip}:80`, 'garbage'],
  ];
  for (const api of ['v3', 'v2'] as const) {
    for (const [layout, flags, name, key, value, broken] of layouts) {
      t.test(`${api} ${layout}`, async (t) => {
        const set = async (k: string, v: string): Promise<void> => void (api === 'v3' ? await etcd.v3.put(k).value(v).exec() : await etcd.v2Set(k, v));
        const del = async (k: string): Promise<void> => void (api === 'v3' ? await etcd.v3.delete().key(k).exec() : await etcd.v2Delete(k));
        sourceSuite(t, {
          flags: () => ['--etcd', etcd.url, '--etcd-api', api, ...flags],
          name,
          put: async (s, id, ip) => void (await set(key(s, id), value(ip))),
          remove: async (s, id) => void (await del(key(s, id))),
          malformed: async (s) => void (await set(key(s, 'bad'), broken)),
          down: () => etcd.kill(),
          up: () => etcd.start(),
          clear: () => etcd.wipe(),
        } satisfies SourceHarness);
      });
    }
  }
});

t.test('zookeeper', async (t) => {
  const server = new ZooKeeperServer();
  await server.start();
  t.teardown(() => server.stop());
  // One writer session per instance, as each container (Registrator) or service (Curator) has its own.
  const writers = new Map<string, Writer>();
  const layouts: [string, (s: string, id: string, ip: string) => [string, string], string][] = [
    ['registrator', (s, _id, ip) => [`/services/${s}/${ip}:80`, registratorBody({ name: s, ip, port: 80, tags: null, attrs: null })], '{"Name":"conf","IP":"10.7.9.9","PublicPort":"80"}'],
    ['curator', (s, id, ip) => [`/services/${s}/${id}`, curatorBody({ name: s, id, address: ip, port: 80 })], '{"name":"conf","id":"bad","address":"10.7.9.9","port":null,"sslPort":null}'],
  ];
  for (const [layout, znode, broken] of layouts) {
    t.test(layout, async (t) => {
      const paths = new Map<string, string>();
      sourceSuite(t, {
        flags: () => ['--zookeeper', server.connect, '--zk-layout', layout, '--zk-session-timeout', '2s'],
        name: (s) => `${s}.service.consul`,
        put: async (s, id, ip) => {
          const [path, body] = znode(s, id, ip);
          const w = await new Writer(server.connect).open();
          writers.set(`${s}/${id}`, w);
          paths.set(`${s}/${id}`, path);
          await w.ephemeral(path, body);
        },
        // The writer's session ends (a container stopped): ZooKeeper deletes its znode.
        remove: async (s, id) => {
          writers.get(`${s}/${id}`)?.close();
          writers.delete(`${s}/${id}`);
        },
        malformed: async (s) => {
          const w = await new Writer(server.connect).open();
          writers.set(`${s}/bad`, w);
          await w.ephemeral(`/services/${s}/bad`, broken);
        },
        down: () => server.kill(),
        up: () => server.start(),
        clear: async () => {
          for (const w of writers.values()) w.close();
          writers.clear();
          const admin = await new Writer(server.connect).open();
          await admin.removeAll('/services');
          admin.close();
        },
      } satisfies SourceHarness);
    });
  }
});
