/**
 * The bounded buffer between inputs (file readers, Docker events) and the outputs. Bounded by
 * events and by bytes: when full, `push` refuses and inputs wait on `whenWritable()` — reading
 * pauses, memory stays bounded (backpressure, as Filebeat's memory queue does).
 */
import type { EncodedEvent } from '../outputs/types.ts';
/** What an event's acknowledgement is handed to: a file's OffsetTracker, a container stream's positions. */
export interface AckTarget {
  /** Events `seq` to `seq + count − 1` (count ≥ 1) were acknowledged. */
  ack(seq: number, count: number): void;
}

export interface Batch {
  events: EncodedEvent[];
  /** Per event: the file tracker to acknowledge (null for events with no offset, e.g. Docker events). */
  trackers: (AckTarget | null)[];
  /** Per event: its sequence number in its tracker. */
  seqs: number[];
  bytes: number;
}

export class EventQueue {
  readonly maxEvents: number;
  readonly maxBytes: number;
  #events: EncodedEvent[] = [];
  #trackers: (AckTarget | null)[] = [];
  #seqs: number[] = [];
  #head = 0;
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
    return this.#events.length - this.#head;
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
  push(event: EncodedEvent, tracker: AckTarget | null, seq: number): boolean {
    if (this.#closed) return false;
    if (this.full && this.length > 0) return false;
    this.#events.push(event);
    this.#trackers.push(tracker);
    this.#seqs.push(seq);
    this.#bytes += event.length;
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
    const n = Math.min(max, this.length);
    if (n === 0) return undefined;
    let end = this.#head;
    let bytes = 0;
    while (end < this.#head + n) {
      const size = (this.#events[end] as EncodedEvent).length;
      if (end > this.#head && bytes + size > maxBytes) break;
      bytes += size;
      end++;
    }
    const batch: Batch = {
      events: this.#events.slice(this.#head, end),
      trackers: this.#trackers.slice(this.#head, end),
      seqs: this.#seqs.slice(this.#head, end),
      bytes,
    };
    this.#head = end;
    this.#bytes -= bytes;
    // Compact now and then instead of shifting arrays per take.
    if (this.#head > 4096 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#trackers = this.#trackers.slice(this.#head);
      this.#seqs = this.#seqs.slice(this.#head);
      this.#head = 0;
    }
    if (!this.full) {
      this.#writable?.resolve();
      this.#writable = undefined;
    }
    return batch;
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
