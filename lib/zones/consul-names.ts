// Consul's DNS naming (SPEC §2): which catalog lookup a name under the domain asks for.
import type { Scope } from '../catalog/types.js';
import { fromHexAddr } from '../dns/addr.js';

/** ConsulQuery is the catalog lookup a Consul-style name asks for. */
export type ConsulQuery =
  | { kind: 'apex' }
  | { kind: 'nameserver' }
  | { kind: 'service'; service: string; tag: string | undefined; dc: string | undefined; scope?: Scope }
  | { kind: 'node'; node: string; dc: string | undefined; scope?: Scope }
  | { kind: 'addr'; address: string; dc: string | undefined }
  /** query is a prepared query, by name or ID. */
  | { kind: 'query'; query: string; dc: string | undefined }
  /** ent is an empty non-terminal (RFC 8020 §2): it exists because names exist below it, in dc when given. */
  | { kind: 'ent'; dc: string | undefined };

const NAMESERVER_LABEL = 'ns';
/** KIND_LABELS are the labels that name a kind of lookup; each is an empty non-terminal itself. */
const KIND_LABELS = new Set(['service', 'node', 'addr', 'connect', 'ingress', 'query']);
/** LOCALITY_LABELS end the labelled forms' pairs, `<value>.<label>`, read from the right. */
const LOCALITY_LABELS = new Set(['dc', 'peer', 'ns', 'ap']);

/** queryName reads `<query>` or `_<query>._tcp` in front of `.query`. */
function queryName(front: readonly string[]): string | undefined {
  if (front.length === 1 && front[0] !== '') return front[0];
  if (front.length === 2 && front[0]!.startsWith('_') && front[1] === '_tcp' && front[0]!.length > 1) return front[0]!.slice(1);
  return undefined;
}

/**
 * parseLabelled reads Consul's labelled forms: `[<tag>.]<service>.service` or
 * `<node>.node` followed by `.<dc>.dc`, `.<peer>.peer`, `.<ns>.ns`, `.<partition>.ap`
 * pairs, and the empty non-terminals on the way to them (`dc`, `dc1.dc`,
 * `service.dc1.dc`: a QNAME-minimising resolver asks each). Undefined when the name is
 * not of a labelled form (the older forms are tried next); null when it is, but cannot
 * exist (a datacenter and a peer together, a label given twice).
 */
function parseLabelled(labels: readonly string[]): ConsulQuery | null | undefined {
  let end = labels.length;
  const pairs = new Map<string, string>();
  while (end >= 2 && LOCALITY_LABELS.has(labels[end - 1]!)) {
    const key = labels[end - 1]!;
    if (pairs.has(key)) return null;
    pairs.set(key, labels[end - 2]!);
    end -= 2;
  }
  const front = labels.slice(0, end);
  const lone = front.length === 1 && LOCALITY_LABELS.has(front[0]!);
  if (pairs.size === 0 && !lone) return undefined;
  if (pairs.has('dc') && pairs.has('peer')) return null; // Consul: one or the other
  const dc = pairs.get('dc');
  const scope: Scope = {};
  if (pairs.has('peer')) scope.peer = pairs.get('peer')!;
  if (pairs.has('ns')) scope.namespace = pairs.get('ns')!;
  if (pairs.has('ap')) scope.partition = pairs.get('ap')!;
  const scoped = Object.keys(scope).length > 0 ? { scope } : {};
  // Empty non-terminals: nothing, a lone locality label, or a kind label in front.
  if (front.length === 0 || lone || (front.length === 1 && KIND_LABELS.has(front[0]!))) return { kind: 'ent', dc };
  const kind = front[front.length - 1];
  const before = front.slice(0, -1);
  if (kind === 'service' && before.length > 0) {
    // RFC 2782 in front of `.service`: _<service>._<proto>.
    if (before.length === 2 && before[0]!.startsWith('_') && before[1]!.startsWith('_')) {
      const service = before[0]!.slice(1);
      const proto = before[1]!.slice(1);
      if (service === '' || proto === '') return null;
      return { kind: 'service', service, tag: proto === 'tcp' ? undefined : proto, dc, ...scoped };
    }
    return { kind: 'service', service: before[before.length - 1]!, tag: before.length > 1 ? before.slice(0, -1).join('.') : undefined, dc, ...scoped };
  }
  if (kind === 'query' && Object.keys(scope).length === 0) {
    const name = queryName(before);
    return name === undefined ? undefined : { kind: 'query', query: name, dc };
  }
  if ((kind === 'connect' || kind === 'ingress') && before.length === 1 && scope.peer === undefined) return { kind: 'service', service: before[0]!, tag: undefined, dc, scope: { ...scope, gateway: kind } };
  if (kind === 'node' && before.length > 0 && scope.peer === undefined && scope.namespace === undefined) return { kind: 'node', node: before.join('.'), dc, ...scoped };
  if (kind === 'addr' && before.length === 1 && Object.keys(scope).length === 0) {
    const address = fromHexAddr(before[0]!);
    return address === undefined ? null : { kind: 'addr', address, dc };
  }
  return undefined;
}

