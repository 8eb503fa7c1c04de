// The command line as users run it: the built bin, real processes, real exit codes.
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query } from './helpers/client.js';
import { FakeUpstream } from './helpers/upstream.js';
import { eventually, expect } from './helpers/eventually.js';

const BIN = 'dist/bin/srvdns.js';

/** Running is the built bin started by a test: its process, what it printed, and the port it listens on. */
interface Running {
  child: ChildProcess;
  out(): string;
  port: number;
}

/** run starts the built bin with args (and env), kills it when the test ends, and waits until it listens. */
async function run(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await eventually(() => {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (!m) throw new Error(`not listening yet: ${out}`);
    return Number(m[1]);
  }, 10000);
  return { child, out: () => out, port };
}

t.test('--help and --version exit 0', async (t) => {
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.match(help.stdout, /--listen HOST:PORT/);
  const version = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  t.equal(version.status, 0);
  t.match(version.stdout, /^srvdns \d+\.\d+\.\d+/);
  for (const [flag, out] of [['-h', /--listen HOST:PORT/], ['-v', /^srvdns \d+\.\d+\.\d+/]] as const) {
    const r = spawnSync(process.execPath, [BIN, flag], { encoding: 'utf8' });
    t.equal(r.status, 0, `${flag}: exit 0`);
    t.match(r.stdout, out, `${flag} works as every CLI user expects`);
  }
});

t.test('--help shows what a user needs: each option with its argument, default and variable', async (t) => {
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).stdout;
  // Written out by hand, not generated from the option table: this is the text users read.
  const expected: [string, string | undefined, string][] = [
    ['--listen HOST:PORT', 'default 127.0.0.1:8600', 'SRVDNS_LISTEN'],
    ['--domain NAME', 'default consul.', 'SRVDNS_DOMAIN'],
    ['--file PATH', undefined, 'SRVDNS_FILE'],
    ['--consul URL', undefined, 'SRVDNS_CONSUL, CONSUL_HTTP_ADDR'],
    ['--consul-token TOKEN', undefined, 'SRVDNS_CONSUL_TOKEN, CONSUL_HTTP_TOKEN'],
    ['--etcd URL', undefined, 'SRVDNS_ETCD'],
    ['--max-stale DURATION', 'default 72h', 'SRVDNS_MAX_STALE'],
    ['--ttl SECONDS', 'default 0', 'SRVDNS_TTL'],
    ['--udp-max-size BYTES', 'default 1232', 'SRVDNS_UDP_MAX_SIZE'],
    ['--recursor HOST[:PORT]', undefined, 'SRVDNS_RECURSOR'],
    ['--recursor-max-concurrent N', 'default 1000', 'SRVDNS_RECURSOR_MAX_CONCURRENT'],
    ['--metrics HOST:PORT', undefined, 'SRVDNS_METRICS'],
  ];
  for (const [flag, def, env] of expected) {
    const at = help.indexOf(`  ${flag}\n`);
    t.ok(at >= 0, `${flag} listed`);
    const entry = help.slice(at, help.indexOf('\n  --', at + 3));
    if (def) t.match(entry, `(${def})`, `${flag}: ${def}`);
    t.match(entry, `env ${env}`, `${flag}: env ${env}`);
  }
  t.match(help, /SIGHUP reloads the catalog file/);
});

t.test('a bad value is a clear error and exit 2', async (t) => {
  const r = spawnSync(process.execPath, [BIN, '--file', 'fixtures/catalog.yaml', '--ttl', 'never'], { encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /^srvdns: --ttl: expected whole seconds like 30, 30s, 5m or 1h, got "never"/);
});

t.test('an invalid catalog at start-up names the entry and field, exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, port: 99999}]\n');
  const r = spawnSync(process.execPath, [BIN, '--file', file, '--listen', '127.0.0.1:0', '--log-level', 'silent'], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /services\[0\] \(web\): port: expected an integer from 0 to 65535/);
});

t.test('the demo catalog: starts, prints where it listens, answers, stops on SIGTERM', async (t) => {
  const { child, port } = await run(t, ['--file', 'fixtures/catalog.yaml', '--listen', '127.0.0.1:0']);
  const r = await query(port, '_web._tcp.service.consul', 'SRV');
  t.equal(r.answer.length, 3, 'the demo web service answers');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean exit on SIGTERM');
});

