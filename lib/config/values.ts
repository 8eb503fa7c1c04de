// Option values: each parser reads one kind of value or throws a ConfigError that
// names where the value came from (a flag, an environment variable or a config key).
import { isIP } from 'node:net';
import type { TtlRule } from '../answer/ttl.js';
import { fqdn, isValidName } from '../dns/names.js';

/** Endpoint is an address to listen on. */
export interface Endpoint {
  host: string;
  port: number;
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

/** HOSTNAME is a host name as RFC 1123 allows it (resolved at start-up). */
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** parseHost reads an IP address or a host name; [v6] is an IPv6 address. */
function parseHost(value: string): string | undefined {
  const v6 = /^\[([^\]]+)\]$/.exec(value);
  if (v6) return isIP(v6[1]!) === 6 ? v6[1] : undefined;
  return isIP(value) === 4 || HOSTNAME.test(value) ? value : undefined;
}

/** parseEndpoint reads HOST:PORT (HOST an IPv4 address, [IPv6] or a host name resolved at start-up). */
export function parseEndpoint(source: string, value: string, defaultPort?: number): Endpoint {
  const v = value.trim();
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(v) ?? (isIP(v) === 6 ? [v, `[${v}]`, undefined] : null);
  const host = m ? parseHost(m[1]!) : undefined;
  const port = m?.[2] !== undefined ? Number(m[2]) : defaultPort;
  if (!host || port === undefined || port > 65535) {
    fail(source, `expected HOST:PORT, where HOST is an IP address, [IPv6] or a host name${defaultPort === undefined ? '' : ` (the port may be left out: ${defaultPort})`}; got "${value}"`);
  }
  return { host, port };
}

/** parseRecursor reads HOST[:PORT] like parseEndpoint; the port defaults to 53. */
export function parseRecursor(source: string, value: string): Endpoint {
  return parseEndpoint(source, value, 53);
}

export function recursorStrategy(source: string, value: string): 'sequential' | 'random' {
  if (value !== 'sequential' && value !== 'random') fail(source, `expected sequential or random, got "${value}"`);
  return value;
}

export function udpIo(source: string, value: string): 'auto' | 'batch' | 'dgram' {
  if (value !== 'auto' && value !== 'batch' && value !== 'dgram') fail(source, `expected auto, batch or dgram, got "${value}"`);
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
