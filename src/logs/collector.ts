/**
 * Log collection: discovered files → read by file descriptor in 1 MiB chunks → lines →
 * multiline events → ECS JSON → the bounded EventQueue, each event carrying its file's offset
 * tracker so the registry advances only on Logstash's ACK (at least once, end to end).
 *
 * A few read "pumps" take files round-robin, one chunk at a time: reading is CPU-bound on one
 * thread, so more concurrency buys nothing, and it bounds memory to a chunk per pump. When the
 * queue is full a pump waits, and with it all reading (backpressure).
 */
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage, systemCode } from '../core/errors.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { EventQueue } from '../pipeline/event-queue.ts';
import { LogDiscovery } from './discovery.ts';
import type { DiscoveredFile, FsPath } from './discovery.ts';
import type { EncodedPrefix, EventEncoder } from './event-encoder.ts';
import type { JoinedEvent } from './multiline.ts';
import { FILENAME_UNPARSED_TAG, labelsForLogFile, parseLogFileName } from './filename.ts';
import { FINGERPRINT_BYTES, fingerprint, identityKey, sameContent } from './identity.ts';
import type { LogFileRegistry } from './registry.ts';
import { TrackedFile } from './tracked-file.ts';
import type { LineSettings } from './tracked-file.ts';

const CHUNK_BYTES = 1024 * 1024;
const PUMPS = 2;

export interface LogCollectorMetrics {
  linesRead(n: number, bytes: number): void;
  eventsQueued(n: number): void;
  unparsedName(): void;
  truncatedLine(): void;
  fileEvent(event: 'opened' | 'closed' | 'truncated' | 'rotated' | 'deleted' | 'released'): void;
  bytesLost(n: number): void;
  /** Saved offsets dropped because their file no longer exists. */
  offsetsExpired(n: number): void;
}

export interface LogCollectorOptions {
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

export class LogCollector {
  readonly #o: LogCollectorOptions;
  readonly #files = new Map<string, TrackedFile>();
  readonly #ready: TrackedFile[] = [];
  /** Files to read that found every handle (max_open_files) taken. */
  readonly #waitingForHandle: TrackedFile[] = [];
  /** Paths whose first observation is being handled. */
  readonly #tracking = new Set<string>();
  readonly #discovery: LogDiscovery;
  /** Pumps waiting for a file to read. */
  #idlePumps: (() => void)[] = [];
  #pumps: Promise<void>[] = [];
  #sweepTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #openHandles = 0;

