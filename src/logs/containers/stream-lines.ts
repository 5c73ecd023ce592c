/**
 * One stream (stdout or stderr) of a container, from Docker messages to joined events: partial
 * messages (Docker cuts lines over 16 KiB; the API shows a piece by its missing `\n`) are joined
 * back up to max_line_bytes, the rest cut and the line flagged; then multiline joining as for
 * files. The joiner's "offsets" are this stream's message ordinals, so an event says which
 * messages it covers; a ring maps ordinals to the container-wide message numbers the positions
 * track, and keeps each message's time for the event's `@timestamp`.
 */
import { MultilineJoiner } from '../multiline.ts';
import type { JoinedEvent } from '../multiline.ts';
import type { DockerTime } from './docker-time.ts';

export interface StreamLineSettings {
  maxLineBytes: number;
  multiline: { pattern: string | null; negate: boolean; match: 'after' | 'before'; maxLines: number; timeoutMs: number };
}

/**
 * An event of this stream: the message is `ev.buf[ev.from, ev.to)`, its messages `indices` (valid
 * only during the call: the array is reused), its time the first one's.
 */
export type StreamEventHandler = (ev: JoinedEvent, indices: number[], ms: number, subMs: number) => void;

const EMPTY = Buffer.alloc(0);

export class StreamLines {
  readonly #maxLineBytes: number;
  readonly joiner: MultilineJoiner;
  /** Ring by ordinal: container-wide message number, ms and ns-within-ms of its time. */
  #index = new Float64Array(64);
  #ms = new Float64Array(64);
  #subMs = new Int32Array(64);
  /** Oldest ordinal not yet part of an emitted event; next ordinal. */
  #head = 0;
  #next = 0;
  /** The line being assembled from partial messages. */
  #part: Buffer = EMPTY;
  #partLen = 0;
  #partStart = -1;
  #partTruncated = false;
  /** Bytes cut from lines over max_line_bytes. */
  bytesCut = 0;
  linesCut = 0;

  readonly #emit: StreamEventHandler;
  /** The `indices` handed to #emit: one array for every event, not one per line. */
  readonly #indices: number[] = [];
  readonly #sink = (ev: JoinedEvent): void => {
    const size = this.#index.length;
    const indices = this.#indices;
    indices.length = 0;
    for (let o = this.#head; o < ev.end; o++) indices.push(this.#index[o % size] as number);
    const first = ev.start % size;
    this.#head = Math.max(this.#head, ev.end);
    this.#emit(ev, indices, this.#ms[first] as number, this.#subMs[first] as number);
  };

  constructor(settings: StreamLineSettings, emit: StreamEventHandler) {
    this.#emit = emit;
    this.#maxLineBytes = settings.maxLineBytes;
    const m = settings.multiline;
    this.joiner = new MultilineJoiner({ pattern: m.pattern, negate: m.negate, match: m.match, maxLines: m.maxLines, maxBytes: settings.maxLineBytes, timeoutMs: m.timeoutMs });
  }

  /** Messages read and not yet in an emitted event. */
  get held(): number {
    return this.#next - this.#head;
  }

  /** One Docker message: `buf[from, to)` (without its `\n`), container-wide number `index`. */
  message(buf: Buffer, from: number, to: number, partial: boolean, ts: DockerTime, index: number, now: number): void {
    const ordinal = this.#remember(index, ts);
    if (partial) {
      if (this.#partStart < 0) {
        this.#partStart = ordinal;
        this.#partTruncated = false;
      }
      this.#append(buf, from, to);
      return;
    }
    const sink = this.#sink;
    if (this.#partStart < 0) {
      this.joiner.pushLine(buf, from, to, ordinal, ordinal + 1, false, now, sink);
      return;
    }
    this.#append(buf, from, to);
    this.#pushPart(ordinal + 1, now, sink);
  }

  /** End of the stream (the container stopped): a line still in pieces is a line, a pending multiline event goes. */
  flush(now: number): void {
    const sink = this.#sink;
    if (this.#partStart >= 0) this.#pushPart(this.#next, now, sink);
    this.joiner.flush(sink);
  }

  flushIfDue(now: number): void {
    this.joiner.flushIfDue(now, this.#sink);
  }

  #pushPart(end: number, now: number, sink: (ev: JoinedEvent) => void): void {
    const start = this.#partStart;
    this.#partStart = -1;
    this.joiner.pushLine(this.#part, 0, this.#partLen, start, end, this.#partTruncated, now, sink);
    this.#partLen = 0;
    if (this.#part.length > 256 * 1024) this.#part = EMPTY;
  }

  #append(buf: Buffer, from: number, to: number): void {
    const room = this.#maxLineBytes - this.#partLen;
    const take = Math.min(room, to - from);
    if (take < to - from) {
      if (!this.#partTruncated) this.linesCut++;
      this.#partTruncated = true;
      this.bytesCut += to - from - take;
    }
    if (take <= 0) return;
    if (this.#partLen + take > this.#part.length) {
      const next = Buffer.allocUnsafe(Math.min(this.#maxLineBytes, Math.max(this.#partLen + take, this.#part.length * 2, 64 * 1024)));
      this.#part.copy(next, 0, 0, this.#partLen);
      this.#part = next;
    }
    buf.copy(this.#part, this.#partLen, from, from + take);
    this.#partLen += take;
  }

  #remember(index: number, ts: DockerTime): number {
    if (this.#next - this.#head === this.#index.length) this.#grow();
    const size = this.#index.length;
    const o = this.#next++;
    this.#index[o % size] = index;
    const msInSec = Math.floor(ts.nanos / 1_000_000);
    this.#ms[o % size] = ts.sec * 1000 + msInSec;
    this.#subMs[o % size] = ts.nanos - msInSec * 1_000_000;
    return o;
  }

  #grow(): void {
    const size = this.#index.length;
    const index = new Float64Array(size * 2);
    const ms = new Float64Array(size * 2);
    const subMs = new Int32Array(size * 2);
    for (let o = this.#head; o < this.#next; o++) {
      index[o % (size * 2)] = this.#index[o % size] as number;
      ms[o % (size * 2)] = this.#ms[o % size] as number;
      subMs[o % (size * 2)] = this.#subMs[o % size] as number;
    }
    this.#index = index;
    this.#ms = ms;
    this.#subMs = subMs;
  }
}
