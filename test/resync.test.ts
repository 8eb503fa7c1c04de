// A full etcd re-read (after compaction or a lost watch) never pauses answering: the
// sinks take a large copy a part at a time, and changes that arrive meanwhile are kept.
import t from 'tap';
import { silentLogger } from '../lib/log.js';
import { RegistratorRegistry } from '../lib/registry/registrator.js';
import { SkyStore } from '../lib/zones/skydns-store.js';

const SIZE = 100000;

/** longestPause runs work and reports the longest time the event loop was held meanwhile. */
async function longestPause(work: () => void | Promise<void>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  last = performance.now();
  await work();
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(probe);
  return longest;
}

t.test('SkyDNS store: 100,000 keys re-read in parts; a change made meanwhile survives the swap', async (t) => {
  const store = new SkyStore('/skydns', silentLogger, () => undefined);
  const copy = new Map<string, string>();
  for (let i = 0; i < SIZE; i++) copy.set(`/skydns/local/skydns/svc${i % 1000}/i${i}`, JSON.stringify({ host: '10.0.0.1', port: 80 }));
  const pause = await longestPause(async () => {
    const done = store.reset(copy);
    t.ok(done instanceof Promise, 'a large copy is taken in parts');
    // A watch event arrives while the copy is being built.
    store.put('/skydns/local/skydns/late/1', JSON.stringify({ host: '10.9.9.9' }));
    store.delete('/skydns/local/skydns/svc0/i0');
    await done;
    store.commit();
  });
  t.ok(pause < 100, `the longest pause was ${pause.toFixed(0)} ms`);
  t.equal(store.size, SIZE, 'every key: the 100,000 less one deleted, plus one put');
  t.same(store.lookup(['local', 'skydns', 'late']).services.map((s) => s.host), ['10.9.9.9'], 'the put made meanwhile is there');
  t.equal(store.lookup(['local', 'skydns', 'svc0', 'i0']).exists, false, 'the delete made meanwhile holds');
  t.equal(store.lookup(['local', 'skydns', 'svc1']).services.length, SIZE / 1000, 'the copy is there');
});

t.test('Registrator layout: 100,000 keys rebuilt in parts; a change made meanwhile is built in after', async (t) => {
  const registry = new RegistratorRegistry({
    connection: { endpoints: ['http://127.0.0.1:1'], user: undefined, password: undefined, caFile: undefined, certFile: undefined, keyFile: undefined },
    api: 'v3',
    prefix: '/services',
    datacenter: 'dc1',
    log: silentLogger,
  });
  const copy = new Map<string, string>();
  for (let i = 0; i < SIZE; i++) copy.set(`/services/svc${i % 1000}/host:c${i}:80`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`);
  const pause = await longestPause(async () => {
    await registry.reset(copy);
    const built = registry.commit();
    t.ok(built instanceof Promise, 'a large catalog is built in parts');
    registry.put('/services/late/host:c1:80', '10.9.9.9:80');
    registry.commit();
    await built;
    // The change came during the build: a second build follows.
    await new Promise((r) => setTimeout(r, 2000));
  });
  t.ok(pause < 100, `the longest pause was ${pause.toFixed(0)} ms`);
  t.equal(registry.service('svc1', 'dc1')?.length, SIZE / 1000, 'the copy is served');
  t.same(registry.service('late', 'dc1')?.map((i) => i.address), ['10.9.9.9'], 'the change made meanwhile is served');
});
