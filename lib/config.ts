// Configuration: one table of options, read from flags, SRVDNS_* environment variables
// and a YAML/JSON config file (flags win over env, env over file), validated once at
// start-up. Defaults live in the table and nowhere else; unknown keys are rejected by name.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { fqdn, isValidName } from './dns/names.js';
import { DEFAULT_ALLOW_RECURSION, parseCidr } from './forward/acl.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import type { EtcdConnection } from './registry/etcd-mirror.js';

type Kind = 'string' | 'boolean' | 'strings' | 'seconds' | 'duration' | 'integer';

interface OptionSpec {
  kind: Kind;
  help: string;
  arg?: string;
  default?: string | boolean | readonly string[];
  /** env lists extra environment variables read (after SRVDNS_*), e.g. CONSUL_HTTP_ADDR. */
  env?: readonly string[];
}

/** OPTIONS is every setting srvdns has: flag `--name`, env `SRVDNS_NAME`, config key `name`. */
export const OPTIONS = {
  config: { kind: 'string', arg: 'FILE', help: 'YAML or JSON config file whose keys are these option names' },
  listen: {
    kind: 'strings',
    arg: 'HOST:PORT',
    default: ['127.0.0.1:8600'],
    help: 'address to answer on, UDP and TCP; repeatable ([::1]:8600 for IPv6, port 0 picks a free port)',
  },
  domain: { kind: 'string', arg: 'NAME', default: 'consul.', help: 'the zone of Consul-style names' },
  'alt-domain': { kind: 'string', arg: 'NAME', help: 'a second zone answering the same names (Consul alt_domain)' },
  datacenter: { kind: 'string', arg: 'NAME', help: "the local datacenter (default: Consul agent's own, else dc1)" },
  file: { kind: 'string', arg: 'PATH', help: 'serve the catalog in this JSON or YAML file, reloaded when it changes' },
  consul: {
    kind: 'string',
    arg: 'URL',
    env: ['CONSUL_HTTP_ADDR'],
    help: 'serve the catalog of the Consul agent at this URL (http:// or https://)',
  },
  'consul-token': { kind: 'string', arg: 'TOKEN', env: ['CONSUL_HTTP_TOKEN'], help: 'ACL token sent as X-Consul-Token' },
  'consul-ca': { kind: 'string', arg: 'FILE', env: ['CONSUL_CACERT'], help: 'CA certificate (PEM) for an https:// Consul' },
  'consul-cert': { kind: 'string', arg: 'FILE', env: ['CONSUL_CLIENT_CERT'], help: 'client certificate (PEM) for an https:// Consul' },
  'consul-key': { kind: 'string', arg: 'FILE', env: ['CONSUL_CLIENT_KEY'], help: 'client key (PEM) for an https:// Consul' },
  'consul-wait': { kind: 'duration', arg: 'DURATION', default: '5m', help: 'longest wait of a blocking query (at most 10m)' },
  'consul-timeout': {
    kind: 'duration',
    arg: 'DURATION',
    default: '2s',
    help: 'timeout of a non-blocking Consul request: a cold miss during an outage fails this fast',
  },
  etcd: { kind: 'strings', arg: 'URL', help: 'etcd endpoints (http:// or https://); repeatable, or comma-separated' },
  'etcd-api': { kind: 'string', arg: 'v3|v2', default: 'v3', help: "etcd keyspace to read: v3, or v2 (where Registrator writes)" },
  'etcd-layout': {
    kind: 'string',
    arg: 'skydns|registrator',
    default: 'skydns',
    help: 'skydns: SkyDNS/CoreDNS records under --etcd-zone; registrator: <prefix>/<name>/<id> = ip:port, as Consul-style names',
  },
  'etcd-prefix': { kind: 'string', arg: 'PATH', help: 'etcd key prefix (default /skydns for skydns, /services for registrator)' },
  'etcd-zone': { kind: 'string', arg: 'NAME', default: 'skydns.local.', help: 'the zone a skydns layout answers' },
  'etcd-source': {
    kind: 'strings',
    arg: 'SPEC',
    help: 'one more etcd source, e.g. layout=skydns,api=v2,prefix=/skydns,zone=skydns.local.; repeatable (replaces the single --etcd-layout/-api/-prefix/-zone form)',
  },
  'etcd-user': { kind: 'string', arg: 'NAME', help: 'etcd user name (auth)' },
  'etcd-password': { kind: 'string', arg: 'PASSWORD', help: 'etcd password (auth)' },
  'etcd-ca': { kind: 'string', arg: 'FILE', help: 'CA certificate (PEM) for https:// etcd endpoints' },
  'etcd-cert': { kind: 'string', arg: 'FILE', help: 'client certificate (PEM) for etcd' },
  'etcd-key': { kind: 'string', arg: 'FILE', help: 'client key (PEM) for etcd' },
  'max-stale': {
    kind: 'duration',
    arg: 'DURATION',
    default: '72h',
    help: 'keep answering from data this old while the registry is unreachable; older is SERVFAIL',
  },
  'cache-size': {
    kind: 'integer',
    arg: 'N',
    default: '150',
    help: "most services and nodes cached (one blocking query each; mind Consul's http_max_conns_per_client, 200)",
  },
  'cache-idle': { kind: 'duration', arg: 'DURATION', default: '1h', help: 'drop a cached service no query asked for in this long' },
  'only-passing': { kind: 'boolean', default: false, help: 'leave instances in warning state out of answers' },
  ttl: { kind: 'seconds', arg: 'SECONDS', default: '0', help: 'TTL of service records (30, 30s, 5m)' },
  'service-ttl': {
    kind: 'strings',
    arg: 'NAME=SECONDS',
    help: 'TTL for one service, or for names matching prefix* or *; repeatable (config file: a map)',
  },
  'node-ttl': { kind: 'seconds', arg: 'SECONDS', default: '0', help: 'TTL of node and .addr records' },
  'soa-min-ttl': {
    kind: 'seconds',
    arg: 'SECONDS',
    default: '0',
    help: 'SOA minimum: how long resolvers may cache a negative answer (RFC 2308)',
  },
  metrics: { kind: 'string', arg: 'HOST:PORT', help: 'serve /metrics, /healthz and /readyz over HTTP here (off by default; 127.0.0.1:9153 suggested)' },
  workers: { kind: 'integer', arg: 'N', default: '1', help: 'processes answering on the same sockets (Node cluster), for hosts with more cores' },
  recursor: {
    kind: 'strings',
    arg: 'HOST[:PORT]',
    help: 'resolver to forward names outside our zones to (default port 53); repeatable. None: REFUSED',
  },
  'recursor-strategy': { kind: 'string', arg: 'sequential|random', default: 'sequential', help: 'the order recursors are tried in' },
  'recursor-timeout': { kind: 'duration', arg: 'DURATION', default: '2s', help: 'how long to wait for one recursor before trying the next' },
  'allow-recursion': {
    kind: 'strings',
    arg: 'CIDR',
    default: DEFAULT_ALLOW_RECURSION,
    help: 'clients that may recurse (loopback and private ranges by default); others get REFUSED outside our zones; repeatable',
  },
  'tcp-idle-timeout': { kind: 'duration', arg: 'DURATION', default: '10s', help: 'close idle TCP connections after' },
  'tcp-max-connections': { kind: 'integer', arg: 'N', default: '1000', help: 'most TCP connections at once per listener' },
  'log-level': { kind: 'string', arg: 'LEVEL', default: 'info', help: `log level: ${LOG_LEVELS.join(', ')}` },
} as const satisfies Record<string, OptionSpec>;

