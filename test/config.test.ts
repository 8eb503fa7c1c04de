// Configuration: flags > env > file > defaults, one name per option everywhere,
// unknown keys and bad values rejected by name.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../lib/config.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = loadConfig(argv, env);
  if (r.kind !== 'run') throw new Error(`expected run, got ${r.kind}`);
  return r.config;
}

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-config-'));
  const file = join(dir, 'srvdns.yaml');
  writeFileSync(file, text);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return file;
}

t.test('defaults', async (t) => {
  const c = run(['--file', 'x.yaml']);
  t.same(c.listen, [{ host: '127.0.0.1', port: 8600 }]);
  t.equal(c.domain, 'consul.');
  t.equal(c.altDomain, undefined);
  t.equal(c.datacenter, undefined, 'the registry decides');
  t.equal(c.onlyPassing, false);
  t.equal(c.ttl, 0);
  t.equal(c.nodeTtl, 0);
  t.equal(c.soaMinTtl, 0);
  t.same(c.serviceTtl, []);
  t.equal(c.tcpIdleTimeoutMs, 10000);
  t.equal(c.logLevel, 'info');
  t.equal(c.gcHeapGrowth, 20, "V8's heap grows at most 20% past the live data");
  t.equal(run(['--file', 'x.yaml', '--gc-heap-growth', '0']).gcHeapGrowth, 0, "0: V8's own choice");
});

t.test('flags win over env, env over the config file', async (t) => {
  const file = configFile('file: from-file.yaml\ndomain: file.example\ndatacenter: filedc\nttl: 5\nservice-ttl: { web: 30, "db*": 5 }\nlisten: ["127.0.0.2:53"]\nonly-passing: true\n');
  const fromFile = run(['--config', file]);
  t.equal(fromFile.file, 'from-file.yaml');
  t.equal(fromFile.domain, 'file.example.');
  t.equal(fromFile.ttl, 5);
  t.same(fromFile.serviceTtl, [{ pattern: 'web', ttl: 30 }, { pattern: 'db*', ttl: 5 }], 'a map in the file');
  t.same(fromFile.listen, [{ host: '127.0.0.2', port: 53 }]);
  t.equal(fromFile.onlyPassing, true);
  const env = { SRVDNS_CONFIG: file, SRVDNS_DOMAIN: 'env.example', SRVDNS_LISTEN: '127.0.0.3:53,[::1]:5353', SRVDNS_ONLY_PASSING: 'false' };
  const fromEnv = run([], env);
  t.equal(fromEnv.domain, 'env.example.', 'env over file');
  t.equal(fromEnv.datacenter, 'filedc', 'file still fills the rest');
  t.same(fromEnv.listen, [{ host: '127.0.0.3', port: 53 }, { host: '::1', port: 5353 }], 'comma-separated list in env');
  t.equal(fromEnv.onlyPassing, false);
  const fromFlags = run(['--domain', 'flag.example', '--listen', '127.0.0.4:1', '--listen', '127.0.0.5:2'], env);
  t.equal(fromFlags.domain, 'flag.example.', 'flag over env');
  t.same(fromFlags.listen, [{ host: '127.0.0.4', port: 1 }, { host: '127.0.0.5', port: 2 }], 'repeated flag');
});

t.test("Consul's own environment variables are read", async (t) => {
  const c = run([], { CONSUL_HTTP_ADDR: '127.0.0.1:8500', CONSUL_HTTP_TOKEN: 'secret' });
  t.equal(c.consul?.url, 'http://127.0.0.1:8500', 'a scheme is added to host:port');
  t.equal(c.consul?.token, 'secret');
  const ours = run([], { CONSUL_HTTP_ADDR: '127.0.0.1:8500', SRVDNS_CONSUL: 'https://consul.example:8501' });
  t.equal(ours.consul?.url, 'https://consul.example:8501', 'SRVDNS_CONSUL wins over CONSUL_HTTP_ADDR');
  t.equal(ours.consul?.waitMs, 300000, 'default wait 5m');
  t.equal(ours.maxStaleMs, 72 * 3600 * 1000, 'default max-stale 72h');
});

