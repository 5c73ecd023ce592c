/**
 * From a followed file's bytes to queued events: lines → multiline events → ECS JSON (with the
 * file's precomputed prefix) → the bounded EventQueue, each event registered with the file's
 * offset tracker so its offset advances only on Logstash's ACK. Waits when the queue is full:
 * that wait is the backpressure that pauses reading.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { ExceptionInspector } from '../exceptions/inspector.ts';
import type { EventQueue } from '../pipeline/event-queue.ts';
import type { EncodedPrefix, EventEncoder, FileFields } from './event-encoder.ts';
import { FILENAME_UNPARSED_TAG, labelsForLogFile } from './filename.ts';
import { clearEncodedRun, eventSink, newEncodedRun, pushChunk } from './line-events.ts';
import type { EncodedRun, EncodedSpans } from './line-events.ts';
import type { RemoteLines, TrackedFile } from './tracked-file.ts';
import type { LineWorker, LineWorkers, StepEvents } from './workers/line-workers.ts';
import type { FileStep } from './workers/protocol.ts';

export interface FileEventMetrics {
  linesRead(n: number, bytes: number): void;
  eventsQueued(n: number): void;
  truncatedLine(): void;
}

export interface FileEventWriterOptions {
  queue: EventQueue;
  encoder: EventEncoder;
  inventory: ContainerInventory;
  metrics?: FileEventMetrics;
  /** Stack traces in joined events (logs.exceptions); absent = off. */
  exceptions?: ExceptionInspector;
  /** True once the collector stops: a wait for queue space gives up. */
  stopped(): boolean;
  /** Line workers for busy files (logs.workers), and the backlog that makes a file busy (logs.worker_backlog); absent = every file on this thread. */
  workers?: { pool: LineWorkers; backlog: number };
  logger?: Logger;
}

/**
 * A read step that finds more than logs.worker_backlog unread (a backlog, not a trickle: a
 * trickle's steps read a few KiB) makes its file busy, to be dealt to a line worker; a file that
 * has had no backlog for this long comes back, so files that trickle cost no cross-thread messages.
 */
const QUIET_MS = 5000;

export class FileEventWriter {
  readonly #o: FileEventWriterOptions;
  /** Busy files dealt so far (chooseLane). */
  #turn = 0;
  /** A run of encoded events kept between chunks, its arrays' capacity with it (line-events.ts). */
  #spare: EncodedRun | undefined;

  constructor(options: FileEventWriterOptions) {
    this.#o = options;
  }

