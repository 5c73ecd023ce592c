/**
 * One log file as the collector follows it: its identity, where reading has got to, what
 * Logstash has acknowledged (through its OffsetTracker), its open handle (if any), and the
 * per-file line state (partial line, pending multiline event). Reading is by file descriptor at
 * explicit offsets, so a renamed or deleted file keeps being read to its end through the handle
 * it was opened with.
 */
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { ContainerRecord } from '../docker/types.ts';
import { OffsetTracker } from '../pipeline/offset-tracker.ts';
import type { FsPath } from './discovery.ts';
import type { EncodedPrefix } from './event-encoder.ts';
import type { LogFileMeta, LogFileNameResult } from './filename.ts';
import { FINGERPRINT_BYTES, fingerprint } from './identity.ts';
import type { FileIdentity } from './identity.ts';
import type { FileOffsetState } from './registry.ts';
import type { LineSplitter } from './line-splitter.ts';
import { newLineState, resumeOffset } from './line-events.ts';
import type { MultilineJoiner } from './multiline.ts';
import type { LineWorker } from './workers/line-workers.ts';

/** A file whose lines are split, joined and encoded on a line worker (file-events.ts moves it there and back). */
export interface RemoteLines {
  worker: LineWorker;
  /** Its id on the worker. */
  id: number;
  /** Set until the first step: the worker's line state starts at this offset. */
  reset: number | undefined;
  /** The prefix last sent (fields are sent again when it changes). */
  sentPrefix: EncodedPrefix | undefined;
  /** From the last reply: where the line state could start over, and when a pending multiline event is due (-1: none). */
  resume: number;
  dueAt: number;
  /** Drops its line state on the worker. */
  leave: () => void;
}

export type TrackedFileState = 'open' | 'idle' | 'closed' | 'deleted' | 'released';

export interface LineSettings {
  maxLineBytes: number;
  multiline: { pattern: string | null; negate: boolean; match: 'after' | 'before'; maxLines: number; timeoutMs: number };
}

/** What /v1/logs shows for one file. */
export interface LogFileView {
  path: string;
  currentPath: string;
  dataset: 'app' | 'tracing';
  metadata: Record<string, string> | null;
  unparsedReason: string | null;
  identity: { dev: number; ino: number; fingerprintBytes: number };
  state: string;
  readOffset: number;
  ackedOffset: number;
  size: number;
  lagBytes: number;
  lines: number;
  container: { id: string; name: string } | null;
}

/** How often a followed file's first bytes are compared with its fingerprint while it is read. */
const CONTENT_CHECK_MS = 1000;

export class TrackedFile {
  readonly key: string;
  /** Mutable: the fingerprint is widened (up to FINGERPRINT_BYTES) as a short file grows. */
  identity: FileIdentity;
  /** Path the file was found at (metadata comes from this name); `currentPath` follows renames. */
  readonly path: string;
  currentPath: string;
  /** `currentPath` as open() takes it: the raw bytes of a name that is not valid UTF-8. */
  currentIoPath: FsPath;
  readonly meta: LogFileMeta | null;
  readonly unparsedReason: string | null;
  readonly dataset: 'app' | 'tracing';
  state: TrackedFileState = 'closed';
  handle: FileHandle | undefined;
  /** Next byte to read. */
  readOffset: number;
  /** Size at the last stat/read. */
  size: number;
  /** Size from a watch event's or rescan's stat since the last read step (see takeSizeHint). */
  sizeHint: number | undefined;
  lastActivityAt = Date.now();
  deletedAt: number | undefined;
  /** Its name vanished (watch event or rescan): the sweep checks whether it was deleted. */
  suspectDeleted = false;
  /** Queued for (or in) a read step. */
  scheduled = false;
  /** A watch event reported a change while it was queued for or in a read step (read-pumps.ts). */
  changedDuringStep = false;
  /** Waiting to be queued: it changed soon after its last read step (read-pumps.ts). */
  coalescing = false;
  /** performance.now() of its last read step. */
  readAt = 0;
  /** Date.now() of the last comparison of its first bytes with the fingerprint (0 = compare at the next read). */
  contentCheckedAt = 0;
  tracker: OffsetTracker;
  /** Its entry in the offset registry (set when it is put there): acknowledgements update it in place. */
  saved!: FileOffsetState;
  splitter: LineSplitter;
  joiner: MultilineJoiner;
  /** Set while a line worker holds its line state (then `splitter` and `joiner` are idle). */
  remote: RemoteLines | undefined;
  /** performance.now() of the last read step that found a backlog (file-events.ts). */
  busyAt = 0;
  /** Busy, and dealt to the main thread's own lane (file-events.ts). */
  busyHere = false;
  linesRead = 0;
  /** Cached container lookup (by inventory version) and encoded prefix. */
  container: { version: number; record: ContainerRecord | undefined; prefixKey: string } | undefined;
  prefix: EncodedPrefix | undefined;
  readonly #settings: LineSettings;
  #exclusive: Promise<unknown> = Promise.resolve();
  readonly #onCommit: (file: TrackedFile, offset: number) => void;
  readonly #onIdentity: (file: TrackedFile, offset: number) => void;

