// Weights steer the first record of every answer (ours, SPEC-style docs in the README):
// over 10,000 consecutive queries each record leads in proportion to its weight, within
// 2 percentage points, over UDP and TCP; A/AAAA weigh each address by the sum of its
// instances' weights; SRV leads with the lowest priority only; equal weights rotate.
import { createSocket } from 'node:dgram';
import t from 'tap';
import { leadWeights, schedule } from '../lib/answer/weights.js';
import { buildQuery, decodeReply, sendTcp, type Proto } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

const N = 10000;
const node = (name: string, address: string): { name: string; address: string } => ({ name, address });
const catalog = {
  nodes: [node('n1', '10.0.0.1'), node('n2', '10.0.0.2'), node('n3', '10.0.0.3'), node('n4', '10.0.0.4'), node('v6', 'fd00::1'), node('v6b', 'fd00::2')],
  services: [
    // 10/10/1: the README's example, 47.6/47.6/4.8 %.
    { name: 'ten', id: 'ten-1', node: 'n1', port: 80, weights: { passing: 10, warning: 1 } },
    { name: 'ten', id: 'ten-2', node: 'n2', port: 80, weights: { passing: 10, warning: 1 } },
    { name: 'ten', id: 'ten-3', node: 'n3', port: 80, weights: { passing: 1, warning: 1 } },
    // Two instances at one address: 3 + 3 against 2 and 1.
    { name: 'shared', id: 'shared-1', node: 'n1', port: 80, weights: { passing: 3, warning: 1 } },
    { name: 'shared', id: 'shared-2', node: 'n1', port: 81, weights: { passing: 3, warning: 1 } },
    { name: 'shared', id: 'shared-3', node: 'n2', port: 80, weights: { passing: 2, warning: 1 } },
    { name: 'shared', id: 'shared-4', node: 'n3', port: 80, weights: { passing: 1, warning: 1 } },
    // A warning instance weighs its warning weight.
    { name: 'warn', id: 'warn-1', node: 'n1', port: 80, weights: { passing: 5, warning: 1 } },
    { name: 'warn', id: 'warn-2', node: 'n2', port: 80, weights: { passing: 5, warning: 5 }, health: 'warning' },
    { name: 'warn', id: 'warn-3', node: 'n3', port: 80, weights: { passing: 5, warning: 20 }, health: 'warning' },
    // Priorities: only priority 1 leads.
    { name: 'prio', id: 'prio-1', node: 'n1', port: 80, priority: 1, weights: { passing: 1, warning: 1 } },
    { name: 'prio', id: 'prio-2', node: 'n2', port: 80, priority: 1, weights: { passing: 3, warning: 1 } },
    { name: 'prio', id: 'prio-3', node: 'n3', port: 80, priority: 2, weights: { passing: 100, warning: 1 } },
    // IPv6.
    { name: 'six', id: 'six-1', node: 'v6', port: 80, weights: { passing: 1, warning: 1 } },
    { name: 'six', id: 'six-2', node: 'v6b', port: 80, weights: { passing: 4, warning: 1 } },
    // Equal weights: an even rotation.
    { name: 'even', id: 'even-1', node: 'n1', port: 80 },
    { name: 'even', id: 'even-2', node: 'n2', port: 80 },
    { name: 'even', id: 'even-3', node: 'n3', port: 80 },
    { name: 'even', id: 'even-4', node: 'n4', port: 80 },
  ],
};

/** ask sends the same question n times and counts the first record's data. */
async function ask(port: number, proto: Proto, name: string, type: string, n: number): Promise<Map<string, number>> {
  const firsts = new Map<string, number>();
  for (const raw of await exchange(port, proto, Array.from({ length: n }, (_, i) => buildQuery(name, type, { id: i & 0xffff })))) {
    const first = decodeReply(raw).answer[0]!.split(' ').slice(4).join(' ');
    firsts.set(first, (firsts.get(first) ?? 0) + 1);
  }
  return firsts;
}

/** exchange sends packets over one TCP connection, or one UDP socket 50 at a time, and returns the replies. */
async function exchange(port: number, proto: Proto, packets: Buffer[]): Promise<Buffer[]> {
  const n = packets.length;
  let raws: Buffer[];
  if (proto === 'tcp') raws = await sendTcp(port, packets, 60000);
  else {
    raws = [];
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    for (let at = 0; at < n; at += 50) {
      const part = packets.slice(at, at + 50);
      await new Promise<void>((resolve, reject) => {
        let left = part.length;
        const timer = setTimeout(() => reject(new Error(`udp: ${left} replies missing`)), 5000);
        const onMessage = (m: Buffer): void => {
          raws.push(m);
          if (--left === 0) {
            clearTimeout(timer);
            socket.off('message', onMessage);
            resolve();
          }
        };
        socket.on('message', onMessage);
        for (const p of part) socket.send(p, port, '127.0.0.1');
      });
    }
    socket.close();
  }
  return raws;
}

