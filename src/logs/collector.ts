/**
 * Log collection: discovered files → read by file descriptor in 1 MiB chunks → lines →
 * multiline events → ECS JSON → the bounded EventQueue, each event carrying its file's offset
 * tracker so the registry advances only on Logstash's ACK (at least once, end to end).
 * discovery.ts reports files; this module follows them (identity, rotation, truncation,
 * inactivity); read-pumps.ts runs read steps, file-budget.ts bounds open files, file-events.ts
 * queues events, deleted-files.ts handles files whose name vanished.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage, systemCode } from '../core/errors.ts';
import { repeat } from '../core/timers.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { EventQueue } from '../pipeline/event-queue.ts';
import type { ChunkReader } from './chunk-reader.ts';
import { DeletedFiles } from './deleted-files.ts';
import { LogDiscovery } from './discovery.ts';
import type { DiscoveredFile, FsPath } from './discovery.ts';
import type { EventEncoder } from './event-encoder.ts';
import { OpenFileBudget } from './file-budget.ts';
import { FileEventWriter, type FileEventMetrics, type FileEventWriterOptions } from './file-events.ts';
import { parseLogFileName } from './filename.ts';
import { ReadPumps } from './read-pumps.ts';
import { identityKey, resumePoint, sameContent } from './identity.ts';
import type { LogFileRegistry } from './registry.ts';
import { TrackedFile } from './tracked-file.ts';
import type { LineSettings, LogFileView } from './tracked-file.ts';

export interface LogCollectorMetrics extends FileEventMetrics {
  unparsedName(): void;
  fileEvent(event: 'opened' | 'closed' | 'truncated' | 'rotated' | 'deleted' | 'released'): void;
  bytesLost(n: number): void;
  /** Saved offsets dropped because their file no longer exists. */
  offsetsExpired(n: number): void;
}

export interface LogCollectorOptions extends Pick<FileEventWriterOptions, 'exceptions' | 'workers'> {
  roots: readonly string[];
  include: readonly string[];
  exclude: readonly string[];
  startAt: 'beginning' | 'end';
  closeInactiveMs: number;
  maxOpenFiles: number;
  rescanIntervalMs: number;
  releaseDeletedAfterMs: number;
  envCodes: readonly string[];
  lines: LineSettings;
  queue: EventQueue;
  registry: LogFileRegistry;
  encoder: EventEncoder;
  inventory: ContainerInventory;
  logger: Logger;
  metrics?: LogCollectorMetrics;
}

export class LogCollector {
  #o: LogCollectorOptions;
  readonly #files = new Map<string, TrackedFile>();
  readonly #budget: OpenFileBudget;
  readonly #events: FileEventWriter;
  readonly #deleted: DeletedFiles;
  /** Paths whose first observation is being handled. */
  readonly #tracking = new Set<string>();
  readonly #discovery: LogDiscovery;
  readonly #pumps: ReadPumps;
  #stopSweeps: (() => void) | undefined;
  #stopped = false;

