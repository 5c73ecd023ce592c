/**
 * Joins continuation lines (Java stack traces) into one event, with Filebeat's `multiline`
 * semantics (libbeat/reader/multiline/pattern.go, message_buffer.go):
 *
 * - `match: after`: a line for which `pattern` matches (`negate: false`) or does not match
 *   (`negate: true`) is appended to the event before it. Each event waits for the next line,
 *   which decides whether it continues.
 * - `match: before`: the same test on the event's LAST line decides whether the next line is
 *   appended to it — matching lines gather up to and including the next line that does not
 *   match. The output is Filebeat's, but an event is emitted as soon as its last line says
 *   nothing can follow, instead of when the next line arrives: lower latency, same content.
 * - The first line always starts an event, whatever it is (a file may start mid-trace).
 * - Lines are joined with `\n`. Beyond `maxLines` lines or `maxBytes` bytes, the rest of the
 *   event is dropped — counted, flagged `truncated` — but its lines still extend the event's
 *   `end` offset, and still take part in matching (Filebeat keeps matching until the event ends).
 * - Flags are Filebeat's `log.flags`: `multiline` when more than one line was joined,
 *   `truncated` when anything was cut (here or by the line splitter).
 * - Timeout: a pending event is emitted once no line has arrived for `timeoutMs` — Filebeat's
 *   timeout counts from the last line read, not from the event's first line
 *   (readfile/timeout.go), so a trace written slowly is not split. The caller owns the timer
 *   (`dueAt`); it should not count time during which reading was paused by backpressure.
 * - One deviation: Filebeat drops the `\n` between an empty first line and the next; here every
 *   included line is separated by `\n`, so the message is exactly the file's bytes (minus CRs).
 *
 * Speed: with `pattern: null` lines pass straight through (no copy). Otherwise a first-byte table
 * (first-byte-filter.ts) rejects most lines without decoding them; only lines that pass run the
 * RegExp, on their decoded text. Event buffers are reused: an emitted event (and its `message`)
 * is valid only during the callback.
 */
import { firstByteFilter } from './first-byte-filter.ts';
import type { FirstByteTable } from './first-byte-filter.ts';

export interface MultilineOptions {
  /** RegExp source of the continuation test; null = every line is its own event. */
  pattern: string | null;
  negate: boolean;
  match: 'after' | 'before';
  /** Lines kept per event (`logs.multiline.max_lines`). */
  maxLines: number;
  /** Bytes kept per event, separators included. */
  maxBytes: number;
  /** Emit a pending event after this long without a new line (0 = never). */
  timeoutMs: number;
}

export interface InputLine {
  text: Buffer;
  /** File offset of the line's first byte. */
  start: number;
  /** File offset just after its `\n`. */
  end: number;
  /** The line splitter truncated it. */
  truncated: boolean;
}

export type LogFlag = 'multiline' | 'truncated';

export interface JoinedEvent {
  /** The message is `buf[from, to)`; valid only during the callback (no view is made per event). */
  buf: Buffer;
  from: number;
  to: number;
  /** `buf[from, to)` as a view, made when asked for (tests, rare callers). */
  readonly message: Buffer;
  /** File offset of the first line. */
  start: number;
  /** End offset of the last line included (dropped lines included): where to resume after it. */
  end: number;
  /** Lines whose bytes are in `message`. */
  lines: number;
  flags: readonly LogFlag[];
}

/** Receives one event; the object and its message are reused after the call returns. */
export type JoinedEventHandler = (event: JoinedEvent) => void;

const NO_FLAGS: readonly LogFlag[] = Object.freeze([]);
const MULTILINE: readonly LogFlag[] = Object.freeze(['multiline']);
const TRUNCATED: readonly LogFlag[] = Object.freeze(['truncated']);
const MULTILINE_TRUNCATED: readonly LogFlag[] = Object.freeze(['multiline', 'truncated']);
const NL = 0x0a;
const EMPTY = Buffer.alloc(0);
/** Event buffers above this are released after their event (it was exceptional). */
const KEEP_BUFFER_BYTES = 256 * 1024;

