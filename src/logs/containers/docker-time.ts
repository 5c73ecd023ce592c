/**
 * Docker's message timestamps: RFC 3339 in UTC with nanoseconds (`2026-12-01T07:53:53.123456789Z`),
 * as the daemon writes them before each message of the API stream and in every json-file entry.
 * Read without a Date per message: the whole seconds are parsed once per second of log.
 */

/** A Docker timestamp: whole seconds since the epoch and the nanoseconds within that second. */
export interface DockerTime {
  sec: number;
  nanos: number;
}

/** Whether `a` is later than `b`. */
export function later(a: DockerTime, b: DockerTime): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nanos > b.nanos);
}

/** Parses timestamps into one reused DockerTime (`time`), caching the last whole second. */
export class DockerTimeParser {
  readonly time: DockerTime = { sec: 0, nanos: 0 };
  /** The `YYYY-MM-DDTHH:MM:SS` of the last timestamp and its epoch seconds. */
  readonly #secText = Buffer.alloc(19);
  #secValue = Number.NaN;

  /** `buf[from, to)` is a timestamp (UTC, fewer fraction digits accepted): sets `time`, or returns false. */
  parse(buf: Buffer, from: number, to: number): boolean {
    if (to - from < 20 || buf[from + 10] !== 0x54 || buf[to - 1] !== 0x5a) return false;
    if (Number.isNaN(this.#secValue) || !this.#sameSecond(buf, from)) {
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
    this.time.sec = this.#secValue;
    this.time.nanos = nanos;
    return true;
  }

  /** Whether `buf` at `from` has the cached `YYYY-MM-DDTHH:MM:SS`: compared here, not by a call into C++ per message (last digits first: they differ first). */
  #sameSecond(buf: Buffer, from: number): boolean {
    const text = this.#secText;
    for (let i = 18; i >= 0; i--) if (buf[from + i] !== text[i]) return false;
    return true;
  }

  /** Sets `time` to now (a message whose timestamp could not be read). */
  now(): void {
    const now = Date.now();
    this.time.sec = Math.floor(now / 1000);
    this.time.nanos = (now % 1000) * 1_000_000;
  }
}
