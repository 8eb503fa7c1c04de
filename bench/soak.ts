// Soak: srvdns (its own process) under mixed load for SOAK_SECONDS (default 600) while
// its registries fail and recover: Consul (the API stand-in) down 15 s of every 60,
// etcd killed 15 s of every 60 (offset by 30 s), a registry change every second. Load:
// about 2,000 UDP queries a second (known services, random names, SkyDNS names,
// malformed packets) plus a TCP query a second. Every 10 s it samples the server's
// RSS, open file descriptors and event-loop lag from its own /metrics, and counts
// replies. Prints the figures and writes them to bench/RESULTS.md; asserts nothing.
import { createSocket } from 'node:dgram';
import { buildQuery, query } from '../test/helpers/client.js';
import { ConsulStandin, consulPut } from '../test/helpers/consul-standin.js';
import { EtcdServer } from '../test/helpers/etcd.js';
import { freePort } from '../test/helpers/ports.js';
import { startSrvdns, writeResultsSection } from './lib.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
/** RANDOM: one query in ten is for a random name (SOAK_RANDOM=0 leaves them out, to tell their memory apart). */
const RANDOM = process.env.SOAK_RANDOM !== '0';

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function main(): Promise<void> {
  const consul = new ConsulStandin();
  await consul.start();
  const etcd = new EtcdServer();
  await etcd.start();
  for (let i = 0; i < 20; i++) {
    await consulPut(consul.url, '/v1/catalog/register', { Node: `n${i}`, Address: `10.0.0.${i + 1}`, Service: { ID: `web-${i}`, Service: i < 10 ? 'web' : `svc${i}`, Port: 8080 } });
    await etcd.v3.put(`/skydns/local/skydns/soak/${i}`).value(JSON.stringify({ host: `10.1.0.${i + 1}`, port: 80 }));
  }
  const metricsPort = await freePort();
  const srv = await startSrvdns(['--consul', consul.url, '--etcd', etcd.url, '--metrics', `127.0.0.1:${metricsPort}`, '--log-level', 'info', '--consul-timeout', '500ms']);
  const names = ['web.service.consul', '_web._tcp.service.consul', 'svc15.service.consul', 'soak.skydns.local', '3.soak.skydns.local'];
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  let sent = 0;
  let replies = 0;
  socket.on('message', () => replies++);
  let tick = 0;
  const load = setInterval(() => {
    tick++;
    for (let i = 0; i < 20; i++) {
      const n = sent++;
      let packet: Buffer;
      if (n % 10 === 9 && RANDOM) packet = buildQuery(`${Math.random().toString(36).slice(2, 9)}.node.consul`, 'A', { id: n & 0xffff });
      else if (n % 50 === 7) packet = Buffer.from([n & 0xff, 1, 2, 3, 4, 5, 6]); // malformed: dropped or FORMERR
      else packet = buildQuery(names[n % names.length]!, n % 3 === 0 ? 'SRV' : 'A', { id: n & 0xffff });
      socket.send(packet, srv.port, '127.0.0.1');
    }
    if (tick % 100 === 0) void query(srv.port, '_web._tcp.service.consul', 'SRV', { proto: 'tcp' }).catch(() => undefined);
  }, 10);
  const samples: string[] = [];
  const peaks = { rss: 0, fds: 0, lag: 0 };
  const started = Date.now();
  let lastSent = 0;
  let lastReplies = 0;
  for (let second = 1; second <= SECONDS; second++) {
    await new Promise((r) => setTimeout(r, 1000));
    // A change every second, in whichever registry is up.
    const flip = second % 2 === 0 ? 'passing' : 'critical';
    await consulPut(consul.url, '/v1/catalog/register', { Node: 'n0', Address: '10.0.0.1', Service: { ID: 'web-0', Service: 'web', Port: 8080 }, Check: { CheckID: 'service:web-0', Name: 'c', Status: flip, ServiceID: 'web-0' } }).catch(() => undefined);
    await etcd.v3.put('/skydns/local/skydns/soak/0').value(JSON.stringify({ host: '10.1.0.1', port: 80 + (second % 2) })).catch(() => undefined);
    // Faults: Consul down for seconds 20-34 of each minute, etcd for 50-64 (50-59 and 0-4).
    const s = second % 60;
    if (s === 20) await consul.stop();
    if (s === 35) await consul.start();
    if (s === 50) await etcd.kill();
    if (s === 5 && second > 60) await etcd.start();
    if (second % 10 === 0) {
      const m = await scrape(metricsPort);
      const rss = (m.get('process_resident_memory_bytes') ?? NaN) / 1e6;
      const fds = m.get('process_open_fds') ?? NaN;
      const lag = (m.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000;
      peaks.rss = Math.max(peaks.rss, rss);
      peaks.fds = Math.max(peaks.fds, fds);
      peaks.lag = Math.max(peaks.lag, lag);
      const answered = (100 * (replies - lastReplies)) / Math.max(1, sent - lastSent);
      lastSent = sent;
      lastReplies = replies;
      const line = `t=${String(second).padStart(4)}s rss=${rss.toFixed(0)}MB fds=${fds} eventloop-lag-p99=${lag.toFixed(1)}ms replies=${answered.toFixed(1)}% consul=${s >= 20 && s < 35 ? 'down' : 'up'} etcd=${s >= 50 || (s < 5 && second >= 60) ? 'down' : 'up'}`;
      samples.push(line);
      console.log(line);
    }
  }
  clearInterval(load);
  socket.close();
  await srv.stop();
  await etcd.stop();
  await consul.stop();
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  const summary = `peak rss=${peaks.rss.toFixed(0)}MB fds=${peaks.fds} eventloop-lag-p99=${peaks.lag.toFixed(1)}ms over ${minutes} min, ${sent} queries (malformed ones, about 2%, get no reply)`;
  console.log(summary);
  writeResultsSection('Soak', `Soak (\`npm run soak\`, ${minutes} min)`, [summary, '', ...samples], 'Consul down 15 s of every minute and etcd killed 15 s of every minute, a change a second, ~2,000 UDP queries a second (10% random names, 2% malformed) and a TCP query a second; samples every 10 s from the server\'s own /metrics.');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
