// An immutable, indexed copy of a whole catalog. Registries that mirror everything
// (file, etcd) build a new Snapshot aside and swap it in (STYLE habit 6), so a
// lookup never sees a half-applied change.
import { isIP } from 'node:net';
import type { CatalogNode, Instance, ReverseEntry } from './types.js';
import { canonicalIp } from '../dns/addr.js';

/** Snapshot indexes one catalog by service, node and address, all case-insensitively. */
export class Snapshot {
  private readonly services = new Map<string, Instance[]>();
  private readonly nodes = new Map<string, CatalogNode>();
  private readonly addresses = new Map<string, { nodes: CatalogNode[]; services: Set<string> }>();

  private count = 0;

  constructor(
    readonly datacenter: string,
    nodes: readonly CatalogNode[],
    instances: readonly Instance[],
  ) {
    this.addNodes(nodes);
    this.addInstances(instances);
  }

  get instanceCount(): number {
    return this.count;
  }

  /**
   * addNodes and addInstances index more of the catalog; only a snapshot being built
   * aside (not yet served) may be added to, a part at a time, so that a large catalog
   * is indexed between queries rather than in one long pause.
   */
  addNodes(nodes: readonly CatalogNode[]): void {
    for (const node of nodes) {
      this.nodes.set(node.name.toLowerCase(), node);
      const ip = canonicalIp(node.address);
      if (ip) this.at(ip).nodes.push(node);
    }
  }

  addInstances(instances: readonly Instance[]): void {
    for (const inst of instances) {
      const key = inst.service.toLowerCase();
      let list = this.services.get(key);
      if (!list) this.services.set(key, (list = []));
      list.push(inst);
      const ip = canonicalIp(inst.address);
      if (ip && isIP(inst.address)) this.at(ip).services.add(inst.service);
    }
    this.count += instances.length;
  }

  private at(ip: string): { nodes: CatalogNode[]; services: Set<string> } {
    let entry = this.addresses.get(ip);
    if (!entry) this.addresses.set(ip, (entry = { nodes: [], services: new Set() }));
    return entry;
  }

  /** service returns every instance of the named service, in any health state. */
  service(name: string): readonly Instance[] | undefined {
    return this.services.get(name.toLowerCase());
  }

  /** node returns the named node. */
  node(name: string): CatalogNode | undefined {
    return this.nodes.get(name.toLowerCase());
  }

  /** reverse returns the nodes and services at a canonical IP address. */
  reverse(ip: string): ReverseEntry {
    const entry = this.addresses.get(ip);
    return entry ? { nodes: entry.nodes, services: [...entry.services] } : { nodes: [], services: [] };
  }

  /** serviceNames lists every service name as registered. */
  serviceNames(): string[] {
    return [...this.services.values()].map((list) => list[0]!.service);
  }
}
