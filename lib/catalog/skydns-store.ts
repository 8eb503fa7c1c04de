// The SkyDNS/CoreDNS records of one etcd prefix, held as a trie of key segments so a
// name's whole subtree is found without scanning every key. Values are parsed once,
// when they arrive; a malformed one is skipped, logged once with its key, and counted
// (ours, SPEC §3: CoreDNS fails the whole subtree instead).
import type { Logger } from '../log.js';
import { inParts, keyDir, RESET_PART, type KeySink } from '../registry/etcd-mirror.js';

/** SkyService is one SkyDNS record value (CoreDNS msg.Service), with its key. */
export interface SkyService {
  key: string;
  host: string;
  port: number;
  /** priority is already defaulted: 0 means 10 (CoreDNS). */
  priority: number;
  /** weight as written; 0 when absent. */
  weight: number;
  text: string;
  mail: boolean;
  ttl: number | undefined;
  targetstrip: number;
  group: string;
}

const DEFAULT_PRIORITY = 10;

function uint(v: unknown, max: number): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : undefined;
}

/** parseSkyService checks one value; it returns the reason when the value is malformed. */
export function parseSkyService(key: string, value: string): SkyService | string {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  const wrong = (field: string, want: string): string => `${field}: expected ${want}, got ${JSON.stringify(o[field])}`;
  if (o.host !== undefined && typeof o.host !== 'string') return wrong('host', 'a string');
  const num = (field: string, max: number): number | string => (o[field] === undefined ? 0 : (uint(o[field], max) ?? wrong(field, `an integer from 0 to ${max}`)));
  const port = num('port', 65535);
  const priority = num('priority', 65535);
  const weight = num('weight', 65535);
  const targetstrip = num('targetstrip', 127);
  const ttl = o.ttl === undefined ? undefined : num('ttl', 2147483647);
  for (const n of [port, priority, weight, targetstrip, ttl]) if (typeof n === 'string') return n;
  if (o.text !== undefined && typeof o.text !== 'string') return wrong('text', 'a string');
  if (o.mail !== undefined && typeof o.mail !== 'boolean') return wrong('mail', 'true or false');
  if (o.group !== undefined && typeof o.group !== 'string') return wrong('group', 'a string');
  return {
    key,
    host: (o.host as string | undefined) ?? '',
    port: port as number,
    priority: (priority as number) || DEFAULT_PRIORITY,
    weight: weight as number,
    text: (o.text as string | undefined) ?? '',
    mail: (o.mail as boolean | undefined) ?? false,
    ttl: ttl as number | undefined,
    targetstrip: targetstrip as number,
    group: (o.group as string | undefined) ?? '',
  };
}

interface TrieNode {
  children: Map<string, TrieNode>;
  /** value is the parsed service at exactly this key, or the reason it was skipped. */
  value: SkyService | string | undefined;
}

const newNode = (): TrieNode => ({ children: new Map(), value: undefined });

/** SkyLookup is what exists for a name: the services to answer with, and whether anything exists at all. */
export interface SkyLookup {
  services: SkyService[];
  exists: boolean;
}

/** SkyStore indexes one prefix's SkyDNS records; it is the KeySink of an etcd mirror. */
export class SkyStore implements KeySink {
  private root = newNode();
  private readonly logged = new Set<string>();
  private changed = false;
  /** malformed counts values skipped since start. */
  malformed = 0;
  /** size counts the keys held, malformed ones included. */
  size = 0;

