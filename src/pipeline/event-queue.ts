/**
 * The bounded buffer between inputs (file readers, Docker events) and the outputs. Bounded by
 * events and by bytes: when full, `push` refuses and inputs wait on `whenWritable()` — reading
 * pauses, memory stays bounded (backpressure, as Filebeat's memory queue does).
 */
import { EventSpans, memoryOf } from '../outputs/event-spans.ts';
/** What an event's acknowledgement is handed to: a file's OffsetTracker, a container stream's positions. */
export interface AckTarget {
  /** Events `seq` to `seq + count − 1` (count ≥ 1) were acknowledged. */
  ack(seq: number, count: number): void;
}

export interface Batch {
  events: EventSpans;
  /** Per event: the file tracker to acknowledge (null for events with no offset, e.g. Docker events). */
  trackers: (AckTarget | null)[];
  /** Per event: its sequence number in its tracker. */
  seqs: ArrayLike<number>;
  bytes: number;
}

/** The ring's first size; it doubles as the queue fills (up to its bound, max_events). */
const INITIAL_RING = 256;

export class EventQueue {
  readonly maxEvents: number;
  readonly maxBytes: number;
  // A ring, grown by doubling: pushing into plain arrays and compacting them now and then
  // allocated ~90 bytes per event (growth and compaction copies), a third of what the agent
  // allocated per line under full load. Events are spans (event-spans.ts): a memory, a start
  // and a length per slot, no object per event.
  #memories: (Buffer | undefined)[] = new Array<Buffer | undefined>(INITIAL_RING).fill(undefined);
  #starts = new Float64Array(INITIAL_RING);
  #lengths = new Float64Array(INITIAL_RING);
  #trackers: (AckTarget | null)[] = new Array<AckTarget | null>(INITIAL_RING).fill(null);
  #seqs = new Float64Array(INITIAL_RING);
  #head = 0;
  #length = 0;
  #bytes = 0;
  #closed = false;
  #writable: { promise: Promise<void>; resolve: () => void } | undefined;
  #readable: { promise: Promise<void>; resolve: () => void } | undefined;
  #atLeast: { count: number; promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: { maxEvents: number; maxBytes: number }) {
    this.maxEvents = options.maxEvents;
    this.maxBytes = options.maxBytes;
  }

  get length(): number {
    return this.#length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get full(): boolean {
    return this.length >= this.maxEvents || this.#bytes >= this.maxBytes;
  }

  /**
   * Adds an event unless the queue is full (then false: wait on whenWritable()). A single event
   * larger than maxBytes is still accepted into an empty queue, or it could never be shipped.
   */
  push(event: Buffer, tracker: AckTarget | null, seq: number): boolean {
    return this.pushSpan(memoryOf(event), event.byteOffset, event.length, tracker, seq);
  }

  /** As push, for the event `memory[start, start + length)`; `memory` spans a whole ArrayBuffer (event-spans.ts). */
  pushSpan(memory: Buffer, start: number, length: number, tracker: AckTarget | null, seq: number): boolean {
    if (this.#closed) return false;
    if (this.full && this.length > 0) return false;
    if (this.#length === this.#memories.length) this.#grow();
    const at = (this.#head + this.#length) % this.#memories.length;
    this.#memories[at] = memory;
    this.#starts[at] = start;
    this.#lengths[at] = length;
    this.#trackers[at] = tracker;
    this.#seqs[at] = seq;
    this.#length++;
    this.#bytes += length;
    this.#readable?.resolve();
    this.#readable = undefined;
    if (this.#atLeast !== undefined && (this.length >= this.#atLeast.count || this.full)) {
      this.#atLeast.resolve();
      this.#atLeast = undefined;
    }
    return true;
  }

  /** Resolves when push() may succeed again (or the queue closed). */
  whenWritable(): Promise<void> {
    if (!this.full || this.#closed) return Promise.resolve();
    this.#writable ??= deferred();
    return this.#writable.promise;
  }

  /** Resolves when an event is available (or the queue closed). */
  whenReadable(): Promise<void> {
    if (this.length > 0 || this.#closed) return Promise.resolve();
    this.#readable ??= deferred();
    return this.#readable.promise;
  }

  /** Resolves when `count` events wait (or the queue is full, or closed). One waiter at a time: the pipeline's. */
  whenAtLeast(count: number): Promise<void> {
    if (this.length >= count || this.full || this.#closed) return Promise.resolve();
    this.#atLeast?.resolve();
    this.#atLeast = { count, ...deferred() };
    return this.#atLeast.promise;
  }

  /** Up to `max` events (and about `maxBytes` bytes), oldest first; undefined when empty. */
  take(max: number, maxBytes = Infinity): Batch | undefined {
    const limit = Math.min(max, this.#length);
    if (limit === 0) return undefined;
    const ring = this.#memories;
    const size = ring.length;
    let n = 0;
    let bytes = 0;
    while (n < limit) {
      const length = this.#lengths[(this.#head + n) % size] as number;
      if (n > 0 && bytes + length > maxBytes) break;
      bytes += length;
      n++;
    }
    const memories = new Array<Buffer>(n);
    const starts = new Float64Array(n);
    const lengths = new Float64Array(n);
    const trackers = new Array<AckTarget | null>(n);
    const seqs = new Float64Array(n);
    for (let i = 0, at = this.#head; i < n; i++, at = at + 1 === size ? 0 : at + 1) {
      memories[i] = ring[at] as Buffer;
      starts[i] = this.#starts[at] as number;
      lengths[i] = this.#lengths[at] as number;
      trackers[i] = this.#trackers[at] as AckTarget | null;
      seqs[i] = this.#seqs[at] as number;
      ring[at] = undefined; // the batch holds the memory now: the queue must not keep it alive
      this.#trackers[at] = null;
    }
    const batch: Batch = { events: new EventSpans(memories, starts, lengths), trackers, seqs, bytes };
    this.#head = (this.#head + n) % size;
    this.#length -= n;
    this.#bytes -= bytes;
    if (!this.full) {
      this.#writable?.resolve();
      this.#writable = undefined;
    }
    return batch;
  }

  /** Doubles the ring, its events laid out from index 0 in order. */
  #grow(): void {
    const size = this.#memories.length;
    const memories = new Array<Buffer | undefined>(size * 2).fill(undefined);
    const starts = new Float64Array(size * 2);
    const lengths = new Float64Array(size * 2);
    const trackers = new Array<AckTarget | null>(size * 2).fill(null);
    const seqs = new Float64Array(size * 2);
    for (let i = 0; i < this.#length; i++) {
      const at = (this.#head + i) % size;
      memories[i] = this.#memories[at];
      starts[i] = this.#starts[at] as number;
      lengths[i] = this.#lengths[at] as number;
      trackers[i] = this.#trackers[at] as AckTarget | null;
      seqs[i] = this.#seqs[at] as number;
    }
    this.#memories = memories;
    this.#starts = starts;
    this.#lengths = lengths;
    this.#trackers = trackers;
    this.#seqs = seqs;
    this.#head = 0;
  }

  /** Wakes every waiter; pushes are refused from now on (what is queued can still be taken). */
  close(): void {
    this.#closed = true;
    this.#writable?.resolve();
    this.#readable?.resolve();
    this.#atLeast?.resolve();
    this.#atLeast = undefined;
    this.#writable = undefined;
    this.#readable = undefined;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
