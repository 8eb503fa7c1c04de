// Who may recurse through srvdns (--allow-recursion). The default (config/options.ts) covers
// loopback and private ranges — RFC 1918, RFC 6598 (carrier-grade NAT), fc00::/7 (ULA) and fe80::/10
// — which covers Docker bridges, so srvdns is never an open resolver by default.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** parseCidr reads "addr/prefix" (or a bare address); undefined if malformed. */
export function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address, bits] = cidr.trim().split('/');
  if (!address) return undefined;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) return undefined;
  return { address, prefix, family };
}

const SEEN_MAX = 4096;

/** RecursionAcl answers whether a client address may recurse. */
export class RecursionAcl {
  private readonly list = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const p = parseCidr(c);
      if (!p) throw new Error(`forward/acl: not a CIDR: "${c}"`);
      this.list.addSubnet(p.address, p.prefix, p.family);
    }
  }

  /** seen remembers answers per client address (bounded), as the hot path asks for every query. */
  private readonly seen = new Map<string, boolean>();

  allows(client: string): boolean {
    let ok = this.seen.get(client);
    if (ok === undefined) {
      if (this.seen.size >= SEEN_MAX) this.seen.clear();
      this.seen.set(client, (ok = this.check(client)));
    }
    return ok;
  }

  private check(client: string): boolean {
    // IPv4 clients of a dual-stack socket arrive as ::ffff:a.b.c.d.
    const v4 = client.startsWith('::ffff:') && isIPv4(client.slice(7)) ? client.slice(7) : client;
    if (isIPv4(v4)) return this.list.check(v4, 'ipv4');
    if (isIPv6(v4)) return this.list.check(v4, 'ipv6');
    return false;
  }
}