type OptionName = keyof typeof OPTIONS;
type Raw = string | boolean | readonly string[];

/** Endpoint is an address to listen on. */
export interface Endpoint {
  host: string;
  port: number;
}

/** TtlRule is a per-service TTL: an exact name, a prefix (`web*`), or everything (`*`). */
export interface TtlRule {
  pattern: string;
  ttl: number;
}

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
  etcd: EtcdConfig | undefined;
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
  workers: number;
  recursors: Endpoint[];
  recursorStrategy: 'sequential' | 'random';
  recursorTimeoutMs: number;
  allowRecursion: string[];
  /** metrics is where to serve /metrics; undefined: off. */
  metrics: Endpoint | undefined;
  logLevel: LogLevel;
}

/** ConsulConfig is how to reach Consul. */
export interface ConsulConfig {
  url: string;
  token: string | undefined;
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
  /** waitMs is the blocking `wait`; timeoutMs bounds a non-blocking request. */
  waitMs: number;
  timeoutMs: number;
}

/** EtcdSource is one prefix read from etcd, in one layout. */
export interface EtcdSource {
  layout: 'skydns' | 'registrator';
  api: 'v2' | 'v3';
  prefix: string;
  /** zone is the lower-case FQDN a skydns source answers; unused by registrator. */
  zone: string;
}

/** EtcdConfig is how to reach etcd and what to read. */
export interface EtcdConfig {
  connection: EtcdConnection;
  sources: EtcdSource[];
}

/** ConfigError is a bad option value or key; the CLI prints it and exits 2. */
export class ConfigError extends Error {}

function envName(name: string): string {
  return `SRVDNS_${name.toUpperCase().replace(/-/g, '_')}`;
}

function fail(source: string, message: string): never {
  throw new ConfigError(`${source}: ${message}`);
}

