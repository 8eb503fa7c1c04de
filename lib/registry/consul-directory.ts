// What exists in one Consul datacenter: its service names and its nodes, each kept by one
// blocking query (/v1/catalog/services, /v1/catalog/nodes). Unknown service and node names
// are answered from here, so no stream of random names reaches Consul, and nodes need no
// watch of their own: the node list carries each node's address and meta.
import type { CatalogNode } from '../catalog/types.js';
import { canonicalIp } from '../dns/addr.js';
import type { Backoff } from './backoff.js';
import { decodeCatalogNodes, decodeServices } from './consul-decode.js';
import type { ConsulHttp, RequestReports } from './consul-http.js';
import { BlockingWatch } from './consul-watch.js';

/** PROBE_MAX_MS caps the service-list watch's backoff: one request per 2 s at most against a Consul that is down. */
const PROBE_MAX_MS = 2000;

/** DirectoryEvents is how a directory reports to its registry. */
export interface DirectoryEvents extends RequestReports {
  /** changed: the set of services or nodes changed, so any answer may have. */
  changed(): void;
  /** listed: the service names just read (to notice an empty list). */
  listed(names: readonly string[]): void;
}

/** ConsulDirectory holds the service and node lists of one datacenter, watched. */
export class ConsulDirectory {
  /** services maps lower-case names to Consul's spelling; undefined until first read. */
  private services: Map<string, string> | undefined;
  private nodes: Map<string, CatalogNode> | undefined;
  private byAddress = new Map<string, CatalogNode[]>();
  private readonly watches: BlockingWatch<unknown>[];
  private markReady: () => void = () => undefined;
  /** ready resolves once both lists have been read. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    http: ConsulHttp,
    readonly dc: string,
    watch: { minIntervalMs: number; backoff: Backoff },
    private readonly events: DirectoryEvents,
  ) {
    this.watches = [
      new BlockingWatch<unknown>(
        {
          ...watch,
          // The service list is the probe: while Consul is down it retries at least every
          // PROBE_MAX_MS, so that recovery is noticed soon and every other watch woken.
          backoff: { ...watch.backoff, maxMs: Math.min(watch.backoff.maxMs, PROBE_MAX_MS) },
          fetch: (index, signal) => http.catalogServices(dc, index, signal),
          onData: (body) => this.takeServices(decodeServices(body)),
          onError: (err) => events.failed(`catalog/services?dc=${dc}`, err),
        },
        0n,
      ),
      new BlockingWatch<unknown>(
        {
          ...watch,
          fetch: (index, signal) => http.catalogNodes(dc, index, signal),
          onData: (body) => this.takeNodes(decodeCatalogNodes(body, dc, (why) => events.skip(why))),
          onError: (err) => events.failed(`catalog/nodes?dc=${dc}`, err),
        },
        0n,
      ),
    ];
  }

  private takeServices(names: string[]): void {
    this.events.ok();
    this.events.listed(names);
    const next = new Map(names.map((n) => [n.toLowerCase(), n]));
    const changed = !this.services || this.services.size !== next.size || names.some((n) => !this.services!.has(n.toLowerCase()));
    this.services = next;
    this.checkReady();
    if (changed) this.events.changed();
  }

  private takeNodes(list: CatalogNode[]): void {
    this.events.ok();
    const nodes = new Map<string, CatalogNode>();
    const byAddress = new Map<string, CatalogNode[]>();
    for (const n of list) {
      nodes.set(n.name.toLowerCase(), n);
      const ip = canonicalIp(n.address);
      if (ip) byAddress.set(ip, [...(byAddress.get(ip) ?? []), n]);
    }
    // A return is no proof of a change (Consul docs): compare what is served.
    const changed = !this.nodes || JSON.stringify([...nodes]) !== JSON.stringify([...this.nodes]);
    this.nodes = nodes;
    this.byAddress = byAddress;
    this.checkReady();
    if (changed) this.events.changed();
  }

  private checkReady(): void {
    if (this.synced()) this.markReady();
  }

  start(): void {
    for (const w of this.watches) w.start();
  }

  stop(): void {
    for (const w of this.watches) w.stop();
  }

  /** wake ends the backoff of both watches. */
  wake(): void {
    for (const w of this.watches) w.wake();
  }

  /** synced tells whether both lists have been read. */
  synced(): boolean {
    return this.services !== undefined && this.nodes !== undefined;
  }

  /** service returns Consul's spelling of a service name, or undefined if there is no such service. */
  service(name: string): string | undefined {
    return this.services?.get(name.toLowerCase());
  }

  /** node returns a node by name, case-insensitively. */
  node(name: string): CatalogNode | undefined {
    return this.nodes?.get(name.toLowerCase());
  }

  /** nodesAt returns the nodes at a canonical IP address. */
  nodesAt(ip: string): readonly CatalogNode[] {
    return this.byAddress.get(ip) ?? [];
  }
}
