// The catalog model (SPEC §1): what every registry produces and every answer is built from.

/** Health is the worst state of an instance's checks, node-level checks included. */
export type Health = 'passing' | 'warning' | 'critical';

/** Weights are the SRV weights for passing and warning instances (Consul's Weights). */
export interface Weights {
  passing: number;
  warning: number;
}

/** CatalogNode is a machine that runs instances. */
export interface CatalogNode {
  name: string;
  /** address is an IP address or, rarely, a hostname. */
  address: string;
  datacenter: string;
  meta: Readonly<Record<string, string>>;
}

/** Instance is one registered instance of a service. */
export interface Instance {
  service: string;
  id: string;
  node: string;
  nodeAddress: string;
  /** address is the service's own address: '' means the node's address; else an IP or a hostname. */
  address: string;
  port: number;
  tags: readonly string[];
  meta: Readonly<Record<string, string>>;
  weights: Weights;
  /** priority is the SRV priority, 1 by default. */
  priority: number;
  health: Health;
  /** nodeMeta is the node's meta, where the registry has it and it is not empty (see metaIfAny): TXT in ADDITIONAL of answers naming the node. */
  nodeMeta?: Readonly<Record<string, string>>;
  /** onlyTagged: the instance answers only names that ask for one of its tags (Curator's sslPort, as tag `tls`), never the plain service name. */
  onlyTagged?: true;
}

/** ReverseEntry is what is known at one IP address. */
export interface ReverseEntry {
  nodes: readonly CatalogNode[];
  services: readonly string[];
}

/** Lookup is a value that is ready now, or (a cold cache miss) later. */
export type Lookup<T> = T | Promise<T>;

/** thenLookup applies fn to a Lookup, staying synchronous when the value is ready. */
export function thenLookup<T, R>(value: Lookup<T>, fn: (v: T) => Lookup<R>): Lookup<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}


/** metaIfAny is meta, or undefined when it has no key: an instance's nodeMeta, so that answers need not look into empty ones. */
export function metaIfAny(meta: Readonly<Record<string, string>>): Readonly<Record<string, string>> | undefined {
  for (const _ in meta) return meta;
  return undefined;
}

/** DEFAULT_WEIGHTS are Consul's defaults. */
export const DEFAULT_WEIGHTS: Weights = Object.freeze({ passing: 1, warning: 1 });

/** DEFAULT_DATACENTER names the datacenter when neither the config nor the registry does. */
export const DEFAULT_DATACENTER = 'dc1';

/**
 * Scope is where a labelled Consul name looks besides its datacenter: a cluster peer,
 * an Enterprise namespace or admin partition (`.<peer>.peer`, `.<ns>.ns`, `.<partition>.ap`).
 */
export interface Scope {
  peer?: string;
  namespace?: string;
  partition?: string;
  /** gateway asks for a service's Connect-capable endpoints (`.connect`) or its ingress gateways (`.ingress`) instead of its instances. */
  gateway?: 'connect' | 'ingress';
}

/** isDefaultScope: no peer, and namespace and partition absent or "default" (what registries without them hold). */
export function isDefaultScope(scope: Scope | undefined): boolean {
  return scope === undefined || (scope.peer === undefined && scope.gateway === undefined && (scope.namespace ?? 'default') === 'default' && (scope.partition ?? 'default') === 'default');
}

/** QueryResult is a prepared query's result: the instances Consul chose, in which datacenter (after any failover), and the query's DNS TTL when it sets one. */
export interface QueryResult {
  service: string;
  instances: readonly Instance[];
  datacenter: string;
  ttl: number | undefined;
  /** near: Consul sorted the instances by nearness to the asker (Near "_ip"): their order is kept, and the answer is the asker's alone. */
  near: boolean;
}
