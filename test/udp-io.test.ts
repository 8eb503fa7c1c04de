// The two UDP transports (--udp-io): batched through the native part (recvmmsg/sendmmsg)
// and Node's dgram answer the same bytes, the same codes and flags, deliver replies that
// wait (forwarded questions) outside their batch, see the client's address (the
// recursion ACL), bind IPv6, survive garbage, and report bind errors in plain words.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { stringify } from 'yaml';
import { loadNative } from '../lib/server/udp-batch.js';
import { testCatalog } from './helpers/catalog.js';
import { buildQuery, decodeReply, query, sendUdp } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { FakeUpstream } from './helpers/upstream.js';

t.ok(loadNative().native, `the native part is built by npm ci (${loadNative().error ?? 'loaded'})`);

const QUESTIONS: [string, string][] = [
  ['web.service.consul', 'SRV'],
  ['web.service.consul', 'A'],
  ['_web._tcp.service.dc1.dc.consul', 'SRV'],
  ['node1.node.consul', 'TXT'],
  ['nope.service.consul', 'A'],
  ['service.consul', 'A'],
  ['consul', 'SOA'],
  ['api.service.consul', 'AAAA'],
];

t.test('batch and dgram answer alike, over IPv4 and IPv6', async (t) => {
  const servers: Record<string, TestServer> = {};
  for (const io of ['batch', 'dgram']) servers[io] = await startServer(testCatalog, ['--udp-io', io, '--listen', '[::1]:0']);
  t.teardown(async () => {
    for (const s of Object.values(servers)) await s.stop();
  });
  for (const [name, type] of QUESTIONS) {
    const [b, d] = await Promise.all(['batch', 'dgram'].map((io) => query(servers[io]!.port, name, type, { id: 4321 })));
    t.equal(b!.rcode, d!.rcode, `${name} ${type}: ${b!.rcode}`);
    t.same([b!.flags.aa, b!.flags.tc, b!.msg.id], [d!.flags.aa, d!.flags.tc, d!.msg.id], `${name} ${type}: flags and id`);
    t.same([...b!.answer].sort(), [...d!.answer].sort(), `${name} ${type}: answer`);
    t.same([...b!.additional].sort(), [...d!.additional].sort(), `${name} ${type}: additional`);
  }
  // The IPv6 listener of the batched server: a socket of its own (V6ONLY).
  const v6port = servers.batch!.server.endpoints[1]!.port;
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const s = createSocket('udp6');
    s.once('message', (m) => {
      s.close();
      resolve(m);
    });
    s.once('error', reject);
    s.send(buildQuery('web.service.consul', 'A', { id: 9 }), v6port, '::1');
  });
  t.equal(decodeReply(reply).answer.length, 3, 'answered over IPv6');
});

t.test('batch: replies that wait are sent outside their batch; the client address reaches the recursion ACL', async (t) => {
  const up = new FakeUpstream();
  await up.start();
  const allowed = await startServer(testCatalog, ['--udp-io', 'batch', '--recursor', `127.0.0.1:${up.port}`, '--allow-recursion', '127.0.0.1/32']);
  const denied = await startServer(testCatalog, ['--udp-io', 'batch', '--recursor', `127.0.0.1:${up.port}`, '--allow-recursion', '10.0.0.0/8']);
  t.teardown(async () => {
    await allowed.stop();
    await denied.stop();
    await up.stop();
  });
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => query(allowed.port, `host${i}.example.com`, 'A', { id: i })));
  t.ok(many.every((r, i) => r.rcode === 'NOERROR' && r.msg.id === i && r.answer[0] === `host${i}.example.com. 120 IN A 192.0.2.1`), '50 forwarded answers, each to its asker');
  t.equal((await query(denied.port, 'host.example.com', 'A')).rcode, 'REFUSED', 'a client outside the ACL is refused: the address was read right');
});

