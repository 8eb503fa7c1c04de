// Domain names in presentation form: labels joined by dots, a trailing dot, and
// RFC 1035 §5.1 escapes (\. \\ \DDD) for bytes that are not plain.

/** MAX_NAME is the longest name on the wire, length bytes included (RFC 1035 §2.3.4). */
export const MAX_NAME = 255;
/** MAX_LABEL is the longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL = 63;

/** fqdn returns name lower-cased with exactly one trailing dot. */
export function fqdn(name: string): string {
  const lower = name.toLowerCase();
  if (lower === '' || lower === '.') return '.';
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** escapeLabel writes one wire label in presentation form. */
export function escapeLabel(bytes: Uint8Array): string {
  // Almost every label is plain printable ASCII: one decode, no per-byte strings.
  let plain = true;
  for (const b of bytes) {
    if (b <= 0x20 || b >= 0x7f || b === 0x2e || b === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  let out = '';
  for (const b of bytes) {
    if (b === 0x2e || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${b.toString().padStart(3, '0')}`;
  }
  return out;
}

/** nameLabels splits a presentation name into wire labels, undoing escapes; the root is []. */
export function nameLabels(name: string): Buffer[] {
  const labels: Buffer[] = [];
  let cur: number[] = [];
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c === 0x5c /* \ */ && i + 1 < name.length) {
      const d = name.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        cur.push(Number(d) & 0xff);
        i += 4;
      } else {
        cur.push(name.charCodeAt(i + 1) & 0xff);
        i += 2;
      }
      continue;
    }
    if (c === 0x2e /* . */) {
      if (cur.length > 0) labels.push(Buffer.from(cur));
      cur = [];
    } else {
      cur.push(c & 0xff);
    }
    i++;
  }
  if (cur.length > 0) labels.push(Buffer.from(cur));
  return labels;
}

/**
 * isValidName tells whether a presentation name can be written on the wire: labels of
 * 1 to 63 octets, at most 255 octets in all (RFC 1035 §2.3.4). Plain names are checked
 * without copying.
 */
export function isValidName(name: string): boolean {
  if (!name.includes('\\')) {
    const end = name.endsWith('.') ? name.length - 1 : name.length;
    // One length octet per label, the labels, the root octet: end + 2, or 1 for the root.
    if (end + 2 > MAX_NAME) return false;
    let start = 0;
    while (start < end) {
      let dot = name.indexOf('.', start);
      if (dot < 0 || dot > end) dot = end;
      if (dot === start || dot - start > MAX_LABEL) return false;
      start = dot + 1;
    }
    return true;
  }
  const labels = nameLabels(name);
  let total = 1;
  for (const l of labels) {
    if (l.length === 0 || l.length > MAX_LABEL) return false;
    total += l.length + 1;
  }
  return total <= MAX_NAME;
}

/**
 * relativeLabels returns the labels of lowerName in front of zone (both lower-case
 * FQDNs), or undefined when lowerName is not at or below zone.
 */
export function relativeLabels(lowerName: string, zone: string): string[] | undefined {
  if (zone === '.') return lowerName === '.' ? [] : lowerName.slice(0, -1).split('.');
  if (lowerName === zone) return [];
  if (!lowerName.endsWith(`.${zone}`)) return undefined;
  return lowerName.slice(0, -zone.length - 1).split('.');
}
