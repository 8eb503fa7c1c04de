// One Consul blocking-query loop, following Consul's "Blocking Queries" implementation
// notes: a returned index lower than the last resets to 0 (a fresh, non-blocking read);
// an index of 0 is treated as 1 so that it can never spin; a return is no proof of a
// change (the caller compares bodies); requests are rate-limited; errors back off with
// jitter and keep the index, so the loop resumes where it stopped.
import { backoffDelay, Sleeper, type Backoff } from './backoff.js';

/** BlockingResult is one response: its X-Consul-Index and its decoded body. */
export interface BlockingResult<T> {
  index: bigint;
  body: T;
}

/** BlockingWatchOptions configure one loop. */
export interface BlockingWatchOptions<T> {
  /** fetch performs one request; index 0 means a non-blocking read. cancel aborts it. */
  fetch(index: bigint, cancel: AbortSignal): Promise<BlockingResult<T>>;
  onData(body: T): void;
  onError(err: unknown): void;
  /** minIntervalMs is the least time between the starts of two requests. */
  minIntervalMs: number;
  backoff: Backoff;
}

/** nextIndex applies Consul's index rules to a response. */
export function nextIndex(previous: bigint, returned: bigint): bigint {
  if (returned <= 0n) return 1n;
  if (returned < previous) return 0n;
  return returned;
}

/** BlockingWatch runs fetch in a loop until stopped. */
export class BlockingWatch<T> {
  private stopped = false;
  private readonly sleeper = new Sleeper();
  private readonly abort = new AbortController();
  private failures = 0;

  constructor(
    private readonly o: BlockingWatchOptions<T>,
    private index: bigint,
  ) {}

  /** start runs the loop in the background. */
  start(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      try {
        const r = await this.o.fetch(this.index, this.abort.signal);
        if (this.stopped) return;
        // The index moves only once the data is taken: a body that fails to decode is read again.
        this.o.onData(r.body);
        this.index = nextIndex(this.index, r.index);
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        this.failures++;
        this.o.onError(err);
        await this.sleeper.sleep(backoffDelay(this.o.backoff, this.failures));
        continue;
      }
      const elapsed = Date.now() - started;
      if (elapsed < this.o.minIntervalMs) await this.sleeper.sleep(this.o.minIntervalMs - elapsed);
    }
  }

  /** wake ends a backoff now: the registry answered again, so the next request need not wait. */
  wake(): void {
    if (this.failures === 0) return;
    this.failures = 0;
    this.sleeper.cancel();
  }

  /** stop ends the loop and aborts the request in flight. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.sleeper.cancel();
  }
}
