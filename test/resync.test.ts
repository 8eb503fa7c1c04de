// A full etcd re-read (after compaction or a lost watch) never pauses answering: the
// sinks take a large copy a part at a time, and changes that arrive meanwhile are kept.
import t, { type Test } from 'tap';
import { silentLogger } from '../lib/log.js';
import { RegistratorRegistry } from '../lib/registry/registrator.js';
import { SkyStore } from '../lib/catalog/skydns-store.js';
import { eventually, expect } from './helpers/eventually.js';

const SIZE = 100000;

/**
 * turnsDuring runs work and counts the turns of the event loop that other work (a query)
 * got while it ran: what matters is that the work is split, which a count shows on any
 * machine; the longest pause is printed, not asserted (these machines are shared).
 */
async function turnsDuring(t: Test, work: () => void | Promise<void>): Promise<number> {
  let turns = 0;
  let running = true;
  let last = performance.now();
  let longest = 0;
  const turn = (): void => {
    if (!running) return;
    turns++;
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    setImmediate(turn);
  };
  setImmediate(turn);
  await work();
  running = false;
  t.comment(`${turns} turns of the event loop during the work, the longest gap ${longest.toFixed(0)} ms`);
  return turns;
}

t.test('SkyDNS store: 100,000 keys re-read in parts; a change made meanwhile survives the swap', async (t) => {
  const store = new SkyStore('/skydns', silentLogger, () => undefined);
  const copy = new Map<string, string>();
  for (let i = 0; i < SIZE; i++) copy.set(`/skydns/local/skydns/svc${i % 1000}/i${i}`, JSON.stringify({ host: '10.0.0.1', port: 80 }));
  const turns = await turnsDuring(t, async () => {
    const done = store.reset(copy);
    t.ok(done instanceof Promise, 'a large copy is taken in parts');
    // A watch event arrives while the copy is being built.
    store.put('/skydns/local/skydns/late/1', JSON.stringify({ host: '10.9.9.9' }));
    store.delete('/skydns/local/skydns/svc0/i0');
    await done;
    store.commit();
  });
  t.ok(turns >= SIZE / 2000 - 1, `queries could be answered between parts: ${turns} turns`);
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
  const turns = await turnsDuring(t, async () => {
    await registry.reset(copy);
    const built = registry.commit();
    t.ok(built instanceof Promise, 'a large catalog is built in parts');
    registry.put('/services/late/host:c1:80', '10.9.9.9:80');
    registry.commit();
    await built;
  });
  // The change came during the build: a second build follows.
  await eventually(() => expect(registry.service('late', 'dc1') !== undefined, 'rebuilt'), 5000);
  t.ok(turns >= (2 * SIZE) / 2000 - 2, `queries could be answered between parts: ${turns} turns (copy and build)`);
  t.equal(registry.service('svc1', 'dc1')?.length, SIZE / 1000, 'the copy is served');
  t.same(registry.service('late', 'dc1')?.map((i) => i.address), ['10.9.9.9'], 'the change made meanwhile is served');
});
