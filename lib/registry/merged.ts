// Several registries answering the Consul-style domain together (ZooKeeper beside Consul
// beside etcd's Registrator layout): a service's instances are those every registry
// holds under its name. Each registry keeps its own watch and staleness; srvdns starts,
// stops, counts and watches the members themselves, and answers through this view.
import type { Change } from '../catalog/changes.js';
import type { CatalogNode, Instance, Lookup, QueryResult, ReverseEntry, Scope } from '../catalog/types.js';
import { RegistryUnavailable, type Registry, type SourceStats } from './registry.js';
import { tooStale } from './staleness.js';

/** all waits for every Lookup only when one of them waits. */
function all<T>(values: Lookup<T>[]): Lookup<T[]> {
  return values.some((v) => v instanceof Promise) ? Promise.all(values) : (values as T[]);
}

/**
 * MergedRegistry is one Registry over several. Their local datacenters are one: the first
 * member's name for it is the merged one, and each member is asked with its own. A member
 * whose data is older than --max-stale (SPEC §2a) drops out of answers on its own: a name
 * that only it could answer is SERVFAIL, the rest answer from the members that follow.
 */
export class MergedRegistry implements Registry {
  readonly name: string;
  readonly preparedQuery?: (name: string, dc: string, source?: string) => Lookup<QueryResult | undefined>;

  constructor(
    private readonly members: readonly Registry[],
    private readonly maxStaleMs: number,
  ) {
    this.name = members.map((m) => m.name).join('+');
    const asker = members.find((m) => m.preparedQuery);
    if (asker) this.preparedQuery = (name, dc, source) => asker.preparedQuery!(name, this.dcOf(asker, dc), source);
  }

  /** dcOf is how member calls the datacenter dc: its own local name for the local one. */
  private dcOf(member: Registry, dc: string): string {
    return dc.toLowerCase() === this.datacenter().toLowerCase() ? member.datacenter() : dc;
  }

  /** fresh are the members whose data may answer now; stale tells whether one was left out. */
  private fresh(): { members: Registry[]; stale: boolean } {
    const members = this.members.filter((m) => m.healthy() || !tooStale(m.staleSince(), this.maxStaleMs));
    return { members, stale: members.length < this.members.length };
  }

  private missing<T>(stale: boolean, what: string): T | undefined {
    if (stale) throw new RegistryUnavailable(this.name, `${what}: a registry that may hold it is older than --max-stale`);
    return undefined;
  }

  datacenter(): string {
    return this.members[0]!.datacenter();
  }

  hasDatacenter(dc: string): Lookup<boolean> {
    if (dc.toLowerCase() === this.datacenter().toLowerCase()) return true;
    const answers = all(this.members.map((m) => m.hasDatacenter(dc)));
    return answers instanceof Promise ? answers.then((a) => a.includes(true)) : answers.includes(true);
  }

  service(name: string, dc: string, scope?: Scope): Lookup<readonly Instance[] | undefined> {
    const { members, stale } = this.fresh();
    const merge = (lists: (readonly Instance[] | undefined)[]): readonly Instance[] | undefined => {
      const found = lists.filter((l): l is readonly Instance[] => l !== undefined);
      if (found.length === 0) return this.missing(stale, name);
      return found.length === 1 ? found[0] : found.flat();
    };
    const lists = all(members.map((m) => m.service(name, this.dcOf(m, dc), scope)));
    return lists instanceof Promise ? lists.then(merge) : merge(lists);
  }

  node(name: string, dc: string, scope?: Scope): Lookup<CatalogNode | undefined> {
    const { members, stale } = this.fresh();
    const first = (nodes: (CatalogNode | undefined)[]): CatalogNode | undefined => nodes.find((n) => n !== undefined) ?? this.missing(stale, name);
    const nodes = all(members.map((m) => m.node(name, this.dcOf(m, dc), scope)));
    return nodes instanceof Promise ? nodes.then(first) : first(nodes);
  }

  reverse(ip: string): Lookup<ReverseEntry> {
    const merge = (entries: ReverseEntry[]): ReverseEntry => ({ nodes: entries.flatMap((e) => e.nodes), services: [...new Set(entries.flatMap((e) => e.services))] });
    const entries = all(this.fresh().members.map((m) => m.reverse(ip)));
    return entries instanceof Promise ? entries.then(merge) : merge(entries);
  }

  async start(): Promise<void> {
    await Promise.all(this.members.map((m) => m.start()));
  }
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
  synced(): boolean {
    return this.members.every((m) => m.synced());
  }
  healthy(): boolean {
    return this.members.every((m) => m.healthy());
  }
  /** staleSince is the freshest member's: the domain as a whole is too stale only when every member is (each member's own staleness is applied per lookup). */
  staleSince(): number {
    const since = this.members.map((m) => m.staleSince());
    return since.includes(0) ? 0 : Math.max(...since);
  }
  stats(): SourceStats {
    const s = this.members.map((m) => m.stats());
    return { lastSync: Math.min(...s.map((x) => x.lastSync)), errors: s.reduce((n, x) => n + x.errors, 0), records: s.reduce((n, x) => n + x.records, 0) };
  }
  subscribe(listener: (change: Change) => void): () => void {
    const off = this.members.map((m) => m.subscribe(listener));
    return () => off.forEach((u) => u());
  }
}
