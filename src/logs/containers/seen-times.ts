/**
 * The Docker timestamps of the messages a follow read, from the position's `since` on: what a
 * gap check compares with what Docker holds, and what a reopen drops as read already. Recorded
 * for every message, asked about rarely (a quiet spell, a reopen): so two typed arrays in a ring
 * per message, and a lookup built only when asked — not a Set entry per message.
 */
import type { DockerTime } from './docker-time.ts';

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

/**
 * Messages the daemon sends a second time within one follow. One stream's messages are stored in
 * time order (one copier stamps them as it reads), so a message older than the last of its
 * stream is one sent again: json-file's follower re-sends part of a file that rotated under it
 * (dockerd 20.10). Dropped when this follow had it; shipped when it had not (a part the follower
 * skipped, delivered late).
 */
export class Resends {
  /** Time of the newest message of each stream (stdout, stderr) in this follow. */
  readonly #sec = [0, 0];
  readonly #nanos = [0, 0];
  /** Built at the first message that goes back in time, kept while they do. */
  #lookup: ((sec: number, nanos: number) => boolean) | undefined;

  /** Whether the message of stream `s` (0, 1) stamped `ts` was sent before in this follow (`seen`, or before `since`). */
  resent(s: 0 | 1, ts: DockerTime, since: number, seen: SeenTimes): boolean {
    const lastSec = this.#sec[s] as number;
    const lastNanos = this.#nanos[s] as number;
    const older = ts.sec < lastSec || (ts.sec === lastSec && ts.nanos < lastNanos);
    // Equal times are normal (the daemon stamps every piece of a long line with the first one's
    // time), except within a re-send, which can end with the last message already delivered.
    if (older || (this.#lookup !== undefined && ts.sec === lastSec && ts.nanos === lastNanos)) {
      return ts.sec < since || (this.#lookup ??= seen.lookup())(ts.sec, ts.nanos);
    }
    this.#sec[s] = ts.sec;
    this.#nanos[s] = ts.nanos;
    this.#lookup = undefined;
    return false;
  }
}