/**
 * parseConsulName reads the lower-case labels in front of the domain; undefined means
 * the name cannot exist (NXDOMAIN).
 * @example parseConsulName(['v1', 'web', 'service', 'dc1']) // { kind: 'service', service: 'web', tag: 'v1', dc: 'dc1' }
 */
export function parseConsulName(labels: readonly string[]): ConsulQuery | undefined {
  if (labels.length === 0) return { kind: 'apex' };
  if (labels.length === 1 && labels[0] === NAMESERVER_LABEL) return { kind: 'nameserver' };
  const labelled = parseLabelled(labels);
  if (labelled !== undefined) return labelled ?? undefined;
  // RFC 2782: _service._proto[.service][.dc]; _tcp means "any tag", other protocols are tags.
  // _query._tcp.query[.dc]: a prepared query.
  if (labels.length >= 3 && labels[2] === 'query' && labels.length <= 4) {
    const name = queryName(labels.slice(0, 2));
    if (name !== undefined) return { kind: 'query', query: name, dc: labels[3] };
  }
  if (labels.length >= 2 && labels[0]!.startsWith('_') && labels[1]!.startsWith('_')) {
    let rest = labels.slice(2);
    if (rest[0] === 'service') rest = rest.slice(1);
    if (rest.length > 1) return undefined;
    const service = labels[0]!.slice(1);
    const proto = labels[1]!.slice(1);
    if (service === '' || proto === '') return undefined;
    return { kind: 'service', service, tag: proto === 'tcp' ? undefined : proto, dc: rest[0] };
  }
  // One underscore label: the parent of an RFC 2782 name (`_tcp.service`, `_web`, `_tcp.dc1`).
  if (labels[0]!.startsWith('_')) {
    let rest = labels.slice(1);
    if (rest[0] === 'service') rest = rest.slice(1);
    return rest.length > 1 ? undefined : { kind: 'ent', dc: rest[0] };
  }
  // <...>.<kind>[.<dc>]: the kind label is the last or the second-to-last label.
  const last = labels.length - 1;
  for (const at of [last, last - 1]) {
    if (at < 1) continue;
    const kind = labels[at];
    const dc = at === last ? undefined : labels[last];
    const front = labels.slice(0, at);
    switch (kind) {
      case 'service':
        return { kind: 'service', service: front[front.length - 1]!, tag: front.length > 1 ? front.slice(0, -1).join('.') : undefined, dc };
      case 'node':
        return { kind: 'node', node: front.join('.'), dc };
      case 'query': {
        const name = queryName(front);
        if (name !== undefined) return { kind: 'query', query: name, dc };
        break;
      }
      case 'connect':
      case 'ingress':
        // <service>.connect / <service>.ingress: the service's Connect-capable endpoints or ingress gateways.
        return front.length === 1 ? { kind: 'service', service: front[0]!, tag: undefined, dc, scope: { gateway: kind } } : undefined;
      case 'addr': {
        const address = front.length === 1 ? fromHexAddr(front[0]!) : undefined;
        return address === undefined ? undefined : { kind: 'addr', address, dc };
      }
    }
  }
  // Empty non-terminals: `service`, `node`, `addr`, `<dc>`, `service.<dc>` (RFC 8020 §2).
  if (labels.length === 1) return { kind: 'ent', dc: KIND_LABELS.has(labels[0]!) ? undefined : labels[0] };
  if (labels.length === 2 && KIND_LABELS.has(labels[0]!)) return { kind: 'ent', dc: labels[1] };
  return undefined;
}