  constructor(
    /** prefix is the etcd key prefix, e.g. /skydns. */
    prefix: string,
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {
    this.dir = keyDir(prefix);
  }

  /** dir is the prefix as a directory, computed once. */
  private readonly dir: string;

  /** segments splits a key below the prefix into lower-case path segments. */
  private segments(key: string): string[] | undefined {
    const dir = this.dir;
    if (!key.startsWith(dir)) return undefined;
    return key.slice(dir.length).toLowerCase().split('/').filter((s) => s !== '');
  }

  private set(root: TrieNode, key: string, value: string): void {
    const path = this.segments(key);
    if (!path || path.length === 0) return;
    let node = root;
    for (const seg of path) {
      let next = node.children.get(seg);
      if (!next) node.children.set(seg, (next = newNode()));
      node = next;
    }
    if (node.value === undefined && root === this.root) this.size++;
    const parsed = parseSkyService(key, value);
    if (typeof parsed === 'string') {
      this.malformed++;
      if (!this.logged.has(key)) {
        this.logged.add(key);
        this.log.warn({ key, why: parsed }, 'skipping a malformed skydns record');
      }
    }
    node.value = parsed;
  }

  reset(entries: ReadonlyMap<string, string>): void | Promise<void> {
    if (entries.size > RESET_PART) return this.resetInParts(entries);
    const root = newNode();
    for (const [k, v] of entries) this.set(root, k, v);
    this.swap(root, entries.size, []);
  }

  /** resetInParts builds the new trie aside a part at a time; changes meanwhile are applied to both. */
  private async resetInParts(entries: ReadonlyMap<string, string>): Promise<void> {
    const root = newNode();
    const meanwhile: [string, string | undefined][] = [];
    this.meanwhile = meanwhile;
    await inParts(entries, ([k, v]) => this.set(root, k, v));
    this.meanwhile = undefined;
    this.swap(root, entries.size, meanwhile);
  }

  /** swap puts a new trie in service whole, then the changes that came while it was built. */
  private swap(root: TrieNode, size: number, meanwhile: readonly [string, string | undefined][]): void {
    this.root = root;
    this.size = size;
    for (const [k, v] of meanwhile) {
      if (v === undefined) this.delete(k);
      else this.put(k, v);
    }
    this.changed = true;
  }

  /** meanwhile records the changes made while a re-read is being built. */
  private meanwhile: [string, string | undefined][] | undefined;

  put(key: string, value: string): void {
    this.meanwhile?.push([key, value]);
    this.set(this.root, key, value);
    this.changed = true;
  }
  delete(key: string): void {
    this.meanwhile?.push([key, undefined]);
    const path = this.segments(key);
    if (!path) return;
    const subtree = key.endsWith('/');
    const trail: TrieNode[] = [this.root];
    for (const seg of path) {
      const next = trail[trail.length - 1]!.children.get(seg);
      if (!next) return;
      trail.push(next);
    }
    const node = trail[trail.length - 1]!;
    if (subtree) {
      const count = (n: TrieNode): number => (n.value !== undefined ? 1 : 0) + [...n.children.values()].reduce((a, c) => a + count(c), 0);
      this.size -= [...node.children.values()].reduce((a, c) => a + count(c), 0);
      node.children.clear();
    } else if (node.value !== undefined) {
      node.value = undefined;
      this.size--;
    }
    // Prune empty nodes on the way back up.
    for (let i = trail.length - 1; i > 0; i--) {
      const n = trail[i]!;
      if (n.value !== undefined || n.children.size > 0) break;
      trail[i - 1]!.children.delete(path[i - 1]!);
    }
    this.changed = true;
  }
  commit(): void {
    if (!this.changed) return;
    this.changed = false;
    this.onChange();
  }

  /**
   * lookup finds the records for a path (the name's labels, reversed, from the prefix).
   * A name matches its subtree (the keys under path/); only when there are none, the
   * key path itself. `*` and `any` match any one segment.
   */
  lookup(path: readonly string[]): SkyLookup {
    const services: SkyService[] = [];
    let exists = false;
    const collect = (node: TrieNode): void => {
      if (node.value !== undefined) {
        exists = true;
        if (typeof node.value !== 'string') services.push(node.value);
      }
      for (const child of [...node.children.keys()].sort()) collect(node.children.get(child)!);
    };
    const walk = (node: TrieNode, i: number): void => {
      if (i === path.length) {
        if (node.children.size > 0) {
          for (const child of [...node.children.keys()].sort()) collect(node.children.get(child)!);
        } else if (node.value !== undefined) {
          collect(node);
        }
        return;
      }
      const seg = path[i]!;
      if (seg === '*' || seg === 'any') {
        for (const child of [...node.children.keys()].sort()) walk(node.children.get(child)!, i + 1);
        return;
      }
      const next = node.children.get(seg);
      if (next) walk(next, i + 1);
    };
    walk(this.root, 0);
    return { services, exists };
  }
}
