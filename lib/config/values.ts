// Option values: each parser reads one kind of value or throws a ConfigError that
// names where the value came from (a flag, an environment variable or a config key).
import { isIP } from 'node:net';
import { fqdn, isValidName } from '../dns/names.js';

/** Endpoint is an address to listen on. */
export interface Endpoint {
  host: string;
  port: number;
}

/** TtlRule is a per-service TTL: an exact name, a prefix (`web*`), or everything (`*`). */
export interface TtlRule {
  pattern: string;
  ttl: number;
}

/** ConfigError is a bad option value or key; the CLI prints it and exits 2. */
export class ConfigError extends Error {}

export function fail(source: string, message: string): never {
  throw new ConfigError(`${source}: ${message}`);
}

/** parseSeconds reads 30, 30s, 5m or 1h as whole seconds. */
export function parseSeconds(source: string, value: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(value.trim());
  if (!m) fail(source, `expected whole seconds like 30, 30s, 5m or 1h, got "${value}"`);
  const n = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (n > 2147483647) fail(source, `at most 2147483647 seconds (RFC 2181 §8), got "${value}"`);
  return n;
}

/** parseDuration reads 500ms, 10s, 5m or 1h as milliseconds. */
export function parseDuration(source: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) fail(source, `expected a duration like 500ms, 10s or 5m, got "${value}"`);
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

export function parseEndpoint(source: string, value: string): Endpoint {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(value.trim());
  const host = m?.[1] ?? m?.[2];
  if (!m || !host || isIP(host) === 0 || Number(m[3]) > 65535) {
    fail(source, `expected IP:PORT or [IPv6]:PORT, got "${value}"`);
  }
  return { host, port: Number(m[3]) };
}

/** parseRecursor reads HOST, HOST:PORT, [V6] or [V6]:PORT; the port defaults to 53. */
export function parseRecursor(source: string, value: string): Endpoint {
  const v = value.trim();
  if (isIP(v)) return { host: v, port: 53 };
  const m = /^\[([^\]]+)\]$/.exec(v);
  if (m && isIP(m[1]!) === 6) return { host: m[1]!, port: 53 };
  return parseEndpoint(source, v);
}

export function recursorStrategy(source: string, value: string): 'sequential' | 'random' {
  if (value !== 'sequential' && value !== 'random') fail(source, `expected sequential or random, got "${value}"`);
  return value;
}

export function parseZone(source: string, value: string): string {
  const zone = fqdn(value);
  if (zone === '.' || !isValidName(zone) || !/^[a-z0-9_.-]+$/.test(zone)) fail(source, `not a domain name: "${value}"`);
  return zone;
}

export function parseTtlRule(source: string, value: string): TtlRule {
  const eq = value.lastIndexOf('=');
  if (eq <= 0) fail(source, `expected NAME=SECONDS, prefix*=SECONDS or *=SECONDS, got "${value}"`);
  const pattern = value.slice(0, eq).trim().toLowerCase();
  if (pattern.slice(0, -1).includes('*')) fail(source, `only a trailing * is allowed, got "${pattern}"`);
  return { pattern, ttl: parseSeconds(source, value.slice(eq + 1)) };
}
