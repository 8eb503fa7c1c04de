// The encoder refuses what the wire cannot carry (RFC 1035 §2.3.4), and the pipeline
// drops exactly the records that name such a thing.
import t from 'tap';
import * as packet from 'dns-packet';
import { encodableOnly, positive } from '../lib/answer/answer.js';
import { encodeMessage, UnencodableName, type Message } from '../lib/dns/encode.js';
import { fitMessage } from '../lib/dns/fit.js';
import { isValidName } from '../lib/dns/names.js';
import { targetOf, type Rr } from '../lib/dns/records.js';
import { LogLimiter } from '../lib/log.js';
import { rng } from './helpers/rng.js';

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
  const withFirst = (k: number, relocatable = false): number => {
    const kept = answers.slice(0, k);
    const targets = new Set(kept.map((rr) => (rr as { target: string }).target));
    return encodeMessage({ ...full, answers: kept, additional: additional.filter((rr) => targets.has(rr.name)) }, relocatable ? { starts: [], end: 0 } : undefined).length;
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

  // Relocatable, as the answer cache asks: the same counts, and the kept records, moved
  // about, still read back: nothing after them points into them (a cut writes only what
  // follows the answers again).
  let relocated = 0;
  for (let limit = 200; limit <= 2600; limit += 37) {
    let most = 0;
    while (most < answers.length && withFirst(most + 1, true) <= limit) most++;
    const layout = { starts: [] as number[], end: 0 };
    const wire = fitMessage(full, limit, layout);
    const got = packet.decode(wire);
    const kept = (got.answers ?? []).length;
    if (kept !== most || layout.starts.length !== kept || wire.length > limit) {
      t.fail(`limit ${limit}: ${kept} answers, ${layout.starts.length} in the layout, ${most} fit, ${wire.length} bytes`);
      continue;
    }
    if (kept < 2) {
      relocated++;
      continue;
    }
    // Rotate the answer records by one and read the message again.
    const first = wire.subarray(layout.starts[0]!, layout.starts[1]!);
    const rest = wire.subarray(layout.starts[1]!, layout.end);
    const rotated = Buffer.concat([wire.subarray(0, layout.starts[0]!), rest, first, wire.subarray(layout.end)]);
    const again = packet.decode(rotated);
    const targets = (m: typeof got): string[] => (m.answers ?? []).map((rr) => ((rr as { data: { target: string } }).data).target).sort();
    const glue = (m: typeof got): string[] => (m.additionals ?? []).map((rr) => `${rr.name} ${rr.type}`).sort();
    if (JSON.stringify(targets(again)) === JSON.stringify(targets(got)) && JSON.stringify(glue(again)) === JSON.stringify(glue(got))) relocated++;
    else t.fail(`limit ${limit}: rotated answers read back differently`);
  }
  t.equal(relocated, 65, 'every relocatable cut kept as many answers as fit and read back rotated');
});

