/**
 * The 1 MiB slabs the event encoder writes events into (event-encoder.ts), and their reuse: a
 * slab counts the events cut from it; the pipeline hands each event back (`release`) once every
 * output acknowledged it, and a full slab whose events all came back is reused. Without that,
 * finished slabs were garbage only a major GC frees — and V8 lets external memory grow ~64 MB
 * before it looks — which was most of the agent's resident memory under load. An event that is
 * never released (lost in a stop) just leaves its slab to the GC: slabs are tracked in a WeakMap.
 */
export const SLAB_BYTES = 1024 * 1024;
/** Finished slabs kept for reuse by default; more than this go to the GC (a burst is over). */
const MAX_FREE_SLABS = 4;

interface Slab {
  buf: Buffer;
  /** Events cut from it and not released yet. */
  refs: number;
  /** No longer the slab being written into. */
  full: boolean;
}

export interface SlabPoolOptions {
  /**
   * Where new slabs come from (default: Buffer.allocUnsafeSlow). A line worker's are shared memory
   * (src/logs/workers/): the main thread queues and sends its events in place.
   */
  allocate?: (bytes: number) => Buffer;
  /** Finished slabs kept for reuse (default MAX_FREE_SLABS). */
  keepFree?: number;
}

export class SlabPool {
  readonly #allocate: (bytes: number) => Buffer;
  readonly #keepFree: number;
  #slab: Slab;
  /** Next free byte of the current slab. */
  pos = 0;
  /** By backing store: the slab an event (a subarray of it) came from. */
  readonly #slabs = new WeakMap<ArrayBufferLike, Slab>();
  readonly #free: Buffer[] = [];
  #allocated = 1;
  #reused = 0;

  constructor(options: SlabPoolOptions = {}) {
    this.#allocate = options.allocate ?? ((bytes) => Buffer.allocUnsafeSlow(bytes));
    this.#keepFree = options.keepFree ?? MAX_FREE_SLABS;
    this.#slab = { buf: this.#allocate(SLAB_BYTES), refs: 0, full: false };
    this.#slabs.set(this.#slab.buf.buffer, this.#slab);
  }

  /** The slab being written into, with at least `bytes` free from `pos` (a new one when the current one is too full). */
  room(bytes: number): Buffer {
    if (bytes > SLAB_BYTES - this.pos) this.#next();
    return this.#slab.buf;
  }

  /** An event was cut from the current slab, ending at `end`. */
  cut(end: number): void {
    this.pos = end;
    this.#slab.refs++;
  }

  /** Whether `buf` is the slab being written into. */
  isCurrent(buf: Buffer): boolean {
    return buf === this.#slab.buf;
  }

  /** `count` events cut from the slab backed by `backing` are done with; other buffers are ignored. */
  release(backing: ArrayBufferLike, count: number): void {
    const slab = this.#slabs.get(backing);
    if (!slab || slab.refs <= 0) return;
    slab.refs = Math.max(0, slab.refs - count);
    if (slab.refs === 0 && slab.full) this.#recycle(slab);
  }

  get stats(): { allocated: number; reused: number; free: number } {
    return { allocated: this.#allocated, reused: this.#reused, free: this.#free.length };
  }

  #next(): void {
    const done = this.#slab;
    done.full = true;
    if (done.refs === 0) this.#recycle(done);
    let buf = this.#free.pop();
    if (buf) this.#reused++;
    else {
      buf = this.#allocate(SLAB_BYTES);
      this.#allocated++;
    }
    this.#slab = { buf, refs: 0, full: false };
    this.#slabs.set(buf.buffer, this.#slab);
    this.pos = 0;
  }

  #recycle(slab: Slab): void {
    this.#slabs.delete(slab.buf.buffer);
    if (this.#free.length < this.#keepFree) this.#free.push(slab.buf);
  }
}
