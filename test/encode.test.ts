// The encoder refuses what the wire cannot carry (RFC 1035 §2.3.4), and the pipeline
// drops exactly the records that name such a thing.
import t from 'tap';
import * as packet from 'dns-packet';
import { encodableOnly, positive } from '../lib/answer/answer.js';
import { encodeMessage, UnencodableName, type Message } from '../lib/dns/encode.js';
import { fitMessage } from '../lib/dns/fit.js';
import { isValidName } from '../lib/dns/names.js';
import type { Rr } from '../lib/dns/records.js';
import { LogLimiter } from '../lib/log.js';

const label63 = 'a'.repeat(63);
const label64 = 'a'.repeat(64);
const nameOf = (octets: number): string => {
  // A name of exactly `octets` wire octets, from 63-octet labels and one shorter one.
  const labels: string[] = [];
  let left = octets - 1; // the root octet
  while (left > 64) {
    labels.push(label63);
    left -= 64;
  }
  labels.push('b'.repeat(left - 1));
  return `${labels.join('.')}.`;
};

const message = (answers: Rr[]): Message => ({
  header: { id: 1, opcode: 0, aa: true, tc: false, rd: false, ra: false, cd: false, rcode: 0 },
  question: { name: 'q.example.', type: 33, class: 1 },
  answers,
  authority: [],
  additional: [],
  edns: undefined,
});
const srv = (target: string): Rr => ({ name: 'q.example.', ttl: 0, type: 'SRV', priority: 1, weight: 1, port: 80, target });

t.test('names: 63-octet labels and 255-octet names pass, one octet more does not', async (t) => {
  const cases: [string, boolean][] = [
    [`${label63}.example.`, true],
    [`${label64}.example.`, false],
    [nameOf(255), true],
    [nameOf(256), false],
    [nameOf(255).slice(0, -1), true], // without the trailing dot, the same name
    ['a..b.', false],
    ['.', true],
    [`x\\.${'y'.repeat(61)}.example.`, true], // an escaped dot is one octet: 63
    [`x\\.${'y'.repeat(62)}.example.`, false],
  ];
  for (const [name, ok] of cases) {
    t.equal(isValidName(name), ok, `isValidName ${name.length} chars: ${ok}`);
    if (ok) {
      const wire = encodeMessage(message([srv(name)]));
      const decoded = packet.decode(wire);
      t.equal(decoded.answers?.length, 1, `encoded and read back: ${name.length} chars`);
    } else {
      t.throws(() => encodeMessage(message([srv(name)])), UnencodableName, `encoder refuses ${name.length} chars`);
    }
  }
});

t.test('encodableOnly drops the records naming what cannot be encoded, and their glue', async (t) => {
  const bad = `${label64}.node.dc1.consul.`;
  const answer = positive(
    [srv('good.node.dc1.consul.'), srv(bad)],
    [
      { name: 'good.node.dc1.consul.', ttl: 0, type: 'A', address: '10.0.0.1' },
      { name: bad, ttl: 0, type: 'A', address: '10.0.0.2' },
    ],
  );
  const skipped: string[] = [];
  const clean = encodableOnly(answer, (n) => skipped.push(n));
  t.same(clean.answers.map((r) => (r.type === 'SRV' ? r.target : '')), ['good.node.dc1.consul.']);
  t.same(clean.additional.map((r) => r.name), ['good.node.dc1.consul.']);
  t.same(skipped, [bad, bad], 'each dropped record is reported');
  t.doesNotThrow(() => encodeMessage(message(clean.answers)));
});

t.test('LogLimiter: one line per kind per period, the rest counted into the next', async (t) => {
  const l = new LogLimiter(1000);
  t.equal(l.allow('a', 0), 0, 'the first line goes out');
  t.equal(l.allow('a', 10), undefined, 'held back');
  t.equal(l.allow('a', 999), undefined, 'held back');
  t.equal(l.allow('b', 20), 0, 'another kind is not held back');
  t.equal(l.allow('a', 1000), 2, 'a period later: out, with the two held back');
  t.equal(l.allow('a', 1500), undefined);
});

t.test('truncation keeps the most answers that fit with their glue, at every limit', async (t) => {
  // Targets of varied lengths, one target shared by two answers, A and AAAA glue, an
  // authority record and OPT: the prediction from record sizes must match a search.
  const answers: Rr[] = [];
  const additional: Rr[] = [];
  for (let i = 0; i < 30; i++) {
    const target = `${'h'.repeat(1 + ((i * 7) % 40))}${i}.node.dc1.consul.`;
    answers.push(srv(target));
    if (i % 5 === 4) answers.push(srv(target)); // a second port on the same target
    additional.push({ name: target, ttl: 0, type: 'A', address: `10.0.0.${i}` });
    if (i % 3 === 0) additional.push({ name: target, ttl: 0, type: 'AAAA', address: `fd00::${i}` });
  }
  const full: Message = {
    ...message(answers),
    authority: [{ name: 'consul.', ttl: 0, type: 'NS', target: 'ns.consul.' }],
    additional,
    edns: { udpSize: 1232, dnssecOk: false },
  };
  /** encoded with the first k answers and the glue of their targets. */
  const withFirst = (k: number): number => {
    const kept = answers.slice(0, k);
    const targets = new Set(kept.map((rr) => (rr as { target: string }).target));
    return encodeMessage({ ...full, answers: kept, additional: additional.filter((rr) => targets.has(rr.name)) }).length;
  };
  let checked = 0;
  for (let limit = 200; limit <= 2600; limit += 37) {
    let most = 0;
    while (most < answers.length && withFirst(most + 1) <= limit) most++;
    const wire = fitMessage(full, limit);
    const got = packet.decode(wire);
    t.ok(wire.length <= limit, `limit ${limit}: ${wire.length} bytes`);
    if ((got.answers ?? []).length !== most) t.fail(`limit ${limit}: ${got.answers?.length} answers kept, ${most} fit`);
    else checked++;
  }
  t.equal(checked, 65, 'every limit kept exactly as many answers as fit');
});