t.test('compression: random messages decode to exactly the names and data encoded', async (t) => {
  // Names share suffixes, differ only in case, repeat whole (glue under its SRV target,
  // answers under the question), carry escapes; some messages pass 0x4000 bytes, beyond
  // which nothing may be pointed at. dns-packet reads every pointer back.
  const rand = rng(20261130);
  const int = (n: number): number => Math.floor(rand() * n);
  const labels = ['web', 'Web', 'node', 'dc1', 'consul', 'a', 'b1', 'service', 'x\\.y', 'sp\\032ce', 'n1', 'N1', 'addr'];
  const fresh = (): string => `${Array.from({ length: 1 + int(4) }, () => labels[int(labels.length)]).join('.')}.`;
  let checked = 0;
  for (let round = 0; round < 300; round++) {
    const names: string[] = ['q.example.'];
    const pick = (): string => (rand() < 0.5 ? names[int(names.length)]! : (names[names.length] = fresh()));
    const record = (): Rr => {
      const name = pick();
      switch (int(7)) {
        case 0:
          return { name, ttl: 5, type: 'A', address: `10.0.${int(256)}.${int(256)}` };
        case 1:
          return { name, ttl: 5, type: 'SRV', priority: 1, weight: int(100), port: 1 + int(65000), target: pick() };
        case 2:
          return { name, ttl: 5, type: 'CNAME', target: pick() };
        case 3:
          return { name, ttl: 5, type: 'MX', preference: int(50), exchange: pick() };
        case 4:
          return { name, ttl: 5, type: 'TXT', strings: [rand() < 0.1 ? 'z'.repeat(2000) : `k=${int(1000)}`] };
        case 5:
          return { name, ttl: 5, type: 'SOA', mname: pick(), rname: pick(), serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 };
        default:
          return { name, ttl: 5, type: 'PTR', target: pick() };
      }
    };
    const section = (): Rr[] => Array.from({ length: int(12) }, record);
    const msg: Message = { ...message(section()), authority: section(), additional: section() };
    // One message in ten starts with 18 KB of text: what follows lies past 0x3fff.
    if (round % 10 === 0) msg.answers = [...Array.from({ length: 9 }, (): Rr => ({ name: pick(), ttl: 5, type: 'TXT', strings: ['y'.repeat(2000)] })), ...msg.answers];
    // Glue under SRV targets, as answers carry it.
    for (const rr of msg.answers) if (rr.type === 'SRV') (msg.additional as Rr[]).push({ name: rr.target, ttl: 5, type: 'A', address: '10.9.9.9' });
    const wire = encodeMessage(msg);
    const got = packet.decode(wire);
    const all = [...msg.answers, ...msg.authority, ...msg.additional];
    const decoded = [...(got.answers ?? []), ...(got.authorities ?? []), ...(got.additionals ?? [])];
    // dns-packet reads names without the root dot and without escapes (an escaped dot
    // reads as a dot: that one distinction is lost here).
    const plain = (n: string): string => n.replace(/\.$/, '').replace(/\\032/g, ' ').replace(/\\\./g, '.');
    let same = decoded.length === all.length;
    all.forEach((rr, i) => {
      const d = decoded[i] as { name: string; type: string; data: unknown } | undefined;
      const want = rr.type === 'SRV' ? plain(rr.target) : rr.type === 'CNAME' || rr.type === 'PTR' ? plain(rr.target) : rr.type === 'MX' ? plain(rr.exchange) : rr.type === 'SOA' ? plain(rr.mname) : undefined;
      const data = d?.data as { target?: string; exchange?: string; mname?: string } | string | undefined;
      const have = typeof data === 'string' ? data : (data?.target ?? data?.exchange ?? data?.mname);
      if (!d || d.name !== plain(rr.name) || d.type !== rr.type || (want !== undefined && have !== want)) {
        same = false;
        t.fail(`round ${round}, record ${i}: ${rr.type} ${rr.name} ${want ?? ''} decoded as ${d?.type} ${d?.name} ${have ?? ''}`);
      }
    });
    // The same message cut to a random limit, relocatable or not: what is kept reads
    // back as it was (the cut writes what follows the kept answers again).
    const limit = 100 + int(wire.length);
    const layout = rand() < 0.5 ? { starts: [] as number[], end: 0 } : undefined;
    let cutGot: ReturnType<typeof packet.decode> | undefined;
    try {
      cutGot = packet.decode(fitMessage(msg, limit, layout));
    } catch (err) {
      same = false;
      t.fail(`round ${round}, cut to ${limit}: ${String(err)}`);
    }
    const key = (rr: { name: string; type: string }): string => `${rr.type} ${plain(rr.name)}`;
    const keyOf = (rr: { name: string; type: string }): string => `${rr.type} ${rr.name}`;
    if (cutGot && (cutGot.answers ?? []).some((rr, i) => keyOf(rr) !== key(msg.answers[i]!))) {
      same = false;
      t.fail(`round ${round}, cut to ${limit}: answers differ`);
    }
    // Cut (the whole did not fit), ADDITIONAL keeps the records named by the kept answers' targets, and only those.
    const keptTargets = new Set(
      msg.answers
        .slice(0, (cutGot?.answers ?? []).length)
        .map((rr) => targetOf(rr))
        .filter((n): n is string => n !== undefined)
        .map((n) => plain(n).toLowerCase()),
    );
    const originals = new Set(msg.additional.map(key));
    if (cutGot && (cutGot.additionals ?? []).some((rr) => !originals.has(keyOf(rr)) || (wire.length > limit && !keptTargets.has(rr.name.toLowerCase())))) {
      same = false;
      t.fail(`round ${round}, cut to ${limit}: an additional record not brought by a kept answer`);
    }
    if (same) checked++;
  }
  t.equal(checked, 300, 'every message read back as written, whole and cut');
});