t.test('batch: a question forwarded again after a recursor timed out is still itself (queries arriving meanwhile reuse the batch buffers)', async (t) => {
  const silent = new FakeUpstream();
  silent.behaviour = 'silent';
  const good = new FakeUpstream();
  await silent.start();
  await good.start();
  const srv = await startServer(testCatalog, ['--udp-io', 'batch', '--recursor', `127.0.0.1:${silent.port}`, '--recursor', `127.0.0.1:${good.port}`, '--recursor-timeout', '300ms']);
  t.teardown(async () => {
    await srv.stop();
    await silent.stop();
    await good.stop();
  });
  const waiting = query(srv.port, 'slow.example.com', 'A', { id: 555, timeoutMs: 3000 });
  // While the first recursor is waited for, other queries pass through the same buffer slots.
  for (let i = 0; i < 20; i++) await query(srv.port, 'web.service.consul', 'SRV');
  const r = await waiting;
  t.equal(r.msg.id, 555, 'the id asked');
  t.same(r.answer, ['slow.example.com. 120 IN A 192.0.2.1'], 'the name asked, forwarded intact to the second recursor');
});

t.test('batch: garbage and truncated packets get FORMERR or nothing, and the next query is answered', async (t) => {
  const srv = await startServer(testCatalog, ['--udp-io', 'batch']);
  t.teardown(() => srv.stop());
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const junk = [Buffer.alloc(0), Buffer.from([1]), Buffer.alloc(12, 0xff), Buffer.alloc(5000, 0x41), buildQuery('web.service.consul', 'A').subarray(0, 20)];
  for (const j of junk) socket.send(j, srv.port, '127.0.0.1');
  socket.close();
  const r = await query(srv.port, 'web.service.consul', 'A');
  t.equal(r.answer.length, 3, 'still answering');
  const formerr = await sendUdp(srv.port, Buffer.concat([buildQuery('web.service.consul', 'A', { id: 77 }).subarray(0, 12), Buffer.from([0xff, 0xff])]));
  t.equal(formerr?.[3]! & 0xf, 1, 'a header with a broken question: FORMERR');
});

t.test('batch: a port in use is a plain error; --udp-io dgram and auto work', async (t) => {
  const first = await startServer(testCatalog, ['--udp-io', 'dgram']);
  t.teardown(() => first.stop());
  await t.rejects(startServer(testCatalog, ['--udp-io', 'batch', '--listen', `127.0.0.1:${first.port}`]), /DNS UDP listener 127\.0\.0\.1:\d+: address already in use/);
  const auto = await startServer(testCatalog, ['--udp-io', 'auto']);
  t.teardown(() => auto.stop());
  t.equal((await query(auto.port, 'web.service.consul', 'A')).answer.length, 3, 'auto answers');
});

// A full send buffer (a slow link: a token-bucket qdisc in a network namespace of the
// test's own holds the replies, each charged to the socket until it leaves) makes
// sendmmsg fail with EAGAIN. Those replies wait in a queue and go out when the socket is
// writable, as dgram's do; before, each batch dropped them.
t.test('a full send buffer delays replies, it does not drop them (batch and dgram)', async (t) => {
  const ns = `srvdns-test-${process.pid}`;
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
  };
  run('ip', ['netns', 'add', ns]);
  t.teardown(() => void spawnSync('ip', ['netns', 'del', ns]));
  run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '20mbit', 'burst', '16kb', 'limit', '8mb']);
  // 30 instances: a ~2.5 KB SRV answer; 250 of them (~630 KB) overfill the 208 KB send buffer.
  const catalog = {
    nodes: Array.from({ length: 30 }, (_, i) => ({ name: `n${i}`, address: `10.1.0.${i + 1}` })),
    services: Array.from({ length: 30 }, (_, i) => ({ name: 'fat', id: `fat-${i}`, node: `n${i}`, port: 8000 + i })),
  };
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-burst-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'catalog.yaml'), stringify(catalog));
  const dist = fileURLToPath(new URL('..', import.meta.url));
  for (const [io, port] of [['batch', 8653], ['dgram', 8654]] as const) {
    const server = spawn('ip', ['netns', 'exec', ns, process.execPath, join(dist, 'bin/srvdns.js'), '--file', join(dir, 'catalog.yaml'), '--listen', `127.0.0.1:${port}`, '--udp-io', io, '--log-level', 'warn'], { stdio: 'inherit' });
    t.teardown(() => void server.kill());
    const client = spawnSync('ip', ['netns', 'exec', ns, process.execPath, join(dist, 'test/helpers/burst.js'), String(port), '_fat._tcp.service.consul', '250'], { encoding: 'utf8', timeout: 30_000 });
    t.same(JSON.parse(client.stdout || '{}'), { sent: 250, got: 250 }, `${io}: every reply arrives (${client.stderr.trim()})`);
  }
});
