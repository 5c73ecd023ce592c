/**
 * How a read step reads its chunk. Through the thread pool (FileHandle.read), every read costs a
 * hand-off to a pool thread and an event-loop wakeup when it is done; at a trickle (one line per
 * write(2), read a few lines at a time) those hand-offs were most of the agent's CPU per line
 * (`strace -c`: about one futex call per shipped line). Bytes just appended to a local file are
 * in the page cache, where a synchronous read of a few KiB takes microseconds, so a step whose
 * unread bytes are known to be few reads synchronously on the main thread.
 *
 * Guarded, because a synchronous read blocks everything else the agent does: only up to
 * SYNC_READ_BYTES, and the first synchronous read slower than SLOW_SYNC_READ_MS (a network file
 * system, a stalled disk, pages evicted under memory pressure) turns them off for the life of the
 * process, with one warning; reads then go through the thread pool as before.
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';

/** Unread bytes up to this are read synchronously (a few hundred lines; one page-cache copy). */
export const SYNC_READ_BYTES = 64 * 1024;
/** A synchronous read slower than this (a page-cache read takes microseconds) ends them all. */
export const SLOW_SYNC_READ_MS = 5;

/** Shared by all read pumps: whether synchronous reads are still allowed. */
export class SyncReads {
  #enabled = true;
  readonly #logger: Logger;

  constructor(logger: Logger, enabled = true) {
    this.#logger = logger;
    this.#enabled = enabled;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** A synchronous read took `ms`: too slow, and they stop for good. */
  tookMs(ms: number, path: string): void {
    if (ms <= SLOW_SYNC_READ_MS || !this.#enabled) return;
    this.#enabled = false;
    this.#logger.warn({ path, ms: Math.round(ms) }, `a synchronous log read took over ${SLOW_SYNC_READ_MS} ms; log files are read through the thread pool from now on`);
  }
}

export interface ChunkRead {
  /** The buffer read into: the whole chunk buffer, or its first SYNC_READ_BYTES. */
  chunk: Buffer;
  bytesRead: number;
}

/** One read pump's chunk buffer, and the choice of how to fill it. */
export class ChunkReader {
  readonly #buffer: Buffer;
  readonly #sync: SyncReads;

  constructor(bytes: number, sync: SyncReads) {
    this.#buffer = Buffer.allocUnsafe(bytes);
    this.#sync = sync;
  }

  /**
   * Synchronous reads are on: comparing a file's first bytes with its fingerprint then costs
   * microseconds, so a read step does it every time (else at most once a second per file).
   */
  get synchronous(): boolean {
    return this.#sync.enabled;
  }

  /** A small read at `position` (a fingerprint's bytes), synchronous while that is allowed. */
  readonly readAt = async (handle: FileHandle, buf: Buffer, position: number): Promise<number> => {
    if (!this.#sync.enabled) return (await handle.read(buf, 0, buf.length, position)).bytesRead;
    return this.#readSync(handle, buf, position, '(first bytes, for the fingerprint)');
  };

  /** A synchronous read, timed: the first slow one turns them off (SyncReads.tookMs). */
  #readSync(handle: FileHandle, buf: Buffer, position: number, path: string): number {
    const started = performance.now();
    const bytesRead = readSync(handle.fd, buf, 0, buf.length, position);
    this.#sync.tookMs(performance.now() - started, path);
    return bytesRead;
  }

  /** Reads from `position`, where `unread` bytes are known to wait; `chunk` full means there may be more. */
  async read(handle: FileHandle, position: number, unread: number, path: string): Promise<ChunkRead> {
    if (this.#sync.enabled && unread <= SYNC_READ_BYTES) {
      const chunk = this.#buffer.subarray(0, SYNC_READ_BYTES);
      return { chunk, bytesRead: this.#readSync(handle, chunk, position, path) };
    }
    const { bytesRead } = await handle.read(this.#buffer, 0, this.#buffer.length, position);
    return { chunk: this.#buffer, bytesRead };
  }
}
