/**
 * Where a container's output has been shipped up to, in a form Docker can resume from: the
 * stream is reopened with `since=<S>` (whole seconds) and its first `skip` messages are dropped
 * — they are the ones already acknowledged. Docker's `since` keeps messages at or after S, in
 * the order they are stored, so the acknowledged messages with a timestamp >= S are exactly the
 * first ones the resumed stream returns, whatever their order.
 *
 * S trails the newest acknowledged timestamp by LAG_SECONDS: stdout and stderr are timestamped
 * by separate goroutines before they are written, so the stored order can put a message before
 * one stamped a little earlier; a message stamped more than LAG_SECONDS before one acknowledged
 * ahead of it would be filtered out by `since` — that inversion would need a daemon stalled for
 * seconds between timestamping and writing. `skip` counts the acknowledged messages per second
 * from S on, so it stays around LAG_SECONDS' worth of messages.
 *
 * Messages are numbered as they are read; an event (a line, a joined multiline event, a line
 * Docker split into partial messages) covers one or more of them. Acknowledgements arrive in any
 * order; the position advances over the longest prefix of messages all done (acknowledged, or
 * read and shipping nothing: a blank line, a message skipped on resume). Typed-array ring, no
 * object per message.
 */
export const LAG_SECONDS = 2;

export interface ContainerPosition {
  /** Docker `since`, seconds since the epoch (0: from the container's first output). */
  since: number;
  /** Messages at or after `since` already acknowledged, in stream order. */
  skip: number;
  /**
   * Time of the newest acknowledged message (seconds, nanoseconds). A resumed stream stops
   * skipping at a message newer than this: Docker rotated away (max-file) some of the messages
   * `skip` counts, and the ones that follow were never shipped.
   */
  lastSec: number;
  lastNanos: number;
}

export class ContainerPositions {
  #secs = new Float64Array(256);
  #nanos = new Int32Array(256);
  #done = new Uint8Array(256);
  /** Oldest message not done. */
  #head = 0;
  /** Next message number. */
  #next = 0;
  /** Per event covering several messages, by its last message: the others. */
  readonly #groups = new Map<number, number[]>();
  #since: number;
  #skip = 0;
  /** Acknowledged messages per second, for seconds >= #since. */
  readonly #perSecond = new Map<number, number>();
  #newest: number;
  #lastSec: number;
  #lastNanos: number;
  readonly #onCommit: (position: ContainerPosition) => void;
  /** Messages still to be skipped at the start of a resumed stream; commits are not saved until they are. */
  #resuming = 0;

  /** Set for a reopen after a gap: messages it says were read already are dropped (instead of counting `skip`). */
  readonly #shipped: ((sec: number, nanos: number) => boolean) | undefined;

  constructor(start: ContainerPosition, onCommit: (position: ContainerPosition) => void, shipped?: (sec: number, nanos: number) => boolean) {
    this.#shipped = shipped;
    this.#since = start.since;
    this.#newest = start.since;
    this.#lastSec = start.lastSec;
    this.#lastNanos = start.lastNanos;
    this.#onCommit = onCommit;
    this.#resuming = shipped === undefined ? start.skip : 0;
  }

  get position(): ContainerPosition {
    return { since: this.#since, skip: this.#skip, lastSec: this.#lastSec, lastNanos: this.#lastNanos };
  }

  /** Messages read and not yet done. */
  get pending(): number {
    return this.#next - this.#head;
  }

  /** Messages read since this object was made. */
  get read(): number {
    return this.#next;
  }

  /**
   * A message stamped `sec` was read: its number, or -1 when it is one of the first `skip`
   * messages of a resumed stream (already shipped: drop it).
   */
  message(sec: number, nanos: number): number {
    const n = this.#next - this.#head;
    if (n === this.#secs.length) this.#grow();
    const i = this.#next;
    const slot = i % this.#secs.length;
    this.#secs[slot] = sec;
    this.#nanos[slot] = nanos;
    this.#done[slot] = 0;
    this.#next++;
    // Newer than anything acknowledged: not shipped, whatever `skip` still says.
    if (this.#resuming > 0 && (sec > this.#lastSec || (sec === this.#lastSec && nanos > this.#lastNanos))) this.#resuming = 0;
    if (this.#shipped?.(sec, nanos) === true) {
      this.#markDone(i);
      return -1;
    }
    if (this.#resuming > 0) {
      this.#resuming--;
      this.#markDone(i);
      return -1;
    }
    return i;
  }

  /** An event covering messages `indices` (ascending); returns its ack sequence number. */
  register(indices: readonly number[]): number {
    const last = indices[indices.length - 1] as number;
    if (indices.length > 1) this.#groups.set(last, indices.slice(0, -1));
    return last;
  }

  /** Messages that ship nothing (a blank line): done at once. */
  settle(indices: readonly number[]): void {
    for (const i of indices) this.#markDone(i);
  }

  /** Events `seq` to `seq + count − 1` were acknowledged. */
  ack(seq: number, count = 1): void {
    for (let s = seq; s < seq + count; s++) {
      const others = this.#groups.get(s);
      if (others !== undefined) {
        this.#groups.delete(s);
        for (const i of others) this.#markDone(i);
      }
      this.#markDone(s);
    }
  }

  #markDone(i: number): void {
    if (i < this.#head || i >= this.#next) return;
    this.#done[i % this.#done.length] = 1;
    if (i !== this.#head) return;
    const size = this.#done.length;
    let moved = false;
    while (this.#head < this.#next && this.#done[this.#head % size] === 1) {
      this.#commit(this.#secs[this.#head % size] as number, this.#nanos[this.#head % size] as number);
      this.#head++;
      moved = true;
    }
    if (moved && this.#resuming === 0) this.#onCommit(this.position);
  }

  #commit(sec: number, nanos: number): void {
    if (sec > this.#lastSec || (sec === this.#lastSec && nanos > this.#lastNanos)) {
      this.#lastSec = sec;
      this.#lastNanos = nanos;
    }
    if (sec < this.#since) return; // stamped before `since`: a resumed stream filters it out anyway
    this.#perSecond.set(sec, (this.#perSecond.get(sec) ?? 0) + 1);
    this.#skip++;
    if (sec <= this.#newest) return;
    this.#newest = sec;
    const since = sec - LAG_SECONDS;
    if (since <= this.#since) return;
    for (const [s, count] of this.#perSecond) {
      if (s < since) {
        this.#skip -= count;
        this.#perSecond.delete(s);
      }
    }
    this.#since = since;
  }

  #grow(): void {
    const size = this.#secs.length;
    const secs = new Float64Array(size * 2);
    const nanos = new Int32Array(size * 2);
    const done = new Uint8Array(size * 2);
    for (let i = this.#head; i < this.#next; i++) {
      secs[i % (size * 2)] = this.#secs[i % size] as number;
      nanos[i % (size * 2)] = this.#nanos[i % size] as number;
      done[i % (size * 2)] = this.#done[i % size] as number;
    }
    this.#secs = secs;
    this.#nanos = nanos;
    this.#done = done;
  }
}
