// Request coalescing: concurrent callers for one key share one request in flight.

/** Coalescer runs one request per key at a time; concurrent callers get the same promise. */
export class Coalescer {
  private readonly inflight = new Map<string, Promise<unknown>>();

  run<T>(key: string, request: () => Promise<T>): Promise<T> {
    const pending = this.inflight.get(key);
    if (pending) return pending as Promise<T>;
    const p = request().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}
