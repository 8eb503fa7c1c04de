// Consul's JSON, checked field by field and turned into the catalog model. Whatever
// Consul (or a proxy in front of it) sends, this returns data or throws a ConsulDataError;
// a single malformed entry is skipped and reported, the rest is kept.
import { metaIfAny, type CatalogNode, type Health, type Instance } from '../catalog/types.js';

/** ConsulDataError is a response that is not the shape Consul documents. */
export class ConsulDataError extends Error {
  constructor(what: string) {
    super(`registry/consul: unexpected response: ${what}`);
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

const RANK: Record<Health, number> = { passing: 0, warning: 1, critical: 2 };

/**
 * worstHealth is an instance's health: the worst of its service and node checks.
 * Maintenance mode is a critical check (_service_maintenance:<id>, _node_maintenance);
 * a status Consul does not document counts as critical.
 */
export function worstHealth(checks: unknown): Health {
  let worst: Health = 'passing';
  for (const c of Array.isArray(checks) ? checks : []) {
    const status = isObject(c) ? c.Status : undefined;
    const h: Health = status === 'passing' || status === 'warning' ? status : 'critical';
    if (RANK[h] > RANK[worst]) worst = h;
  }
  return worst;
}

function weight(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? v : fallback;
}

/** decodeHealthService reads /v1/health/service/:name; onSkip hears of each malformed entry. */
export function decodeHealthService(body: unknown, onSkip: (why: string) => void): Instance[] {
  if (!Array.isArray(body)) throw new ConsulDataError('health/service is not an array');
  const out: Instance[] = [];
  for (const [i, entry] of body.entries()) {
    const node = isObject(entry) ? entry.Node : undefined;
    const svc = isObject(entry) ? entry.Service : undefined;
    if (!isObject(node) || !isObject(svc) || typeof svc.Service !== 'string' || typeof node.Node !== 'string' || typeof node.Address !== 'string') {
      onSkip(`entry ${i}: missing Node.Node, Node.Address or Service.Service`);
      continue;
    }
    const port = svc.Port;
    if (port !== undefined && !(typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535)) {
      onSkip(`entry ${i} (${svc.Service}): Port ${JSON.stringify(port)}`);
      continue;
    }
    const w = isObject(svc.Weights) ? svc.Weights : {};
    out.push({
      service: svc.Service,
      id: str(svc.ID, svc.Service),
      node: node.Node,
      nodeAddress: node.Address,
      address: str(svc.Address),
      port: typeof port === 'number' ? port : 0,
      tags: strings(svc.Tags),
      meta: stringMap(svc.Meta),
      weights: { passing: weight(w.Passing, 1), warning: weight(w.Warning, 1) },
      priority: 1,
      health: worstHealth(isObject(entry) ? entry.Checks : undefined),
      nodeMeta: metaIfAny(stringMap(node.Meta)),
    });
  }
  return out;
}

/** decodeServices reads /v1/catalog/services: the names registered in a datacenter. */
export function decodeServices(body: unknown): string[] {
  if (!isObject(body)) throw new ConsulDataError('catalog/services is not an object');
  return Object.keys(body);
}

function decodeNodeObject(n: unknown, datacenter: string): CatalogNode | undefined {
  if (!isObject(n) || typeof n.Node !== 'string' || typeof n.Address !== 'string') return undefined;
  return { name: n.Node, address: n.Address, datacenter: str(n.Datacenter, datacenter), meta: stringMap(n.Meta) };
}

/** decodeCatalogNodes reads /v1/catalog/nodes, skipping malformed entries. */
export function decodeCatalogNodes(body: unknown, datacenter: string, onSkip: (why: string) => void): CatalogNode[] {
  if (!Array.isArray(body)) throw new ConsulDataError('catalog/nodes is not an array');
  const out: CatalogNode[] = [];
  for (const [i, n] of body.entries()) {
    const node = decodeNodeObject(n, datacenter);
    if (node) out.push(node);
    else onSkip(`node ${i}: missing Node or Address`);
  }
  return out;
}

/** decodeAgentSelf reads the local datacenter from /v1/agent/self. */
export function decodeAgentSelf(body: unknown): string {
  const dc = isObject(body) && isObject(body.Config) ? body.Config.Datacenter : undefined;
  if (typeof dc !== 'string' || dc === '') throw new ConsulDataError('agent/self has no Config.Datacenter');
  return dc;
}

/** decodeDatacenters reads /v1/catalog/datacenters. */
export function decodeDatacenters(body: unknown): string[] {
  if (!Array.isArray(body)) throw new ConsulDataError('catalog/datacenters is not an array');
  return strings(body);
}
