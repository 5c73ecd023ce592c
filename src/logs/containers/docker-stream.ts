/**
 * Parses the body of `GET /containers/{id}/logs?follow=1&timestamps=1`: Docker messages as
 * ranges of the received chunks (no copy unless a message straddles two chunks).
 *
 * - Without a TTY the body is multiplexed: per message an 8-byte header (stream: 1 stdout,
 *   2 stderr; then the payload size, big-endian u32) and the payload. One frame is one log
 *   message (the daemon writes each message with one Write), so a payload without a trailing
 *   `\n` is a partial message: Docker cut a line over 16 KiB, or the process ended without one.
 * - With a TTY the body is raw: messages are `\n`-terminated lines (stdout only; the terminal
 *   merged stderr into it), and a trailing `\r` (the terminal's CRLF) is dropped.
 *
 * Each payload starts with the message's timestamp, RFC 3339 with nanoseconds, then a space.
 */

/** One message: the content is `buf[from, to)` without its `\n`; valid only during the call. */
export type MessageHandler = (stream: 1 | 2, buf: Buffer, from: number, to: number, partial: boolean, ts: DockerTime) => void;

/** A Docker timestamp: whole seconds since the epoch and the nanoseconds within that second. */
export interface DockerTime {
  sec: number;
  nanos: number;
}

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const HEADER = 8;
const EMPTY = Buffer.alloc(0);

export class DockerLogParser {
  readonly #tty: boolean;
  readonly #onMessage: MessageHandler;
  /** A frame (or TTY line) split across chunks. */
  #carry: Buffer = EMPTY;
  #carryLen = 0;
  readonly #ts: DockerTime = { sec: 0, nanos: 0 };
  /** Cache: the `YYYY-MM-DDTHH:MM:SS` of the last timestamp and its epoch seconds. */
  #secText = Buffer.alloc(19);
  #secValue = Number.NaN;
  /** Payloads whose timestamp could not be read (shipped with the time they were read). */
  badTimestamps = 0;
  bytes = 0;

  constructor(tty: boolean, onMessage: MessageHandler) {
    this.#tty = tty;
    this.#onMessage = onMessage;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.#tty) this.#pushRaw(chunk);
    else this.#pushFrames(chunk);
  }

  /** The body ended: a TTY line without its `\n` is delivered as a partial message. */
  end(): void {
    if (this.#tty && this.#carryLen > 0) this.#payload(1, this.#carry, 0, this.#carryLen, true);
    this.#carryLen = 0;
  }

  #pushFrames(chunk: Buffer): void {
    let p = 0;
    if (this.#carryLen > 0) {
      // Complete the frame begun in an earlier chunk: copy only what it still needs.
      if (this.#carryLen < HEADER) {
        p = this.#take(chunk, 0, HEADER - this.#carryLen);
        if (this.#carryLen < HEADER) return;
      }
      const total = HEADER + this.#carry.readUInt32BE(4);
      p = this.#take(chunk, p, total - this.#carryLen);
      if (this.#carryLen < total) return;
      const type = this.#carry[0] as number;
      this.#carryLen = 0;
      if (type === 1 || type === 2) this.#payload(type, this.#carry, HEADER, total, false);
    }
    while (chunk.length - p >= HEADER) {
      const size = chunk.readUInt32BE(p + 4);
      if (chunk.length - p - HEADER < size) break;
      const type = chunk[p] as number;
      const from = p + HEADER;
      p = from + size;
      if (type === 1 || type === 2) this.#payload(type, chunk, from, p, false);
    }
    if (p < chunk.length) this.#take(chunk, p, chunk.length - p);
  }

  #pushRaw(chunk: Buffer): void {
    let p = 0;
    if (this.#carryLen > 0) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.#take(chunk, 0, chunk.length);
        return;
      }
      p = this.#take(chunk, 0, nl + 1);
      const len = this.#carryLen;
      this.#carryLen = 0;
      this.#payload(1, this.#carry, 0, len, false);
    }
    for (;;) {
      const nl = chunk.indexOf(NL, p);
      if (nl < 0) break;
      this.#payload(1, chunk, p, nl + 1, false);
      p = nl + 1;
    }
    if (p < chunk.length) this.#take(chunk, p, chunk.length - p);
  }

  /** `buf[from, to)` is one payload: timestamp, space, content (with its `\n` unless partial). */
  #payload(stream: 1 | 2, buf: Buffer, from: number, to: number, forcePartial: boolean): void {
    const space = buf.indexOf(SPACE, from);
    let start = from;
    if (space > from && space < to && this.#parseTime(buf, from, space)) start = space + 1;
    else {
      this.badTimestamps++;
      const now = Date.now();
      this.#ts.sec = Math.floor(now / 1000);
      this.#ts.nanos = (now % 1000) * 1_000_000;
    }
    let end = to;
    const partial = forcePartial || end === start || buf[end - 1] !== NL;
    if (!partial) {
      end--;
      if (this.#tty && end > start && buf[end - 1] === CR) end--;
    }
    this.#onMessage(stream, buf, start, end, partial, this.#ts);
  }

  /** `2026-12-01T07:53:53.123456789Z` (UTC, as the daemon writes it; fewer fraction digits accepted). */
  #parseTime(buf: Buffer, from: number, to: number): boolean {
    if (to - from < 20 || buf[from + 10] !== 0x54 || buf[to - 1] !== 0x5a) return false;
    if (Number.isNaN(this.#secValue) || buf.compare(this.#secText, 0, 19, from, from + 19) !== 0) {
      const sec = Date.parse(`${buf.toString('latin1', from, from + 19)}Z`);
      if (Number.isNaN(sec)) return false;
      buf.copy(this.#secText, 0, from, from + 19);
      this.#secValue = sec / 1000;
    }
    let nanos = 0;
    let digits = 0;
    if (buf[from + 19] === 0x2e) {
      for (let i = from + 20; i < to - 1 && digits < 9; i++, digits++) {
        const d = (buf[i] as number) - 0x30;
        if (d < 0 || d > 9) return false;
        nanos = nanos * 10 + d;
      }
    }
    for (; digits < 9; digits++) nanos *= 10;
    this.#ts.sec = this.#secValue;
    this.#ts.nanos = nanos;
    return true;
  }

  /** Appends up to `n` bytes of `chunk` from `p` to the carry; returns the position after them. */
  #take(chunk: Buffer, p: number, n: number): number {
    const count = Math.min(n, chunk.length - p);
    const need = this.#carryLen + count;
    if (need > this.#carry.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.#carry.length * 2, 64 * 1024));
      this.#carry.copy(next, 0, 0, this.#carryLen);
      this.#carry = next;
    }
    chunk.copy(this.#carry, this.#carryLen, p, p + count);
    this.#carryLen = need;
    return p + count;
  }
}