t.test('--workers 2: both answer on one port, metrics summed, SIGTERM stops all', async (t) => {
  const child = spawn(process.execPath, [BIN, '--file', 'fixtures/catalog.yaml', '--listen', '127.0.0.1:0', '--workers', '2', '--metrics', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const { port, metrics } = await eventually(() => {
    const listening = [...out.matchAll(/listening on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    const m = /"metrics":"127\.0\.0\.1:(\d+)"/.exec(out);
    if (listening.length < 2 || !m) throw new Error(`not up yet: ${out}`);
    return { port: listening[0]!, metrics: Number(m[1]), ports: listening };
  }, 15000);
  const ports = new Set([...out.matchAll(/listening on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])));
  t.equal(ports.size, 1, 'both workers share one port');
  for (let i = 0; i < 20; i++) t.equal((await query(port, 'web.service.consul', 'A')).answer.length, 3);
  await eventually(async () => {
    const ready = await fetch(`http://127.0.0.1:${metrics}/readyz`);
    if (ready.status !== 200) throw new Error(`readyz ${ready.status}`);
  }, 10000);
  const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
  const count = Number(/srvdns_requests_total\{proto="udp",qtype="A",rcode="NOERROR"\} (\d+)/.exec(text)?.[1]);
  t.equal(count, 20, 'requests summed over the workers');
  // Gauges of the one registry are the single-worker value, not twice it.
  const gauge = (name: string): number => Number(new RegExp(`^${name}\\{registry="file"\\} ([0-9.e+]+)$`, 'm').exec(text)?.[1]);
  t.equal(gauge('srvdns_registry_up'), 1, 'registry up: 1');
  t.equal(gauge('srvdns_catalog_instances'), 11, 'instances: the catalog, once');
  const lastSync = gauge('srvdns_registry_last_sync_timestamp_seconds');
  t.ok(Math.abs(lastSync - Date.now() / 1000) < 120, `last sync ${lastSync}: about now, not twice it`);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean exit');
});

t.test('secrets never appear in errors: URL credentials, tokens and passwords', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'srvdns.yaml');
  writeFileSync(configFile, 'file: fixtures/catalog.yaml\nconsul-token: [supersecret1]\n');
  const cases: [string, string[], NodeJS.ProcessEnv, string][] = [
    ['a URL with credentials', ['--consul', 'ftp://admin:supersecret2@consul.example'], {}, 'supersecret2'],
    ['a token of the wrong type in the config file', ['--config', configFile], {}, 'supersecret1'],
    ['a bad etcd endpoint with credentials', ['--etcd', 'http://root:supersecret3@etcd:2379/v3/extra'], {}, 'supersecret3'],
  ];
  for (const [name, args, env, secret] of cases) {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    t.equal(r.status, 2, `${name}: exit 2`);
    t.notMatch(r.stderr, secret, `${name}: the secret is not shown (${r.stderr.split('\n')[0]})`);
    t.match(r.stderr, /^srvdns: /, `${name}: an error was printed`);
  }
});

t.test('--workers 2 fails fast: a worker that cannot start ends the server with its error and status', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'services: [{name: web, node: nowhere, port: 80}]\n');
  const busy = createSocket('udp4');
  await new Promise<void>((r) => busy.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => busy.close());
  const cases: [string, string[], RegExp][] = [
    ['an invalid catalog', ['--file', bad, '--listen', '127.0.0.1:0'], /services\[0\] \(web\): node: no node named 'nowhere'/],
    ['a port in use', ['--file', 'fixtures/catalog.yaml', '--listen', `127.0.0.1:${busy.address().port}`], /DNS UDP listener 127\.0\.0\.1:\d+: address already in use/],
  ];
  for (const [name, args, message] of cases) {
    const started = Date.now();
    const r = spawnSync(process.execPath, [BIN, ...args, '--workers', '2'], { encoding: 'utf8', timeout: 20000 });
    t.equal(r.status, 1, `${name}: exit 1`);
    t.match(r.stderr, message, `${name}: the worker's error`);
    t.ok(Date.now() - started < 10000, `${name}: within ${Date.now() - started} ms, not respawning forever`);
  }
});