  constructor(options: LogCollectorOptions) {
    this.#o = options;
    this.#discovery = new LogDiscovery({
      roots: options.roots,
      include: options.include,
      exclude: options.exclude,
      rescanIntervalMs: options.rescanIntervalMs,
      logger: options.logger,
      onScan: (files, initial, readRoots) => void this.#onScan(files, initial, readRoots),
      onChange: (path) => void this.#onChange(path),
    });
  }

  get openFiles(): number {
    return this.#openHandles;
  }

  get trackedFiles(): number {
    return this.#files.size;
  }

  get watchedDirectories(): number {
    return this.#discovery.watchedDirectories;
  }

  async start(): Promise<void> {
    for (let i = 0; i < PUMPS; i++) this.#pumps.push(this.#pump());
    await this.#discovery.start();
    this.#sweepTimer = setInterval(() => void this.#sweep(), 1000);
  }

  /** Stops reading; partial lines and pending multiline events stay unshipped (read again after restart). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweepTimer);
    await this.#discovery.stop();
    for (const wake of this.#idlePumps.splice(0)) wake();
    await Promise.all(this.#pumps);
    for (const f of this.#files.values()) await this.#close(f, f.state === 'deleted' ? 'deleted' : 'closed');
  }

  /** Path and lag of every followed file, without building views (runs every second). */
  lags(): Iterable<[string, number]> {
    const files = this.#files.values();
    return (function* () {
      for (const f of files) yield [f.path, Math.max(0, f.size - f.ackedOffset)] as [string, number];
    })();
  }

  files(): LogFileView[] {
    return [...this.#files.values()].map((f) => ({
      path: f.path,
      currentPath: f.currentPath,
      dataset: f.dataset,
      metadata: f.meta ? { ...f.meta } : null,
      unparsedReason: f.unparsedReason,
      identity: { dev: f.identity.dev, ino: f.identity.ino, fingerprintBytes: f.identity.fpLen },
      state: f.state,
      readOffset: f.readOffset,
      ackedOffset: f.ackedOffset,
      size: f.size,
      lagBytes: Math.max(0, f.size - f.ackedOffset),
      lines: f.linesRead,
      container: f.container?.record ? { id: f.container.record.id, name: f.container.record.name } : null,
    }));
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

  /**
   * Drops the saved offsets of files that no longer exist — deleted while the agent was down, or
   * gone for good — after a scan of their directory (Filebeat's clean_removed, Vector's
   * remove_expired): a host with hourly files would otherwise grow the registry without bound.
   * Only for directories this scan could read (an unmounted root must not wipe the registry) and
   * for directories no longer configured (no scan will ever find those files again).
   */
  #expireOffsets(seen: ReadonlySet<string>, readRoots: ReadonlySet<string>): void {
    const registry = this.#o.registry;
    const unreadable = new Set(this.#o.roots.filter((root) => !readRoots.has(root)).map((root) => resolve(root)));
    let expired = 0;
    for (const entry of [...registry.entries()]) {
      const key = identityKey(entry.dev, entry.ino);
      if (seen.has(key) || this.#files.has(key) || unreadable.has(dirname(entry.path))) continue;
      registry.remove(entry.dev, entry.ino);
      expired++;
    }
    if (expired === 0) return;
    this.#o.metrics?.offsetsExpired(expired);
    this.#o.logger.info({ expired, remaining: registry.size }, 'forgot the saved offsets of log files that no longer exist');
  }

  async #onChange(path: string): Promise<void> {
    if (this.#stopped) return;
    let stats: Stats;
    try {
      stats = await stat(path);
    } catch {
      // Deleted or renamed away: the sweep checks the open handle's link count (once a second,
      // only for suspects — not an fstat per open file per second).
      for (const f of this.#files.values()) if (f.currentPath === path && f.handle) f.suspectDeleted = true;
      return;
    }
    if (!stats.isFile()) return;
    const known = this.#files.get(identityKey(stats.dev, stats.ino));
    if (known) await this.#observe(path, path, stats, false);
    else if (this.#discovery.matches(path)) await this.#observe(path, path, stats, false);
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
      known.size = stats.size;
      // Grown, shrunk (truncation) or under a new name (a rename, or a new file reusing the
      // inode): the read step compares size and fingerprint and starts over if needed.
      if (stats.size !== known.readOffset || renamed) this.#schedule(known);
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
      const saved = this.#o.registry.get(now.dev, now.ino);
      let offset: number;
      let identity;
      if (saved && (await sameContent(handle, now.size, saved))) {
        offset = saved.offset <= now.size ? saved.offset : 0;
        identity = saved.fpLen < FINGERPRINT_BYTES && now.size > saved.fpLen ? { dev: now.dev, ino: now.ino, ...(await fingerprint(handle, Math.min(now.size, FINGERPRINT_BYTES))) } : saved;
      } else {
        // First sight of this content (an inode reused by a new file counts as first sight).
        offset = initial && this.#o.startAt === 'end' ? now.size : 0;
        identity = { dev: now.dev, ino: now.ino, ...(await fingerprint(handle, Math.min(now.size, FINGERPRINT_BYTES))) };
      }
      const parsed = parseLogFileName(path, { envCodes: this.#o.envCodes });
      if (!parsed.ok) {
        this.#o.metrics?.unparsedName();
        this.#o.logger.warn({ path, reason: parsed.reason }, 'log file name does not follow the convention; shipping it tagged _filename_unparsed');
      }
      const file = new TrackedFile({
        identity: { dev: identity.dev, ino: identity.ino, fpLen: identity.fpLen, fp: identity.fp },
        key,
        path,
        ioPath,
        meta: parsed.ok ? parsed.meta : null,
        unparsedReason: parsed.ok ? null : parsed.reason,
        dataset: parsed.ok ? parsed.meta.dataset : basename(dirname(path)) === 'tracing' ? 'tracing' : 'app',
        offset,
        size: now.size,
        settings: this.#o.lines,
        onCommit: (f, committed) => this.#o.registry.setOffset(f.identity.dev, f.identity.ino, committed),
      });
      this.#o.registry.put({ ...file.identity, path, offset, updatedAt: Date.now() });
      this.#files.set(key, file);
      this.#o.logger.debug({ path, offset, size: now.size }, 'following log file');
      if (this.#reserveHandle() || ((await this.#closeOneIdle()) && this.#reserveHandle())) {
        this.#adopt(file, handle);
        handle = undefined; // owned by the file now
        this.#schedule(file);
      } else {
        // At max_open_files: it is reopened when a handle is released.
        this.#waitingForHandle.push(file);
      }
    } finally {
      await handle?.close();
    }
  }

  /** Takes one of max_open_files slots, synchronously (no await between check and count). */
  #reserveHandle(): boolean {
    if (this.#openHandles >= this.#o.maxOpenFiles) return false;
    this.#openHandles++;
    return true;
  }

  #releaseHandle(): void {
    this.#openHandles--;
    const next = this.#waitingForHandle.shift();
    if (next) this.#schedule(next);
  }

  /** Gives a reserved slot's file its handle. */
  #adopt(file: TrackedFile, handle: FileHandle): void {
    file.handle = handle;
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
    this.#releaseHandle();
  }

  async #widenFingerprint(file: TrackedFile, handle: FileHandle, size: number): Promise<void> {
    const fp = await fingerprint(handle, Math.min(size, FINGERPRINT_BYTES));
    file.identity = { ...file.identity, ...fp };
    this.#o.registry.put({ ...file.identity, path: file.path, offset: file.ackedOffset, updatedAt: Date.now() });
  }

  #truncated(file: TrackedFile): void {
    this.#o.logger.info({ path: file.currentPath, readOffset: file.readOffset, size: file.size }, 'log file truncated or replaced; reading it again from the start');
    this.#o.metrics?.fileEvent('truncated');
    file.restartAt(0);
    // The old fingerprint describes the old content; the next read step takes a new one.
    file.identity = { ...file.identity, fpLen: 0, fp: '' };
    this.#o.registry.put({ ...file.identity, path: file.path, offset: 0, updatedAt: Date.now() });
    this.#schedule(file);
  }

  #schedule(file: TrackedFile): void {
    if (file.scheduled || this.#stopped || file.state === 'released') return;
    file.scheduled = true;
    this.#ready.push(file);
    this.#idlePumps.shift()?.();
  }

  async #pump(): Promise<void> {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    while (!this.#stopped) {
      const file = this.#ready.shift();
      if (!file) {
        await new Promise<void>((resolve) => this.#idlePumps.push(resolve));
        continue;
      }
      let more = false;
      try {
        more = await file.exclusive(() => this.#readStep(file, buffer));
      } catch (err) {
        this.#o.logger.warn({ path: file.currentPath, err: errorMessage(err) }, 'error reading log file; it will be retried at the next rescan');
      }
      file.scheduled = false;
      if (more) this.#schedule(file);
    }
  }

  /** Reads one chunk into events; true when there is more to read right away. */
  async #readStep(file: TrackedFile, buffer: Buffer): Promise<boolean> {
    if (!file.handle) {
      if (!(await this.#reopen(file))) return false;
    }
    const handle = file.handle;
    if (!handle) return false;
    const st = await handle.stat();
    file.size = st.size;
    // Shorter than what was read, or new first bytes (copytruncate and rewritten past our
    // offset before we looked): the content was replaced, read it from the start.
    if (st.size < file.readOffset || !(await sameContent(handle, st.size, file.identity))) {
      this.#truncated(file);
      return true;
    }
    if (file.identity.fpLen < FINGERPRINT_BYTES && st.size > file.identity.fpLen) await this.#widenFingerprint(file, handle, st.size);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, file.readOffset);
    if (bytesRead > 0) {
      file.state = 'open';
      const now = Date.now();
      file.lastActivityAt = now;
      const chunk = buffer.subarray(0, bytesRead);
      const start = file.readOffset;
      file.readOffset += bytesRead;
      file.size = Math.max(file.size, file.readOffset);
      await this.#emitLines(file, chunk, start, now);
      if (bytesRead === buffer.length) return true;
    }
    // At its end (for now).
    if (st.nlink === 0 && file.readOffset >= st.size) {
      // Deleted and read to its end: nothing more will come under any name, so a pending
      // multiline event is complete.
      await this.#flushJoiner(file, false);
      await this.#close(file, 'deleted');
      this.#forgetWhenAcked(file);
    } else if (this.#waitingForHandle.length > 0) {
      // Others wait for a handle: give this one up (reopened when it grows).
      await this.#close(file, 'closed');
    } else {
      file.state = 'idle';
    }
    return false;
  }

  /** Collects a file's joined events as encoded bytes and end offsets, for #enqueue. */
  #eventSink(file: TrackedFile, now: number): { emit: (ev: JoinedEvent) => void; encoded: Buffer[]; ends: number[] } {
    const encoded: Buffer[] = [];
    const ends: number[] = [];
    const prefix = this.#prefixFor(file);
    const emit = (ev: JoinedEvent): void => {
      // Blank lines reach the joiner (they can belong to a multiline event) but are no event alone.
      if (ev.message.length === 0) return;
      if (ev.flags.includes('truncated')) this.#o.metrics?.truncatedLine();
      encoded.push(this.#o.encoder.encodeLine(prefix, ev.message, ev.start, now, ev.flags));
      ends.push(ev.end);
    };
    return { emit, encoded, ends };
  }

  async #emitLines(file: TrackedFile, chunk: Buffer, chunkOffset: number, now: number): Promise<void> {
    const { emit, encoded, ends } = this.#eventSink(file, now);
    let lines = 0;
    file.splitter.push(chunk, chunkOffset, (text, start, end, truncated) => {
      lines++;
      file.joiner.pushLine(text, start, end, truncated, now, emit);
    });
    file.linesRead += lines;
    this.#o.metrics?.linesRead(lines, chunk.length);
    await this.#enqueue(file, encoded, ends);
  }

  /** Emits the pending multiline event: when its timeout is due, or unconditionally. */
  async #flushJoiner(file: TrackedFile, onlyIfDue: boolean): Promise<void> {
    const now = Date.now();
    const { emit, encoded, ends } = this.#eventSink(file, now);
    if (onlyIfDue) file.joiner.flushIfDue(now, emit);
    else file.joiner.flush(emit);
    await this.#enqueue(file, encoded, ends);
  }

  async #enqueue(file: TrackedFile, encoded: Buffer[], ends: number[]): Promise<void> {
    const queue = this.#o.queue;
    const tracker = file.tracker;
    for (let i = 0; i < encoded.length; i++) {
      const seq = tracker.register(ends[i] as number);
      while (!queue.push(encoded[i] as Buffer, tracker, seq)) {
        if (this.#stopped) return;
        await queue.whenWritable();
      }
    }
    if (encoded.length > 0) this.#o.metrics?.eventsQueued(encoded.length);
  }

  #prefixFor(file: TrackedFile): EncodedPrefix {
    const inventory = this.#o.inventory;
    if (file.container?.version !== inventory.version || file.prefix === undefined) {
      const record = file.meta ? inventory.findByHostname(file.meta.hostname) : undefined;
      const prefixKey = record ? `${record.id}|${record.name}|${record.image}|${JSON.stringify(record.labels)}` : '';
      if (file.prefix === undefined || file.container?.prefixKey !== prefixKey) {
        const m = file.meta;
        file.prefix = this.#o.encoder.prefixFor({
          path: file.path,
          dataset: file.dataset,
          labels: m ? labelsForLogFile(m) : {},
          container: record
            ? { id: record.id, name: record.name, imageName: record.image, imageTag: record.imageTag, labels: record.labels }
            : null,
          tags: file.meta ? [] : [FILENAME_UNPARSED_TAG],
        });
      }
      file.container = { version: inventory.version, record, prefixKey };
    }
    return file.prefix;
  }

  /** Reopens a closed file that grew (still the same dev+inode). */
  async #reopen(file: TrackedFile): Promise<boolean> {
    if (!this.#reserveHandle() && !((await this.#closeOneIdle()) && this.#reserveHandle())) {
      // Every handle is busy: read it when one is released.
      if (!this.#waitingForHandle.includes(file)) this.#waitingForHandle.push(file);
      return false;
    }
    let handle;
    try {
      handle = await open(file.currentIoPath, 'r');
      const st = await handle.stat();
      if (identityKey(st.dev, st.ino) !== file.key) {
        await handle.close();
        this.#releaseHandle();
        return false;
      }
      // Content replaced meanwhile? The read step compares the fingerprint.
      this.#adopt(file, handle);
      return true;
    } catch (err) {
      if (handle) await handle.close().catch(() => undefined);
      this.#releaseHandle();
      this.#o.logger.debug({ path: file.currentPath, err: systemCode(err) ?? errorMessage(err) }, 'cannot reopen log file');
      return false;
    }
  }

  async #closeOneIdle(): Promise<boolean> {
    let oldest: TrackedFile | undefined;
    for (const f of this.#files.values()) {
      if (f.handle && f.state === 'idle' && !f.scheduled && (!oldest || f.lastActivityAt < oldest.lastActivityAt)) oldest = f;
    }
    if (!oldest) return false;
    await this.#close(oldest, 'closed');
    return true;
  }

  #forgetWhenAcked(file: TrackedFile): void {
    if (file.ackedOffset >= file.readOffset || file.state === 'released') {
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
      if (file.joiner.dueAt !== undefined && file.joiner.dueAt <= now && !file.scheduled) {
        await file.exclusive(() => this.#flushJoiner(file, true));
      }
      if (file.state === 'deleted' || file.state === 'released') {
        this.#forgetWhenAcked(file);
        continue;
      }
      if (!file.handle) continue;
      if (file.state === 'idle' && !file.scheduled && now - file.lastActivityAt > this.#o.closeInactiveMs) {
        await this.#close(file, 'closed');
        continue;
      }
      if (file.suspectDeleted) await this.#checkDeleted(file, now);
    }
  }

  /**
   * A deleted file still held open (the output is down, reading is paused) keeps its disk space
   * allocated. Past `releaseDeletedAfterMs` it is released: what was not read is lost, counted
   * and logged — never a full disk from held files.
   */
  async #checkDeleted(file: TrackedFile, now: number): Promise<void> {
    if (!file.handle) return;
    const st = await file.handle.stat().catch(() => undefined);
    if (!st) return;
    if (st.nlink > 0) {
      file.suspectDeleted = false; // renamed, not deleted
      return;
    }
    file.deletedAt ??= now;
    if (now - file.deletedAt < this.#o.releaseDeletedAfterMs) {
      // Read to its end, then closed: the read step closes a deleted file it finds at its end,
      // also when everything was read before the deletion (its space is freed at once, not
      // after close_inactive).
      if (!file.scheduled) this.#schedule(file);
      return;
    }
    const lost = Math.max(0, st.size - file.readOffset);
    this.#o.metrics?.bytesLost(lost);
    this.#o.logger.error({ path: file.currentPath, lostBytes: lost, heldMs: now - file.deletedAt }, 'released a deleted log file held open too long; its unread bytes are lost');
    await this.#close(file, 'released');
  }
}