t.test('compression: glue points at its SRV target, answers at the question; the target is written whole', async (t) => {
  const target = 'n1.node.dc1.consul.';
  const msg: Message = { ...message([srv(target)]), additional: [{ name: target, ttl: 0, type: 'A', address: '10.0.0.1' }] };
  const wire = encodeMessage(msg);
  // header 12 + question (q.example. 11 + 4) = 27; the SRV: owner pointer 2, 10 fixed, 6, target 20 = 38;
  // the A: owner pointer 2, 10 fixed, 4 = 16.
  t.equal(wire.length, 27 + 38 + 16, 'owner and glue owner are two-byte pointers');
  t.same([...wire.subarray(27, 29)], [0xc0, 12], 'the SRV owner points at the question');
  t.same([...wire.subarray(27 + 38, 27 + 38 + 2)], [0xc0, 27 + 18], 'the glue owner points at the target');
  t.equal(wire[27 + 18], 2, 'the target is written label by label (RFC 2782)');
});

t.test('compression: names whose suffix hashes collide are told apart by their bytes', async (t) => {
  // "aA" and "BB" hash alike (hashed from the right: 31 * 65 + 97 === 31 * 66 + 66), as do names ending in them.
  const msg: Message = {
    ...message([
      { name: 'aA.example.', ttl: 0, type: 'CNAME', target: 'x.aA.example.' },
      { name: 'BB.example.', ttl: 0, type: 'CNAME', target: 'x.BB.example.' },
    ]),
  };
  const got = packet.decode(encodeMessage(msg));
  t.same(
    (got.answers ?? []).map((rr) => [rr.name, (rr as { data: string }).data]),
    [
      ['aA.example', 'x.aA.example'],
      ['BB.example', 'x.BB.example'],
    ],
  );
});

t.test('truncation: what is kept after the answers is moved with its pointers, or written again when it points into a dropped answer', async (t) => {
  // The NS in AUTHORITY names ns.example., written first as the second answer's target:
  // once that answer is dropped, the authority record cannot keep pointing there.
  const answers = [srv('a.example.'), srv('ns.example.'), srv('b.example.')];
  const msg: Message = {
    ...message(answers),
    authority: [{ name: 'example.', ttl: 0, type: 'NS', target: 'ns.example.' }],
    additional: answers.map((rr) => ({ name: (rr as { target: string }).target, ttl: 0, type: 'A', address: '10.0.0.1' })),
  };
  const full = encodeMessage(msg).length;
  for (let limit = 60; limit < full; limit += 3) {
    for (const layout of [undefined, { starts: [] as number[], end: 0 }]) {
      let got: ReturnType<typeof packet.decode>;
      try {
        got = packet.decode(fitMessage(msg, limit, layout));
      } catch (err) {
        t.fail(`limit ${limit}${layout ? ', relocatable' : ''}: ${String(err)}`);
        continue;
      }
      const kept = (got.answers ?? []).map((rr) => (rr as { data: { target: string } }).data.target);
      const ns = (got.authorities ?? []).map((rr) => `${rr.name} ${(rr as { data: string }).data}`);
      const glue = (got.additionals ?? []).map((rr) => rr.name);
      if (JSON.stringify(glue) !== JSON.stringify(kept) || (ns.length > 0 && ns[0] !== 'example ns.example')) {
        t.fail(`limit ${limit}${layout ? ', relocatable' : ''}: answers ${kept}, authority ${ns}, glue ${glue}`);
      }
    }
  }
  t.pass('every cut read back: the kept answers, their glue, the NS');
});
