/**
 * De-duplication of Docker events by identity (container id, action, exact timeNano), never by
 * order. moby stamps an event (`time.Now()` in daemon/events.Events.Log) before PublishMessage
 * takes the publish lock, so concurrent operations reach a subscriber slightly out of timestamp
 * order (up to ~15 ms seen with 8 parallel `docker run`/`rm`/`kill`); dropping every event older
 * than the last one lost a few of them per hundred. Repeats only come from a resume with `since=`,
 * which re-sends the engine's buffered events from that time on (loadBufferedEvents): those are
 * exact copies, and remembering the keys of the last few seconds of events recognises them.
 */

export interface DedupOptions {
  /** How far below the newest timeNano a key is still remembered (ns). */
  windowNs: bigint;
  /** Bound on remembered keys, whatever the event rate. */
  maxKeys: number;
}

export const DEFAULT_DEDUP: DedupOptions = { windowNs: 5_000_000_000n, maxKeys: 20_000 };

export interface EventIdentity {
  Action: string;
  Actor: { ID: string };
  /** timeNano, exactly. */
  nano: bigint;
}

export class EventDedup {
  readonly #o: DedupOptions;
  /** Keys in arrival order with their times; arrival order is nearly time order, which eviction relies on. */
  readonly #keys = new Map<string, bigint>();
  #newest: bigint | undefined;

  constructor(options: DedupOptions = DEFAULT_DEDUP) {
    this.#o = options;
  }

  /**
   * The `since` for a resume: the newest event seen. Not earlier, though events stamped earlier
   * may have been in flight when the stream broke: the engine would re-send everything in its
   * buffer from then on, including events from before this agent first connected, which no key
   * here can tell from lost ones (the health tests' "lost connection" case saw start events of
   * containers created before the agent replayed as new). The re-list after a reconnect repairs
   * the inventory either way.
   */
  get resumeFrom(): bigint | undefined {
    return this.#newest;
  }

  get size(): number {
    return this.#keys.size;
  }

  /**
   * True when this exact event was seen already (drop it); otherwise remembers it. An event older
   * than the window is passed on: it cannot be told from a new one, and a repeat costs one
   * redundant inspect while a drop loses a state change.
   */
  repeat(e: EventIdentity): boolean {
    const key = `${e.Actor.ID}|${e.Action}|${e.nano}`;
    if (this.#keys.has(key)) return true;
    this.#keys.set(key, e.nano);
    if (this.#newest === undefined || e.nano > this.#newest) this.#newest = e.nano;
    this.#evict();
    return false;
  }

  #evict(): void {
    const floor = (this.#newest ?? 0n) - this.#o.windowNs;
    for (const [key, nano] of this.#keys) {
      if (nano >= floor && this.#keys.size <= this.#o.maxKeys) break;
      this.#keys.delete(key);
    }
  }
}
