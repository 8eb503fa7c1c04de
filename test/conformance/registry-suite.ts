// The registry conformance suite: every backend (file, Consul, etcd) runs it, so they
// all mean the same thing by "instance", "health", "node" and "gone" (STYLE habit 1).
import type { Test } from 'tap';
import type { Instance } from '../../lib/catalog/types.js';
import type { Registry } from '../../lib/registry/registry.js';
import { eventually, expect } from '../helpers/eventually.js';

/** CatalogInput is a catalog in the file registry's shape; each harness writes it its backend's way. */
export interface CatalogInput {
  nodes: { name: string; address: string; meta?: Record<string, string> }[];
  services: {
    name: string;
    id: string;
    node: string;
    address?: string;
    port: number;
    tags?: string[];
    meta?: Record<string, string>;
    weights?: { passing: number; warning: number };
    health?: 'passing' | 'warning' | 'critical';
  }[];
}

/** KeyStore is how a key-value harness writes its keys; put hears the value the key had before, if any. */
export interface KeyStore {
  remove(key: string): PromiseLike<unknown>;
  put(key: string, value: string, before: string | undefined): PromiseLike<unknown>;
}

/**
 * syncKeys makes a key-value store hold exactly next, given what it held before: the
 * keys gone are removed, then every key of next is put. It returns next, the store's
 * content for the following call.
 */
export async function syncKeys(before: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>, store: KeyStore): Promise<ReadonlyMap<string, string>> {
  for (const key of before.keys()) if (!next.has(key)) await store.remove(key);
  for (const [key, value] of next) await store.put(key, value, before.get(key));
  return next;
}

/** Harness is one backend set up for the suite. */
export interface Harness {
  registry: Registry;
  /** datacenter is the backend's local datacenter. */
  datacenter: string;
  /** set makes the backend hold exactly this catalog, written the way its users write it. */
  set(catalog: CatalogInput): Promise<void>;
  close(): Promise<void>;
}

/** Capabilities say which parts of the model a backend can express. */
export interface Capabilities {
  health: boolean;
  tags: boolean;
  weights: boolean;
  nodes: boolean;
  /** reverseServices: reverse() finds services by their own address without having been asked for them. */
  reverseServices: boolean;
}

const base: CatalogInput = {
  nodes: [
    { name: 'node1', address: '10.0.0.1', meta: { rack: 'a' } },
    { name: 'node2', address: '10.0.0.2' },
  ],
  services: [
    { name: 'web', id: 'web-1', node: 'node1', port: 8080, tags: ['v1'], weights: { passing: 10, warning: 2 } },
    { name: 'web', id: 'web-2', node: 'node2', address: '10.0.1.2', port: 8081, tags: ['v2'], weights: { passing: 10, warning: 2 } },
    { name: 'db', id: 'db-1', node: 'node2', port: 5432 },
  ],
};

async function resolved<T>(v: T | Promise<T>): Promise<T> {
  return v;
}

/** summary prints instances as `id node address port health`; without nodes, the node is left out. */
function summary(list: readonly Instance[] | undefined, nodes = true): string[] {
  return (list ?? []).map((i) => `${i.id}${nodes ? ` ${i.node}` : ''} ${i.address || i.nodeAddress} ${i.port} ${i.health}`).sort();
}