/** parseSeconds reads 30, 30s, 5m or 1h as whole seconds. */
function parseSeconds(source: string, value: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(value.trim());
  if (!m) fail(source, `expected whole seconds like 30, 30s, 5m or 1h, got "${value}"`);
  const n = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (n > 2147483647) fail(source, `at most 2147483647 seconds (RFC 2181 §8), got "${value}"`);
  return n;
}

/** parseDuration reads 500ms, 10s, 5m or 1h as milliseconds. */
function parseDuration(source: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) fail(source, `expected a duration like 500ms, 10s or 5m, got "${value}"`);
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function parseEndpoint(source: string, value: string): Endpoint {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(value.trim());
  const host = m?.[1] ?? m?.[2];
  if (!m || !host || isIP(host) === 0 || Number(m[3]) > 65535) {
    fail(source, `expected IP:PORT or [IPv6]:PORT, got "${value}"`);
  }
  return { host, port: Number(m[3]) };
}

/** parseRecursor reads HOST, HOST:PORT, [V6] or [V6]:PORT; the port defaults to 53. */
function parseRecursor(source: string, value: string): Endpoint {
  const v = value.trim();
  if (isIP(v)) return { host: v, port: 53 };
  const m = /^\[([^\]]+)\]$/.exec(v);
  if (m && isIP(m[1]!) === 6) return { host: m[1]!, port: 53 };
  return parseEndpoint(source, v);
}

function recursorStrategy(source: string, value: string): 'sequential' | 'random' {
  if (value !== 'sequential' && value !== 'random') fail(source, `expected sequential or random, got "${value}"`);
  return value;
}

function parseZone(source: string, value: string): string {
  const zone = fqdn(value);
  if (zone === '.' || !isValidName(zone) || !/^[a-z0-9_.-]+$/.test(zone)) fail(source, `not a domain name: "${value}"`);
  return zone;
}

function parseTtlRule(source: string, value: string): TtlRule {
  const eq = value.lastIndexOf('=');
  if (eq <= 0) fail(source, `expected NAME=SECONDS, prefix*=SECONDS or *=SECONDS, got "${value}"`);
  const pattern = value.slice(0, eq).trim().toLowerCase();
  if (pattern.slice(0, -1).includes('*')) fail(source, `only a trailing * is allowed, got "${pattern}"`);
  return { pattern, ttl: parseSeconds(source, value.slice(eq + 1)) };
}

/** fromFileValue normalises a config file value to the string forms flags use. */
function fromFileValue(key: OptionName, value: unknown): Raw {
  const source = `config key '${key}'`;
  const spec: OptionSpec = OPTIONS[key];
  if (spec.kind === 'boolean') {
    if (typeof value !== 'boolean') fail(source, `expected true or false, got ${JSON.stringify(value)}`);
    return value;
  }
  if (spec.kind === 'strings') {
    if (key === 'service-ttl' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.entries(value).map(([k, v]) => `${k}=${String(v)}`);
    }
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((v) => typeof v === 'string' || typeof v === 'number')) {
      fail(source, `expected a string or a list of strings, got ${JSON.stringify(value)}`);
    }
    return list.map(String);
  }
  if (typeof value !== 'string' && typeof value !== 'number') fail(source, `expected a value, got ${JSON.stringify(value)}`);
  return String(value);
}

function fromEnvValue(key: OptionName, value: string, source: string): Raw {
  const spec: OptionSpec = OPTIONS[key];
  if (spec.kind === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off|)$/i.test(value)) return false;
    fail(source, `expected true or false, got "${value}"`);
  }
  if (spec.kind === 'strings') return value.split(',').map((s) => s.trim()).filter(Boolean);
  return value;
}

