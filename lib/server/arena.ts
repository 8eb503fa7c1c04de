// Memory for the answer cache's bytes, apart from Node's shared Buffer pool. Node hands
// out small Buffers as slices of 8 KB slabs that also hold every transient reply, so one
// cached answer keeps its slab alive long after the replies beside it are gone: under
// churn ~35 MB of slabs held ~11 MB of cached bytes (measured, bench/RESULTS.md). Here
// cached answers are copied into chunks of their own, in the order they are cached; the
// cache evicts in that order too, so a chunk empties as a whole and is collected.

/** CHUNK is the size of one chunk; an answer larger than a quarter of it gets memory of its own. */
const CHUNK = 64 * 1024;

/** Arena copies byte strings into chunks that only cached answers share. */
export class Arena {
  private chunk = Buffer.allocUnsafeSlow(CHUNK);
  private used = 0;

  /** alloc returns n bytes of arena memory (uninitialised). */
  alloc(n: number): Buffer {
    if (n > CHUNK / 4) return Buffer.allocUnsafeSlow(n);
    if (this.used + n > CHUNK) {
      this.chunk = Buffer.allocUnsafeSlow(CHUNK);
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }

  /** copy returns a copy of bytes in arena memory. */
  copy(bytes: Uint8Array): Buffer {
    const out = this.alloc(bytes.length);
    out.set(bytes);
    return out;
  }
}