  /**
   * Before a read step with `unread` bytes waiting: a file with a backlog moves its line state to
   * a line worker, one without a backlog for QUIET_MS comes back. Either way the new lane starts
   * from the file's resume point (the partial line or pending multiline event is read again), so
   * the step may move `file.readOffset` back; events before it are already queued.
   */
  chooseLane(file: TrackedFile, unread: number): void {
    if (this.#o.workers === undefined) return;
    const { pool: workers, backlog } = this.#o.workers;
    const t = performance.now();
    const busy = unread > backlog;
    if (busy) file.busyAt = t;
    if (file.remote === undefined) {
      if (!busy) {
        if (t - file.busyAt > QUIET_MS) file.busyHere = false;
        return;
      }
      // The main thread is a lane too: busy files are dealt round-robin over it and the workers,
      // so with one worker half of them stay here (a worker alone took all the encoding and the
      // trace parsing, and the main thread waited for it).
      if (file.busyHere || !workers.available()) return;
      if (this.#turn++ % (workers.max + 1) === workers.max) {
        file.busyHere = true;
        return;
      }
      const worker = workers.pick();
      if (worker === undefined) return;
      const resume = file.linesResume;
      file.resetLines(resume);
      const id = workers.laneId();
      file.remote = { worker, id, reset: resume, sentPrefix: undefined, resume, dueAt: -1, leave: () => workers.forget(worker, id) };
    } else if (t - file.busyAt > QUIET_MS) {
      file.resetLines(file.remote.resume);
    }
  }

  /** A chunk read at `chunkOffset`: its complete lines become events. True when the file was rewound (read again from `file.readOffset`). */
  async lines(file: TrackedFile, chunk: Buffer, chunkOffset: number, now: number): Promise<boolean> {
    if (file.remote) return this.#remote(file, now, (workers, worker, step) => workers.chunk(worker, { ...step, offset: chunkOffset }, chunk), chunk.length);
    const { emit, run } = this.#sink(file, now);
    const lines = pushChunk(file, chunk, chunkOffset, now, emit);
    file.linesRead += lines;
    this.#o.metrics?.linesRead(lines, chunk.length);
    await this.#enqueueRun(file, run);
    return false;
  }

  /**
   * Emits the pending multiline event: when its timeout is due, or unconditionally. True when the
   * file was rewound instead (its line worker failed): the caller reads it again from `readOffset`.
   */
  async flushJoiner(file: TrackedFile, onlyIfDue: boolean): Promise<boolean> {
    const now = Date.now();
    if (file.remote) return this.#remote(file, now, (workers, worker, step) => workers.flush(worker, { ...step, onlyIfDue }), 0);
    const { emit, run } = this.#sink(file, now);
    if (onlyIfDue) file.joiner.flushIfDue(now, emit);
    else file.joiner.flush(emit);
    await this.#enqueueRun(file, run);
    return false;
  }

  /**
   * One step of a file on a line worker's lane. A failed step (the worker died, or threw) moves
   * the file back to this thread at its last resume point, from where it is read again (true).
   */
  async #remote(file: TrackedFile, now: number, send: (workers: LineWorkers, worker: LineWorker, step: Omit<FileStep, 'id'>) => Promise<StepEvents>, bytes: number): Promise<boolean> {
    const r = file.remote as RemoteLines;
    const workers = (this.#o.workers as { pool: LineWorkers }).pool;
    const prefix = this.#prefixFor(file);
    const step = { file: r.id, now, app: appOf(file), path: file.path, ...(r.reset !== undefined ? { reset: r.reset } : {}), ...(r.sentPrefix !== prefix ? { fields: prefix.fields as FileFields } : {}) };
    let out: StepEvents;
    try {
      out = await send(workers, r.worker, step);
    } catch (err) {
      this.#o.logger?.warn({ path: file.currentPath, err: errorMessage(err), resumeAt: r.resume }, 'a line worker step failed; the file is read again from its last complete event on the main thread');
      if (file.remote === r) file.resetLines(r.resume);
      return true;
    }
    r.reset = undefined;
    r.sentPrefix = prefix;
    const reply = out.reply;
    r.resume = reply.resume;
    r.dueAt = reply.dueAt;
    file.linesRead += reply.lines;
    if (reply.lines > 0 || bytes > 0) this.#o.metrics?.linesRead(reply.lines, bytes);
    for (let i = 0; i < reply.truncated; i++) this.#o.metrics?.truncatedLine();
    if (reply.inspected > 0) this.#o.exceptions?.foundElsewhere(reply.traces, reply.inspected, reply.failures);
    await this.#enqueue(file, out.events);
    return false;
  }

  /** Collects a file's joined events as encoded bytes and end offsets, for #enqueueRun. */
  #sink(file: TrackedFile, now: number): ReturnType<typeof eventSink> {
    const metrics = this.#o.metrics;
    // the spare run, unless another file's step holds it (waiting for room in the queue)
    const run = this.#spare ?? newEncodedRun();
    this.#spare = undefined;
    return eventSink({ encoder: this.#o.encoder, prefix: this.#prefixFor(file), exceptions: this.#o.exceptions ?? null, app: appOf(file), path: file.path, now, truncated: () => metrics?.truncatedLine() }, run);
  }

  async #enqueueRun(file: TrackedFile, run: EncodedRun): Promise<void> {
    await this.#enqueue(file, run);
    clearEncodedRun(run);
    this.#spare = run;
  }

  async #enqueue(file: TrackedFile, events: EncodedSpans): Promise<void> {
    const queue = this.#o.queue;
    const tracker = file.tracker;
    const { memories, starts, lengths, ends, count } = events;
    for (let i = 0; i < count; i++) {
      const seq = tracker.register(ends[i] as number);
      while (!queue.pushSpan(memories[i] as Buffer, starts[i] as number, lengths[i] as number, tracker, seq)) {
        if (this.#o.stopped()) return;
        await queue.whenWritable();
      }
    }
    if (count > 0) this.#o.metrics?.eventsQueued(count);
  }

  /**
   * The constant part of the file's events (path, labels from the name, container metadata),
   * rebuilt only when the inventory changed what it says about the file's container.
   */
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
}

/** The application a file's exceptions are counted under: its name's `app`, else its container, else `unknown`. */
export function appOf(file: TrackedFile): string {
  return file.meta?.app ?? file.container?.record?.name ?? 'unknown';
}
