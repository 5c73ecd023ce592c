/**
 * Parses Docker's json-file log entries, one per line, as the daemon writes them:
 * `{"log":"<message, JSON-escaped>","stream":"stdout","attrs":{…},"time":"<RFC 3339 ns>"}` (attrs
 * only with `--log-opt labels/env`). The message is handed on as the API parser hands on a
 * message (docker-stream.ts): its bytes, stream, timestamp and whether it is a partial message —
 * one whose `log` lacks the trailing `\n` (Docker cut a line over 16 KiB, or the process ended
 * without one). With a TTY the terminal's `\r` before the `\n` is dropped, as on the API path.
 *
 * No JSON.parse: the `log` string ends at the first `","stream":"` (inside it every `"` is
 * escaped), the time is the last member; a message without escapes other than its `\n` (the usual
 * line) is passed as a range of the read buffer, and only one with escapes (`\"`, `\u003c` for
 * `<`, control bytes) is decoded into a scratch buffer.
 */
import { DockerTimeParser } from './docker-time.ts';
import type { MessageHandler } from './docker-stream.ts';

const NL = 0x0a;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const LOG_OPEN = Buffer.from('{"log":"');
const STREAM_KEY = Buffer.from('","stream":"');
const TIME_KEY = Buffer.from('"time":"');
/** What ends the stream member and starts the time: `","time":"` (from the stream value's closing quote). */
const TIME_TAIL = Buffer.from('","time":"');

export class JsonLogParser {
  readonly #tty: boolean;
  readonly #onMessage: MessageHandler;
  readonly #time = new DockerTimeParser();
  /** Messages stamped before this (whole seconds) are passed over: Docker's `since`. */
  since: number;
  #scratch = Buffer.allocUnsafe(16 * 1024);
  /** Lines that are not json-file entries (skipped, counted). */
  badLines = 0;
  /** Messages before `since`, passed over. */
  skipped = 0;

  constructor(tty: boolean, since: number, onMessage: MessageHandler) {
    this.#tty = tty;
    this.since = since;
    this.#onMessage = onMessage;
  }

  /** Parses the whole lines of `buf[from, to)`; returns where the first incomplete one starts. */
  parse(buf: Buffer, from: number, to: number): number {
    let p = from;
    while (p < to) {
      const nl = buf.indexOf(NL, p);
      if (nl < 0 || nl >= to) break;
      this.#entry(buf, p, nl);
      p = nl + 1;
    }
    return p;
  }

  /** One entry, `buf[ls, le)` without its `\n`. */
  #entry(buf: Buffer, ls: number, le: number): void {
    const contentStart = ls + LOG_OPEN.length;
    // The usual layout (no attrs) is read from the end, byte by byte: `","stream":"stdout","time":"<time>"}`.
    let q = le - 3;
    while (q > le - 34 && buf[q] !== QUOTE) q--;
    let streamAt = q - 27;
    let timeAt = q - 7;
    if (!(streamAt >= contentStart && isAt(buf, ls, LOG_OPEN) && isAt(buf, timeAt - 2, TIME_TAIL) && isAt(buf, streamAt, STREAM_KEY))) {
      // Anything else (attrs between stream and time), by searching.
      streamAt = le - ls > 40 && isAt(buf, ls, LOG_OPEN) ? buf.indexOf(STREAM_KEY, contentStart) : -1;
      timeAt = streamAt >= 0 && streamAt < le ? buf.lastIndexOf(TIME_KEY, le - 1) : -1;
    }
    if (timeAt < streamAt + STREAM_KEY.length || buf[le - 1] !== 0x7d || buf[le - 2] !== QUOTE || !this.#time.parse(buf, timeAt + TIME_KEY.length, le - 2)) {
      this.badLines++;
      return;
    }
    const ts = this.#time.time;
    if (ts.sec < this.since) {
      this.skipped++;
      return;
    }
    const kind = buf[streamAt + STREAM_KEY.length + 3]; // std[o]ut, std[e]rr
    const stream = kind === 0x65 ? 2 : 1;
    let end = streamAt;
    const partial = !endsWithEscape(buf, contentStart, end, 0x6e);
    if (!partial) {
      end -= 2;
      if (this.#tty && endsWithEscape(buf, contentStart, end, 0x72)) end -= 2;
    }
    const bs = buf.indexOf(BACKSLASH, contentStart);
    if (bs < 0 || bs >= end) {
      this.#onMessage(stream, buf, contentStart, end, partial, ts);
      return;
    }
    const n = this.#decode(buf, contentStart, end);
    this.#onMessage(stream, this.#scratch, 0, n, partial, ts);
  }