t.test('etcd sources: the single-flag form, and several with --etcd-source', async (t) => {
  const one = run(['--etcd', 'http://127.0.0.1:2379,http://127.0.0.2:2379/']);
  t.same(one.etcd?.connection.endpoints, ['http://127.0.0.1:2379', 'http://127.0.0.2:2379']);
  t.same(one.etcd?.sources, [{ layout: 'skydns', api: 'v3', prefix: '/skydns', zone: 'skydns.local.' }], 'defaults');
  const reg = run(['--etcd', 'http://127.0.0.1:2379', '--etcd-layout', 'registrator', '--etcd-api', 'v2']);
  t.same(reg.etcd?.sources, [{ layout: 'registrator', api: 'v2', prefix: '/services', zone: 'skydns.local.' }]);
  const many = run([
    '--etcd', 'http://127.0.0.1:2379',
    '--etcd-source', 'layout=skydns,api=v3,prefix=/skydns,zone=skydns.local',
    '--etcd-source', 'layout=skydns,api=v2,prefix=/skydns/local/docker/,zone=docker.local.',
    '--etcd-source', 'layout=registrator,api=v2,prefix=/services',
  ]);
  t.same(many.etcd?.sources.map((s) => `${s.layout} ${s.api} ${s.prefix} ${s.zone}`), [
    'skydns v3 /skydns skydns.local.',
    'skydns v2 /skydns/local/docker docker.local.',
    'registrator v2 /services skydns.local.',
  ]);
});

t.test('zookeeper sources: the single-flag form, several with --zk-source, and registries together', async (t) => {
  const one = run(['--zookeeper', 'zk1:2181,[::1]:2182/tenant/a', '--zk-auth', 'app:s3cret']);
  t.same(one.zookeeper, { connection: { connect: 'zk1:2181,[::1]:2182/tenant/a', auth: 'app:s3cret', sessionTimeoutMs: 10000 }, sources: [{ layout: 'registrator', base: '/services' }] }, 'defaults');
  const cur = run(['--zookeeper', 'zk:2181', '--zk-layout', 'curator', '--zk-base', '/discovery/', '--zk-session-timeout', '30s']);
  t.same([cur.zookeeper?.sources, cur.zookeeper?.connection.sessionTimeoutMs], [[{ layout: 'curator', base: '/discovery' }], 30000]);
  const many = run(['--zookeeper', 'zk:2181', '--zk-source', 'layout=curator,base=/services', '--zk-source', 'layout=registrator,base=/']);
  t.same(many.zookeeper?.sources, [{ layout: 'curator', base: '/services' }, { layout: 'registrator', base: '/' }]);
  // Several registries answer the Consul-style domain together.
  const together = run(['--file', 'x', '--consul', 'http://127.0.0.1:8500', '--etcd', 'http://127.0.0.1:2379', '--etcd-layout', 'registrator', '--zookeeper', 'zk:2181']);
  t.same([together.file, together.consul?.url, together.etcd?.sources[0]?.layout, together.zookeeper?.connection.connect], ['x', 'http://127.0.0.1:8500', 'registrator', 'zk:2181']);
});

t.test('recursors: port 53 by default, IPv6 forms, default recursion ranges', async (t) => {
  const c = run(['--file', 'x', '--recursor', '10.0.0.53', '--recursor', '[2001:db8::53]', '--recursor', '127.0.0.1:5353', '--recursor', '[::1]:5300']);
  t.same(c.recursors, [{ host: '10.0.0.53', port: 53 }, { host: '2001:db8::53', port: 53 }, { host: '127.0.0.1', port: 5353 }, { host: '::1', port: 5300 }]);
  t.equal(c.recursorStrategy, 'sequential');
  t.equal(c.recursorTimeoutMs, 2000);
  t.ok(c.allowRecursion.includes('172.16.0.0/12') && c.allowRecursion.includes('fc00::/7') && c.allowRecursion.includes('100.64.0.0/10'), 'private ranges by default');
});

