/**
 * Ordered acknowledgements for one file (one "epoch" of it: a truncation starts a new tracker).
 * Events are registered in file order, each with the offset just after it; ACKs may arrive in
 * any order (pipelined windows, several connections), and the committed offset advances only to
 * the end of the longest fully-acknowledged prefix — Vector's ordered finalizer, Filebeat's
 * registrar. Typed-array ring, no object per event: this runs once per shipped line.
 */
export class OffsetTracker {
  #ends = new Float64Array(64);
  #acked = new Uint8Array(64);
  /** Sequence number of the oldest unacknowledged event. */
  #head = 0;
  /** Next sequence number to hand out. */
  #next = 0;
  #committed: number;
  #detached = false;
  readonly #onCommit: (offset: number) => void;

  constructor(startOffset: number, onCommit: (offset: number) => void) {
    this.#committed = startOffset;
    this.#onCommit = onCommit;
  }

  /** Everything before this offset is acknowledged. */
  get committed(): number {
    return this.#committed;
  }

  /** Events registered and not yet acknowledged in order. */
  get pending(): number {
    return this.#next - this.#head;
  }

  /** Registers the next event (its end offset); returns its sequence number for ack(). */
  register(end: number): number {
    const n = this.#next - this.#head;
    if (n === this.#ends.length) this.#grow();
    const slot = this.#next % this.#ends.length;
    this.#ends[slot] = end;
    this.#acked[slot] = 0;
    return this.#next++;
  }

  /** Events `seq` to `seq + count − 1` are acknowledged (a run: one commit for all of it). */
  ack(seq: number, count = 1): void {
    const first = Math.max(seq, this.#head); // before the head: already committed, or from before a reset
    const last = Math.min(seq + count, this.#next);
    if (first >= last) return;
    const size = this.#acked.length;
    for (let s = first; s < last; s++) this.#acked[s % size] = 1;
    if (first !== this.#head) return;
    let end = this.#committed;
    while (this.#head < this.#next && this.#acked[this.#head % size] === 1) {
      end = this.#ends[this.#head % size] as number;
      this.#head++;
    }
    if (end !== this.#committed) {
      this.#committed = end;
      if (!this.#detached) this.#onCommit(end);
    }
  }

  /** After truncation or when the file is forgotten: late ACKs no longer move any offset. */
  detach(): void {
    this.#detached = true;
  }

  #grow(): void {
    const size = this.#ends.length;
    const ends = new Float64Array(size * 2);
    const acked = new Uint8Array(size * 2);
    for (let s = this.#head; s < this.#next; s++) {
      ends[s % (size * 2)] = this.#ends[s % size] as number;
      acked[s % (size * 2)] = this.#acked[s % size] as number;
    }
    this.#ends = ends;
    this.#acked = acked;
  }
}