  /** Decodes the JSON string body `buf[from, to)` into the scratch buffer; returns its length. */
  #decode(buf: Buffer, from: number, to: number): number {
    if (this.#scratch.length < to - from) this.#scratch = Buffer.allocUnsafe(Math.max(to - from, this.#scratch.length * 2));
    const out = this.#scratch;
    let o = 0;
    let p = from;
    while (p < to) {
      const bs = buf.indexOf(BACKSLASH, p);
      const runEnd = bs < 0 || bs >= to ? to : bs;
      o += buf.copy(out, o, p, runEnd);
      p = runEnd;
      if (p >= to) break;
      const c = buf[p + 1];
      p += 2;
      switch (c) {
        case 0x6e: out[o++] = 0x0a; break; // n
        case 0x74: out[o++] = 0x09; break; // t
        case 0x72: out[o++] = 0x0d; break; // r
        case 0x62: out[o++] = 0x08; break; // b
        case 0x66: out[o++] = 0x0c; break; // f
        case 0x75: { // uXXXX, a surrogate pair as two of them
          let code = hex4(buf, p, to);
          if (code < 0) {
            o += buf.copy(out, o, p - 2, p); // not an escape after all: kept as it is
            break;
          }
          p += 4;
          if (code >= 0xd800 && code < 0xdc00 && buf[p] === BACKSLASH && buf[p + 1] === 0x75) {
            const low = hex4(buf, p + 2, to);
            if (low >= 0xdc00 && low < 0xe000) {
              code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
              p += 6;
            }
          }
          o = writeUtf8(out, o, code);
          break;
        }
        default:
          if (c === undefined || p > to) break;
          out[o++] = c; // \" \\ \/
      }
    }
    return o;
  }
}

/** Whether `buf` holds `bytes` at `at` (compared here: a call into C++ costs more for a few bytes). */
function isAt(buf: Buffer, at: number, bytes: Buffer): boolean {
  if (at < 0 || at + bytes.length > buf.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

/** Whether the JSON string body `buf[from, to)` ends with the escape `\<letter>` (not an escaped backslash then the letter). */
function endsWithEscape(buf: Buffer, from: number, to: number, letter: number): boolean {
  if (to - from < 2 || buf[to - 1] !== letter) return false;
  let k = to - 2;
  while (k >= from && buf[k] === BACKSLASH) k--;
  return (to - 2 - k) % 2 === 1;
}

function hex4(buf: Buffer, p: number, to: number): number {
  if (p + 4 > to) return -1;
  let v = 0;
  for (let i = p; i < p + 4; i++) {
    const b = buf[i] as number;
    const d = b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x61 && b <= 0x66 ? b - 0x57 : b >= 0x41 && b <= 0x46 ? b - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** UTF-8 of `code` at `out[o]` (a lone surrogate becomes U+FFFD, as Docker's own decoder makes it); returns the end. */
function writeUtf8(out: Buffer, o: number, code: number): number {
  if (code >= 0xd800 && code < 0xe000) code = 0xfffd;
  if (code < 0x80) out[o++] = code;
  else if (code < 0x800) {
    out[o++] = 0xc0 | (code >> 6);
    out[o++] = 0x80 | (code & 0x3f);
  } else if (code < 0x10000) {
    out[o++] = 0xe0 | (code >> 12);
    out[o++] = 0x80 | ((code >> 6) & 0x3f);
    out[o++] = 0x80 | (code & 0x3f);
  } else {
    out[o++] = 0xf0 | (code >> 18);
    out[o++] = 0x80 | ((code >> 12) & 0x3f);
    out[o++] = 0x80 | ((code >> 6) & 0x3f);
    out[o++] = 0x80 | (code & 0x3f);
  }
  return o;
}

/** The time of the entry `buf[ls, le)` (no `\n`), or null when it is not one: used to seek by time. */
export function entryTime(buf: Buffer, ls: number, le: number, parser: DockerTimeParser): number | null {
  const timeAt = buf.lastIndexOf(TIME_KEY, le - 1);
  if (timeAt < ls || buf[le - 1] !== 0x7d || !parser.parse(buf, timeAt + TIME_KEY.length, le - 2)) return null;
  return parser.time.sec;
}
