// What an answer depends on, named one way: the zones say it when an answer is stored
// (Zone.depends), the sources say it when data changes (Source.subscribe), and the
// answer cache drops exactly the answers that depended on what changed. One typed key,
// one string form (keyString), so the two sides cannot drift apart.

/** DataKey names the registry data an answer was built from. */
export type DataKey =
  /** the instances of one service in one datacenter */
  | { kind: 'service'; datacenter: string; name: string }
  /** one node of one datacenter */
  | { kind: 'node'; datacenter: string; name: string }
  /** what is known at addresses: every reverse answer */
  | { kind: 'reverse' }
  /** everything one SkyDNS zone answers (its records answer for whole subtrees) */
  | { kind: 'zone'; origin: string }
  /** a zone's answers that depend on no one record: the apex, empty non-terminals, .addr names */
  | { kind: 'static'; origin: string };

/** Change is what a source reports: the data that may have changed, or everything. */
export type Change = { kind: 'all' } | { kind: 'keys'; keys: readonly DataKey[] };

/** keyString is a DataKey's one string form, case-insensitive in its names. */
export function keyString(k: DataKey): string {
  switch (k.kind) {
    case 'service':
    case 'node':
      return `${k.kind}:${k.datacenter.toLowerCase()}/${k.name.toLowerCase()}`;
    case 'reverse':
      return 'reverse';
    case 'zone':
    case 'static':
      return `${k.kind}:${k.origin}`;
  }
}

/** serviceChanged is the change of one service's instances: its answers, and reverse answers (which name services by address). */
export function serviceChanged(datacenter: string, name: string): Change {
  return { kind: 'keys', keys: [{ kind: 'service', datacenter, name }, { kind: 'reverse' }] };
}

/**
 * scopedDatacenter is the datacenter part of a DataKey for a labelled name's scope: the
 * datacenter alone for the default scope, else with the peer, namespace and partition,
 * so that a scoped service's changes drop its answers and no one else's.
 */
export function scopedDatacenter(dc: string, scope: { peer?: string; namespace?: string; partition?: string; gateway?: string } | undefined): string {
  if (scope === undefined || (scope.peer === undefined && scope.namespace === undefined && scope.partition === undefined && scope.gateway === undefined)) return dc;
  return `${scope.peer !== undefined ? `peer=${scope.peer}` : dc}|ns=${scope.namespace ?? ''}|ap=${scope.partition ?? ''}|via=${scope.gateway ?? ''}`;
}

/** queryDatacenter is the DataKey datacenter of a prepared query's answers in dc. */
export function queryDatacenter(dc: string): string {
  return `query=${dc}`;
}
