/**
 * Splits file chunks into lines, keeping file offsets exact: the reader reads chunks at known
 * offsets, and every line says where it starts and where the reader resumes once it is shipped.
 *
 * - Lines end at `\n`; one trailing `\r` is stripped (CRLF files). A lone `\r` is content.
 * - A partial last line (no `\n` yet) is held and never delivered: the rest may still be written.
 *   What to do with it at shutdown is the caller's decision; its bytes are not acknowledged
 *   (`resumeOffset` stays at its start), so it is read again, whole, after a restart.
 * - A line longer than `maxLineBytes` is delivered once, its first `maxLineBytes` bytes, flagged
 *   truncated, when its `\n` arrives; the bytes beyond are counted and skipped, never held. So
 *   a 10 MB line (a runaway JSON dump, a binary file under a .log name) costs at most
 *   `maxLineBytes` of memory however long it grows.
 * - The buffer for partial lines grows on demand and is released after a large line, so a
 *   thousand idle files do not each hold `maxLineBytes`.
 *
 * The hot loop is `Buffer.indexOf(10)` (memchr) per line; a line is handed on as a range of the
 * chunk (no object per line: at hundreds of thousands of lines a second, a view per line was a
 * large part of the collector's garbage); bytes are copied only for the partial line at a
 * chunk's end.
 */

/**
 * Receives one complete line: `buf[from, to)`, without the `\n` and a trailing `\r`. `buf` is the
 * chunk or the splitter's buffer, valid only during the call (copy what must outlive it).
 * `start` is the file offset of the line's first byte, `end` the offset just after its `\n`.
 * Use `start`/`end` rather than the splitter's getters during the call (they are updated per
 * chunk). The handler must not throw (a throw leaves the splitter mid-chunk: `reset()` after it).
 */
export type LineHandler = (buf: Buffer, from: number, to: number, start: number, end: number, truncated: boolean) => void;

export interface LineSplitterOptions {
  /** Longer lines are truncated to this many bytes (`logs.max_line_bytes`). */
  maxLineBytes: number;
  /** File offset of the first chunk (default 0). */
  startOffset?: number;
}

const NL = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
/** Partial-line buffers above this are released once their line is delivered. */
const KEEP_BUFFER_BYTES = 64 * 1024;

export class LineSplitter {
  readonly maxLineBytes: number;
  #buf: Buffer = EMPTY;
  /** Bytes of the partial line held in #buf (≤ maxLineBytes). */
  #held = 0;
  /** Bytes of the partial line seen beyond maxLineBytes (skipped, not held). */
  #excess = 0;
  /** The last skipped byte is a `\r`: if the `\n` follows, it was the line's CRLF, not content. */
  #excessEndsCr = false;
  /** File offset of the partial line's first byte (meaningful while one is pending). */
  #lineStart = 0;
  /** File offset the next chunk must start at. */
  #next: number;
  #truncatedLines = 0;
  #skippedBytes = 0;

  constructor(options: LineSplitterOptions) {
    const { maxLineBytes, startOffset = 0 } = options;
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    checkOffset(startOffset);
    this.maxLineBytes = maxLineBytes;
    this.#next = startOffset;
  }

  /** Bytes of the partial line held in memory (never more than maxLineBytes). */
  get pendingBytes(): number {
    return this.#held;
  }

  /** Length of the partial line so far, including bytes skipped beyond maxLineBytes. */
  get pendingLineBytes(): number {
    return this.#held + this.#excess;
  }

  /** File offset of the first byte not yet delivered as part of a line: where a reader restarts. */
  get resumeOffset(): number {
    return this.#held + this.#excess > 0 ? this.#lineStart : this.#next;
  }

  /** File offset the next chunk must start at (the end of what was pushed). */
  get nextChunkOffset(): number {
    return this.#next;
  }

  /** Lines delivered truncated since construction. */
  get truncatedLines(): number {
    return this.#truncatedLines;
  }

  /** Bytes dropped from truncated lines since construction (excluding their line endings). */
  get skippedBytes(): number {
    return this.#skippedBytes;
  }

