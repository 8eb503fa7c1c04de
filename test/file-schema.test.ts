// The file registry reads plain service entries without zod (lib/registry/file-schema.ts,
// plainService) for start-up speed; zod stays the reference. Whatever the plain reader
// accepts, the schema must accept and read the same way; what it declines goes to the schema.
import t from 'tap';
import { plainService, serviceSchema } from '../lib/registry/file-schema.js';

const choices: Record<string, unknown[]> = {
  name: ['web', 'db_1', 'a-b', 'Web', '-bad', 'bad.name', 'x'.repeat(64), '', 7, undefined],
  id: [undefined, 'web-1', '', null, 5],
  node: ['node1', '', null, 3, undefined],
  address: [undefined, '', '10.0.0.1', '::1', 'host.example', 'bad host!', 5, null],
  port: [undefined, 0, 80, 65535, 65536, -1, 1.5, '80', null],
  tags: [undefined, [], ['a', 'b'], [''], [1], 'a', null],
  meta: [undefined, {}, { a: 'x', b: 1, c: true }, { a: null }, { a: { b: 1 } }, [], JSON.parse('{"__proto__": "x", "k": 2}'), null],
  weights: [undefined, {}, { passing: 1 }, { passing: 0 }, { warning: 0 }, { passing: 5, warning: 2 }, { other: 1 }, { passing: '1' }, [], null],
  priority: [undefined, 0, 1, 65535, 70000, null],
  health: [undefined, 'passing', 'warning', 'critical', 'bad', null],
  helth: [undefined, undefined, undefined, 'passing'],
};

t.test('the plain reader never accepts what the schema refuses, and reads what it accepts alike', async (t) => {
  let seed = 7;
  const pick = <T>(xs: T[]): T => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return xs[(seed >>> 8) % xs.length]!;
  };
  let plain = 0;
  let valid = 0;
  let wrong = 0;
  for (let i = 0; i < 20000; i++) {
    // Mostly valid entries with one or two odd fields, so both paths are exercised.
    const entry: Record<string, unknown> = { name: 'web', node: 'node1', port: 80 };
    for (let f = 0, n = 1 + (i % 3); f < n; f++) {
      const key = pick(Object.keys(choices));
      const value = pick(choices[key]!);
      if (value === undefined) delete entry[key];
      else entry[key] = value;
    }
    const fast = plainService(entry);
    const ref = serviceSchema.safeParse(entry);
    if (ref.success) valid++;
    if (fast === undefined) continue;
    plain++;
    if (!ref.success || JSON.stringify(fast) !== JSON.stringify(ref.data)) {
      if (wrong++ < 5) t.fail(`${JSON.stringify(entry)}: plain ${JSON.stringify(fast)}, schema ${JSON.stringify(ref.success ? ref.data : ref.error.issues[0])}`);
    }
  }
  t.equal(wrong, 0, `no entry read differently (${plain} read plainly, ${valid} valid)`);
  t.ok(plain > valid * 0.8, 'most valid entries take the plain reader');
});

t.test('a typical entry takes the plain reader, with the schema defaults', async (t) => {
  t.same(plainService({ name: 'web', node: 'n1' }), { name: 'web', node: 'n1', address: '', port: 0, tags: [], meta: {}, weights: {}, priority: 1, health: 'passing' });
  t.same(plainService({ name: 'web', id: 'w1', node: 'n1', address: '10.0.0.1', port: 80, tags: ['v1'], meta: { a: 1 }, weights: { passing: 3 }, priority: 2, health: 'warning' }), {
    name: 'web',
    id: 'w1',
    node: 'n1',
    address: '10.0.0.1',
    port: 80,
    tags: ['v1'],
    meta: { a: '1' },
    weights: { passing: 3 },
    priority: 2,
    health: 'warning',
  });
  t.equal(plainService({ name: 'web', node: 'n1', helth: 'passing' }), undefined, 'an unknown key is left to the schema (which names it)');
});
