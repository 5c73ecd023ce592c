/**
 * Reads a container's json-file log directly (`container_logs.read_from: files`): the files the
 * daemon rotated (`<id>-json.log.N` … `.1`, oldest first) and then the live `<id>-json.log`,
 * followed until the container has stopped and its file is read to the end. What the API's
 * follow gives, without the daemon reading the file and framing every message for us.
 *
 * - **Resume by time**, as the API does with `since`: the position is Docker's timestamp
 *   (positions.ts), so the first file that can hold messages at or after `since` is found from
 *   each file's last entry, and the place in it by a binary search on the entries' times (a
 *   restart does not rescan gigabytes). The search stops at an entry older than `since` by more
 *   than the stdout/stderr inversion positions.ts allows, so nothing at or after `since` is before it.
 * - **Rotation**: the daemon renames the live file to `.1` (shifting the others) and starts a new
 *   one. A file is known by its inode; the open handle reads a renamed (or already deleted) file
 *   to its end, then every rotated file not read yet, oldest first, then the new live file.
 *   A file the daemon deleted before it was opened (over `max-file`, while the agent was behind)
 *   cannot be read; it is counted.
 * - **Waking**: at the end of the file after a read that found data the next read is a short
 *   sleep away (the writer is busy: a batch per read); after an empty one it waits for an
 *   inotify event on the container's directory, a wake() (the container stopped), or
 *   IDLE_CHECK_MS, then looks again. The watch stays while the file is quiet or trickles, and is
 *   dropped while it is busy (a callback per write of the daemon's would cost more than it saves).
 */
import { readSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type Docker from 'dockerode';
import { errorMessage } from '../../core/errors.ts';
import { sleep } from '../../core/timers.ts';
import { SYNC_READ_BYTES } from '../chunk-reader.ts';
import type { SyncReads } from '../chunk-reader.ts';
import { READ_COALESCE_MS } from '../read-pumps.ts';
import { DockerTimeParser } from './docker-time.ts';
import { entryTime } from './json-log-parser.ts';

/** Reads of up to this many bytes; a longer entry grows the buffer. */
const READ_BYTES = 256 * 1024;
/** After a read that found data: the writer is likely busy, gather a batch before the next read (as for files). */
const BUSY_WAIT_MS = READ_COALESCE_MS;
/** A read step this large means a busy writer: the directory's watch is dropped until the file is quiet again. */
const BUSY_READ_BYTES = 64 * 1024;
/** After an empty read: wait for a change of the directory (or a wake(): the container stopped), or this long. */
const IDLE_CHECK_MS = 5000;
/** An entry this much older than `since` (seconds) has nothing at or after `since` before it (positions.ts LAG_SECONDS + 1). */
const SEEK_MARGIN_S = 3;
/** The binary search stops when the range is this small, and reads this much per probe. */
const PROBE_BYTES = 64 * 1024;
/** Rotated files looked for (`max-file` above this is unusual). */
const MAX_ROTATED = 100;
/** Listings of the rotated files in a row while the daemon keeps rotating under the reader. */
const MAX_PASSES = 20;

export interface JsonLogHooks {
  /** Whole entries in `buf[from, to)`: parse them; returns where the first incomplete one starts. */
  entries(buf: Buffer, from: number, to: number): number;
  /** After a read's entries: resolves when their events are queued (a full queue holds the reading back). */
  drain(): Promise<void>;
  /** Whether the container still runs (its output may still grow). */
  running(): boolean;
}

interface OpenFile {
  handle: FileHandle;
  ino: number;
  path: string;
}

/** A container's json-file log as inspected, or why it is not read directly (then the API reads it). */
export async function readableJsonLog(info: Docker.ContainerInspectInfo): Promise<{ path: string } | { why: string }> {
  const driver = info.HostConfig.LogConfig?.Type;
  if (driver !== 'json-file') return { why: `log driver "${driver}" is not json-file` };
  const options = info.HostConfig.LogConfig?.Config as Record<string, string> | undefined;
  if (options?.compress === 'true') return { why: 'its rotated files are compressed' };
  if (!info.LogPath) return { why: 'Docker names no log file' };
  // Opened, not access(2): that checks with the real uid and no capabilities, so it refuses a
  // user whose CAP_DAC_READ_SEARCH (the unit's drop-in) would let it read.
  const denied = await open(info.LogPath, 'r').then((h) => h.close().then(() => null), (err: unknown) => errorMessage(err));
  return denied === null ? { path: info.LogPath } : { why: `${denied} (reading Docker's log files needs root or CAP_DAC_READ_SEARCH)` };
}

export class JsonLogFiles {
  readonly path: string;
  readonly #hooks: JsonLogHooks;
  readonly #signal: AbortSignal;
  #since: number;
  #buf = Buffer.allocUnsafe(READ_BYTES);
  /** Bytes kept at the start of #buf: the beginning of an entry not yet whole. */
  #carry = 0;
  #file: OpenFile | undefined;
  /** Where the next read of the open file starts. */
  offset = 0;
  /** Inodes read to their end in this follow. */
  readonly #done = new Set<number>();
  /** Rotated files deleted before they could be read (the agent was over `max-file` files behind). */
  filesMissed = 0;
  #watcher: FSWatcher | undefined;
  #wake: (() => void) | undefined;

  /** Shared with the other containers: whether reads may still be synchronous (chunk-reader.ts). */
  readonly #sync: SyncReads | undefined;

  constructor(path: string, since: number, hooks: JsonLogHooks, signal: AbortSignal, sync?: SyncReads) {
    this.path = path;
    this.#sync = sync;
    this.#since = since;
    this.#hooks = hooks;
    this.#signal = signal;
  }

  /** Reads until the container has stopped and everything is read, or the signal aborts. */
  async run(): Promise<void> {
    try {
      if (!(await this.#openLive())) return;
      while (!this.#signal.aborted) {
        const read = await this.#readToEnd();
        if (this.#signal.aborted) return;
        // A busy file has no watch: it would cost a callback per write of the daemon's.
        if (read >= BUSY_READ_BYTES) this.#stopWatching();
        const now = await stat(this.path).catch(() => null);
        const file = this.#file as OpenFile;
        if (now !== null && now.ino === file.ino) {
          if (now.size > this.offset) continue;
          if (!this.#hooks.running()) {
            await this.#readToEnd(); // the daemon closes the log before it reports the stop
            return;
          }
          // After a read that found data, the next batch is a short sleep away; else wait for a change.
          await (read > 0 ? sleep(BUSY_WAIT_MS) : this.#idle());
          continue;
        }
        // Rotated (or the container removed): this file to its end, then the ones after it.
        await this.#readToEnd();
        await this.#close();
        if (!(await this.#openLive())) return;
      }
    } finally {
      await this.#close();
      this.#stopWatching();
    }
  }

  /** The rotated files (`.1`, `.2`, …: newest first) with their inodes. */
  async #listRotated(): Promise<{ path: string; ino: number }[]> {
    const listed: { path: string; ino: number }[] = [];
    for (let i = 1; i <= MAX_ROTATED; i++) {
      const p = `${this.path}.${i}`;
      const info = await stat(p).catch(() => null);
      if (info === null) break;
      listed.push({ path: p, ino: info.ino });
    }
    return listed;
  }

  /**
   * Reads the rotated files not read yet, oldest first. A name that no longer holds the file
   * listed (the daemon rotated again meanwhile) starts the listing again.
   */
  async #readRotated(): Promise<void> {
    let vanished: number | undefined;
    for (let pass = 0; pass < MAX_PASSES && !this.#signal.aborted; pass++) {
      const listed = await this.#listRotated();
      const present = new Set(listed.map((f) => f.ino));
      // Inodes of deleted files are forgotten: the file system may give one to the next live file.
      for (const ino of this.#done) if (!present.has(ino)) this.#done.delete(ino);
      if (vanished !== undefined && !present.has(vanished)) this.filesMissed++;
      vanished = undefined;
      let moved = false;
      for (const f of listed.filter((x) => !this.#done.has(x.ino)).reverse()) {
        if (this.#signal.aborted) return;
        const handle = await open(f.path, 'r').catch(() => undefined);
        const info = handle === undefined ? undefined : await handle.stat();
        if (handle === undefined || info?.ino !== f.ino) {
          await handle?.close();
          vanished = f.ino;
          moved = true;
          break;
        }
        this.#file = { handle, ino: f.ino, path: f.path };
        this.offset = await this.#startOffset(handle, info.size);
        await this.#readToEnd();
        await this.#close();
      }
      if (!moved) return;
    }
  }

  /**
   * Reads what was rotated and not read yet, then opens the live file; false when it is gone (the
   * container was removed). A rotation between the two made a file older than the new live one:
   * it is read first.
   */
  async #openLive(): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      await this.#readRotated();
      const handle = await open(this.path, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        return undefined;
      });
      if (handle !== undefined) {
        const { ino, size } = await handle.stat();
        if (attempt < MAX_PASSES && (await this.#listRotated()).some((f) => f.ino !== ino && !this.#done.has(f.ino))) {
          await handle.close();
          continue;
        }
        this.#file = { handle, ino, path: this.path };
        this.offset = this.#done.has(ino) ? size : await this.#startOffset(handle, size);
        return true;
      }
      // Between the rename and the new file, or removed with its container.
      if (!this.#hooks.running() || attempt >= 50 || this.#signal.aborted) return false;
      await sleep(20);
    }
  }

  /**
   * Where reading a file starts: 0, or — while `since` is not yet passed — past the entries
   * older than `since` (the whole file when its last entry is).
   */
  async #startOffset(handle: FileHandle, size: number): Promise<number> {
    if (this.#since <= 0 || size === 0) return 0;
    const target = this.#since - SEEK_MARGIN_S;
    const times = new DockerTimeParser();
    const last = await this.#timeNear(handle, Math.max(0, size - PROBE_BYTES), size, times, true);
    if (last !== null && last.time < target) return size;
    let lo = 0;
    let hi = size;
    while (hi - lo > PROBE_BYTES) {
      const mid = Math.floor((lo + hi) / 2);
      const probe = await this.#timeNear(handle, mid, size, times, false);
      if (probe !== null && probe.time < target && probe.start > lo) lo = probe.start;
      else hi = mid;
    }
    // Passed over: it is not shipped now, so a later file needs no search.
    this.#since = 0;
    return lo;
  }

  /** The first whole entry after `at` (or, `last`, the last whole entry before `end`): its start and time. */
  async #timeNear(handle: FileHandle, at: number, end: number, times: DockerTimeParser, last: boolean): Promise<{ start: number; time: number } | null> {
    const buf = Buffer.allocUnsafe(Math.min(PROBE_BYTES, end - at));
    const { bytesRead } = await handle.read(buf, 0, buf.length, at);
    let ls: number;
    let le: number;
    if (last) {
      le = buf.lastIndexOf(0x0a, bytesRead - 1);
      if (le < 0) return null;
      ls = le === 0 ? -1 : buf.lastIndexOf(0x0a, le - 1);
      if (ls < 0 && at > 0) return null;
      ls++;
    } else {
      const nl = buf.indexOf(0x0a);
      if (nl < 0 || nl >= bytesRead) return null;
      ls = at === 0 ? 0 : nl + 1;
      le = buf.indexOf(0x0a, ls);
      if (le < 0 || le >= bytesRead) return null;
    }
    const time = entryTime(buf, ls, le, times);
    return time === null ? null : { start: at + ls, time };
  }

  /** Reads the open file to its current end, a buffer at a time; returns the bytes read. */
  async #readToEnd(): Promise<number> {
    const file = this.#file;
    if (file === undefined) return 0;
    let total = 0;
    while (!this.#signal.aborted) {
      if (this.#carry === this.#buf.length) {
        const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
        this.#buf.copy(bigger, 0, 0, this.#carry);
        this.#buf = bigger;
      }
      const sync = this.#sync?.enabled === true;
      const want = sync ? Math.min(SYNC_READ_BYTES, this.#buf.length - this.#carry) : this.#buf.length - this.#carry;
      const bytesRead = sync ? this.#readSync(file, want) : (await file.handle.read(this.#buf, this.#carry, want, this.offset)).bytesRead;
      if (bytesRead === 0) break;
      total += bytesRead;
      this.offset += bytesRead;
      const end = this.#carry + bytesRead;
      const used = this.#hooks.entries(this.#buf, 0, end);
      this.#buf.copyWithin(0, used, end);
      this.#carry = end - used;
      await this.#hooks.drain();
      // A short read is the end of a regular file for now: no second read to find that out.
      if (bytesRead < want) break;
    }
    return total;
  }

  /** A read on the main thread (chunk-reader.ts: a page-cache read costs less than a hand-off to the thread pool), timed. */
  #readSync(file: OpenFile, want: number): number {
    const t0 = performance.now();
    const n = readSync(file.handle.fd, this.#buf, this.#carry, want, this.offset);
    (this.#sync as SyncReads).tookMs(performance.now() - t0, file.path);
    return n;
  }

  async #close(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    this.#done.add(file.ino);
    // An entry cut by the end of a file is not continued by the next one.
    this.#carry = 0;
    await file.handle.close().catch(() => undefined);
  }

  /** Looks at the file at once (the container stopped: no more writes will wake the watch). */
  wake(): void {
    this.#wake?.();
  }

  /** Waits for a change in the container's directory, or IDLE_CHECK_MS. */
  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.#wake !== done) return;
        clearTimeout(timer);
        this.#signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, IDLE_CHECK_MS);
      this.#signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
      try {
        // Kept while the file stays quiet (run() drops it once a read finds data).
        this.#watcher ??= watch(dirname(this.path), { persistent: false }, () => this.#wake?.()).on('error', () => {
          this.#stopWatching();
          this.#wake?.();
        });
      } catch {
        // Not watchable (no read access to the directory): the timer alone.
      }
      // Written between the last look and the watch: no event will come for it.
      const ino = this.#file?.ino;
      void stat(this.path).then((info) => {
        if (info.ino !== ino || info.size > this.offset) this.#wake?.();
      }, () => this.#wake?.());
    });
  }

  #stopWatching(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
