/**
 * From a followed file's bytes to queued events: lines → multiline events → ECS JSON (with the
 * file's precomputed prefix) → the bounded EventQueue, each event registered with the file's
 * offset tracker so its offset advances only on Logstash's ACK. Waits when the queue is full:
 * that wait is the backpressure that pauses reading.
 */
import type { ContainerInventory } from '../docker/inventory.ts';
import type { ExceptionInspector } from '../exceptions/inspector.ts';
import type { EventQueue } from '../pipeline/event-queue.ts';
import type { EncodedPrefix, EventEncoder } from './event-encoder.ts';
import { FILENAME_UNPARSED_TAG, labelsForLogFile } from './filename.ts';
import type { JoinedEvent } from './multiline.ts';
import type { TrackedFile } from './tracked-file.ts';

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
}

export class FileEventWriter {
  readonly #o: FileEventWriterOptions;

  constructor(options: FileEventWriterOptions) {
    this.#o = options;
  }

  /** A chunk read at `chunkOffset`: its complete lines become events. */
  async lines(file: TrackedFile, chunk: Buffer, chunkOffset: number, now: number): Promise<void> {
    const { emit, encoded, ends } = this.#sink(file, now);
    let lines = 0;
    file.splitter.push(chunk, chunkOffset, (buf, from, to, start, end, truncated) => {
      lines++;
      file.joiner.pushLine(buf, from, to, start, end, truncated, now, emit);
    });
    file.linesRead += lines;
    this.#o.metrics?.linesRead(lines, chunk.length);
    await this.#enqueue(file, encoded, ends);
  }

  /** Emits the pending multiline event: when its timeout is due, or unconditionally. */
  async flushJoiner(file: TrackedFile, onlyIfDue: boolean): Promise<void> {
    const now = Date.now();
    const { emit, encoded, ends } = this.#sink(file, now);
    if (onlyIfDue) file.joiner.flushIfDue(now, emit);
    else file.joiner.flush(emit);
    await this.#enqueue(file, encoded, ends);
  }

  /** Collects a file's joined events as encoded bytes and end offsets, for #enqueue. */
  #sink(file: TrackedFile, now: number): { emit: (ev: JoinedEvent) => void; encoded: Buffer[]; ends: number[] } {
    const encoded: Buffer[] = [];
    const ends: number[] = [];
    const prefix = this.#prefixFor(file);
    const exceptions = this.#o.exceptions;
    const emit = (ev: JoinedEvent): void => {
      // Blank lines reach the joiner (they can belong to a multiline event) but are no event alone.
      if (ev.to === ev.from) return;
      if (ev.flags.includes('truncated')) this.#o.metrics?.truncatedLine();
      // Only an event joined from several lines can carry a stack trace: one comparison for the rest.
      const extra = ev.lines > 1 && exceptions !== undefined ? exceptions.inspect(appOf(file), file.path, ev.buf, ev.from, ev.to, now) : null;
      encoded.push(this.#o.encoder.encodeLine(prefix, ev.buf, ev.start, now, ev.flags, ev.from, ev.to, extra));
      ends.push(ev.end);
    };
    return { emit, encoded, ends };
  }

  async #enqueue(file: TrackedFile, encoded: Buffer[], ends: number[]): Promise<void> {
    const queue = this.#o.queue;
    const tracker = file.tracker;
    for (let i = 0; i < encoded.length; i++) {
      const seq = tracker.register(ends[i] as number);
      while (!queue.push(encoded[i] as Buffer, tracker, seq)) {
        if (this.#o.stopped()) return;
        await queue.whenWritable();
      }
    }
    if (encoded.length > 0) this.#o.metrics?.eventsQueued(encoded.length);
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
