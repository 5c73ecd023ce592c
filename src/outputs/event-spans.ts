/**
 * A batch of encoded events as spans of memory: event i is the bytes
 * `memories[i][starts[i], starts[i] + lengths[i])`, where each memory is a Buffer over a whole
 * ArrayBuffer (an encoder slab, a line worker's shared slab, an event's own buffer). This is how
 * the queue, the pipeline and the outputs pass events: one Buffer view per event was ~100 bytes
 * of garbage per shipped line — 60 % of what the agent allocated under full load — and most of
 * what its garbage collector then copied between generations while the events sat in the queue.
 *
 * Consecutive events of one slab share its memory, so an output sees a run as it lies there
 * (json_lines writes it in place, see newline-framed.ts) and the pipeline hands a run back with
 * one call. Slicing shares the arrays: `slice(k)` is the rest of a batch after k acknowledged
 * events, without copying.
 */

/** What an output's `send` takes: spans (the pipeline's batches), or Buffers (tests, tools, low-rate callers). */
export type EventList = EventSpans | readonly Buffer[];

let lastBacking: ArrayBufferLike | undefined;
let lastMemory: Buffer | undefined;

/**
 * The Buffer over the whole of `event`'s ArrayBuffer, the memory its span is taken from (with
 * `event.byteOffset` as its start). Events of one slab come one after another: the last answer
 * is kept (one slab or pool chunk, alive anyway), so a run costs one Buffer, not one per event.
 */
export function memoryOf(event: Buffer): Buffer {
  const backing = event.buffer;
  // An event that is its whole buffer (a large one, a record) is its own memory, and is not kept here.
  if (event.byteOffset === 0 && event.length === backing.byteLength) return event;
  if (backing !== lastBacking || lastMemory === undefined) {
    lastBacking = backing;
    lastMemory = Buffer.from(backing);
  }
  return lastMemory;
}

export class EventSpans {
  readonly memories: readonly Buffer[];
  readonly starts: ArrayLike<number>;
  readonly lengths: ArrayLike<number>;
  /** Where this list's event 0 is in the arrays (a slice shares them). */
  readonly first: number;
  readonly length: number;

  constructor(memories: readonly Buffer[], starts: ArrayLike<number>, lengths: ArrayLike<number>, first = 0, length = memories.length - first) {
    this.memories = memories;
    this.starts = starts;
    this.lengths = lengths;
    this.first = first;
    this.length = length;
  }

  /** Spans of the given Buffers (each in the memory it is a view of). */
  static of(events: readonly Buffer[]): EventSpans {
    const n = events.length;
    const memories = new Array<Buffer>(n);
    const starts = new Float64Array(n);
    const lengths = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const e = events[i] as Buffer;
      memories[i] = memoryOf(e);
      starts[i] = e.byteOffset;
      lengths[i] = e.length;
    }
    return new EventSpans(memories, starts, lengths);
  }

  memory(i: number): Buffer {
    return this.memories[this.first + i] as Buffer;
  }

  start(i: number): number {
    return this.starts[this.first + i] as number;
  }

  size(i: number): number {
    return this.lengths[this.first + i] as number;
  }

  /** Event i as a Buffer view (allocates one: for cold paths and tests). */
  at(i: number): Buffer {
    const start = this.start(i);
    return this.memory(i).subarray(start, start + this.size(i));
  }

  /** Events [from, to) sharing this list's arrays. */
  slice(from: number, to = this.length): EventSpans {
    const a = Math.max(0, Math.min(from, this.length));
    const b = Math.max(a, Math.min(to, this.length));
    return a === 0 && b === this.length ? this : new EventSpans(this.memories, this.starts, this.lengths, this.first + a, b - a);
  }

  /** Bytes of all events. */
  get bytes(): number {
    let bytes = 0;
    for (let i = this.first, end = this.first + this.length; i < end; i++) bytes += this.lengths[i] as number;
    return bytes;
  }

  /** Every event as a Buffer view (tests, tools). */
  toBuffers(): Buffer[] {
    return Array.from({ length: this.length }, (_, i) => this.at(i));
  }
}

/** `events` as spans (Buffers are mapped to the memory they view). */
export function spansOf(events: EventList): EventSpans {
  return events instanceof EventSpans ? events : EventSpans.of(events);
}