function readConfigFile(path: string): Partial<Record<OptionName, Raw>> {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${path}: expected a map of options`);
  const out: Partial<Record<OptionName, Raw>> = {};
  for (const [key, value] of Object.entries(data)) {
    if (!(key in OPTIONS) || key === 'config') throw new ConfigError(`config file ${path}: unknown key '${key}'`);
    out[key as OptionName] = fromFileValue(key as OptionName, value);
  }
  return out;
}

/** CliRequest is what the command line asked for besides configuration. */
export type CliRequest = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: Config };

/** loadConfig merges argv, env and the config file into a validated Config. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliRequest {
  const parseOptions: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    help: { type: 'boolean' },
    version: { type: 'boolean' },
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
  if (registrator.length > 1) fail('--etcd-source', 'at most one registrator layout: it answers the Consul-style domain');
  const registries = [file && '--file', consulUrl && '--consul', registrator.length > 0 && 'the etcd registrator layout'].filter(Boolean);
  if (registries.length === 0 && !etcd) fail('srvdns', 'no registry: give --file PATH, --consul URL or --etcd URL (or SRVDNS_FILE / SRVDNS_CONSUL / SRVDNS_ETCD)');
  if (registries.length > 1) fail('srvdns', `one registry for the ${domain} domain at a time: got ${registries.join(' and ')}`);
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
    const waitMs = duration('consul-wait');
    if (waitMs < 1000 || waitMs > 600000) fail(get('consul-wait').source, 'expected from 1s to 10m (Consul caps wait at 10 minutes)');
    consul = {
      url,
      token: str('consul-token'),
      caFile: str('consul-ca'),
      certFile: str('consul-cert'),
      keyFile: str('consul-key'),
      waitMs,
      timeoutMs: duration('consul-timeout'),
    };
  }
  const config: Config = {
    listen,
    domain,
    altDomain,
    datacenter,
    file,
    consul,
    etcd,
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
    allowRecursion: list('allow-recursion').map((c) => {
      if (!parseCidr(c)) fail(get('allow-recursion').source, `expected a CIDR like 10.0.0.0/8 or fc00::/7, got "${c}"`);
      return c;
    }),
    metrics: str('metrics') === undefined ? undefined : parseEndpoint(get('metrics').source, str('metrics')!),
    tcpMaxConnections: integer('tcp-max-connections', 1, 1000000),
    logLevel,
  };
  return { kind: 'run', config };
}

type Getter = (name: OptionName) => { value: Raw | undefined; source: string };

/** etcdConfig reads the etcd options: endpoints, credentials, and one or more sources. */
function etcdConfig(get: Getter, str: (name: OptionName) => string | undefined, list: (name: OptionName) => readonly string[]): EtcdConfig | undefined {
  const endpoints = list('etcd').flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  if (endpoints.length === 0) {
    if (list('etcd-source').length > 0) fail(get('etcd-source').source, 'needs --etcd URL');
    return undefined;
  }
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) fail(get('etcd').source, `expected http://host:port or https://host:port, got "${e}"`);
  }
  const source = (layout: string, api: string, prefix: string | undefined, zone: string, from: string): EtcdSource => {
    if (layout !== 'skydns' && layout !== 'registrator') fail(from, `layout: expected skydns or registrator, got "${layout}"`);
    if (api !== 'v3' && api !== 'v2') fail(from, `api: expected v3 or v2, got "${api}"`);
    const p = prefix ?? (layout === 'skydns' ? '/skydns' : '/services');
    if (!/^\/[^\s]*$/.test(p) || p === '/') fail(from, `prefix: expected a path like /skydns, got "${p}"`);
    return { layout, api, prefix: p.replace(/\/+$/, ''), zone: parseZone(from, zone) };
  };
  const specs = list('etcd-source');
  const sources: EtcdSource[] = [];
  if (specs.length === 0) {
    sources.push(source(str('etcd-layout') ?? 'skydns', str('etcd-api') ?? 'v3', str('etcd-prefix'), str('etcd-zone') ?? 'skydns.local.', '--etcd-layout'));
  } else {
    for (const spec of specs) {
      const from = `${get('etcd-source').source} "${spec}"`;
      const fields = new Map<string, string>();
      for (const part of spec.split(',')) {
        const eq = part.indexOf('=');
        const key = part.slice(0, eq).trim();
        if (eq <= 0 || !['layout', 'api', 'prefix', 'zone'].includes(key)) fail(from, `expected layout=,api=,prefix=,zone= pairs, got "${part}"`);
        fields.set(key, part.slice(eq + 1).trim());
      }
      sources.push(source(fields.get('layout') ?? 'skydns', fields.get('api') ?? 'v3', fields.get('prefix'), fields.get('zone') ?? 'skydns.local.', from));
    }
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

/** helpText documents every option, its env variable and its default. */
export function helpText(): string {
  const lines = [
    'Usage: srvdns [options]',
    '',
    'An authoritative DNS server for service discovery: Consul-style SRV and A answers',
    'for the healthy instances in a registry.',
    '',
    'Options (each also works as env SRVDNS_<NAME> and as key <name> in the --config file;',
    'flags win over env, env over the file):',
  ];
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) {
    const flag = `  --${name}${spec.arg ? ` ${spec.arg}` : ''}`;
    const def = spec.default === undefined || spec.default === false ? '' : ` (default ${[spec.default].flat().join(', ')})`;
    const envs = [envName(name), ...(spec.env ?? [])].join(', ');
    lines.push(flag, `      ${spec.help}${def}`, `      env ${envs}`);
  }
  lines.push('  --help', '      print this help', '  --version', '      print the version', '');
  lines.push('Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads the catalog file.');
  return lines.join('\n');
}