/** registrySuite runs the conformance suite against a fresh harness per test. */
export function registrySuite(t: Test, make: () => Promise<Harness>, can: Capabilities): void {
  const withHarness = (name: string, fn: (t: Test, h: Harness) => Promise<void>): void => {
    t.test(name, async (t) => {
      const h = await make();
      t.teardown(() => h.close());
      await fn(t, h);
    });
  };

  withHarness('a registered service is returned with every field', async (t, h) => {
    await h.set(base);
    const web = await eventually(async () => {
      const list = await resolved(h.registry.service('web', h.datacenter));
      expect(list?.length === 2, `web has ${list?.length} instances`);
      return list!;
    });
    t.same(
      summary(web, can.nodes),
      can.nodes ? ['web-1 node1 10.0.0.1 8080 passing', 'web-2 node2 10.0.1.2 8081 passing'] : ['web-1 10.0.0.1 8080 passing', 'web-2 10.0.1.2 8081 passing'],
    );
    const web2 = web.find((i) => i.id === 'web-2')!;
    t.equal(web2.service, 'web');
    t.equal(web2.address, '10.0.1.2', 'own address kept apart from the node address');
    if (can.nodes) t.equal(web2.nodeAddress, '10.0.0.2');
    if (can.tags) t.same(web2.tags, ['v2']);
    if (can.weights) t.same(web2.weights, { passing: 10, warning: 2 });
  });

  withHarness('an unknown service is undefined, names are case-insensitive', async (t, h) => {
    await h.set(base);
    await eventually(async () => expect((await resolved(h.registry.service('db', h.datacenter)))?.length === 1, 'db present'));
    t.equal(await resolved(h.registry.service('nope', h.datacenter)), undefined);
    t.equal((await resolved(h.registry.service('WEB', h.datacenter)))?.length, 2);
  });

  withHarness('changes are seen: a new instance, then it leaves', async (t, h) => {
    await h.set(base);
    await eventually(async () => expect((await resolved(h.registry.service('db', h.datacenter)))?.length === 1, 'db once'));
    const changes: string[] = [];
    const unsubscribe = h.registry.subscribe((c) => changes.push(c.kind));
    t.teardown(unsubscribe);
    await h.set({ ...base, services: [...base.services, { name: 'db', id: 'db-2', node: 'node1', port: 5433 }] });
    await eventually(async () => expect((await resolved(h.registry.service('db', h.datacenter)))?.length === 2, 'db twice'));
    t.ok(changes.length > 0, 'subscribers were told');
    await h.set({ ...base, services: base.services.filter((s) => s.name !== 'db') });
    await eventually(async () => expect(((await resolved(h.registry.service('db', h.datacenter))) ?? []).length === 0, 'db gone'));
    t.pass('a deregistered service disappears');
  });

  if (can.health) {
    withHarness('health changes are seen', async (t, h) => {
      await h.set(base);
      await eventually(async () => expect((await resolved(h.registry.service('web', h.datacenter)))?.length === 2, 'web'));
      const flipped = base.services.map((s) => (s.id === 'web-1' ? { ...s, health: 'critical' as const } : s.id === 'web-2' ? { ...s, health: 'warning' as const } : s));
      await h.set({ ...base, services: flipped });
      const web = await eventually(async () => {
        const list = await resolved(h.registry.service('web', h.datacenter));
        expect(summary(list).join() === 'web-1 node1 10.0.0.1 8080 critical,web-2 node2 10.0.1.2 8081 warning', summary(list).join());
        return list;
      });
      t.equal(web?.length, 2, 'unhealthy instances are still data; answers filter them');
    });
  }

  if (can.nodes) {
    withHarness('nodes and reverse lookups', async (t, h) => {
      await h.set(base);
      const node = await eventually(async () => {
        const n = await resolved(h.registry.node('NODE1', h.datacenter));
        expect(n !== undefined, 'node1 present');
        return n!;
      });
      t.equal(node.address, '10.0.0.1');
      t.same(node.meta, { rack: 'a' });
      t.equal(await resolved(h.registry.node('nope', h.datacenter)), undefined);
      const rev = await eventually(async () => {
        const r = await resolved(h.registry.reverse('10.0.0.1'));
        expect(r.nodes.length === 1, 'node1 at its address');
        return r;
      });
      t.same(rev.nodes.map((n) => n.name), ['node1']);
      if (can.reverseServices) {
        const svc = await resolved(h.registry.reverse('10.0.1.2'));
        t.same(svc.services, ['web']);
      }
    });
  }

  withHarness('datacenters', async (t, h) => {
    await h.set(base);
    t.equal(await resolved(h.registry.hasDatacenter(h.datacenter)), true);
    t.equal(await resolved(h.registry.hasDatacenter('nowhere')), false);
    t.equal(await resolved(h.registry.service('web', 'nowhere')), undefined, 'nothing in an unknown datacenter');
  });
}
