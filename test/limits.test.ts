// Every listener is bounded: DNS over TCP makes room by closing the oldest idle
// connection and caps each client; the metrics endpoint caps its connections and closes
// idle ones within seconds, so a flood of it never stops DNS.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { testCatalog } from './helpers/catalog.js';
import { buildQuery, query } from './helpers/client.js';
import { eventually, expect } from './helpers/eventually.js';
import { startServer } from './helpers/server.js';

/** open makes n connections and tracks which have closed. */
async function open(port: number, n: number): Promise<{ sockets: Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<Socket>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      s.on('connect', () => resolve(s));
      s.on('close', () => resolve(s));
    })),
  );
  return { sockets, closed: () => closed };
}

/** ask sends one query on a new TCP connection: its answer count, or -1 if the connection closed without one. */
function ask(port: number): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const q = buildQuery('web.service.consul', 'A');
    let got = Buffer.alloc(0);
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q])));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        resolve(got.readUInt16BE(2 + 6));
        s.destroy();
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(-1));
  });
}

t.test('DNS over TCP at its cap: a new client is answered, the oldest idle connection makes room', async (t) => {
  const srv = await startServer(testCatalog, ['--tcp-max-connections', '10']);
  t.teardown(() => srv.stop());
  const idle = await open(srv.port, 10);
  t.teardown(() => idle.sockets.forEach((s) => s.destroy()));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(idle.closed(), 0, 'ten idle connections held');
  t.equal(await ask(srv.port), 3, 'the eleventh client is answered');
  await eventually(() => expect(idle.closed() === 1, `${idle.closed()} closed`));
  t.ok(idle.sockets[0]!.destroyed, 'the oldest one made room');
});

t.test('DNS over TCP: one client cannot hold more than --tcp-max-connections-per-client', async (t) => {
  const srv = await startServer(testCatalog, ['--tcp-max-connections-per-client', '5']);
  t.teardown(() => srv.stop());
  const held = await open(srv.port, 5);
  t.teardown(() => held.sockets.forEach((s) => s.destroy()));
  t.equal(await ask(srv.port), -1, 'a sixth connection is closed unanswered');
  t.equal(held.closed(), 0, 'the five stay');
  t.equal((await query(srv.port, 'web.service.consul', 'A')).answer.length, 3, 'UDP still answers');
  held.sockets[0]!.destroy();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(await ask(srv.port), 3, 'with one closed, a new one is answered');
});

t.test('a flood of connections to the metrics endpoint: capped, closed within seconds, DNS unaffected', async (t) => {
  const srv = await startServer(testCatalog, ['--metrics', '127.0.0.1:0']);
  t.teardown(() => srv.stop());
  const port = srv.server.metricsPort!;
  const flood = await open(port, 300);
  t.teardown(() => flood.sockets.forEach((s) => s.destroy()));
  await eventually(() => expect(flood.closed() >= 300 - 64, `${flood.closed()} closed at once`), 2000);
  t.ok(flood.closed() >= 236, `over the cap of 64: ${flood.closed()} of 300 closed at once`);
  t.equal((await query(srv.port, 'web.service.consul', 'A')).answer.length, 3, 'DNS over UDP answers');
  t.equal(await ask(srv.port), 3, 'DNS over TCP answers');
  await eventually(() => expect(flood.closed() === 300, `${flood.closed()} closed`), 8000, 100);
  t.pass('idle, header-less connections closed within seconds');
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the endpoint serves again');
});
