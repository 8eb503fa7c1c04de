// Per-service TTLs, like Consul's dns_config.service_ttl: an exact name wins, then
// the longest matching `prefix*`, then `*`, then the default.

/** TtlRule is a per-service TTL: an exact name, a prefix (`web*`), or everything (`*`). */
export interface TtlRule {
  pattern: string;
  ttl: number;
}

/** serviceTtl compiles TTL rules once into a lookup by service name. */
export function serviceTtl(rules: readonly TtlRule[], fallback: number): (service: string) => number {
  const exact = new Map<string, number>();
  const prefixes: TtlRule[] = [];
  for (const rule of rules) {
    if (rule.pattern.endsWith('*')) prefixes.push({ pattern: rule.pattern.slice(0, -1), ttl: rule.ttl });
    else exact.set(rule.pattern, rule.ttl);
  }
  prefixes.sort((a, b) => b.pattern.length - a.pattern.length);
  return (service) => {
    const name = service.toLowerCase();
    const hit = exact.get(name);
    if (hit !== undefined) return hit;
    for (const p of prefixes) if (name.startsWith(p.pattern)) return p.ttl;
    return fallback;
  };
}
