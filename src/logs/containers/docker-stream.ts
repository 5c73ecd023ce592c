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
import { DockerTimeParser } from './docker-time.ts';
import type { DockerTime } from './docker-time.ts';

/** One message: the content is `buf[from, to)` without its `\n`; valid only during the call. */
export type MessageHandler = (stream: 1 | 2, buf: Buffer, from: number, to: number, partial: boolean, ts: DockerTime) => void;

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const HEADER = 8;
/** The daemon's cut of a long line (its log copier's buffer). */
const PARTIAL = 16 * 1024;
/** Longest and shortest timestamp (`2026-12-01T07:53:53.123456789Z`, `2026-12-01T07:53:53Z`). */
const TS_MAX = 35;
const TS_MIN = 20;
const EMPTY = Buffer.alloc(0);

export class DockerLogParser {
  readonly #tty: boolean;
  readonly #onMessage: MessageHandler;
  /** A frame (or TTY line) split across chunks. */
  #carry: Buffer = EMPTY;
  #carryLen = 0;
  readonly #time = new DockerTimeParser();
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

  /**
   * TTY: each message is `<timestamp> <content>`; a line is `\n`-terminated, but the daemon cuts a
   * line longer than 16 KiB into partial messages of exactly PARTIAL bytes, each with its own
   * timestamp and no `\n` — so a long line shows the next piece's timestamp in the middle. A
   * message whose content has no `\n` in its first PARTIAL bytes, followed by a timestamp, is such
   * a piece. Worked on carry + chunk; the carry holds at most a piece and a timestamp.
   */
  #pushRaw(chunk: Buffer): void {
    let buf = chunk;
    let n = chunk.length;
    if (this.#carryLen > 0) {
      this.#take(chunk, 0, chunk.length);
      buf = this.#carry;
      n = this.#carryLen;
    }
    let p = 0;
    while (p < n) {
      const sp = buf.indexOf(SPACE, p);
      const c = sp >= 0 && sp < n && sp - p <= TS_MAX ? sp + 1 : -1;
      if (c < 0) {
        // No timestamp in sight: a line as it is (the payload parser counts the bad timestamp).
        if (n - p <= TS_MAX) break;
        const nl = buf.indexOf(NL, p);
        if (nl < 0 || nl >= n) break;
        this.#payload(1, buf, p, nl + 1, false);
        p = nl + 1;
        continue;
      }
      // A newline within PARTIAL bytes of the content ends the message (one found past n is a
      // stale byte of the carry).
      const nl = buf.indexOf(NL, c);
      if (nl >= 0 && nl < Math.min(n, c + PARTIAL)) {
        this.#payload(1, buf, p, nl + 1, false);
        p = nl + 1;
        continue;
      }
      if (n - c < PARTIAL + TS_MIN) break; // wait: a piece and the next timestamp
      if (isTimestamp(buf, c + PARTIAL)) {
        this.#payload(1, buf, p, c + PARTIAL, true);
        p = c + PARTIAL;
        continue;
      }
      // Not the daemon's cut: a long line, up to its newline.
      const far = buf.indexOf(NL, c + PARTIAL);
      if (far < 0 || far >= n) break;
      this.#payload(1, buf, p, far + 1, false);
      p = far + 1;
    }
    if (buf === this.#carry) {
      this.#carry.copyWithin(0, p, n);
      this.#carryLen = n - p;
    } else if (p < n) this.#take(chunk, p, n - p);
  }

  /** `buf[from, to)` is one payload: timestamp, space, content (with its `\n` unless partial). */
  #payload(stream: 1 | 2, buf: Buffer, from: number, to: number, forcePartial: boolean): void {
    const space = buf.indexOf(SPACE, from);
    let start = from;
    if (space > from && space < to && this.#time.parse(buf, from, space)) start = space + 1;
    else {
      this.badTimestamps++;
      this.#time.now();
    }
    let end = to;
    const partial = forcePartial || end === start || buf[end - 1] !== NL;
    if (!partial) {
      end--;
      if (this.#tty && end > start && buf[end - 1] === CR) end--;
    }
    this.#onMessage(stream, buf, start, end, partial, this.#time.time);
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

/** Whether `buf` at `i` starts like a Docker timestamp (`YYYY-MM-DDTHH:MM:SS`). */
function isTimestamp(buf: Buffer, i: number): boolean {
  const digit = (k: number): boolean => {
    const b = buf[i + k] as number;
    return b >= 0x30 && b <= 0x39;
  };
  return digit(0) && digit(1) && digit(2) && digit(3) && buf[i + 4] === 0x2d && buf[i + 7] === 0x2d && buf[i + 10] === 0x54 && buf[i + 13] === 0x3a && buf[i + 16] === 0x3a && digit(17) && digit(18);
}
