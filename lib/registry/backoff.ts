// Retry pacing shared by the watching registries.

/** Backoff describes exponential backoff with full jitter. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** backoffDelay is the wait before retry number `failures` (1-based): random in [base, min(max, base*2^n)] (AWS "full jitter"). */
export function backoffDelay(b: Backoff, failures: number): number {
  const ceiling = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(failures, 30));
  return b.baseMs + Math.random() * Math.max(0, ceiling - b.baseMs);
}

/** Sleeper is a cancellable sleep: cancel() wakes every pending sleep at once. */
export class Sleeper {
  private readonly pending = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.pending.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending.add(done);
    });
  }

  cancel(): void {
    for (const done of [...this.pending]) done();
  }
}

/** DEFAULT_BACKOFF paces a Consul watch that fails: from 250 ms, doubling, at most 30 s. */
export const DEFAULT_BACKOFF: Backoff = { baseMs: 250, maxMs: 30000 };
