/**
 * Decodes an HTTP/1.1 response body as it arrives, in bulk: `Transfer-Encoding: chunked`
 * (RFC 9112 §7.1), a `Content-Length`, or everything until the connection closes. The Docker
 * daemon flushes every log message, so a followed log body is one tiny chunk per line; Node's
 * HTTP client hands each chunk on as its own Buffer and stream event (several µs per line).
 * This decoder strips the chunk framing of a whole socket read in place — the payload bytes are
 * moved down over the size lines — and returns them as one Buffer: one step per read, not per line.
 */

const CR = 0x0d;
const LF = 0x0a;
/** A chunk-size line longer than this (hex digits, extensions) is not HTTP. */
const MAX_SIZE_LINE = 4096;

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

export class ChunkedBodyError extends Error {}

export class ChunkedBody {
  readonly #chunked: boolean;
  /** Bytes of body still expected (Content-Length), or -1: until the connection closes. */
  #remaining: number;
  #state: State = 'size';
  /** The chunk-size line read so far (it can straddle reads): its value, digits, whether past them. */
  #size = 0;
  #digits = 0;
  #ext = false;
  #extBytes = 0;
  #sawCr = false;
  /** Bytes of the trailer line being read. */
  #trailerLine = 0;
  /** Payload bytes left in the current chunk. */
  #left = 0;

  constructor(headers: { chunked: boolean; contentLength: number | null }) {
    this.#chunked = headers.chunked;
    this.#remaining = headers.chunked || headers.contentLength === null ? -1 : headers.contentLength;
    if (!this.#chunked && this.#remaining === 0) this.#state = 'done';
  }

  /** The whole body was read (the terminating chunk, or Content-Length bytes). */
  get done(): boolean {
    return this.#state === 'done';
  }

  /**
   * The body bytes in `buf` (which this call may overwrite: it must be the caller's own), as a
   * view of `buf`; bytes after the end of the body are ignored.
   */
  push(buf: Buffer): Buffer {
    if (this.#state === 'done') return buf.subarray(0, 0);
    if (!this.#chunked) {
      if (this.#remaining < 0) return buf;
      const take = Math.min(this.#remaining, buf.length);
      this.#remaining -= take;
      if (this.#remaining === 0) this.#state = 'done';
      return buf.subarray(0, take);
    }
    let out = 0;
    let p = 0;
    const n = buf.length;
    while (p < n && this.#state !== 'done') {
      switch (this.#state) {
        case 'data': {
          const take = Math.min(this.#left, n - p);
          if (out !== p) buf.copyWithin(out, p, p + take);
          out += take;
          p += take;
          this.#left -= take;
          if (this.#left === 0) this.#state = 'data-end';
          break;
        }
        case 'size': {
          // Hex digits, then optional `;extensions` or whitespace, then (CR)LF; byte by byte, as a size line can straddle reads.
          const b = buf[p++] as number;
          if (b === LF) {
            if (this.#digits === 0) throw new ChunkedBodyError('empty chunk size');
            this.#left = this.#size;
            this.#size = this.#digits = this.#extBytes = 0;
            this.#ext = false;
            this.#state = this.#left === 0 ? 'trailer' : 'data';
          } else if (!this.#ext) {
            const d = hexValue(b);
            if (d >= 0) {
              if (++this.#digits > 8) throw new ChunkedBodyError('chunk size too large');
              this.#size = this.#size * 16 + d;
            } else if (b === 0x3b || b === CR || b === 0x20 || b === 0x09) this.#ext = true;
            else throw new ChunkedBodyError(`bad byte 0x${b.toString(16)} in a chunk size`);
          } else if (++this.#extBytes > MAX_SIZE_LINE) throw new ChunkedBodyError('chunk-size line too long');
          break;
        }
        case 'trailer': {
          // Trailer fields until an empty line: only whether the line is empty matters.
          const b = buf[p++] as number;
          if (b === LF) {
            if (this.#trailerLine === 0) this.#state = 'done';
            this.#trailerLine = 0;
          } else if (b !== CR) this.#trailerLine++;
          break;
        }
        case 'data-end': {
          // CRLF after the payload (a bare LF is tolerated, as Node's parser does in lenient mode).
          const b = buf[p++] as number;
          if (b === LF) {
            this.#sawCr = false;
            this.#state = 'size';
          } else if (b === CR && !this.#sawCr) this.#sawCr = true;
          else throw new ChunkedBodyError('chunk data not followed by CRLF');
          break;
        }
      }
    }
    return buf.subarray(0, out);
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}
