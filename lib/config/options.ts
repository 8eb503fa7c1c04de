// The one table of options: flag `--name`, env `SRVDNS_NAME`, config key `name`, with
// kinds, defaults and help. Defaults live here and nowhere else.
import { LOG_LEVELS } from '../log.js';

type Kind = 'string' | 'boolean' | 'strings' | 'seconds' | 'duration' | 'integer';

export interface OptionSpec {
  kind: Kind;
  help: string;
  arg?: string;
  default?: string | boolean | readonly string[];
  /** env lists extra environment variables read (after SRVDNS_*), e.g. CONSUL_HTTP_ADDR. */
  env?: readonly string[];
  /** secret values (tokens, passwords) never appear in errors or logs. */
  secret?: true;
}

/** DEFAULT_ALLOW_RECURSION lists the clients that may recurse by default: loopback, RFC 1918, RFC 6598 and IPv6 local ranges. */
const DEFAULT_ALLOW_RECURSION = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '::1/128', 'fc00::/7', 'fe80::/10'];

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
  'consul-token': { kind: 'string', arg: 'TOKEN', env: ['CONSUL_HTTP_TOKEN'], secret: true, help: 'ACL token sent as X-Consul-Token' },
  'consul-ca': { kind: 'string', arg: 'FILE', env: ['CONSUL_CACERT'], help: 'CA certificate (PEM) for an https:// Consul' },
  'consul-cert': { kind: 'string', arg: 'FILE', env: ['CONSUL_CLIENT_CERT'], help: 'client certificate (PEM) for an https:// Consul' },
  'consul-key': { kind: 'string', arg: 'FILE', env: ['CONSUL_CLIENT_KEY'], help: 'client key (PEM) for an https:// Consul' },
  'consul-wait': { kind: 'duration', arg: 'DURATION', default: '5m', help: 'longest wait of a blocking query (at most 10m)' },
  'consul-kv-prefix': {
    kind: 'string',
    arg: 'PATH',
    help: "with --consul: serve Registrator's consulkv backend, <PATH>/<service>/<id> = ip:port in Consul's KV store, instead of Consul's catalog",
  },
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
  'etcd-password': { kind: 'string', arg: 'PASSWORD', secret: true, help: 'etcd password (auth)' },
  'etcd-ca': { kind: 'string', arg: 'FILE', help: 'CA certificate (PEM) for https:// etcd endpoints' },
  'etcd-cert': { kind: 'string', arg: 'FILE', help: 'client certificate (PEM) for etcd' },
  'etcd-key': { kind: 'string', arg: 'FILE', help: 'client key (PEM) for etcd' },
  zookeeper: {
    kind: 'string',
    arg: 'CONNECT',
    help: "ZooKeeper connection string, host:port[,host:port…][/chroot]: serve --zk-layout's znodes as Consul-style names",
  },
  'zk-layout': {
    kind: 'string',
    arg: 'registrator|curator',
    default: 'registrator',
    help: "registrator: Registrator's zookeeper backend, <base>/<service>/<ip>:<port> = JSON; curator: Apache Curator / Spring Cloud Zookeeper, <base>/<service>/<id> = ServiceInstance JSON",
  },
  'zk-base': { kind: 'string', arg: 'PATH', help: 'the base znode of the layout (default /services for both)' },
  'zk-source': {
    kind: 'strings',
    arg: 'SPEC',
    help: 'one more ZooKeeper source, e.g. layout=curator,base=/services; repeatable (replaces the single --zk-layout/--zk-base form)',
  },
  'zk-auth': { kind: 'string', arg: 'USER:PASSWORD', secret: true, help: 'digest credentials for znodes whose ACLs ask for them' },
  'zk-session-timeout': { kind: 'duration', arg: 'DURATION', default: '10s', help: "srvdns's own ZooKeeper session timeout (the server keeps it within 2-20 ticks)" },
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
  'answer-cache-size': {
    kind: 'integer',
    arg: 'BYTES',
    default: '67108864',
    help: 'memory for ready answers (the hot path), counted with each entry\'s overhead; the oldest go first beyond it (64 MiB holds ~80,000 typical answers); 0 turns the cache off',
  },
  'gc-heap-growth': {
    kind: 'integer',
    arg: 'PERCENT',
    default: '20',
    help: "how far V8 lets the heap grow past the live data before collecting it again (V8's --heap-growing-percent): low keeps memory near the data at a few % more CPU under churn; 0 leaves V8's own choice",
  },
  'udp-io': {
    kind: 'string',
    arg: 'auto|batch|dgram',
    default: 'auto',
    help: "how UDP is read and written: batch (recvmmsg/sendmmsg through srvdns's native part, built at install: less than half the CPU per cached query), dgram (Node's), auto: batch when its native part is built and one process serves (no --workers), else dgram",
  },
  'a-record-limit': {
    kind: 'integer',
    arg: 'N',
    default: '0',
    help: "at most N A/AAAA records in an answer, after weighting and rotation (Consul's a_record_limit; 0: no limit), for clients that choke on long answers",
  },
  'udp-max-size': {
    kind: 'integer',
    arg: 'BYTES',
    default: '1232',
    help: 'largest UDP reply, and the EDNS buffer size we advertise (512-4096); larger answers set TC and come over TCP. 1232 avoids IP fragmentation (DNS Flag Day 2020)',
  },
  'recursor-max-concurrent': {
    kind: 'integer',
    arg: 'N',
    default: '1000',
    help: 'most forwarded queries in flight at once; beyond it, SERVFAIL at once (CoreDNS forward max_concurrent)',
  },
  'rrl-responses-per-second': {
    kind: 'integer',
    arg: 'N',
    default: '0',
    help: 'response rate limiting: at most N UDP responses a second per client /24 (IPv4) or /56 (IPv6); 0 is off. TCP is never limited',
  },
  'rrl-slip': {
    kind: 'integer',
    arg: 'N',
    default: '2',
    help: 'with rate limiting, every Nth limited response is sent truncated (TC) so real clients retry over TCP; the rest are dropped; 0 drops all',
  },
  'tcp-idle-timeout': { kind: 'duration', arg: 'DURATION', default: '10s', help: 'close idle TCP connections after' },
  'tcp-max-connections': {
    kind: 'integer',
    arg: 'N',
    default: '1000',
    help: 'most TCP connections at once per listener; at the cap a new one closes the oldest idle one',
  },
  'tcp-max-connections-per-client': { kind: 'integer', arg: 'N', default: '100', help: 'most TCP connections at once from one client address' },
  'log-level': { kind: 'string', arg: 'LEVEL', default: 'info', help: `log level: ${LOG_LEVELS.join(', ')}` },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;
export type Raw = string | boolean | readonly string[];

/** envName is an option's environment variable. */
export function envName(name: string): string {
  return `SRVDNS_${name.toUpperCase().replace(/-/g, '_')}`;
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
  lines.push('  -h, --help', '      print this help', '  -v, --version', '      print the version', '');
  lines.push('Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads the catalog file.');
  return lines.join('\n');
}