export function flagsFor(multiline: boolean, truncated: boolean): readonly LogFlag[] {
  if (multiline) return truncated ? MULTILINE_TRUNCATED : MULTILINE;
  return truncated ? TRUNCATED : NO_FLAGS;
}

export class MultilineJoiner {
  readonly #regex: RegExp | null;
  readonly #filter: FirstByteTable | null;
  readonly #matchesEmpty: boolean;
  readonly #negate: boolean;
  readonly #before: boolean;
  readonly #maxLines: number;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #event: JoinedEvent = {
    buf: EMPTY,
    from: 0,
    to: 0,
    get message(): Buffer {
      return this.buf.subarray(this.from, this.to);
    },
    start: 0,
    end: 0,
    lines: 0,
    flags: NO_FLAGS,
  };

  #buf: Buffer = EMPTY;
  #len = 0;
  /** Lines processed into the pending event (0 = nothing pending), dropped ones included. */
  #processed = 0;
  #lines = 0;
  #truncated = false;
  #start = 0;
  #end = 0;
  /** Whether the pending event's last line matched the pattern (for `before`). */
  #lastMatched = false;
  #pendingSince = 0;
  #lastLineAt = 0;
  /** End offset of the last line pushed; -1 before any. */
  #lastEnd = -1;

  #linesDropped = 0;
  #bytesDropped = 0;
  #regexRuns = 0;

  constructor(options: MultilineOptions) {
    const { pattern, negate, match, maxLines, maxBytes, timeoutMs } = options;
    if (!Number.isSafeInteger(maxLines) || maxLines < 1) throw new RangeError(`maxLines must be a positive integer, got ${maxLines}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
    if (!(timeoutMs >= 0)) throw new RangeError(`timeoutMs must be >= 0, got ${timeoutMs}`);
    if (match !== 'after' && match !== 'before') throw new RangeError(`match must be "after" or "before", got ${String(match)}`);
    this.#regex = pattern === null ? null : new RegExp(pattern);
    this.#filter = pattern === null ? null : firstByteFilter(pattern);
    this.#matchesEmpty = this.#regex?.test('') ?? false;
    this.#negate = negate;
    this.#before = match === 'before';
    this.#maxLines = maxLines;
    this.#maxBytes = maxBytes;
    this.#timeoutMs = timeoutMs;
  }

  /** Unix ms when the pending event's first line arrived; undefined when nothing is pending. */
  get pendingSince(): number | undefined {
    return this.#processed > 0 ? this.#pendingSince : undefined;
  }

  /** Unix ms at which `flushIfDue` will emit the pending event; undefined when nothing is pending or timeoutMs is 0. */
  get dueAt(): number | undefined {
    return this.#processed > 0 && this.#timeoutMs > 0 ? this.#lastLineAt + this.#timeoutMs : undefined;
  }

  /** Bytes held for the pending event. */
  get pendingBytes(): number {
    return this.#len;
  }

  /**
   * The offset a reader may acknowledge up to: the first pending line's start while an event is
   * pending, else the end of the last line pushed; undefined before any line (or after reset).
   */
  get safeOffset(): number | undefined {
    if (this.#processed > 0) return this.#start;
    return this.#lastEnd < 0 ? undefined : this.#lastEnd;
  }

  /** Lines dropped from events beyond maxLines/maxBytes, since construction. */
  get linesDropped(): number {
    return this.#linesDropped;
  }

  /** Content bytes cut from events (dropped lines and the cut part of partly kept ones). */
  get bytesDropped(): number {
    return this.#bytesDropped;
  }

  /** How many lines ran the RegExp (the rest were decided by the first-byte table). */
  get regexRuns(): number {
    return this.#regexRuns;
  }

  push(line: InputLine, nowMs: number, emit: JoinedEventHandler): void {
    this.pushLine(line.text, 0, line.text.length, line.start, line.end, line.truncated, nowMs, emit);
  }

  /** `push` without an object per line, for the hot path (the splitter's callback arguments: the line is `buf[from, to)`). */
  pushLine(buf: Buffer, from: number, to: number, start: number, end: number, truncated: boolean, nowMs: number, emit: JoinedEventHandler): void {
    this.#lastEnd = end;
    if (this.#regex === null) {
      this.#emitSingle(buf, from, to, start, end, truncated, emit);
      return;
    }
    const matched = this.#matches(buf, from, to);
    if (this.#processed > 0) {
      const continues = (this.#before ? this.#lastMatched : matched) !== this.#negate;
      if (!continues) this.#emitPending(emit);
    }
    if (this.#processed === 0) {
      this.#start = start;
      this.#pendingSince = nowMs;
    }
    this.#add(buf, from, to, end, truncated);
    this.#lastMatched = matched;
    this.#lastLineAt = nowMs;
    // `before`: the next line joins only if this one continues; if not, the event is complete.
    if (this.#before && matched === this.#negate) this.#emitPending(emit);
  }

  /** Emits the pending event if no line arrived for timeoutMs. True when it emitted. */
  flushIfDue(nowMs: number, emit: JoinedEventHandler): boolean {
    const due = this.dueAt;
    if (due === undefined || nowMs < due) return false;
    this.#emitPending(emit);
    return true;
  }

  /** Emits the pending event now (end of a deleted file, a deliberate drain). True when it emitted. */
  flush(emit: JoinedEventHandler): boolean {
    if (this.#processed === 0) return false;
    this.#emitPending(emit);
    return true;
  }

  /** Drops the pending event without emitting it (the file was truncated or replaced). */
  reset(): void {
    this.#clear();
    this.#lastEnd = -1;
  }

  #matches(buf: Buffer, from: number, to: number): boolean {
    if (to === from) return this.#matchesEmpty;
    if (this.#filter !== null && this.#filter[buf[from] as number] === 0) return false;
    this.#regexRuns++;
    // Buffer#toString decodes like TextDecoder with ignoreBOM (WHATWG replacement of invalid bytes).
    return (this.#regex as RegExp).test(buf.toString('utf8', from, to));
  }

  #emitSingle(buf: Buffer, from: number, to: number, start: number, end: number, truncated: boolean, emit: JoinedEventHandler): void {
    if (to - from > this.#maxBytes) {
      this.#bytesDropped += to - from - this.#maxBytes;
      to = from + this.#maxBytes;
      truncated = true;
    }
    const event = this.#event;
    event.buf = buf;
    event.from = from;
    event.to = to;
    event.start = start;
    event.end = end;
    event.lines = 1;
    event.flags = truncated ? TRUNCATED : NO_FLAGS;
    emit(event);
    event.buf = EMPTY;
  }

  /** Filebeat's messageBuffer.addLine: keep what fits, count the rest; offsets always advance. */
  #add(buf: Buffer, from: number, to: number, end: number, truncated: boolean): void {
    this.#processed++;
    this.#end = end;
    if (truncated) this.#truncated = true;
    const length = to - from;
    const sep = this.#lines > 0 ? 1 : 0;
    const space = this.#maxBytes - this.#len - sep;
    if (this.#lines >= this.#maxLines || space <= 0) {
      this.#linesDropped++;
      this.#bytesDropped += length;
      this.#truncated = true;
      return;
    }
    const take = Math.min(space, length);
    const need = this.#len + sep + take;
    if (need > this.#buf.length) this.#grow(need);
    if (sep === 1) this.#buf[this.#len] = NL;
    buf.copy(this.#buf, this.#len + sep, from, from + take);
    this.#len = need;
    this.#lines++;
    if (take < length) {
      this.#bytesDropped += length - take;
      this.#truncated = true;
    }
  }

  #grow(need: number): void {
    const size = Math.min(this.#maxBytes, Math.max(need, this.#buf.length * 2, 1024));
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  #emitPending(emit: JoinedEventHandler): void {
    const event = this.#event;
    event.buf = this.#buf;
    event.from = 0;
    event.to = this.#len;
    event.start = this.#start;
    event.end = this.#end;
    event.lines = this.#lines;
    event.flags = flagsFor(this.#lines > 1, this.#truncated);
    this.#clear();
    emit(event);
    event.buf = EMPTY;
  }

  #clear(): void {
    this.#len = 0;
    this.#processed = 0;
    this.#lines = 0;
    this.#truncated = false;
    this.#lastMatched = false;
    if (this.#buf.length > KEEP_BUFFER_BYTES) this.#buf = EMPTY;
  }
}