const cases: { name: string; q: [string, string]; want: Record<string, number> }[] = [
  { name: 'A, weights 10/10/1', q: ['ten.service.consul', 'A'], want: { '10.0.0.1': 10, '10.0.0.2': 10, '10.0.0.3': 1 } },
  { name: 'SRV, weights 10/10/1', q: ['ten.service.consul', 'SRV'], want: { '1 10 80 n1.node.dc1.consul.': 10, '1 10 80 n2.node.dc1.consul.': 10, '1 1 80 n3.node.dc1.consul.': 1 } },
  { name: 'A, an address shared by two instances carries their sum', q: ['shared.service.consul', 'A'], want: { '10.0.0.1': 6, '10.0.0.2': 2, '10.0.0.3': 1 } },
  { name: 'A, warning instances weigh their warning weight', q: ['warn.service.consul', 'A'], want: { '10.0.0.1': 5, '10.0.0.2': 5, '10.0.0.3': 20 } },
  { name: 'SRV, only the lowest priority leads', q: ['prio.service.consul', 'SRV'], want: { '1 1 80 n1.node.dc1.consul.': 1, '1 3 80 n2.node.dc1.consul.': 3 } },
  { name: 'AAAA, weights 1/4', q: ['six.service.consul', 'AAAA'], want: { 'fd00::1': 1, 'fd00::2': 4 } },
  { name: 'A, equal weights rotate evenly', q: ['even.service.consul', 'A'], want: { '10.0.0.1': 1, '10.0.0.2': 1, '10.0.0.3': 1, '10.0.0.4': 1 } },
];

let srv: TestServer;
t.before(async () => {
  srv = await startServer(catalog);
});
t.teardown(() => srv.stop());

for (const proto of ['udp', 'tcp'] as Proto[]) {
  t.test(proto, async (t) => {
    for (const c of cases) {
      t.test(c.name, async (t) => {
        const firsts = await ask(srv.port, proto, c.q[0], c.q[1], N);
        const total = Object.values(c.want).reduce((a, b) => a + b, 0);
        t.same([...firsts.keys()].sort(), Object.keys(c.want).sort(), 'only these lead');
        for (const [data, weight] of Object.entries(c.want)) {
          const share = ((firsts.get(data) ?? 0) / N) * 100;
          const expected = (weight / total) * 100;
          t.ok(Math.abs(share - expected) <= 2, `${data}: leads ${share.toFixed(1)}% of ${N}, its weight share ${expected.toFixed(1)}%`);
        }
      });
    }
  });
}

t.test('the schedule: exact shares over a cycle, turns spread out, built only for unequal weights', async (t) => {
  const s = schedule([10, 10, 1]);
  t.equal(s.length, 21, 'one cycle of 21 steps');
  t.same([0, 1, 2].map((i) => s.filter((x) => x === i).length), [10, 10, 1], 'each leads its weight in turns');
  const heavy = schedule([1, 1000000]);
  t.equal(heavy.length, 1000, 'large weights: 1,000 steps');
  t.ok(heavy.filter((x) => x === 0).length <= 1, 'the light record leads its share (0 or 1 of 1,000)');
  t.same([...schedule([3, 1])], [0, 0, 1, 0], 'smooth: 3/1 is A A B A, not A A A B');
  t.ok(![...schedule([5, 5, 1, 1])].some((x, i, a) => x === 2 && a[i + 1] === 2), 'a light record never leads twice in a row');
  const srvRr = (priority: number, weight: number): import('../lib/dns/records.js').Rr => ({ name: 'x.', ttl: 0, type: 'SRV', priority, weight, port: 1, target: 't.' });
  t.equal(leadWeights([srvRr(1, 5), srvRr(1, 5)], undefined), undefined, 'equal SRV weights: plain rotation');
  t.same(leadWeights([srvRr(1, 0), srvRr(1, 0), srvRr(2, 9)], undefined), [1, 1, 0], 'weight 0 everywhere leads equally, within the lowest priority');
  const a = (address: string): import('../lib/dns/records.js').Rr => ({ name: 'x.', ttl: 0, type: 'A', address });
  t.same(leadWeights([a('10.0.0.1'), a('10.0.0.2')], [1, 3]), [1, 3], 'address weights as given');
  t.equal(leadWeights([a('10.0.0.1'), a('10.0.0.2')], undefined), undefined, 'no weights: plain rotation');
});

t.test('--a-record-limit: at most N addresses, chosen after the weighting and rotation; SRV untouched', async (t) => {
  const limited = await startServer(catalog, ['--a-record-limit', '2']);
  const uncached = await startServer(catalog, ['--a-record-limit', '2', '--answer-cache-size', '0']);
  t.teardown(async () => {
    await limited.stop();
    await uncached.stop();
  });
  for (const [label, server] of [['cached', limited], ['cache off', uncached]] as const) {
    for (const proto of ['udp', 'tcp'] as Proto[]) {
      const packets = Array.from({ length: 400 }, (_, i) => buildQuery('even.service.consul', 'A', { id: i }));
      const replies = (await exchange(server.port, proto, packets)).map(decodeReply);
      t.ok(replies.every((r) => r.answer.length === 2 && r.rcode === 'NOERROR'), `${label} ${proto}: every reply has 2 of the 4 addresses`);
      const seen = new Set(replies.flatMap((r) => r.answer.map((a) => a.split(' ')[4])));
      t.equal(seen.size, 4, `${label} ${proto}: all 4 addresses are sent over the replies`);
    }
  }
  const firsts = await ask(limited.port, 'udp', 'ten.service.consul', 'A', N);
  t.ok(Math.abs(((firsts.get('10.0.0.3') ?? 0) / N) * 100 - 4.8) <= 2, `the weights still choose the lead within the limit: 10.0.0.3 leads ${(((firsts.get('10.0.0.3') ?? 0) / N) * 100).toFixed(1)}%`);
  const srvReply = decodeReply((await sendTcp(limited.port, [buildQuery('ten.service.consul', 'SRV', { id: 1 })]))[0]!);
  t.equal(srvReply.answer.length, 3, 'SRV answers are not limited');
  t.equal(srvReply.additional.length, 3, 'nor their glue');
});
