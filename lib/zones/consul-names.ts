// Consul's DNS naming (SPEC §2): which catalog lookup a name under the domain asks for.
import { fromHexAddr } from '../dns/addr.js';

/** ConsulQuery is the catalog lookup a Consul-style name asks for. */
export type ConsulQuery =
  | { kind: 'apex' }
  | { kind: 'nameserver' }
  | { kind: 'service'; service: string; tag: string | undefined; dc: string | undefined }
  | { kind: 'node'; node: string; dc: string | undefined }
  | { kind: 'addr'; address: string; dc: string | undefined }
  /** ent is an empty non-terminal (RFC 8020 §2): it exists because names exist below it, in dc when given. */
  | { kind: 'ent'; dc: string | undefined };

const NAMESERVER_LABEL = 'ns';
/** KIND_LABELS are the labels that name a kind of lookup; each is an empty non-terminal itself. */
const KIND_LABELS = new Set(['service', 'node', 'addr']);

/**
 * parseConsulName reads the lower-case labels in front of the domain; undefined means
 * the name cannot exist (NXDOMAIN).
 * @example parseConsulName(['v1', 'web', 'service', 'dc1']) // { kind: 'service', service: 'web', tag: 'v1', dc: 'dc1' }
 */
export function parseConsulName(labels: readonly string[]): ConsulQuery | undefined {
  if (labels.length === 0) return { kind: 'apex' };
  if (labels.length === 1 && labels[0] === NAMESERVER_LABEL) return { kind: 'nameserver' };
  // RFC 2782: _service._proto[.service][.dc]; _tcp means "any tag", other protocols are tags.
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
