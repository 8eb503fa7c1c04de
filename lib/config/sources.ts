// Where option values come from besides flags: SRVDNS_* environment variables and the
// --config file, both normalised to the forms flags give.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { OPTIONS, type OptionName, type OptionSpec, type Raw } from './options.js';
import { ConfigError, fail } from './values.js';

/** fromFileValue normalises a config file value to the string forms flags use. */
function fromFileValue(key: OptionName, value: unknown): Raw {
  const source = `config key '${key}'`;
  const spec: OptionSpec = OPTIONS[key];
  // A secret is never echoed, not even when it has the wrong type.
  const shown = (v: unknown): string => (spec.secret ? 'a value of the wrong type' : JSON.stringify(v));
  if (spec.kind === 'boolean') {
    if (typeof value !== 'boolean') fail(source, `expected true or false, got ${shown(value)}`);
    return value;
  }
  if (spec.kind === 'strings') {
    if (key === 'service-ttl' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.entries(value).map(([k, v]) => `${k}=${String(v)}`);
    }
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((v) => typeof v === 'string' || typeof v === 'number')) {
      fail(source, `expected a string or a list of strings, got ${shown(value)}`);
    }
    return list.map(String);
  }
  if (typeof value !== 'string' && typeof value !== 'number') fail(source, `expected a value, got ${shown(value)}`);
  return String(value);
}

export function fromEnvValue(key: OptionName, value: string, source: string): Raw {
  const spec: OptionSpec = OPTIONS[key];
  if (spec.kind === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off|)$/i.test(value)) return false;
    fail(source, `expected true or false, got "${value}"`);
  }
  if (spec.kind === 'strings') return value.split(',').map((s) => s.trim()).filter(Boolean);
  return value;
}

export function readConfigFile(path: string): Partial<Record<OptionName, Raw>> {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${path}: expected a map of options`);
  const out: Partial<Record<OptionName, Raw>> = {};
  for (const [key, value] of Object.entries(data)) {
    if (!(key in OPTIONS) || key === 'config') throw new ConfigError(`config file ${path}: unknown key '${key}'`);
    out[key as OptionName] = fromFileValue(key as OptionName, value);
  }
  return out;
}
