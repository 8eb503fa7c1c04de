// IP address helpers: the canonical text form used as an index key, the hex form
// of Consul's .addr names, and reverse (in-addr.arpa / ip6.arpa) names.
import { isIPv4, isIPv6 } from 'node:net';

/**
 * ipFamily is 4 for an IPv4 dotted quad, 6 for an IPv6 address, 0 otherwise: node:net's
 * isIP, with the IPv4 test (the common case) done by hand. isIPv4's regular expression
 * was a visible share of building an answer; this accepts exactly what it accepts: four
 * decimal numbers of 0-255 without leading zeros (test/addr.test.ts compares the two).
 */
export function ipFamily(address: string): 0 | 4 | 6 {
  const n = address.length;
  if (n >= 7 && n <= 15) {
    let groups = 0;
    let value = 0;
    let digits = 0;
    let first = 0;
    let i = 0;
    for (; i <= n; i++) {
      const c = i < n ? address.charCodeAt(i) : 0x2e; // the end closes the last number
      if (c === 0x2e) {
        if (digits === 0 || (digits > 1 && first === 0x30) || value > 255 || ++groups > 4) break;
        value = digits = 0;
      } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
        if (digits++ === 0) first = c;
        value = value * 10 + c - 0x30;
      } else {
        break;
      }
    }
    if (i > n && groups === 4) return 4;
  }
  return address.includes(':') && isIPv6(address) ? 6 : 0;
}

/** ipv6Bytes turns an IPv6 address (with :: and an optional embedded IPv4 tail) into 16 bytes. */
export function ipv6Bytes(address: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = address.split('%')[0]!;
  const lastColon = text.lastIndexOf(':');
  let tail: [number, number] | undefined;
  if (isIPv4(text.slice(lastColon + 1))) {
    const v4 = text.slice(lastColon + 1).split('.').map(Number);
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r].map((g) => parseInt(g, 16));
  if (tail) groups.splice(6, 2, tail[0], tail[1]);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** ipv6FromBytes writes 16 bytes as a fully expanded, lower-case IPv6 address. */
function ipv6FromBytes(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16).padStart(4, '0'));
  return groups.join(':');
}

/**
 * canonicalIp returns the key form of an IP address (IPv4 as is, IPv6 fully expanded
 * and lower-case), or undefined for anything that is not an IP address.
 */
export function canonicalIp(address: string): string | undefined {
  if (isIPv4(address)) return address;
  if (isIPv6(address)) return ipv6FromBytes(ipv6Bytes(address));
  return undefined;
}

/** hexAddr is Consul's .addr label: 8 hex digits for IPv4, 32 (fully expanded) for IPv6. */
export function hexAddr(address: string): string {
  if (isIPv4(address)) return address.split('.').map((p) => Number(p).toString(16).padStart(2, '0')).join('');
  return Buffer.from(ipv6Bytes(address)).toString('hex');
}

/** fromHexAddr reverses hexAddr; undefined for a label that is not 8 or 32 hex digits. */
export function fromHexAddr(label: string): string | undefined {
  if (!/^[0-9a-f]+$/i.test(label)) return undefined;
  const bytes = Buffer.from(label, 'hex');
  if (label.length === 8) return [...bytes].join('.');
  if (label.length === 32) return ipv6FromBytes(bytes);
  return undefined;
}

/** fromReverseName reads the IP of a lower-case in-addr.arpa. or ip6.arpa. name (RFC 1035 §3.5, RFC 3596 §2.5). */
export function fromReverseName(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa.')) {
    const parts = name.slice(0, -'.in-addr.arpa.'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) < 256)) return undefined;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa.')) {
    const nibbles = name.slice(0, -'.ip6.arpa.'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    return fromHexAddr(nibbles.reverse().join(''));
  }
  return undefined;
}
