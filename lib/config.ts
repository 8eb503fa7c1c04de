// Configuration: the options of config/options.ts, read from flags, SRVDNS_* environment
// variables and a YAML/JSON config file (config/sources.ts; flags win over env, env over
// file), validated once at start-up into a Config (values by config/values.ts). Unknown
// keys are rejected by name.
import { parseArgs } from 'node:util';
import { parseCidr } from './forward/acl.js';
import { LOG_LEVELS, redact, type LogLevel } from './log.js';
import type { ConsulConnection } from './registry/consul-http.js';
import { trimPrefix, type EtcdConnection, type EtcdSource } from './registry/etcd-mirror.js';
import type { ZkConnection, ZkSource } from './registry/zookeeper.js';
export type { EtcdSource } from './registry/etcd-mirror.js';
import { envName, OPTIONS, type OptionName, type OptionSpec, type Raw } from './config/options.js';
import { fromEnvValue, readConfigFile } from './config/sources.js';
import type { TtlRule } from './answer/ttl.js';
import { ConfigError, fail, parseDuration, parseEndpoint, parseRecursor, parseSeconds, parseTtlRule, parseZone, recursorStrategy, udpIo, type Endpoint } from './config/values.js';

export { helpText, OPTIONS } from './config/options.js';
export { ConfigError, type Endpoint } from './config/values.js';
export type { TtlRule } from './answer/ttl.js';

/** Config is the validated configuration; everything else reads only this. */
export interface Config {
  listen: Endpoint[];
  /** domain and altDomain are lower-case FQDNs. */
  domain: string;
  altDomain: string | undefined;
  /** datacenter is undefined when not set: Consul then says, and other registries use dc1. */
  datacenter: string | undefined;
  file: string | undefined;
  consul: ConsulConfig | undefined;
  /** consulKvPrefix, with consul, reads Registrator's consulkv keys instead of the catalog. */
  consulKvPrefix: string | undefined;
  etcd: EtcdConfig | undefined;
  zookeeper: ZkConfig | undefined;
  maxStaleMs: number;
  cacheSize: number;
  cacheIdleMs: number;
  onlyPassing: boolean;
  ttl: number;
  serviceTtl: TtlRule[];
  nodeTtl: number;
  soaMinTtl: number;
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  tcpMaxConnectionsPerClient: number;
  /** answerCacheBytes bounds the ready answers kept for the hot path. */
  answerCacheBytes: number;
  /** gcHeapGrowth is V8's heap growing percent (0: V8's own heuristics). */
  gcHeapGrowth: number;
  /** udpMaxSize is the largest UDP reply and the EDNS buffer size we advertise. */
  udpMaxSize: number;
  /** aRecordLimit is the most A/AAAA records an answer carries (0: no limit). */
  aRecordLimit: number;
  /** udpIo is how UDP is read and written: batched through the native part, Node's dgram, or batched when available. */
  udpIo: 'auto' | 'batch' | 'dgram';
  /** rrl limits UDP responses per client prefix; undefined: off. */
  rrl: { responsesPerSecond: number; slip: number } | undefined;
  workers: number;
  recursors: Endpoint[];
  recursorStrategy: 'sequential' | 'random';
  recursorTimeoutMs: number;
  /** recursorMaxConcurrent caps forwarded queries in flight. */
  recursorMaxConcurrent: number;
  allowRecursion: string[];
  /** metrics is where to serve /metrics; undefined: off. */
  metrics: Endpoint | undefined;
  logLevel: LogLevel;
}

/** ConsulConfig is how to reach Consul (the registry defines it: it is what it needs). */
export type ConsulConfig = ConsulConnection;

/** ZkConfig is how to reach ZooKeeper and which layouts to read, under which base znodes. */
export interface ZkConfig {
  connection: ZkConnection;
  sources: ZkSource[];
}

/** EtcdConfig is how to reach etcd and what to read. */
export interface EtcdConfig {
  connection: EtcdConnection;
  sources: EtcdSource[];
}

/** CliRequest is what the command line asked for besides configuration. */
export type CliRequest = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: Config; warnings: string[] };

/** loadConfig merges argv, env and the config file into a validated Config; its errors never show a secret. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliRequest {
  try {
    return readConfig(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(redact(err.message, secretValues(argv, env)));
  }
}

/** unknownVariables warns of SRVDNS_* variables that are no option: a typo in a container's environment is otherwise invisible. */
function unknownVariables(env: NodeJS.ProcessEnv): string[] {
  const known = Object.keys(OPTIONS).map(envName);
  return Object.keys(env)
    .filter((v) => v.startsWith('SRVDNS_') && !known.includes(v))
    .map((v) => {
      const nearest = known.reduce((best, k) => (editDistance(v, k) < editDistance(v, best) ? k : best));
      return `${v} is not a srvdns setting and is ignored${editDistance(v, nearest) <= 3 ? `; did you mean ${nearest}?` : ''}`;
    });
}

