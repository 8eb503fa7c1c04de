// An in-memory mirror of one etcd key prefix, fed to a KeySink. Two implementations:
// etcd's v3 API (etcd-v3.ts) and its v2 HTTP API (etcd-v2.ts), because Registrator
// writes through v2, which v3 clients cannot see (SPEC §4).
import { Liveness } from './staleness.js';

/** KeySink receives a prefix's keys: a whole copy on every (re)sync, then changes. */
export interface KeySink {
  /**
   * reset replaces everything with a complete new copy, built aside by the mirror. A large
   * copy may be taken in a part at a time (a promise), so that answering never pauses;
   * changes put or deleted meanwhile apply on top of it.
   */
  reset(entries: ReadonlyMap<string, string>): void | Promise<void>;
  put(key: string, value: string): void;
  /** delete removes a key; a key ending in '/' removes everything under it (a v2 directory). */
  delete(key: string): void;
  /** commit ends a batch: one etcd response's worth of changes; a large rebuild may finish later (a promise). */
  commit(): void | Promise<void>;
}

/** RESET_PART is how many keys a sink takes between two turns of the event loop during a full re-read. */
export const RESET_PART = 2000;

/** nextTurn lets the event loop answer queries before more work. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** inParts calls take for every entry, letting the event loop turn after each RESET_PART of them. */
export async function inParts<T>(entries: Iterable<T>, take: (entry: T) => void): Promise<void> {
  let n = 0;
  for (const entry of entries) {
    take(entry);
    if (++n % RESET_PART === 0) await nextTurn();
  }
}

/** KeyMirror keeps a KeySink in step with an etcd prefix. */
export interface KeyMirror {
  /** start reads the prefix once and begins watching; it resolves after the first read or after timeoutMs, serving on. */
  start(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
  /** synced tells whether a full read has completed. */
  synced(): boolean;
  /** healthy tells whether the mirror is following etcd now (not cut off from it). */
  healthy(): boolean;
  /** staleSince is 0 while healthy, else when etcd stopped answering (see staleness.ts). */
  staleSince(): number;
  /** errors counts failed requests and lost watches. */
  readonly errors: number;
  /** lastSync is when the mirror last knew it was current (ms), 0 before the first read. */
  readonly lastSync: number;
}

/**
 * FollowingMirror is the part every KeyMirror keeps alike: whether it follows its store
 * now (the one staleness rule, staleness.ts), when it last knew it was current (synced
 * once that is set), and its failures.
 */
export abstract class FollowingMirror implements KeyMirror {
  protected readonly liveness = new Liveness();
  errors = 0;
  lastSync = 0;

  abstract start(timeoutMs: number): Promise<void>;
  abstract stop(): Promise<void>;

  synced(): boolean {
    return this.lastSync > 0;
  }
  healthy(): boolean {
    return this.liveness.current();
  }
  staleSince(): number {
    return this.liveness.staleSince();
  }
}

/** EtcdConnection is how to reach etcd, shared by both APIs. */
export interface EtcdConnection {
  endpoints: string[];
  user: string | undefined;
  password: string | undefined;
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
}

/** EtcdSource is one prefix read from etcd, in one layout. */
export interface EtcdSource {
  layout: 'skydns' | 'registrator';
  api: 'v2' | 'v3';
  prefix: string;
  /** zone is the lower-case FQDN a skydns source answers; unused by registrator. */
  zone: string;
}

/** trimPrefix is an etcd key prefix without trailing slashes: /skydns/ and /skydns are one prefix. */
export function trimPrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

/** keyDir is a prefix as the directory its keys live in (/skydns/), so that /skydns never matches /skydnsx. */
export function keyDir(prefix: string): string {
  return `${trimPrefix(prefix)}/`;
}
