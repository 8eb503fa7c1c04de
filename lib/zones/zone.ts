// A zone turns questions under its origin into answers. The router picks the zone;
// a zone that returns undefined declines the name (it is then forwarded or REFUSED).
import type { Answer } from '../answer/answer.js';
import type { DataKey } from '../catalog/changes.js';
import type { Lookup } from '../catalog/types.js';

/** ZoneQuery is one question as a zone sees it. */
export interface ZoneQuery {
  /** name is the question name as asked (case kept), used as the owner of answers. */
  name: string;
  /** labels are the lower-case labels in front of the zone's origin. */
  labels: readonly string[];
  type: number;
  /** source is where the question comes from: the EDNS Client Subnet address if given, else the client's address (prepared queries with Near "_ip"). */
  source?: string;
}

/** Zone answers for the names at and below origin. */
export interface Zone {
  /** origin is a lower-case FQDN. */
  readonly origin: string;
  resolve(query: ZoneQuery): Lookup<Answer | undefined>;
  /** healthy tells whether the zone's source is reachable; when not, answers are stale and skip the answer cache. */
  healthy(): boolean;
  /** staleSince is 0 while healthy, else when the zone's source stopped answering (the staleness rule in the handler reads it). */
  staleSince(): number;
  /** depends names the data an answer for these labels is built from, so that a change drops exactly those cached answers. */
  depends(labels: readonly string[]): DataKey;
}
