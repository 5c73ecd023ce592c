/**
 * A bounded ring of recent events with monotonic sequence numbers: `/v1/events?since=` pages on
 * them, and subscribers (the log pipeline) see every event as it is recorded. Old events fall off
 * the end; a client that asks for a `since` older than the ring sees the gap in `seq`.
 */
import type { AgentEvent, ContainerEvent, RecordedEvent } from './types.ts';

export type NewEvent = Omit<ContainerEvent, 'seq'> | Omit<AgentEvent, 'seq'>;
export type EventListener = (event: RecordedEvent) => void;

export class RecentEvents {
  readonly #capacity: number;
  readonly #ring: (RecordedEvent | undefined)[];
  readonly #listeners = new Set<EventListener>();
  #seq = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
    this.#ring = new Array<RecordedEvent | undefined>(capacity);
  }

  get lastSeq(): number {
    return this.#seq;
  }

  record(event: NewEvent): RecordedEvent {
    const recorded: RecordedEvent = { ...event, seq: ++this.#seq };
    this.#ring[recorded.seq % this.#capacity] = recorded;
    for (const listener of this.#listeners) listener(recorded);
    return recorded;
  }

  /** Events with seq > since, oldest first, at most limit. */
  since(since: number, limit: number): RecordedEvent[] {
    const first = Math.max(since + 1, this.#seq - this.#capacity + 1, 1);
    const last = Math.min(this.#seq, first + limit - 1);
    const out: RecordedEvent[] = [];
    for (let s = first; s <= last; s++) {
      const e = this.#ring[s % this.#capacity];
      if (e) out.push(e);
    }
    return out;
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
