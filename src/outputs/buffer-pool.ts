/**
 * Reusable wire buffers (Beats windows, json_lines batches, HTTP bodies). One is a few hundred
 * KiB (2048 events of ~200 B); allocating a fresh one each time cost page faults on first touch
 * (system CPU), external-memory GC pressure and RSS that malloc did not give back (bench/outputs:
 * RSS grew 40–70 MiB over a run; with the pool, < 10 MiB). With `pipelining` writes in flight a
 * handful of buffers suffices; each is released once the socket has flushed it (the write
 * callback) or the request has completed.
 */
const MIN_CAPACITY = 64 * 1024;

export class BufferPool {
  readonly #free: Buffer[] = [];
  readonly #maxFree: number;
  /** Buffers larger than this are not kept (a one-off huge window must not pin its memory). */
  readonly #maxKeepBytes: number;

  constructor(maxFree: number, maxKeepBytes = 16 * 1024 * 1024) {
    this.#maxFree = maxFree;
    this.#maxKeepBytes = maxKeepBytes;
  }

  /** A buffer of at least `size` bytes (contents undefined). Capacities are powers of two, so similar windows reuse each other's. */
  acquire(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const len = (this.#free[i] as Buffer).length;
      if (len >= size && (best === -1 || len < (this.#free[best] as Buffer).length)) best = i;
    }
    if (best !== -1) return this.#free.splice(best, 1)[0] as Buffer;
    return Buffer.allocUnsafeSlow(Math.max(MIN_CAPACITY, 2 ** Math.ceil(Math.log2(size))));
  }

  release(buf: Buffer): void {
    if (buf.length > this.#maxKeepBytes) return;
    if (this.#free.length < this.#maxFree) {
      this.#free.push(buf);
      return;
    }
    // Full: keep the larger buffers, they fit more windows.
    let smallest = 0;
    for (let i = 1; i < this.#free.length; i++) if ((this.#free[i] as Buffer).length < (this.#free[smallest] as Buffer).length) smallest = i;
    if ((this.#free[smallest] as Buffer).length < buf.length) this.#free[smallest] = buf;
  }

  get freeBuffers(): number {
    return this.#free.length;
  }
}
