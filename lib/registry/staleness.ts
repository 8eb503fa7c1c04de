// The one staleness rule (SPEC §2a), for every source: data is current while the source
// follows its registry (a blocking query in flight, a watch stream open, the file
// readable). It starts to age only when the registry stops answering; for --max-stale
// after that the last data keeps answering (counted as stale), then SERVFAIL.

/** NOT_SYNCED is the staleSince of a source that never had data: as stale as can be. */
const NOT_SYNCED = 1;

/** Liveness records whether a source is following its registry, and since when it is not. */
export class Liveness {
  private since = NOT_SYNCED;
  /** failing: the last exchange failed (an outage, or no answer yet at start-up). */
  private failing = false;

  /** up: the registry answered; the data is current. It returns true when this ends an outage (to log once). */
  up(): boolean {
    const ended = this.failing;
    this.failing = false;
    this.since = 0;
    return ended;
  }

  /** down: the registry stopped answering; the data ages from the first failure on, not from later ones. It returns true for the first failure of an outage (to log once). */
  down(now = Date.now()): boolean {
    if (this.since === 0) this.since = now;
    if (this.failing) return false;
    this.failing = true;
    return true;
  }

  /** current tells whether the source follows its registry now. */
  current(): boolean {
    return this.since === 0;
  }

  /** staleSince is 0 while current, else when the registry stopped answering (ms since the epoch; 1 before any data). */
  staleSince(): number {
    return this.since;
  }
}

/** tooStale applies the rule: data stale for longer than maxStaleMs must not answer (SERVFAIL). */
export function tooStale(staleSince: number, maxStaleMs: number, now = Date.now()): boolean {
  return staleSince !== 0 && now - staleSince > maxStaleMs;
}