/** editDistance is the Levenshtein distance between two short strings. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** secretValues are the values given to secret options on the command line or in the environment. */
function secretValues(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) {
    if (!spec.secret) continue;
    for (const variable of [envName(name), ...(spec.env ?? [])]) if (env[variable]) out.push(env[variable]!);
    argv.forEach((arg, i) => {
      if (arg === `--${name}` && argv[i + 1] !== undefined) out.push(argv[i + 1]!);
      if (arg.startsWith(`--${name}=`)) out.push(arg.slice(name.length + 3));
    });
  }
  return out;
}

function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv): CliRequest {
  const parseOptions: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) {
    parseOptions[name] = { type: spec.kind === 'boolean' ? 'boolean' : 'string', multiple: spec.kind === 'strings' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: parseOptions, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError((err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const flags = parsed.values as Record<string, Raw | undefined>;
  if (flags.help) return { kind: 'help' };
  if (flags.version) return { kind: 'version' };

  const sources = new Map<OptionName, { value: Raw; source: string }>();
  const configPath = (flags.config as string | undefined) ?? env[envName('config')];
  if (configPath) {
    for (const [key, value] of Object.entries(readConfigFile(configPath))) {
      sources.set(key as OptionName, { value, source: `config key '${key}'` });
    }
  }
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) {
    for (const variable of [...(spec.env ?? []).slice().reverse(), envName(name)]) {
      const value = env[variable];
      if (value !== undefined && name !== 'config') sources.set(name, { value: fromEnvValue(name, value, variable), source: variable });
    }
    const flag = flags[name];
    if (flag !== undefined && name !== 'config') sources.set(name, { value: flag, source: `--${name}` });
  }

  const get = <K extends OptionName>(name: K): { value: Raw | undefined; source: string } => {
    const spec: OptionSpec = OPTIONS[name];
    return sources.get(name) ?? { value: spec.default, source: `--${name}` };
  };
  const str = (name: OptionName): string | undefined => {
    const { value } = get(name);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const list = (name: OptionName): readonly string[] => {
    const { value } = get(name);
    return Array.isArray(value) ? value : [];
  };
  const seconds = (name: OptionName): number => parseSeconds(get(name).source, str(name) ?? '0');
  const integer = (name: OptionName, min: number, max: number): number => {
    const { source } = get(name);
    const text = str(name) ?? '';
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) fail(source, `expected an integer from ${min} to ${max}, got "${text}"`);
    return Number(text);
  };

  const logLevel = str('log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) fail(get('log-level').source, `expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const listenSource = get('listen').source;
  const listen = list('listen').map((v) => parseEndpoint(listenSource, v));
  if (listen.length === 0) fail(listenSource, 'at least one address is needed');
  const domain = parseZone(get('domain').source, str('domain') ?? '');
  const alt = str('alt-domain');
  const altDomain = alt === undefined ? undefined : parseZone(get('alt-domain').source, alt);
  const datacenter = str('datacenter')?.toLowerCase();
  if (datacenter !== undefined && !/^[a-z0-9_-]{1,63}$/.test(datacenter)) fail(get('datacenter').source, `expected one DNS label, got "${datacenter}"`);
  const duration = (name: OptionName): number => parseDuration(get(name).source, str(name) ?? '');
  const file = str('file');
  const consulUrl = str('consul');
  const etcd = etcdConfig(get, str, list);
  const registrator = etcd?.sources.filter((s) => s.layout === 'registrator') ?? [];
  if (registrator.length > 1) fail(get('etcd-source').source, 'at most one registrator layout: it answers the Consul-style domain');
  const zookeeper = zkConfig(get, str, list, duration);
  // Several registries answer the Consul-style domain together (their services merged).
  const registries = [file, consulUrl, registrator.length > 0, zookeeper].filter(Boolean);
  // Every option given is checked, whether or not its registry is in use: a typo must not wait for the day it matters.
  const consulWaitMs = duration('consul-wait');
  if (consulWaitMs < 1000 || consulWaitMs > 600000) fail(get('consul-wait').source, 'expected from 1s to 10m (Consul caps wait at 10 minutes)');
  const consulTimeoutMs = duration('consul-timeout');
  let consul: ConsulConfig | undefined;
  if (consulUrl) {
    // CONSUL_HTTP_ADDR is often host:port without a scheme.
    const url = /^[a-z]+:\/\//i.test(consulUrl) ? consulUrl : `http://${consulUrl}`;
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) fail(get('consul').source, `expected an http:// or https:// URL, got "${consulUrl}"`);
    consul = {
      url,
      token: str('consul-token'),
      caFile: str('consul-ca'),
      certFile: str('consul-cert'),
      keyFile: str('consul-key'),
      waitMs: consulWaitMs,
      timeoutMs: consulTimeoutMs,
    };
  }
  const consulKvPrefix = str('consul-kv-prefix');
  if (consulKvPrefix !== undefined && !consul) fail(get('consul-kv-prefix').source, 'needs --consul: the KV store read is Consul\'s');
  if (consulKvPrefix !== undefined && consulKvPrefix.replace(/\//g, '') === '') fail(get('consul-kv-prefix').source, 'expected a KV path such as services');
  const config: Config = {
    listen,
    consulKvPrefix,
    domain,
    altDomain,
    datacenter,
    file,
    consul,
    etcd,
    zookeeper,
    maxStaleMs: duration('max-stale'),
    cacheSize: integer('cache-size', 1, 10000000),
    cacheIdleMs: duration('cache-idle'),
    onlyPassing: get('only-passing').value === true,
    ttl: seconds('ttl'),
    serviceTtl: list('service-ttl').map((v) => parseTtlRule(get('service-ttl').source, v)),
    nodeTtl: seconds('node-ttl'),
    soaMinTtl: seconds('soa-min-ttl'),
    tcpIdleTimeoutMs: duration('tcp-idle-timeout'),
    workers: integer('workers', 1, 256),
    recursors: list('recursor').map((r) => parseRecursor(get('recursor').source, r)),
    recursorStrategy: recursorStrategy(get('recursor-strategy').source, str('recursor-strategy') ?? ''),
    recursorTimeoutMs: duration('recursor-timeout'),
    recursorMaxConcurrent: integer('recursor-max-concurrent', 1, 1000000),
    allowRecursion: list('allow-recursion').map((c) => {
      if (!parseCidr(c)) fail(get('allow-recursion').source, `expected a CIDR like 10.0.0.0/8 or fc00::/7, got "${c}"`);
      return c;
    }),
    metrics: str('metrics') === undefined ? undefined : parseEndpoint(get('metrics').source, str('metrics')!),
    tcpMaxConnections: integer('tcp-max-connections', 1, 1000000),
    tcpMaxConnectionsPerClient: integer('tcp-max-connections-per-client', 1, 1000000),
    // RFC 6891 §6.2.5: below 512 is treated as 512; 4096 is the largest buffer in use.
    udpMaxSize: integer('udp-max-size', 512, 4096),
    aRecordLimit: integer('a-record-limit', 0, 65535),
    udpIo: udpIo(get('udp-io').source, str('udp-io') ?? ''),
    answerCacheBytes: integer('answer-cache-size', 0, 2 ** 40),
    gcHeapGrowth: integer('gc-heap-growth', 0, 1000),
    rrl: rrlConfig(integer('rrl-responses-per-second', 0, 1000000), integer('rrl-slip', 0, 10)),
    logLevel,
  };
  // Last, so that it never hides an error in what was given.
  if (registries.length === 0 && !etcd) throw new ConfigError('no registry: give --file PATH, --consul URL, --etcd URL or --zookeeper CONNECT (or SRVDNS_FILE / SRVDNS_CONSUL / SRVDNS_ETCD / SRVDNS_ZOOKEEPER)');
  return { kind: 'run', config, warnings: unknownVariables(env) };
}

/** rrlConfig is response rate limiting, or undefined when it is off (0 responses a second). */
function rrlConfig(responsesPerSecond: number, slip: number): Config['rrl'] {
  return responsesPerSecond === 0 ? undefined : { responsesPerSecond, slip };
}

type Getter = (name: OptionName) => { value: Raw | undefined; source: string };

/** specFields reads a repeatable source option's `key=value,…` pairs, refusing keys not in allowed. */
function specFields(from: string, spec: string, allowed: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    if (eq <= 0 || !allowed.includes(key)) fail(from, `expected ${allowed.map((k) => `${k}=`).join(',')} pairs, got "${part}"`);
    fields.set(key, part.slice(eq + 1).trim());
  }
  return fields;
}

/** zkConfig reads the ZooKeeper options: the connection string, credentials, and one or more layouts. */
function zkConfig(get: Getter, str: (name: OptionName) => string | undefined, list: (name: OptionName) => readonly string[], duration: (name: OptionName) => number): ZkConfig | undefined {
  const connect = str('zookeeper');
  // host:port pairs (a host may be a name or [IPv6]), an optional chroot path after the last.
  if (connect !== undefined && !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}(?:,(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5})*(?:\/[^\s,]*)?$/.test(connect)) {
    fail(get('zookeeper').source, `expected host:port[,host:port…][/chroot], got "${connect}"`);
  }
  const auth = str('zk-auth');
  if (auth !== undefined && !/^[^:]+:.*$/.test(auth)) fail(get('zk-auth').source, 'expected user:password');
  const sessionTimeoutMs = duration('zk-session-timeout');
  if (sessionTimeoutMs < 1000 || sessionTimeoutMs > 600000) fail(get('zk-session-timeout').source, 'expected from 1s to 10m');
  const source = (layout: string, base: string | undefined, blame: (field: 'layout' | 'base') => string): ZkSource => {
    if (layout !== 'registrator' && layout !== 'curator') fail(blame('layout'), `expected registrator or curator, got "${layout}"`);
    const b = base ?? '/services';
    if (!/^\/[^\s]*$/.test(b)) fail(blame('base'), `expected a znode path like /services, got "${b}"`);
    return { layout, base: trimPrefix(b) || '/' };
  };
  const single = source(str('zk-layout') ?? 'registrator', str('zk-base'), (field) => get(`zk-${field}`).source);
  const specs = list('zk-source');
  const sources = specs.length === 0 ? [single] : specs.map((spec) => {
    const from = `${get('zk-source').source} "${spec}"`;
    const fields = specFields(from, spec, ['layout', 'base']);
    return source(fields.get('layout') ?? 'registrator', fields.get('base'), (field) => `${from}: ${field}`);
  });
  if (connect === undefined) {
    if (specs.length > 0) fail(get('zk-source').source, 'needs --zookeeper CONNECT');
    return undefined;
  }
  return { connection: { connect, auth, sessionTimeoutMs }, sources };
}

/** etcdConfig reads the etcd options: endpoints, credentials, and one or more sources. */
function etcdConfig(get: Getter, str: (name: OptionName) => string | undefined, list: (name: OptionName) => readonly string[]): EtcdConfig | undefined {
  const endpoints = list('etcd').flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) fail(get('etcd').source, `expected http://host:port or https://host:port, got "${e}"`);
  }
  /** source checks one source's fields; blame names where each field came from. */
  const source = (layout: string, api: string, prefix: string | undefined, zone: string, blame: (field: 'layout' | 'api' | 'prefix' | 'zone') => string): EtcdSource => {
    if (layout !== 'skydns' && layout !== 'registrator') fail(blame('layout'), `expected skydns or registrator, got "${layout}"`);
    if (api !== 'v3' && api !== 'v2') fail(blame('api'), `expected v3 or v2, got "${api}"`);
    const p = prefix ?? (layout === 'skydns' ? '/skydns' : '/services');
    if (!/^\/[^\s]*$/.test(p) || p === '/') fail(blame('prefix'), `expected a path like /skydns, got "${p}"`);
    return { layout, api, prefix: trimPrefix(p), zone: parseZone(blame('zone'), zone) };
  };
  // The single-source flags are checked even without --etcd, each error naming its own flag.
  const single = source(str('etcd-layout') ?? 'skydns', str('etcd-api') ?? 'v3', str('etcd-prefix'), str('etcd-zone') ?? 'skydns.local.', (field) => get(`etcd-${field}`).source);
  const specs = list('etcd-source');
  const sources: EtcdSource[] = [];
  if (specs.length === 0) {
    sources.push(single);
  } else {
    for (const spec of specs) {
      const from = `${get('etcd-source').source} "${spec}"`;
      const fields = specFields(from, spec, ['layout', 'api', 'prefix', 'zone']);
      sources.push(source(fields.get('layout') ?? 'skydns', fields.get('api') ?? 'v3', fields.get('prefix'), fields.get('zone') ?? 'skydns.local.', (field) => `${from}: ${field}`));
    }
  }
  if (endpoints.length === 0) {
    if (specs.length > 0) fail(get('etcd-source').source, 'needs --etcd URL');
    return undefined;
  }
  return {
    connection: {
      endpoints: endpoints.map((e) => e.replace(/\/$/, '')),
      user: str('etcd-user'),
      password: str('etcd-password'),
      caFile: str('etcd-ca'),
      certFile: str('etcd-cert'),
      keyFile: str('etcd-key'),
    },
    sources,
  };
}