  /**
   * Feeds the chunk read at file offset `chunkOffset`. Calls `onLine` for every line the chunk
   * completes, in order, synchronously. While a partial line is held the chunk must continue it
   * (`chunkOffset === nextChunkOffset`, else a RangeError: gluing unrelated bytes onto the line
   * would corrupt it; after a truncation or reopen call `reset`). With nothing held, any offset is
   * accepted and starts there — a splitter made without `startOffset` for a file resumed at a
   * saved offset just works.
   */
  push(chunk: Buffer, chunkOffset: number, onLine: LineHandler): void {
    if (chunkOffset !== this.#next) {
      if (this.#held + this.#excess > 0) {
        throw new RangeError(`chunk at offset ${chunkOffset} does not continue the partial line held since ${this.#lineStart} (expected ${this.#next}); call reset() first`);
      }
      checkOffset(chunkOffset);
      this.#next = chunkOffset;
    }
    const n = chunk.length;
    const max = this.maxLineBytes;
    let pos = 0;
    if (this.#held + this.#excess > 0) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.#append(chunk, 0, n);
        this.#next += n;
        return;
      }
      this.#append(chunk, 0, nl);
      this.#deliverHeld(chunkOffset + nl + 1, onLine);
      pos = nl + 1;
    }
    while (pos < n) {
      const nl = chunk.indexOf(NL, pos);
      if (nl === -1) break;
      const stop = nl > pos && chunk[nl - 1] === CR ? nl - 1 : nl;
      if (stop - pos > max) {
        this.#truncatedLines++;
        this.#skippedBytes += stop - pos - max;
        onLine(chunk, pos, pos + max, chunkOffset + pos, chunkOffset + nl + 1, true);
      } else {
        onLine(chunk, pos, stop, chunkOffset + pos, chunkOffset + nl + 1, false);
      }
      pos = nl + 1;
    }
    if (pos < n) {
      this.#lineStart = chunkOffset + pos;
      this.#append(chunk, pos, n);
    }
    this.#next += n;
  }

  /** Forgets any partial line; the next chunk must start at `offset` (truncation, reopen). */
  reset(offset: number): void {
    checkOffset(offset);
    this.#clearHeld();
    this.#next = offset;
  }

  /** Adds chunk[from, to) to the partial line: held up to maxLineBytes, counted beyond. */
  #append(chunk: Buffer, from: number, to: number): void {
    const count = to - from;
    if (count === 0) return;
    const take = Math.min(count, this.maxLineBytes - this.#held);
    if (take > 0) {
      const need = this.#held + take;
      if (need > this.#buf.length) this.#grow(need);
      chunk.copy(this.#buf, this.#held, from, from + take);
      this.#held = need;
    }
    if (take < count) {
      this.#excess += count - take;
      this.#excessEndsCr = chunk[to - 1] === CR;
    }
  }

  #grow(need: number): void {
    const size = Math.min(this.maxLineBytes, Math.max(need, this.#buf.length * 2, 256));
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#held);
    this.#buf = next;
  }

  #deliverHeld(end: number, onLine: LineHandler): void {
    let len = this.#held;
    let truncated = false;
    if (this.#excess === 0) {
      if (len > 0 && this.#buf[len - 1] === CR) len--;
    } else {
      // The held bytes are exactly maxLineBytes. A single excess `\r` was the CRLF (the line
      // fits); anything more is content beyond the limit.
      const content = this.#excess - (this.#excessEndsCr ? 1 : 0);
      if (content > 0) {
        truncated = true;
        this.#truncatedLines++;
        this.#skippedBytes += content;
      }
    }
    const start = this.#lineStart;
    const buf = this.#buf; // before #clearHeld, which may drop a large buffer
    this.#clearHeld();
    onLine(buf, 0, len, start, end, truncated);
  }

  #clearHeld(): void {
    this.#held = 0;
    this.#excess = 0;
    this.#excessEndsCr = false;
    // Keep a small buffer for the next partial line; drop a large one (the line that needed it
    // was exceptional). The caller's view of it stays valid: it is not reused after release.
    if (this.#buf.length > KEEP_BUFFER_BYTES) this.#buf = EMPTY;
  }
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
}