t.test('--workers 2: a worker that dies later is restarted; a crash loop ends the server', async (t) => {
  const child = spawn(process.execPath, [BIN, '--file', 'fixtures/catalog.yaml', '--listen', '127.0.0.1:0', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const workerPids = (): number[] => [...out.matchAll(/"pid":(\d+),[^\n]*listening on/g)].map((m) => Number(m[1]));
  const killed = new Set<number>();
  for (let death = 1; death <= 5; death++) {
    const pid = await eventually(() => {
      const alive = workerPids().filter((p) => !killed.has(p));
      if (alive.length === 0) throw new Error('no live worker yet');
      return alive[0]!;
    }, 20000, 50);
    killed.add(pid);
    process.kill(pid, 'SIGKILL');
    if (death === 1) {
      await eventually(() => expect(workerPids().length === 3, 'a new worker started'), 10000, 50);
      t.pass('the first death: another worker started');
    }
  }
  t.equal(await exited, 1, 'five deaths within 30 s end the server, exit 1');
  t.match(out, /workers keep dying; stopping/);
});

t.test('--workers 2: a worker killed before it reported its start is restarted, not taken for a worker that cannot start', async (t) => {
  const child = spawn(process.execPath, [BIN, '--file', 'fixtures/catalog.yaml', '--listen', '127.0.0.1:0', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // The workers' pids as soon as they are forked, long before they listen.
  const children = (): number[] => readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  const first = await eventually(() => {
    const pids = children();
    expect(pids.length > 0, 'a worker forked');
    return pids[0]!;
  }, 10000, 5);
  process.kill(first, 'SIGKILL');
  await eventually(() => expect([...out.matchAll(/"pid":(\d+),[^\n]*listening on/g)].length >= 2, 'two workers listening'), 20000, 50);
  t.equal(child.exitCode, null, 'the server runs on');
  t.match(out, /worker died; starting another/, 'the killed worker was replaced');
});

t.test('host names where the README says HOST: --listen localhost:PORT and --recursor localhost, resolved and logged at start-up', async (t) => {
  const up = new FakeUpstream();
  await up.start();
  t.teardown(() => up.stop());
  const { port, out } = await run(t, ['--file', 'fixtures/catalog.yaml', '--listen', 'localhost:0', '--recursor', `localhost:${up.port}`]);
  t.match(out(), /--listen localhost resolved to 127\.0\.0\.1/, 'the resolution is logged');
  t.match(out(), /--recursor localhost resolved to 127\.0\.0\.1/);
  t.equal((await query(port, 'web.service.consul', 'A')).answer.length, 3, 'our zone answers');
  t.same((await query(port, 'outside.example.com', 'A')).answer, ['outside.example.com. 120 IN A 192.0.2.1'], 'the recursor named by host name answers');
});

t.test("the image's health check: exit 0 while srvdns answers the zone's SOA at SRVDNS_LISTEN, 1 when nothing answers", async (t) => {
  const { child, port } = await run(t, ['--file', 'fixtures/catalog.yaml'], { SRVDNS_LISTEN: '127.0.0.1:0' });
  const check = (listen: string): number | null => spawnSync(process.execPath, ['dist/bin/healthcheck.js'], { env: { ...process.env, SRVDNS_LISTEN: listen }, encoding: 'utf8' }).status;
  t.equal(check(`0.0.0.0:${port}`), 0, 'healthy: 0.0.0.0 is asked on loopback');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  t.equal(check(`0.0.0.0:${port}`), 1, 'nothing answers: unhealthy');
});

t.test('EACCES on a port under 1024 says what to do, with one worker or two (run without CAP_NET_BIND_SERVICE)', async (t) => {
  // The suite runs as root (CI too); setpriv drops the one capability for this case.
  for (const workers of ['1', '2']) {
    const r = spawnSync('setpriv', ['--bounding-set=-net_bind_service', '--', process.execPath, BIN, '--file', 'fixtures/catalog.yaml', '--listen', '127.0.0.1:53', '--workers', workers], { encoding: 'utf8', timeout: 20000 });
    t.equal(r.status, 1, `--workers ${workers}: exit 1`);
    t.match(r.stderr, /DNS UDP listener 127\.0\.0\.1:53: permission denied\. Ports below 1024 need root or the CAP_NET_BIND_SERVICE capability/, `--workers ${workers}: says why and what to do`);
  }
});