  constructor(options: {
    identity: FileIdentity;
    key: string;
    path: string;
    ioPath: FsPath;
    /** What the name says (metadata), or why it does not follow the convention. */
    name: LogFileNameResult;
    offset: number;
    size: number;
    settings: LineSettings;
    onCommit: (file: TrackedFile, offset: number) => void;
    /** The identity changed (fingerprint widened, content replaced): to be saved with `offset`. */
    onIdentity: (file: TrackedFile, offset: number) => void;
  }) {
    this.key = options.key;
    this.identity = options.identity;
    this.path = options.path;
    this.currentPath = options.path;
    this.currentIoPath = options.ioPath;
    const name = options.name;
    this.meta = name.ok ? name.meta : null;
    this.unparsedReason = name.ok ? null : name.reason;
    // An unparsed name still tells tracing files by their directory.
    this.dataset = name.ok ? name.meta.dataset : basename(dirname(options.path)) === 'tracing' ? 'tracing' : 'app';
    this.readOffset = options.offset;
    this.size = options.size;
    this.#settings = options.settings;
    this.#onCommit = options.onCommit;
    this.#onIdentity = options.onIdentity;
    this.tracker = this.#newTracker(options.offset);
    ({ splitter: this.splitter, joiner: this.joiner } = newLineState(options.settings, options.offset));
  }

  /**
   * Runs `fn` after every earlier exclusive step of this file: events must be registered with
   * the OffsetTracker in file order, so a read step and a multiline timeout flush never interleave.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#exclusive.then(fn, fn);
    this.#exclusive = run.catch(() => undefined);
    return run;
  }

  /** Acknowledged offset: everything before it reached Logstash. */
  get ackedOffset(): number {
    return this.tracker.committed;
  }

  /** Bytes not yet acknowledged. */
  get lagBytes(): number {
    return Math.max(0, this.size - this.ackedOffset);
  }

  view(): LogFileView {
    return {
      path: this.path,
      currentPath: this.currentPath,
      dataset: this.dataset,
      metadata: this.meta ? { ...this.meta } : null,
      unparsedReason: this.unparsedReason,
      identity: { dev: this.identity.dev, ino: this.identity.ino, fingerprintBytes: this.identity.fpLen },
      state: this.state,
      readOffset: this.readOffset,
      ackedOffset: this.ackedOffset,
      size: this.size,
      lagBytes: this.lagBytes,
      lines: this.linesRead,
      container: this.container?.record ? { id: this.container.record.id, name: this.container.record.name } : null,
    };
  }

  /**
   * Starts over at `offset` (truncation: 0; reopen after a partial read: the acknowledged
   * offset). Events of the old content still in flight no longer move this file's offset.
   */
  restartAt(offset: number): void {
    this.tracker.detach();
    this.tracker = this.#newTracker(offset);
    this.resetLines(offset);
  }

  /**
   * Fresh line state (on this thread) from `offset`, which must be where no event is half read:
   * the start of the partial line or pending multiline event, or any offset after a restart.
   * Events before it stay registered with the tracker.
   */
  resetLines(offset: number): void {
    this.leaveRemote();
    this.readOffset = offset;
    ({ splitter: this.splitter, joiner: this.joiner } = newLineState(this.#settings, offset));
  }

  /** Where the line state could start over without losing or repeating an event (on whichever thread holds it). */
  get linesResume(): number {
    if (this.remote) return this.remote.resume;
    return resumeOffset(this);
  }

  /** When the pending multiline event is due; undefined when none is pending. */
  get joinerDueAt(): number | undefined {
    if (this.remote) return this.remote.dueAt >= 0 ? this.remote.dueAt : undefined;
    return this.joiner.dueAt;
  }

  /** Drops the line state a worker holds for it, if any (the file is forgotten, restarted or back on this thread). */
  leaveRemote(): void {
    this.remote?.leave();
    this.remote = undefined;
  }

  /**
   * A short file grew: its fingerprint covers more bytes now (up to FINGERPRINT_BYTES), which
   * tells it apart from a new file reusing the inode more surely.
   */
  /**
   * What a read step can use instead of an fstat (a thread-pool round trip per step, at a trickle
   * one per few lines): the stat of the watch event that scheduled it. Not when the reads have
   * passed that size (it was taken before they ran, so it is no sign of truncation): then the step
   * asks the handle. The link count is 1: the stat found the file under its name.
   */
  takeSizeHint(): { size: number; nlink: number } | undefined {
    const size = this.sizeHint;
    this.sizeHint = undefined;
    return size !== undefined && size >= this.readOffset ? { size, nlink: 1 } : undefined;
  }

  async widenFingerprint(handle: FileHandle, size: number): Promise<void> {
    if (this.identity.fpLen >= FINGERPRINT_BYTES || size <= this.identity.fpLen) return;
    this.identity = { ...this.identity, ...(await fingerprint(handle, Math.min(size, FINGERPRINT_BYTES))) };
    this.#onIdentity(this, this.ackedOffset);
  }

  /** Truncated or replaced: read again from 0; the old fingerprint described the old content, the next read takes a new one. */
  startOver(): void {
    this.restartAt(0);
    this.identity = { ...this.identity, fpLen: 0, fp: '' };
    this.#onIdentity(this, 0);
  }

  /**
   * Whether to compare the first bytes with the fingerprint on this read step: at most once a
   * second (and at once after a rename or reopen), not on every step — a file written line by
   * line is read hundreds of times a second.
   */
  contentCheckDue(now: number): boolean {
    if (now - this.contentCheckedAt < CONTENT_CHECK_MS) return false;
    this.contentCheckedAt = now;
    return true;
  }

  #newTracker(offset: number): OffsetTracker {
    const tracker: OffsetTracker = new OffsetTracker(offset, (committed) => this.#onCommit(this, committed));
    return tracker;
  }
}
