// A stand-in for Consul's HTTP API, written from Consul's public API docs (not from our
// client), because Consul's server cannot be installed on these machines.
//
// Catalog writes:   PUT /v1/catalog/register, PUT /v1/catalog/deregister
// Agent writes:     PUT /v1/agent/service/register (what Registrator's consul backend calls),
//                   PUT /v1/agent/service/deregister/:id, PUT /v1/agent/service/maintenance/:id?enable=
// Prepared queries: POST /v1/query, PUT /v1/query/:id, GET /v1/query[/:id], GET
//                   /v1/query/:id-or-name/execute (Failover.Datacenters, OnlyPassing, Tags with !tag)
// KV:               PUT/DELETE /v1/kv/:key, GET /v1/kv/:key[?recurse] (404 when nothing is there)
// Config entries:   PUT /v1/config (ingress-gateway entries decide what /v1/health/ingress returns)
// Reads:            GET /v1/health/service/:service, /v1/health/connect/:service (sidecar
//                   proxies by Proxy.DestinationServiceName, and Connect-native instances),
//                   /v1/health/ingress/:service, /v1/catalog/services, /v1/catalog/node/:node,
//                   /v1/catalog/nodes, /v1/catalog/datacenters, /v1/agent/self
// Cluster peering: ?peer= reads a peer's imported services (never with ?dc=).
// Consul CE: the Enterprise parameters `ns` and `partition` (and the X-Consul-Namespace
// header) are refused with HTTP 400, even for "default" (agent/http_ce.go).
// Blocking queries (docs "Blocking Queries"): every read sets X-Consul-Index; with ?index=N
// the request waits until the resource's index exceeds N or `wait` (default 5m, at most
// 10m) plus up to wait/16 of jitter passes, then answers — changed or not.
// ACL (docs "ACL System" and "HTTP API Structure"): with `token` set, the default policy
// is deny and `token` is a management token. A request without a token is the anonymous
// token's: list and single reads are filtered to empty results (without the
// X-Consul-Results-Filtered-By-ACLs header, which Consul sets only for authenticated
// requests), agent reads and all writes get 403 "Permission denied". A token Consul does
// not know gets 403 "ACL not found". A `readTokens` token reads the services it names and
// every node; what it cannot read is filtered out, with the header set to true.
// An invalid `wait` is 400 "Invalid wait time".
// Faults for tests: down (connections refused), status 500, slow responses, garbage
// bodies, a zero index, and an index reset (raft snapshot restore).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

type Status = 'passing' | 'warning' | 'critical';

interface Check {
  Node: string;
  CheckID: string;
  Name: string;
  Status: Status;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  CreateIndex: number;
  ModifyIndex: number;
}

interface Service {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Meta: Record<string, string>;
  Port: number;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  /** Kind is '' for a typical service, 'connect-proxy' for a sidecar, 'ingress-gateway' for a gateway. */
  Kind: string;
  Proxy?: { DestinationServiceName?: string };
  Connect?: { Native?: boolean };
  CreateIndex: number;
  ModifyIndex: number;
}

interface Node {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
  services: Map<string, Service>;
  checks: Map<string, Check>;
}

export type Fault = 'none' | 'status500' | 'garbage' | 'zeroIndex';

export interface StandinOptions {
  datacenter?: string;
  /** otherDatacenters exist (catalog/datacenters, ?dc=) with their own catalogs. */
  otherDatacenters?: string[];
  token?: string;
  /** readTokens are limited tokens: token -> the services it may read. */
  readTokens?: Record<string, string[]>;
  /** agentNode is the node the agent endpoints register on. */
  agentNode?: { name: string; address: string };
  /** peers are cluster peers whose imported services read with ?peer= (registerInPeer fills them). */
  peers?: string[];
}

