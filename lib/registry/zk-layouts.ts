// The two ZooKeeper layouts, read from a znode's data into instances (SPEC §4's model):
// Registrator's zookeeper backend and Apache Curator's service discovery (which Spring
// Cloud Zookeeper uses). A znode that fits neither gets a reason, and is skipped.
import { isIP } from 'node:net';
import { DEFAULT_WEIGHTS, type Health, type Instance } from '../catalog/types.js';

/** Decoded is an instance's records, or why the znode is not one. */
export type Decoded = Instance[] | string;

/** ZkLayout names a layout: its default base path and its decoder. */
export type ZkLayoutName = 'registrator' | 'curator';

const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) <= 65535;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A host name as a DNS name: letters, digits, hyphens and underscores in labels of 1-63. */
const HOSTNAME = /^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function parseJson(value: string): Record<string, unknown> | string {
  let body: unknown;
  try {
    body = JSON.parse(value);
  } catch {
    return `not JSON: ${JSON.stringify(value.slice(0, 64))}`;
  }
  return isObject(body) ? body : 'not a JSON object';
}

/** flatMeta keeps an object's scalar values as strings (meta is flat: Consul's ServiceMeta). */
function flatMeta(o: Record<string, unknown>): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === '@class') continue; // Jackson's type marker in Curator payloads
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') meta[k] = String(v);
  }
  return meta;
}

function instance(service: string, id: string, node: string, address: string, port: number, tags: string[], meta: Record<string, string>, health: Health): Instance {
  return { service, id, node, nodeAddress: address, address, port, tags, meta, weights: DEFAULT_WEIGHTS, priority: 1, health };
}

/**
 * decodeRegistrator reads what Registrator's zookeeper backend writes at
 * <base>/<service>/<ip>:<port>: Go's JSON of {Name, IP, PublicPort, PrivatePort,
 * ContainerID, Tags, Attrs}, nil Tags and Attrs as null. The instance is reached at IP and
 * PublicPort; Tags are its tags, Attrs its meta; its node is the container's host name.
 */
export function decodeRegistrator(service: string, id: string, value: string): Decoded {
  const body = parseJson(value);
  if (typeof body === 'string') return body;
  const { IP: ip, PublicPort: port, Tags: tags, Attrs: attrs, ContainerID: container } = body;
  if (typeof ip !== 'string' || isIP(ip) === 0) return `IP: expected an IP address, got ${JSON.stringify(ip)}`;
  if (!isPort(port)) return `PublicPort: expected a port, got ${JSON.stringify(port)}`;
  if (tags !== null && tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === 'string'))) return 'Tags: expected a list of strings';
  if (attrs !== null && attrs !== undefined && !isObject(attrs)) return 'Attrs: expected an object';
  const node = typeof container === 'string' && container !== '' ? container : ip;
  return [instance(service, id, node, ip, port, (tags as string[] | null) ?? [], attrs ? flatMeta(attrs) : {}, 'passing')];
}

/**
 * decodeCurator reads Curator's ServiceInstance JSON at <base>/<service>/<id>: name, id,
 * address (an IP or a host name), port and sslPort (either may be null, not both),
 * payload, registrationTimeUTC, serviceType (DYNAMIC, STATIC, PERMANENT: all served),
 * uriSpec, and since Curator 5 enabled. The payload's scalar fields are meta; Spring Cloud
 * Zookeeper's payload keeps them in `metadata`, where `instance_status` other than UP
 * (OUT_OF_SERVICE) takes the instance out of answers, as Spring's own clients do, and so
 * does `enabled: false`. sslPort is a second instance with tag `tls`, answering only
 * `_<service>._tls` and `tls.<service>` names.
 */
export function decodeCurator(service: string, id: string, value: string): Decoded {
  const body = parseJson(value);
  if (typeof body === 'string') return body;
  const { address, port, sslPort, payload, enabled } = body;
  if (typeof address !== 'string' || (isIP(address) === 0 && !HOSTNAME.test(address))) return `address: expected an IP address or host name, got ${JSON.stringify(address)}`;
  if (port !== null && port !== undefined && !isPort(port)) return `port: expected a port or null, got ${JSON.stringify(port)}`;
  if (sslPort !== null && sslPort !== undefined && !isPort(sslPort)) return `sslPort: expected a port or null, got ${JSON.stringify(sslPort)}`;
  if (!isPort(port) && !isPort(sslPort)) return 'neither port nor sslPort';
  const fields = isObject(payload) ? (isObject(payload.metadata) ? payload.metadata : payload) : {};
  const meta = flatMeta(fields);
  const status = meta.instance_status;
  const health: Health = enabled === false || (status !== undefined && status.toUpperCase() !== 'UP') ? 'critical' : 'passing';
  const out: Instance[] = [];
  if (isPort(port)) out.push(instance(service, id, address, address, port, [], meta, health));
  if (isPort(sslPort)) out.push({ ...instance(service, `${id}:tls`, address, address, sslPort, ['tls'], meta, health), onlyTagged: true });
  return out;
}

export const ZK_LAYOUTS: Record<ZkLayoutName, (service: string, id: string, value: string) => Decoded> = {
  registrator: decodeRegistrator,
  curator: decodeCurator,
};
