// Consul's blocking-query rules, unit by unit, with a fake fetch: the index rules
// (docs "Blocking Queries" implementation details), the loop, the backoff, and health.
import t from 'tap';
import { backoffDelay } from '../lib/registry/backoff.js';
import { worstHealth } from '../lib/registry/consul-decode.js';
import { BlockingWatch, nextIndex, type BlockingResult } from '../lib/registry/consul-watch.js';

t.test('nextIndex: forward as returned, backwards resets to 0, zero or below becomes 1', async (t) => {
  const cases: [bigint, bigint, bigint, string][] = [
    [0n, 5n, 5n, 'the first read takes the index'],
    [5n, 9n, 9n, 'a change moves it on'],
    [9n, 9n, 9n, 'a timeout keeps it'],
    [9n, 3n, 0n, 'backwards (snapshot restore): read everything again'],
    [9n, 0n, 1n, 'zero: block from 1, never spin at 0'],
    [0n, 0n, 1n, 'zero at the start too'],
    [9n, -4n, 1n, 'below zero is zero'],
  ];
  for (const [previous, returned, want, why] of cases) t.equal(nextIndex(previous, returned), want, why);
});

/** script runs a BlockingWatch over scripted responses and records the index of each request. */
async function script(steps: (BlockingResult<string> | Error)[], o: { minIntervalMs?: number } = {}): Promise<{ indexes: bigint[]; data: string[]; errors: number; times: number[] }> {
  const indexes: bigint[] = [];
  const data: string[] = [];
  const times: number[] = [];
  let errors = 0;
  let watch: BlockingWatch<string> | undefined;
  await new Promise<void>((done) => {
    watch = new BlockingWatch<string>(
      {
        fetch: async (index) => {
          indexes.push(index);
          times.push(Date.now());
          const step = steps.shift();
          if (!step) {
            done();
            return new Promise(() => undefined); // hang: the test is over
          }
          if (step instanceof Error) throw step;
          return step;
        },
        onData: (body) => data.push(body),
        onError: () => errors++,
        minIntervalMs: o.minIntervalMs ?? 0,
        backoff: { baseMs: 5, maxMs: 20 },
      },
      0n,
    );
    watch.start();
  });
  watch!.stop();
  return { indexes, data, errors, times };
}

t.test('BlockingWatch: each request carries the index the rules give', async (t) => {
  const r = await script([
    { index: 10n, body: 'a' },
    { index: 12n, body: 'b' },
    { index: 4n, body: 'c' }, // backwards
    { index: 4n, body: 'd' }, // fresh read after the reset
    { index: 0n, body: 'e' }, // zero
    { index: 7n, body: 'f' },
  ]);
  t.same(r.indexes, [0n, 10n, 12n, 0n, 4n, 1n, 7n]);
  t.same(r.data, ['a', 'b', 'c', 'd', 'e', 'f'], 'every body is handed over');
});

t.test('BlockingWatch: an error keeps the index and backs off; data resumes', async (t) => {
  const r = await script([{ index: 10n, body: 'a' }, new Error('down'), new Error('down'), { index: 11n, body: 'b' }]);
  t.same(r.indexes, [0n, 10n, 10n, 10n, 11n], 'the index survives failures');
  t.equal(r.errors, 2);
  t.ok(r.times[2]! - r.times[1]! >= 5 && r.times[3]! - r.times[2]! >= 5, 'each retry waited at least the base backoff');
});

t.test('BlockingWatch: requests are rate-limited by minIntervalMs', async (t) => {
  const r = await script(Array.from({ length: 5 }, (_, i) => ({ index: BigInt(i + 1), body: String(i) })), { minIntervalMs: 30 });
  for (let i = 1; i < r.times.length; i++) t.ok(r.times[i]! - r.times[i - 1]! >= 25, `request ${i} came ${r.times[i]! - r.times[i - 1]!} ms after the one before`);
});

t.test('backoffDelay: full jitter between base and a doubling ceiling, capped', async (t) => {
  const b = { baseMs: 100, maxMs: 1000 };
  for (const [failures, ceiling] of [[1, 200], [2, 400], [3, 800], [4, 1000], [40, 1000]] as const) {
    const samples = Array.from({ length: 2000 }, () => backoffDelay(b, failures));
    t.ok(samples.every((d) => d >= 100 && d <= ceiling), `failure ${failures}: within [100, ${ceiling}]`);
    t.ok(Math.max(...samples) > ceiling * 0.9 && Math.min(...samples) < 100 + (ceiling - 100) * 0.1, `failure ${failures}: spread over the range`);
  }
});

t.test('worstHealth: the worst check wins; maintenance and unknown states are critical', async (t) => {
  const checks = (...s: unknown[]): unknown[] => s.map((Status) => ({ Status }));
  t.equal(worstHealth(checks('passing', 'passing')), 'passing');
  t.equal(worstHealth(checks('passing', 'warning')), 'warning');
  t.equal(worstHealth(checks('warning', 'critical', 'passing')), 'critical');
  t.equal(worstHealth(checks('passing', 'maintenance')), 'critical', 'a state Consul does not document');
  t.equal(worstHealth([{ CheckID: '_node_maintenance', Status: 'critical' }, { Status: 'passing' }]), 'critical', 'node maintenance');
  t.equal(worstHealth([]), 'passing', 'no checks');
  t.equal(worstHealth(undefined), 'passing', 'no Checks field');
});
