// Building SRV answers from instances (answer/service.ts), below the DNS tests that
// query whole catalogs: one SRV per distinct node, address and port; glue and node
// meta once per target; target names made once and bounded.
import t from 'tap';
import { srvRecords, TargetNames } from '../lib/answer/service.js';
import { DEFAULT_WEIGHTS, type Instance } from '../lib/catalog/types.js';

const inst = (id: string, node: string, port: number, address = '', nodeMeta?: Record<string, string>): Instance => ({
  service: 'web', id, node, nodeAddress: `10.0.0.${node.length}`, address, port, tags: [], meta: {}, weights: DEFAULT_WEIGHTS, priority: 1, health: 'passing', nodeMeta,
});
const show = (rrs: readonly { type: string; name: string }[]): string[] => rrs.map((rr) => `${rr.name} ${rr.type} ${JSON.stringify({ ...rr, name: undefined, ttl: undefined, type: undefined })}`).sort();

t.test('srvRecords: one SRV per node, address and port; glue and meta once per target', async (t) => {
  const meta = { rack: 'a' };
  const { answers, additional } = srvRecords('web.service.consul.', 0, [
    inst('a', 'n1', 80, '', meta),
    inst('b', 'n1', 80, '', meta), // the same node, address and port: no second SRV
    inst('c', 'n1', 81, '', meta), // another port on n1: a second SRV, no second glue or meta
    inst('d', 'n22', 80),
    inst('e', 'n22', 80, '10.9.0.1'), // its own address on n22: its own SRV and target
    inst('f', 'n333', 80, '10.9.0.1'), // the same address on another node: another SRV, the same target and glue
  ], { names: new TargetNames('consul.', 'dc1') });
  t.same(show(answers), show([
    { name: 'web.service.consul.', type: 'SRV', priority: 1, weight: 1, port: 80, target: 'n1.node.dc1.consul.' },
    { name: 'web.service.consul.', type: 'SRV', priority: 1, weight: 1, port: 81, target: 'n1.node.dc1.consul.' },
    { name: 'web.service.consul.', type: 'SRV', priority: 1, weight: 1, port: 80, target: 'n22.node.dc1.consul.' },
    { name: 'web.service.consul.', type: 'SRV', priority: 1, weight: 1, port: 80, target: '0a090001.addr.dc1.consul.' },
    { name: 'web.service.consul.', type: 'SRV', priority: 1, weight: 1, port: 80, target: '0a090001.addr.dc1.consul.' },
  ] as never));
  t.same(show(additional), show([
    { name: 'n1.node.dc1.consul.', type: 'A', address: '10.0.0.2' },
    { name: 'n22.node.dc1.consul.', type: 'A', address: '10.0.0.3' },
    { name: '0a090001.addr.dc1.consul.', type: 'A', address: '10.9.0.1' },
    { name: 'n1.node.dc1.consul.', type: 'TXT', strings: ['rack=a'] },
  ] as never));
});

t.test('TargetNames: SRV target names made once per node or address, lower-cased, and bounded', async (t) => {
  const names = new TargetNames('consul.', 'dc1');
  t.equal(names.node('Node6'), 'node6.node.dc1.consul.');
  t.equal(names.address('10.0.0.1'), '0a000001.addr.dc1.consul.');
  t.equal(names.address('fd00::6'), 'fd000000000000000000000000000006.addr.dc1.consul.');
  t.equal(names.node('Node6'), names.node('Node6'), 'the same name again');
  for (let i = 0; i < 70000; i++) names.node(`n${i}`);
  t.ok(names.size <= 65536 + 2, `${names.size} names kept after 70,000 nodes`);
  t.equal(names.node('n69999'), 'n69999.node.dc1.consul.', 'still right after starting again');
});
