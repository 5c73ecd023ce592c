/**
 * The Docker timestamps of the messages a follow read, from the position's `since` on: what a
 * gap check compares with what Docker holds, and what a reopen drops as read already. Recorded
 * for every message, asked about rarely (a quiet spell, a reopen): so two typed arrays in a ring
 * per message, and a lookup built only when asked — not a Set entry per message.
 */
export class SeenTimes {
  #secs = new Float64Array(1024);
  #nanos = new Int32Array(1024);
  /** Oldest kept; next free. */
  #head = 0;
  #next = 0;

  get size(): number {
    return this.#next - this.#head;
  }

  /** Seconds of the oldest time kept (Infinity when none). */
  get oldestSec(): number {
    let oldest = Number.POSITIVE_INFINITY;
    const size = this.#secs.length;
    // The two streams interleave a little out of time order: look a few past the head.
    for (let i = this.#head; i < this.#next && i < this.#head + 64; i++) oldest = Math.min(oldest, this.#secs[i % size] as number);
    return oldest;
  }

  add(sec: number, nanos: number): void {
    if (this.#next - this.#head === this.#secs.length) this.#grow();
    const slot = this.#next++ % this.#secs.length;
    this.#secs[slot] = sec;
    this.#nanos[slot] = nanos;
  }

  /** Forgets times before `floor` seconds at the front (messages come in time order, give or take the streams' skew). */
  trim(floor: number): void {
    const size = this.#secs.length;
    while (this.#head < this.#next && (this.#secs[this.#head % size] as number) < floor) this.#head++;
  }

  /** Whether a time was seen; built now, from the times kept now. */
  lookup(): (sec: number, nanos: number) => boolean {
    const bySec = new Map<number, Set<number>>();
    const size = this.#secs.length;
    for (let i = this.#head; i < this.#next; i++) {
      const sec = this.#secs[i % size] as number;
      let set = bySec.get(sec);
      if (set === undefined) bySec.set(sec, (set = new Set()));
      set.add(this.#nanos[i % size] as number);
    }
    return (sec, nanos) => bySec.get(sec)?.has(nanos) === true;
  }

  #grow(): void {
    const size = this.#secs.length;
    const secs = new Float64Array(size * 2);
    const nanos = new Int32Array(size * 2);
    for (let i = this.#head; i < this.#next; i++) {
      secs[i % (size * 2)] = this.#secs[i % size] as number;
      nanos[i % (size * 2)] = this.#nanos[i % size] as number;
    }
    this.#secs = secs;
    this.#nanos = nanos;
  }
}