t.test('durations and TTL forms', async (t) => {
  const c = run(['--file', 'x', '--ttl', '5m', '--node-ttl', '1h', '--service-ttl', 'Web=30s', '--tcp-idle-timeout', '1.5s']);
  t.equal(c.ttl, 300);
  t.equal(c.nodeTtl, 3600);
  t.same(c.serviceTtl, [{ pattern: 'web', ttl: 30 }]);
  t.equal(c.tcpIdleTimeoutMs, 1500);
});

const bad: { name: string; argv: string[]; env?: NodeJS.ProcessEnv; error: RegExp }[] = [
  { name: 'an unknown flag', argv: ['--file', 'x', '--bogus'], error: /Unknown option '--bogus'/ },
  { name: 'a bad TTL', argv: ['--file', 'x', '--ttl', 'soon'], error: /^--ttl: expected whole seconds/ },
  { name: 'a listen address without a port', argv: ['--file', 'x', '--listen', 'localhost'], error: /^--listen: expected HOST:PORT, where HOST is an IP address, \[IPv6\] or a host name; got "localhost"/ },
  { name: 'a listen address that is no host name', argv: ['--file', 'x', '--listen', 'bad_host!:53'], error: /^--listen: expected HOST:PORT/ },
  { name: 'a port out of range', argv: ['--file', 'x', '--listen', '127.0.0.1:70000'], error: /^--listen: / },
  { name: 'a bad service TTL', argv: ['--file', 'x', '--service-ttl', 'web'], error: /^--service-ttl: expected NAME=SECONDS/ },
  { name: 'a star inside a pattern', argv: ['--file', 'x', '--service-ttl', 'w*b=3'], error: /only a trailing \*/ },
  { name: 'a bad log level', argv: ['--file', 'x', '--log-level', 'loud'], error: /^--log-level: expected one of/ },
  { name: 'a bad domain', argv: ['--file', 'x', '--domain', 'bad domain'], error: /^--domain: not a domain name/ },
  { name: 'a bad env value, named by its variable', argv: ['--file', 'x'], env: { SRVDNS_NODE_TTL: 'x' }, error: /^SRVDNS_NODE_TTL: expected whole seconds/ },
  { name: 'a bad env boolean', argv: ['--file', 'x'], env: { SRVDNS_ONLY_PASSING: 'maybe' }, error: /^SRVDNS_ONLY_PASSING: expected true or false/ },
  { name: 'a negative heap growth', argv: ['--file', 'x', '--gc-heap-growth=-5'], error: /^--gc-heap-growth: expected an integer from 0 to 1000, got "-5"/ },
  { name: 'no registry', argv: [], error: /no registry: give --file PATH, --consul URL, --etcd URL or --zookeeper CONNECT/ },
  { name: 'two etcd registrator layouts', argv: ['--etcd', 'http://127.0.0.1:2379', '--etcd-source', 'layout=registrator', '--etcd-source', 'layout=registrator,prefix=/r2'], error: /^--etcd-source: at most one registrator layout/ },
  { name: 'a bad zookeeper connection string', argv: ['--zookeeper', 'http://zk:2181'], error: /^--zookeeper: expected host:port\[,host:port…\]\[\/chroot\], got "http:\/\/zk:2181"/ },
  { name: 'a zookeeper host without a port', argv: ['--zookeeper', 'zk1:2181,zk2'], error: /^--zookeeper: expected host:port/ },
  { name: 'a bad zk layout', argv: ['--zookeeper', 'zk:2181', '--zk-layout', 'eureka'], error: /^--zk-layout: expected registrator or curator, got "eureka"/ },
  { name: 'a bad zk base', argv: ['--zookeeper', 'zk:2181', '--zk-base', 'services'], error: /^--zk-base: expected a znode path like \/services, got "services"/ },
  { name: 'a bad zk source key', argv: ['--zookeeper', 'zk:2181', '--zk-source', 'layout=curator,path=/x'], error: /^--zk-source "layout=curator,path=\/x": expected layout=,base= pairs, got "path=\/x"/ },
  { name: 'a bad layout in a zk source', argv: ['--zookeeper', 'zk:2181', '--zk-source', 'layout=x'], error: /^--zk-source "layout=x": layout: expected registrator or curator/ },
  { name: 'a zk source without zookeeper', argv: ['--file', 'x', '--zk-source', 'layout=curator'], error: /^--zk-source: needs --zookeeper CONNECT/ },
  { name: 'zk auth without a colon', argv: ['--zookeeper', 'zk:2181', '--zk-auth', 'secret'], error: /^--zk-auth: expected user:password$/ },
  { name: 'a zk session timeout too short', argv: ['--zookeeper', 'zk:2181', '--zk-session-timeout', '100ms'], error: /^--zk-session-timeout: expected from 1s to 10m/ },
  { name: 'a bad etcd URL', argv: ['--etcd', '127.0.0.1:2379'], error: /^--etcd: expected http:\/\/host:port/ },
  { name: 'a bad etcd layout', argv: ['--etcd', 'http://127.0.0.1:2379', '--etcd-layout', 'flat'], error: /layout: expected skydns or registrator/ },
  { name: 'a bad etcd api', argv: ['--etcd', 'http://127.0.0.1:2379', '--etcd-api', 'v4'], error: /api: expected v3 or v2/ },
  { name: 'a bad etcd source', argv: ['--etcd', 'http://127.0.0.1:2379', '--etcd-source', 'layout=skydns,colour=blue'], error: /expected layout=,api=,prefix=,zone= pairs, got "colour=blue"/ },
  { name: 'a bad recursor', argv: ['--file', 'x', '--recursor', 'dns..example:53'], error: /^--recursor: expected HOST:PORT, where HOST is an IP address, \[IPv6\] or a host name \(the port may be left out: 53\)/ },
  { name: 'a bad recursor strategy', argv: ['--file', 'x', '--recursor-strategy', 'fastest'], error: /^--recursor-strategy: expected sequential or random/ },
  { name: 'a bad recursion CIDR', argv: ['--file', 'x', '--allow-recursion', '10.0.0.0/33'], error: /^--allow-recursion: expected a CIDR/ },
  { name: 'a source without etcd', argv: ['--file', 'x', '--etcd-source', 'layout=skydns'], error: /--etcd-source: needs --etcd URL/ },
  { name: 'a bad Consul URL', argv: ['--consul', 'ftp://x'], error: /^--consul: expected an http:\/\/ or https:\/\/ URL/ },
  { name: 'a Consul wait over 10m', argv: ['--consul', 'http://127.0.0.1:8500', '--consul-wait', '11m'], error: /^--consul-wait: expected from 1s to 10m/ },
  { name: 'a bad duration', argv: ['--file', 'x', '--tcp-idle-timeout', '10'], error: /^--tcp-idle-timeout: expected a duration/ },
  { name: 'a positional argument', argv: ['--file', 'x', 'extra'], error: /Unexpected argument 'extra'/ },
];

t.test('bad values are errors that name the option', async (t) => {
  for (const c of bad) t.throws(() => loadConfig(c.argv, c.env ?? {}), { constructor: ConfigError, message: c.error }, c.name);
});

t.test('config file errors name the key', async (t) => {
  t.throws(() => loadConfig(['--config', configFile('domian: x\n')], {}), { message: /unknown key 'domian'/ });
  t.throws(() => loadConfig(['--config', configFile('ttl: [1]\n')], {}), { message: /config key 'ttl': expected a value/ });
  t.throws(() => loadConfig(['--config', configFile('only-passing: "yes"\n')], {}), { message: /config key 'only-passing': expected true or false/ });
  t.throws(() => loadConfig(['--config', configFile('- a\n')], {}), { message: /expected a map of options/ });
  t.throws(() => loadConfig(['--config', '/nonexistent.yaml'], {}), { message: /config file \/nonexistent\.yaml: ENOENT/ });
  t.throws(() => loadConfig(['--config', configFile('ttl: -1\nfile: x\n')], {}), { message: /^config key 'ttl': expected whole seconds/ });
});

t.test('--help is a help request (what it prints: test/cli.test.ts)', async (t) => {
  t.same(loadConfig(['--help'], {}), { kind: 'help' });
});