/** ConsulStandin is an in-memory Consul agent+server on a loopback port. */
export class ConsulStandin {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  private index = 10;
  private readonly dcs = new Map<string, Map<string, Node>>();
  /** serviceIndex and servicesIndex track the last index that changed each resource. */
  private readonly serviceIndex = new Map<string, number>();
  private readonly nodeIndex = new Map<string, number>();
  private servicesIndex = new Map<string, number>();
  private waiters = new Set<() => void>();
  private readonly configEntries = new Map<string, Record<string, unknown>>();
  private readonly queries = new Map<string, { ID: string; Name: string; Service: Record<string, unknown>; DNS: Record<string, unknown>; CreateIndex: number; ModifyIndex: number }>();
  private readonly kv = new Map<string, { value: Buffer; createIndex: number; modifyIndex: number }>();
  private kvIndex = 1;
  private generation = 0;
  fault: Fault = 'none';
  /** delayMs slows every response down. */
  delayMs = 0;
  /** requests counts reads by path, blocking ones as "<path> blocking", for tests of caching and coalescing. */
  readonly requests = new Map<string, number>();
  /** blocking is how many blocking queries are waiting right now. */
  blocking = 0;
  port = 0;
  readonly datacenter: string;

  constructor(private readonly o: StandinOptions = {}) {
    this.datacenter = o.datacenter ?? 'dc1';
    for (const dc of [this.datacenter, ...(o.otherDatacenters ?? [])]) this.dcs.set(dc, new Map());
    // A peer's imported catalog, kept like a datacenter's but never listed as one.
    for (const peer of o.peers ?? []) this.dcs.set(`peer:${peer}`, new Map());
    const agent = o.agentNode ?? { name: 'agent-node', address: '127.0.0.1' };
    this.upsertNode(this.datacenter, agent.name, agent.address, {});
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** start listens on a free loopback port (or the port it had, after stop). */
  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** stop closes the port and every open connection: Consul is down. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** resetIndex simulates a raft snapshot restore: every index starts again from a low value. */
  resetIndex(): void {
    this.index = 2;
    for (const m of [this.serviceIndex, this.nodeIndex, this.servicesIndex]) for (const k of m.keys()) m.set(k, 2);
    // A restore abandons the old state store, which wakes every blocking query at once.
    this.generation++;
    this.wake();
  }

  /** bump records a change to a node and the services on it, then wakes blocked readers. */
  private bump(dc: string, services: Iterable<string>, node?: string): void {
    this.index++;
    this.servicesIndex.set(dc, this.index);
    for (const name of services) this.serviceIndex.set(`${dc}/${name}`, this.index);
    if (node) this.nodeIndex.set(`${dc}/${node}`, this.index);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  private upsertNode(dc: string, name: string, address: string, meta: Record<string, string>): Node {
    const nodes = this.dcs.get(dc)!;
    let node = nodes.get(name.toLowerCase());
    if (!node) {
      node = { ID: `id-${name}`, Node: name, Address: address, Datacenter: dc, TaggedAddresses: { lan: address, wan: address }, Meta: meta, CreateIndex: this.index, ModifyIndex: this.index, services: new Map(), checks: new Map() };
      // Every Consul node has the serf health check.
      node.checks.set('serfHealth', this.check(name, { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' }));
      nodes.set(name.toLowerCase(), node);
    } else {
      node.Address = address;
      node.Meta = meta;
      node.ModifyIndex = this.index;
    }
    return node;
  }

  private check(node: string, c: { CheckID: string; Name?: string; Status?: Status; ServiceID?: string; Notes?: string }, service?: Service): Check {
    return {
      Node: node,
      CheckID: c.CheckID,
      Name: c.Name ?? c.CheckID,
      Status: c.Status ?? 'critical',
      Notes: c.Notes ?? '',
      Output: '',
      ServiceID: c.ServiceID ?? '',
      ServiceName: service?.Service ?? '',
      ServiceTags: service?.Tags ?? [],
      CreateIndex: this.index,
      ModifyIndex: this.index,
    };
  }

  /** registerInPeer writes a catalog registration into a peer's imported catalog (what the peer exports). */
  registerInPeer(peer: string, body: Record<string, unknown>): void {
    this.register({ ...body, Datacenter: `peer:${peer}` });
  }

  private register(body: Record<string, unknown>): void {
    const dc = (body.Datacenter as string | undefined) ?? this.datacenter;
    if (!this.dcs.has(dc)) throw new HttpError(500, `No path to datacenter`);
    if (typeof body.Node !== 'string' || typeof body.Address !== 'string') throw new HttpError(400, 'Must provide node and address');
    this.index++;
    const node = this.upsertNode(dc, body.Node, body.Address, (body.NodeMeta as Record<string, string>) ?? {});
    let touched: string | undefined;
    const svc = body.Service as Record<string, unknown> | undefined;
    if (svc) {
      if (typeof svc.Service !== 'string') throw new HttpError(400, 'Must provide service name with ID');
      const id = (svc.ID as string) || svc.Service;
      const w = svc.Weights as { Passing?: number; Warning?: number } | undefined;
      node.services.set(id, {
        ID: id,
        Service: svc.Service,
        Tags: (svc.Tags as string[]) ?? [],
        Address: (svc.Address as string) ?? '',
        Meta: (svc.Meta as Record<string, string>) ?? {},
        Port: (svc.Port as number) ?? 0,
        Weights: { Passing: w?.Passing ?? 1, Warning: w?.Warning ?? 1 },
        EnableTagOverride: false,
        Kind: (svc.Kind as string) ?? '',
        ...(svc.Proxy ? { Proxy: svc.Proxy as Service['Proxy'] } : {}),
        ...(svc.Connect ? { Connect: svc.Connect as Service['Connect'] } : {}),
        CreateIndex: this.index,
        ModifyIndex: this.index,
      });
      touched = svc.Service;
    }
    const checks = [body.Check, ...((body.Checks as unknown[]) ?? [])].filter(Boolean) as Record<string, unknown>[];
    for (const c of checks) {
      const service = c.ServiceID ? node.services.get(c.ServiceID as string) : undefined;
      if (c.ServiceID && !service) throw new HttpError(500, `Unknown service ID '${String(c.ServiceID)}' for check`);
      node.checks.set(c.CheckID as string, this.check(node.Node, c as { CheckID: string }, service));
    }
    this.touchNode(dc, node, touched);
  }

  /** touchNode bumps the indexes of a node and of every service on it (node checks affect them all). */
  private touchNode(dc: string, node: Node, extra?: string): void {
    const names = new Set([...node.services.values()].map((s) => s.Service));
    if (extra) names.add(extra);
    this.bump(dc, names, node.Node);
  }

  private deregister(body: Record<string, unknown>): void {
    const dc = (body.Datacenter as string | undefined) ?? this.datacenter;
    const nodes = this.dcs.get(dc);
    const node = nodes?.get(String(body.Node).toLowerCase());
    if (!nodes || !node) return;
    const names = new Set([...node.services.values()].map((s) => s.Service));
    if (body.ServiceID) {
      node.services.delete(body.ServiceID as string);
      for (const [id, c] of node.checks) if (c.ServiceID === body.ServiceID) node.checks.delete(id);
    } else if (body.CheckID) {
      node.checks.delete(body.CheckID as string);
    } else {
      nodes.delete(node.Node.toLowerCase());
    }
    this.bump(dc, names, node.Node);
  }

  private agentNode(): Node {
    const name = this.o.agentNode?.name ?? 'agent-node';
    return this.dcs.get(this.datacenter)!.get(name.toLowerCase())!;
  }

  private agentRegister(body: Record<string, unknown>): void {
    const node = this.agentNode();
    const checks = [body.Check, ...((body.Checks as unknown[]) ?? [])].filter(Boolean) as Record<string, unknown>[];
    const id = (body.ID as string) || (body.Name as string);
    this.register({
      Node: node.Node,
      Address: node.Address,
      NodeMeta: node.Meta,
      Service: { ID: id, Service: body.Name, Tags: body.Tags, Address: body.Address, Meta: body.Meta, Port: body.Port, Weights: body.Weights },
      // Agent checks start critical unless a Status is given (docs: "initial status").
      Checks: checks.map((c, i) => ({ CheckID: (c.CheckID as string) ?? `service:${id}${checks.length > 1 ? `:${i + 1}` : ''}`, Name: c.Name ?? `Service '${String(body.Name)}' check`, Status: c.Status ?? 'critical', ServiceID: id })),
    });
  }

  // ---- reads ----

  /** spelling finds a service's registered name; Consul matches names case-insensitively. */
  private spelling(dc: string, name: string): string {
    for (const node of this.dcs.get(dc)!.values()) for (const s of node.services.values()) if (s.Service.toLowerCase() === name.toLowerCase()) return s.Service;
    return name;
  }

  /**
   * healthService answers /v1/health/service/:name, and with `via` /v1/health/connect/:name
   * (the sidecar proxies whose destination is the service, and its Connect-native
   * instances) or /v1/health/ingress/:name (the ingress gateways whose config entry lists it).
   */
  private healthService(dc: string, name: string, q: URLSearchParams, via: 'service' | 'connect' | 'ingress' = 'service'): unknown[] {
    const out: unknown[] = [];
    const want = name.toLowerCase();
    const matches = (s: Service): boolean => {
      if (via === 'connect') return (s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceName?.toLowerCase() === want) || (s.Service.toLowerCase() === want && s.Connect?.Native === true);
      if (via === 'ingress') {
        const entry = this.configEntries.get(`ingress-gateway/${s.Service}`) as { Listeners?: { Services?: { Name?: string }[] }[] } | undefined;
        return s.Kind === 'ingress-gateway' && (entry?.Listeners ?? []).some((l) => (l.Services ?? []).some((x) => x.Name?.toLowerCase() === want));
      }
      return s.Service.toLowerCase() === want;
    };
    for (const node of this.dcs.get(dc)!.values()) {
      for (const s of node.services.values()) {
        if (!matches(s)) continue;
        if (q.has('tag') && !q.getAll('tag').every((t) => s.Tags.includes(t))) continue;
        const checks = [...node.checks.values()].filter((c) => c.ServiceID === '' || c.ServiceID === s.ID);
        if (q.get('passing') !== null && q.get('passing') !== 'false' && checks.some((c) => c.Status !== 'passing')) continue;
        const { services: _s, checks: _c, ...n } = node;
        out.push({ Node: n, Service: { ...s, Namespace: 'default' }, Checks: checks.map((c) => ({ ...c, Namespace: 'default' })) });
      }
    }
    return out;
  }

  /** findQuery finds a prepared query by ID or by name (exact). */
  private findQuery(idOrName: string): { ID: string; Name: string; Service: Record<string, unknown>; DNS: Record<string, unknown> } | undefined {
    return this.queries.get(idOrName) ?? [...this.queries.values()].find((x) => x.Name !== '' && x.Name === idOrName);
  }

  /**
   * executeQuery runs a prepared query as Consul does: the service's instances in dc,
   * critical ones never, warning ones unless OnlyPassing, every tag required and every
   * `!tag` excluded (case-insensitive); none there, the Failover.Datacenters in order.
   */
  private executeQuery(def: { Service: Record<string, unknown>; DNS: Record<string, unknown> }, dc: string, limit: number, source: string): unknown {
    const svc = def.Service;
    const tags = ((svc.Tags as string[] | undefined) ?? []).map((t) => t.toLowerCase());
    const run = (where: string): unknown[] =>
      (this.healthService(where, svc.Service as string, new URLSearchParams()) as { Service: Service; Checks: Check[] }[]).filter((e) => {
        const statuses = e.Checks.map((c) => c.Status);
        if (statuses.includes('critical') || (svc.OnlyPassing === true && statuses.includes('warning'))) return false;
        const have = e.Service.Tags.map((t) => t.toLowerCase());
        return tags.every((t) => (t.startsWith('!') ? !have.includes(t.slice(1)) : have.includes(t)));
      });
    let nodes = run(dc);
    let datacenter = dc;
    let failovers = 0;
    const failover = ((svc.Failover as { Datacenters?: string[] } | undefined)?.Datacenters ?? []).filter((d) => this.dcs.has(d) && d !== dc);
    for (const other of failover) {
      if (nodes.length > 0) break;
      failovers++;
      nodes = run(other);
      datacenter = other;
    }
    if (svc.Near === '_ip') {
      // Consul sorts by network coordinates; the stand-in's model of nearness: the longest
      // common IPv4 prefix with the source, then the address.
      const bits = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0) >>> 0;
      const common = (a: string): number => Math.clz32((bits(a) ^ bits(source)) >>> 0);
      const address = (e: unknown): string => { const x = e as { Service: Service; Node: { Address: string } }; return x.Service.Address || x.Node.Address; };
      nodes = [...nodes].sort((a, b) => common(address(b)) - common(address(a)) || (address(a) < address(b) ? -1 : 1));
    }
    if (limit > 0) nodes = nodes.slice(0, limit);
    return { Service: svc.Service, Nodes: nodes, DNS: { TTL: (def.DNS.TTL as string) ?? '' }, Datacenter: datacenter, Failovers: failovers, Index: this.index };
  }

  /** kvRead is GET /v1/kv/:key: the key, or with recurse every key under it; null when none (a 404). */
  private kvRead(key: string, recurse: boolean): unknown[] | null {
    const out = [...this.kv]
      .filter(([k]) => (recurse ? k.startsWith(key) : k === key))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => ({ LockIndex: 0, Key: k, Flags: 0, Value: v.value.length > 0 ? v.value.toString('base64') : null, CreateIndex: v.createIndex, ModifyIndex: v.modifyIndex }));
    return out.length > 0 ? out : null;
  }

  private catalogServices(dc: string): Record<string, string[]> {
    const out: Record<string, string[]> = { consul: [] };
    for (const node of this.dcs.get(dc)!.values()) {
      for (const s of node.services.values()) out[s.Service] = [...new Set([...(out[s.Service] ?? []), ...s.Tags])];
    }
    return out;
  }

  private catalogNode(dc: string, name: string): unknown {
    const node = this.dcs.get(dc)!.get(name.toLowerCase());
    if (!node) return null;
    const { services, checks: _c, ...n } = node;
    return { Node: n, Services: Object.fromEntries([...services].map(([id, s]) => [id, s])) };
  }

  private catalogNodes(dc: string): unknown[] {
    return [...this.dcs.get(dc)!.values()].map(({ services: _s, checks: _c, ...n }) => n);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      const q = url.searchParams;
      const access = this.access(req, q);
      if (access !== 'all' && (req.method === 'PUT' || path.startsWith('/v1/agent/'))) throw new HttpError(403, 'Permission denied');
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (path.startsWith('/v1/kv/') && (req.method === 'PUT' || req.method === 'DELETE')) {
        // KV writes (docs "KV Store"): the body is the raw value; DELETE ?recurse removes a prefix.
        const key = decodeURIComponent(path.slice('/v1/kv/'.length));
        const raw = await new Promise<Buffer>((resolve) => {
          const parts: Buffer[] = [];
          req.on('data', (d: Buffer) => parts.push(d));
          req.on('end', () => resolve(Buffer.concat(parts)));
        });
        this.index++;
        if (req.method === 'PUT') {
          const old = this.kv.get(key);
          this.kv.set(key, { value: raw, createIndex: old?.createIndex ?? this.index, modifyIndex: this.index });
        } else {
          for (const k of [...this.kv.keys()]) if (k === key || (q.has('recurse') && k.startsWith(key))) this.kv.delete(k);
        }
        this.kvIndex = this.index;
        this.wake();
        return send(res, 200, true);
      }
      if (req.method === 'POST' && path === '/v1/query') {
        // Prepared queries (docs "Prepared Query HTTP Endpoint"): create returns the ID.
        const body = await readBody(req);
        const svc = body.Service as Record<string, unknown> | undefined;
        if (!svc || typeof svc.Service !== 'string') throw new HttpError(400, 'Must provide a Service name to query');
        this.index++;
        const id = `00000000-0000-4000-8000-${String(this.index).padStart(12, '0')}`;
        this.queries.set(id, { ID: id, Name: (body.Name as string) ?? '', Service: svc, DNS: (body.DNS as Record<string, unknown>) ?? {}, CreateIndex: this.index, ModifyIndex: this.index });
        return send(res, 200, { ID: id });
      }
      if (req.method === 'PUT' && path.startsWith('/v1/query/')) {
        const id = decodeURIComponent(path.slice('/v1/query/'.length));
        const old = this.queries.get(id);
        if (!old) throw new HttpError(404, 'Query not found');
        const body = await readBody(req);
        this.index++;
        this.queries.set(id, { ...old, Name: (body.Name as string) ?? old.Name, Service: (body.Service as Record<string, unknown>) ?? old.Service, DNS: (body.DNS as Record<string, unknown>) ?? old.DNS, ModifyIndex: this.index });
        return send(res, 200, true);
      }
      if (req.method === 'PUT') {
        const body = await readBody(req);
        if (path === '/v1/catalog/register') this.register(body);
        else if (path === '/v1/catalog/deregister') this.deregister(body);
        else if (path === '/v1/agent/service/register') this.agentRegister(body);
        else if (path === '/v1/config') {
          // Config entries (docs "Configuration Entries"): Kind and Name identify one.
          if (typeof body.Kind !== 'string' || typeof body.Name !== 'string') throw new HttpError(400, 'Kind and Name are required');
          this.index++;
          this.configEntries.set(`${body.Kind}/${body.Name}`, body);
          this.wake();
        }
        else if (path.startsWith('/v1/agent/service/deregister/')) this.deregister({ Node: this.agentNode().Node, ServiceID: decodeURIComponent(path.split('/').pop()!) });
        else if (path.startsWith('/v1/agent/service/maintenance/')) {
          const id = decodeURIComponent(path.split('/').pop()!);
          const node = this.agentNode();
          if (!node.services.has(id)) throw new HttpError(404, `Unknown service ID "${id}"`);
          if (q.get('enable') === 'true') {
            this.register({ Node: node.Node, Address: node.Address, NodeMeta: node.Meta, Check: { CheckID: `_service_maintenance:${id}`, Name: 'Service Maintenance Mode', Status: 'critical', ServiceID: id, Notes: q.get('reason') ?? '' } });
          } else {
            this.deregister({ Node: node.Node, CheckID: `_service_maintenance:${id}` });
          }
        } else throw new HttpError(404, 'not found');
        return send(res, 200, true);
      }
      const counted = q.has('index') && q.get('index') !== '0' ? `${path} blocking` : path;
      this.requests.set(counted, (this.requests.get(counted) ?? 0) + 1);
      if (q.has('wait')) parseWait(q.get('wait')!); // an invalid wait is a 400 before anything else
      // Consul CE (agent/http_ce.go) refuses the Enterprise parameters, `default` included.
      if (req.headers['x-consul-namespace']) throw new HttpError(400, 'Invalid header: "X-Consul-Namespace" - Namespaces are a Consul Enterprise feature');
      if (q.get('ns')) throw new HttpError(400, 'Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature');
      if (q.get('partition')) throw new HttpError(400, 'Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature');
      // Faults hit reads only: the cluster changes while its readers fail.
      if (this.fault === 'status500') throw new HttpError(500, 'rpc error: No cluster leader');
      // ?peer= reads a peer's imported services (one or the other of dc and peer); an
      // unknown peer has none.
      const peer = q.get('peer');
      if (peer && q.get('dc')) throw new HttpError(400, 'Cannot specify both dc and peer');
      if (peer && path.startsWith('/v1/health/service/') && !this.dcs.has(`peer:${peer}`)) return send(res, 200, []);
      const dc = peer ? `peer:${peer}` : (q.get('dc') ?? this.datacenter);
      if (path === '/v1/agent/self') return send(res, 200, { Config: { Datacenter: this.datacenter, NodeName: this.agentNode().Node }, Member: {} });
      if (path === '/v1/catalog/datacenters') return send(res, 200, [...this.dcs.keys()].filter((k) => !k.startsWith('peer:')));
      if (!this.dcs.has(dc)) throw new HttpError(500, 'No path to datacenter');
      // Prepared queries are not blocking reads.
      if (path === '/v1/query') return send(res, 200, [...this.queries.values()]);
      if (path.startsWith('/v1/query/')) {
        const rest = decodeURIComponent(path.slice('/v1/query/'.length));
        const execute = rest.endsWith('/execute');
        const q1 = this.findQuery(execute ? rest.slice(0, -'/execute'.length) : rest);
        if (!q1) throw new HttpError(404, 'Query not found');
        if (!execute) return send(res, 200, [q1]);
        // Near "_ip": the source is X-Forwarded-For's first address, else the peer's (docs: Near).
        const xff = req.headers['x-forwarded-for'];
        const source = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim() || (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
        return send(res, 200, this.executeQuery(q1, dc, Number(q.get('limit') ?? 0), source));
      }
      let resource: () => { index: number; body: unknown };
      if (path.startsWith('/v1/health/service/')) {
        const name = decodeURIComponent(path.slice('/v1/health/service/'.length));
        resource = () => ({ index: this.serviceIndex.get(`${dc}/${this.spelling(dc, name)}`) ?? this.servicesIndex.get(dc) ?? this.index, body: this.healthService(dc, name, q) });
      } else if (path.startsWith('/v1/health/connect/') || path.startsWith('/v1/health/ingress/')) {
        // Indexed by the whole catalog: any write may change which proxies or gateways serve a name.
        const via = path.startsWith('/v1/health/connect/') ? 'connect' : 'ingress';
        const name = decodeURIComponent(path.slice(`/v1/health/${via}/`.length));
        resource = () => ({ index: this.index, body: this.healthService(dc, name, q, via) });
      } else if (path.startsWith('/v1/kv/')) {
        // The KV index: the last write anywhere in the store (Consul's is the prefix's,
        // tombstones included; a later one only wakes a reader early, which readers allow for).
        const key = decodeURIComponent(path.slice('/v1/kv/'.length));
        resource = () => ({ index: this.kvIndex, body: this.kvRead(key, q.has('recurse')) });
      } else if (path === '/v1/catalog/services') {
        resource = () => ({ index: this.servicesIndex.get(dc) ?? this.index, body: this.catalogServices(dc) });
      } else if (path.startsWith('/v1/catalog/node/')) {
        const name = decodeURIComponent(path.slice('/v1/catalog/node/'.length));
        resource = () => ({ index: this.nodeIndex.get(`${dc}/${this.dcs.get(dc)!.get(name.toLowerCase())?.Node ?? name}`) ?? this.servicesIndex.get(dc) ?? this.index, body: this.catalogNode(dc, name) });
      } else if (path === '/v1/catalog/nodes') {
        resource = () => ({ index: this.servicesIndex.get(dc) ?? this.index, body: this.catalogNodes(dc) });
      } else throw new HttpError(404, 'not found');
      const min = q.has('index') ? Number(q.get('index')) : 0;
      // zeroIndex: an endpoint whose index is 0 (docs: "Consul may return 0 ... e.g. no writes yet"); it blocks like any other.
      const indexNow = (): number => (this.fault === 'zeroIndex' ? 0 : resource().index);
      if (min > 0 && indexNow() <= min) {
        this.blocking++;
        try {
          await this.block(q.get('wait'), () => indexNow() > min, res);
        } finally {
          this.blocking--;
        }
      }
      // A blocked query that wakes into a fault fails too, like one that loses its leader.
      if ((this.fault as Fault) === 'status500') throw new HttpError(500, 'rpc error: No cluster leader');
      const { index, body: full } = resource();
      const { body, filtered } = access === 'all' ? { body: full, filtered: false } : filterRead(path, full, access);
      if (filtered && access !== 'all' && access.authenticated) res.setHeader('X-Consul-Results-Filtered-By-ACLs', 'true');
      res.setHeader('X-Consul-Index', String(this.fault === 'zeroIndex' ? 0 : index));
      res.setHeader('X-Consul-KnownLeader', 'true');
      res.setHeader('X-Consul-LastContact', '0');
      if (this.fault === 'garbage') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"Node": [garbage');
        return;
      }
      // A KV read of nothing is a 404, with the index set for blocking.
      if (path.startsWith('/v1/kv/') && body === null) {
        res.writeHead(404);
        res.end();
        return;
      }
      send(res, 200, body);
    } catch (err) {
      if (err instanceof HttpError) {
        res.writeHead(err.status, { 'Content-Type': 'text/plain' });
        res.end(err.message);
      } else {
        res.writeHead(500);
        res.end(String(err));
      }
    }
  }

  /** access is what the request's token may read: everything, or some services (none for the anonymous token). */
  private access(req: IncomingMessage, q: URLSearchParams): Access {
    if (!this.o.token) return 'all';
    const header = req.headers['x-consul-token'];
    const token = (Array.isArray(header) ? header[0] : header) ?? q.get('token') ?? '';
    if (token === this.o.token) return 'all';
    if (token === '') return { services: new Set(), nodes: false, authenticated: false };
    const services = this.o.readTokens?.[token];
    if (!services) throw new HttpError(403, 'ACL not found');
    return { services: new Set(services.map((s) => s.toLowerCase())), nodes: true, authenticated: true };
  }

  /** block waits for a change or for wait (default 5m, max 10m) plus up to wait/16 of jitter. */
  private block(waitParam: string | null, changed: () => boolean, res: ServerResponse): Promise<void> {
    let wait = parseWait(waitParam ?? '5m');
    wait = Math.min(wait, 600000);
    wait += Math.random() * (wait / 16);
    return new Promise((resolve) => {
      let finished = false;
      const generation = this.generation;
      const timer = setTimeout(done, wait);
      const check = (): void => {
        if (finished) return;
        if (changed() || this.generation !== generation) done();
        else this.waiters.add(check);
      };
      // A client that gives up (cancelled watch, evicted entry) ends the wait too.
      res.once('close', done);
      function done(): void {
        finished = true;
        clearTimeout(timer);
        resolve();
      }
      this.waiters.add(check);
    });
  }
}

/** Access is what a token may read: 'all' (management), or named services and maybe nodes. */
type Access = 'all' | { services: Set<string>; nodes: boolean; authenticated: boolean };

/** filterRead removes from a read's body what the token may not see, as Consul's ACL filter does. */
function filterRead(path: string, body: unknown, access: Exclude<Access, 'all'>): { body: unknown; filtered: boolean } {
  if (path === '/v1/catalog/services') {
    const all = body as Record<string, string[]>;
    const kept = Object.fromEntries(Object.entries(all).filter(([name]) => access.services.has(name.toLowerCase())));
    return { body: kept, filtered: Object.keys(kept).length !== Object.keys(all).length };
  }
  if (path.startsWith('/v1/health/service/')) {
    const name = decodeURIComponent(path.slice('/v1/health/service/'.length)).toLowerCase();
    const list = body as unknown[];
    return access.services.has(name) ? { body: list, filtered: false } : { body: [], filtered: list.length > 0 };
  }
  if (path === '/v1/catalog/nodes') return access.nodes ? { body, filtered: false } : { body: [], filtered: (body as unknown[]).length > 0 };
  if (path.startsWith('/v1/catalog/node/')) return access.nodes ? { body, filtered: false } : { body: null, filtered: body !== null };
  return { body, filtered: false };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parseWait(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  if (!m) throw new HttpError(400, 'Invalid wait time');
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] ?? 's'] ?? 1000);
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      try {
        resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
      } catch {
        reject(new HttpError(400, 'Request decode failed'));
      }
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** consulPut writes to the stand-in (or a real Consul) the way any Consul client does. */
export async function consulPut(url: string, path: string, body: unknown, token?: string): Promise<void> {
  const res = await fetch(`${url}${path}`, { method: 'PUT', body: JSON.stringify(body), headers: token ? { 'X-Consul-Token': token } : {} });
  if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}