  constructor(options: LogCollectorOptions) {
    this.#o = options;
    this.#pumps = new ReadPumps((file, reader) => this.#readStep(file, reader), options.logger, options.workers?.pool.max ?? 0);
    this.#budget = new OpenFileBudget(options.maxOpenFiles, (file) => this.#pumps.schedule(file));
    this.#events = new FileEventWriter({
      queue: options.queue,
      encoder: options.encoder,
      inventory: options.inventory,
      ...(options.metrics ? { metrics: options.metrics } : {}), ...(options.exceptions ? { exceptions: options.exceptions } : {}), ...(options.workers ? { workers: options.workers } : {}),
      logger: options.logger, stopped: () => this.#stopped,
    });
    this.#deleted = new DeletedFiles({
      releaseAfterMs: options.releaseDeletedAfterMs,
      logger: options.logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      schedule: (file) => this.#pumps.schedule(file),
      release: (file) => this.#close(file, 'released'),
    });
    this.#discovery = new LogDiscovery({
      roots: options.roots,
      include: options.include,
      exclude: options.exclude,
      rescanIntervalMs: options.rescanIntervalMs,
      logger: options.logger,
      onScan: (files, initial, readRoots) => void this.#onScan(files, initial, readRoots),
      onChange: (path, ioPath) => this.#onChange(path, ioPath),
    });
  }

  get openFiles(): number {
    return this.#budget.open;
  }

  get trackedFiles(): number {
    return this.#files.size;
  }

  get discovery(): Pick<LogDiscovery, 'watchedDirectories' | 'roots'> {
    return this.#discovery;
  }

  async start(): Promise<void> {
    this.#pumps.start();
    await this.#discovery.start();
    this.#stopSweeps = repeat(1000, () => void this.#sweep());
  }

  /** Stops reading; partial lines and pending multiline events stay unshipped (read again after restart). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopSweeps?.();
    await this.#discovery.stop();
    await this.#pumps.stop();
    for (const f of this.#files.values()) await this.#close(f, f.state === 'deleted' ? 'deleted' : 'closed');
  }

  /** New roots and globs (a reload): files no longer taken are let go (their offsets expire as a deleted file's do). */
  async reconfigure(next: { roots: readonly string[]; include: readonly string[]; exclude: readonly string[] }): Promise<void> {
    this.#o = { ...this.#o, ...next };
    const scanned = this.#discovery.reconfigure(next);
    for (const file of [...this.#files.values()].filter((f) => !this.#discovery.takes(f.path))) {
      await file.exclusive(() => this.#close(file, 'closed'));
      file.leaveRemote();
      this.#files.delete(file.key);
      this.#o.logger.info({ path: file.path }, 'log file no longer collected (configuration reloaded)');
    }
    await scanned;
  }

  /** Path and lag of every followed file, without building views (runs every second). */
  *lags(): Iterable<[string, number]> {
    for (const f of this.#files.values()) yield [f.path, f.lagBytes];
  }

  files(): LogFileView[] {
    return [...this.#files.values()].map((f) => f.view());
  }

  async #onScan(found: DiscoveredFile[], initial: boolean, readRoots: ReadonlySet<string>): Promise<void> {
    const seen = new Set<string>();
    for (const { path, ioPath, stats } of found) {
      seen.add(identityKey(stats.dev, stats.ino));
      await this.#observe(path, ioPath, stats, initial);
    }
    // A closed file that vanished (deleted while nobody held it open) is forgotten once shipped;
    // otherwise a new file that reuses its inode would be taken for it.
    for (const file of [...this.#files.values()]) {
      if (!seen.has(file.key) && file.handle) file.suspectDeleted = true;
      if (seen.has(file.key) || file.handle || file.state !== 'closed') continue;
      const st = await stat(file.currentIoPath).catch(() => undefined);
      if (st && identityKey(st.dev, st.ino) === file.key) continue;
      file.state = 'deleted';
      this.#forgetWhenAcked(file);
    }
    if (!this.#stopped) this.#expireOffsets(seen, readRoots);
  }

  /** Saved offsets of files that no longer exist are dropped (see LogFileRegistry.expireMissing). */
  #expireOffsets(seen: ReadonlySet<string>, readRoots: ReadonlySet<string>): void {
    const unreadable = this.#o.roots.filter((root) => !readRoots.has(root)).map((root) => resolve(root));
    const expired = this.#o.registry.expireMissing((key) => seen.has(key) || this.#files.has(key), unreadable);
    if (expired === 0) return;
    this.#o.metrics?.offsetsExpired(expired);
    this.#o.logger.info({ expired, remaining: this.#o.registry.size }, 'forgot the saved offsets of log files that no longer exist');
  }

  /** A watch event names `path`: stat it synchronously (microseconds; async costs a thread-pool round trip per written line). */
  #onChange(path: string, ioPath: FsPath): void {
    if (this.#stopped) return;
    let stats: Stats;
    try {
      stats = statSync(ioPath);
    } catch {
      // Deleted or renamed away: the sweep checks the open handle's link count (once a second,
      // only for suspects — not an fstat per open file per second).
      for (const f of this.#files.values()) if (f.currentPath === path && f.handle) f.suspectDeleted = true;
      return;
    }
    if (!stats.isFile()) return;
    if (this.#files.has(identityKey(stats.dev, stats.ino)) || this.#discovery.matches(path)) void this.#observe(path, ioPath, stats, false);
  }

  /** A (matching, or already followed) file was seen with these stats. */
  async #observe(path: string, ioPath: FsPath, stats: Stats, initial: boolean): Promise<void> {
    if (this.#stopped) return;
    const key = identityKey(stats.dev, stats.ino);
    const known = this.#files.get(key);
    if (known) {
      const renamed = known.currentPath !== path;
      if (renamed) {
        known.currentPath = path;
        known.currentIoPath = ioPath;
        this.#o.metrics?.fileEvent('rotated');
      }
      // Shrunk (truncation) or renamed (or a new file on the inode): the read step compares size and
      // fingerprint (also if the file regrew meanwhile), starting over if need be. Grown: read soon.
      if (stats.size < known.size || renamed) {
        known.contentCheckedAt = 0;
        this.#pumps.schedule(known);
      } else if (stats.size !== known.readOffset) this.#pumps.scheduleChanged(known);
      known.size = known.sizeHint = stats.size;
      return;
    }
    await this.#track(path, ioPath, initial);
  }

  async #track(path: string, ioPath: FsPath, initial: boolean): Promise<void> {
    // A watch event and a rescan can report the same new file at once: one of them tracks it.
    if (this.#tracking.has(path)) return;
    this.#tracking.add(path);
    try {
      await this.#trackUnguarded(path, ioPath, initial);
    } finally {
      this.#tracking.delete(path);
    }
  }

  async #trackUnguarded(path: string, ioPath: FsPath, initial: boolean): Promise<void> {
    let handle;
    try {
      handle = await open(ioPath, 'r');
    } catch (err) {
      this.#o.logger.warn({ path, err: systemCode(err) ?? errorMessage(err) }, 'cannot open log file');
      return;
    }
    try {
      const now = await handle.stat();
      const key = identityKey(now.dev, now.ino);
      if (this.#files.has(key)) return; // known under another name already
      const firstSight = initial && this.#o.startAt === 'end' ? now.size : 0;
      const { offset, identity } = await resumePoint(handle, now, this.#o.registry.get(now.dev, now.ino), firstSight);
      const name = parseLogFileName(path, { envCodes: this.#o.envCodes });
      if (!name.ok) {
        this.#o.metrics?.unparsedName();
        this.#o.logger.warn({ path, reason: name.reason }, 'log file name does not follow the convention; shipping it tagged _filename_unparsed');
      }
      const file = new TrackedFile({
        identity,
        key,
        path,
        ioPath,
        name,
        offset,
        size: now.size,
        settings: this.#o.lines,
        onCommit: (f, committed) => this.#o.registry.commit(f.saved, committed),
        onIdentity: (f, offset) => void (f.saved = this.#o.registry.put({ ...f.identity, path: f.path, offset, updatedAt: Date.now() })),
      });
      file.saved = this.#o.registry.put({ ...file.identity, path, offset, updatedAt: Date.now() });
      this.#files.set(key, file);
      this.#o.logger.debug({ path, offset, size: now.size }, 'following log file');
      if (await this.#acquireSlot()) {
        this.#adopt(file, handle);
        handle = undefined; // owned by the file now
        this.#pumps.schedule(file);
      } else {
        // At max_open_files: it is reopened when a handle is released.
        this.#budget.wait(file);
      }
    } finally {
      await handle?.close();
    }
  }

  /** A slot under max_open_files, closing the longest-idle file for it if need be. */
  #acquireSlot(): Promise<boolean> {
    return this.#budget.acquire(this.#files.values(), (idle) => this.#close(idle, 'closed'));
  }

  /** Gives a reserved slot's file its handle. */
  #adopt(file: TrackedFile, handle: FileHandle): void {
    file.handle = handle;
    file.contentCheckedAt = 0;
    file.state = 'open';
    file.lastActivityAt = Date.now();
    this.#o.metrics?.fileEvent('opened');
  }

  async #close(file: TrackedFile, state: 'closed' | 'deleted' | 'released'): Promise<void> {
    const handle = file.handle;
    file.handle = undefined;
    file.state = state;
    if (!handle) return;
    this.#o.metrics?.fileEvent(state === 'closed' ? 'closed' : state);
    await handle.close().catch(() => undefined);
    this.#budget.release();
  }

  #truncated(file: TrackedFile): void {
    this.#o.logger.info({ path: file.currentPath, readOffset: file.readOffset, size: file.size }, 'log file truncated or replaced; reading it again from the start');
    this.#o.metrics?.fileEvent('truncated');
    file.startOver();
    this.#pumps.schedule(file);
  }

  /** Reads one chunk into events; true when there is more to read right away. */
  async #readStep(file: TrackedFile, reader: ChunkReader): Promise<boolean> {
    const handle = file.handle ?? ((await this.#reopen(file)) ? file.handle : undefined);
    if (!handle) return false;
    const st = file.takeSizeHint() ?? (await handle.stat());
    file.size = st.size;
    // Shorter than what was read, or new first bytes (copytruncate and rewritten past our offset
    // before we looked): the content was replaced, read it from the start.
    const now = Date.now();
    if (st.size < file.readOffset || ((reader.synchronous || file.contentCheckDue(now)) && !(await sameContent(handle, st.size, file.identity, reader.readAt)))) {
      this.#truncated(file);
      return true;
    }
    this.#events.chooseLane(file, st.size - file.readOffset);
    await file.widenFingerprint(handle, st.size);
    const { chunk, bytesRead } = await reader.read(handle, file.readOffset, st.size - file.readOffset, file.currentPath);
    if (bytesRead > 0) {
      file.state = 'open';
      file.lastActivityAt = now;
      const start = file.readOffset;
      file.readOffset += bytesRead;
      file.size = Math.max(file.size, file.readOffset);
      // true: the file moved thread and starts over at its resume point (file-events.ts)
      if ((await this.#events.lines(file, chunk.subarray(0, bytesRead), start, now)) || bytesRead === chunk.length) return true;
    }
    // At its end (for now).
    if (st.nlink === 0 && file.readOffset >= st.size) {
      // Deleted and read to its end: nothing more will come under any name, so a pending
      // multiline event is complete.
      if (await this.#events.flushJoiner(file, false)) return true; // rewound: read the rest again first
      await this.#close(file, 'deleted');
      this.#forgetWhenAcked(file);
    } else if (this.#budget.contended) {
      // Others wait for a handle: give this one up (reopened when it grows).
      await this.#close(file, 'closed');
    } else file.state = 'idle';
    return false;
  }

  /** Reopens a closed file that grew (still the same dev+inode). */
  async #reopen(file: TrackedFile): Promise<boolean> {
    if (!(await this.#acquireSlot())) {
      // Every handle is busy: read it when one is released.
      this.#budget.wait(file);
      return false;
    }
    let handle;
    try {
      handle = await open(file.currentIoPath, 'r');
      const st = await handle.stat();
      if (identityKey(st.dev, st.ino) !== file.key) {
        await handle.close();
        this.#budget.release();
        return false;
      }
      // Content replaced meanwhile? The read step compares the fingerprint.
      this.#adopt(file, handle);
      return true;
    } catch (err) {
      if (handle) await handle.close().catch(() => undefined);
      this.#budget.release();
      this.#o.logger.debug({ path: file.currentPath, err: systemCode(err) ?? errorMessage(err) }, 'cannot reopen log file');
      return false;
    }
  }

  #forgetWhenAcked(file: TrackedFile): void {
    if (file.ackedOffset >= file.readOffset || file.state === 'released') {
      file.leaveRemote();
      this.#files.delete(file.key);
      this.#o.registry.remove(file.identity.dev, file.identity.ino);
    }
  }

  /** Once a second: close inactive files, flush due multiline events, release held deleted files, forget shipped deleted ones. */
  async #sweep(): Promise<void> {
    const now = Date.now();
    for (const file of [...this.#files.values()]) {
      // A pending multiline event is flushed on timeout only while the file is idle at its
      // end: a read step paused by backpressure must not split a stack trace.
      const dueAt = file.joinerDueAt;
      if (dueAt !== undefined && dueAt <= now && !file.scheduled && (await file.exclusive(() => this.#events.flushJoiner(file, true)))) this.#pumps.schedule(file);
      if (file.state === 'deleted' || file.state === 'released') {
        this.#forgetWhenAcked(file);
        continue;
      }
      if (!file.handle) continue;
      if (file.state === 'idle' && !file.scheduled && now - file.lastActivityAt > this.#o.closeInactiveMs) {
        await this.#close(file, 'closed');
        continue;
      }
      if (file.suspectDeleted) await this.#deleted.check(file, now);
    }
  }
}
