/**
 * The read "pumps": a few loops that take scheduled files round-robin and run one read step
 * (one chunk) each. Reading is CPU-bound on one thread, so more concurrency buys nothing; a
 * chunk buffer per pump bounds memory; a step that waits for queue space holds its pump, and
 * with all pumps waiting, reading pauses (backpressure). A file is in the ready list at most once.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.ts';
import { ChunkReader, SyncReads } from './chunk-reader.ts';
import type { TrackedFile } from './tracked-file.ts';

const CHUNK_BYTES = 1024 * 1024;
/** Pumps without line workers; with them, PUMPS_PER_WORKER more per worker (see the constructor). */
const PUMPS = 2;
const PUMPS_PER_WORKER = 2;
/**
 * A file that changes again within this long of its last read step waits for the rest of it: a
 * file written one line per write(2) (log4j's immediate flush) is then read a few lines at a time
 * instead of one read step — and one batch, one ACK — per line. Bounded: it adds at most this
 * much latency, and a file with more to read is never held back (schedule()).
 */
export const READ_COALESCE_MS = 50;

/** One read step: reads a chunk of `file` with `reader` and on; true when there is more to read at once. */
export type ReadStep = (file: TrackedFile, reader: ChunkReader) => Promise<boolean>;

export class ReadPumps {
  readonly #step: ReadStep;
  readonly #logger: Logger;
  readonly #syncReads: SyncReads;
  readonly #ready: TrackedFile[] = [];
  /** Pumps waiting for a file to read. */
  #idle: (() => void)[] = [];
  #pumps: Promise<void>[] = [];
  #stopped = false;

  readonly #count: number;

  /**
   * `workers`: line workers that may hold files. A step of a file on a worker waits for the
   * worker's reply; more pumps keep other files' chunks in flight meanwhile, so both threads work.
   */
  constructor(step: ReadStep, logger: Logger, workers = 0) {
    this.#step = step;
    this.#count = PUMPS + PUMPS_PER_WORKER * workers;
    this.#logger = logger;
    this.#syncReads = new SyncReads(logger);
  }

  start(): void {
    for (let i = 0; i < this.#count; i++) this.#pumps.push(this.#pump());
  }

  /** Lets the steps in progress finish; nothing more is read. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const wake of this.#idle.splice(0)) wake();
    await Promise.all(this.#pumps);
  }

  /** Queues a read step for `file` after a change: at once, or READ_COALESCE_MS after its last read step. */
  scheduleChanged(file: TrackedFile): void {
    // A change while its step runs may come after the step took the file's size: one more step
    // after it (a renamed file is seen by watch events only, the rescan no longer lists it).
    if (file.scheduled) {
      file.changedDuringStep = true;
      return;
    }
    if (file.coalescing) return;
    const wait = file.readAt + READ_COALESCE_MS - performance.now();
    if (wait <= 0) {
      this.schedule(file);
      return;
    }
    file.coalescing = true;
    setTimeout(() => {
      file.coalescing = false;
      this.schedule(file);
    }, wait).unref();
  }

  /** Queues a read step for `file` (no-op when it is already queued or running, or released). */
  schedule(file: TrackedFile): void {
    if (file.scheduled || this.#stopped || file.state === 'released') return;
    file.scheduled = true;
    this.#ready.push(file);
    this.#idle.shift()?.();
  }

  async #pump(): Promise<void> {
    const reader = new ChunkReader(CHUNK_BYTES, this.#syncReads);
    while (!this.#stopped) {
      const file = this.#ready.shift();
      if (!file) {
        await new Promise<void>((resolve) => this.#idle.push(resolve));
        continue;
      }
      let more = false;
      file.readAt = performance.now();
      file.changedDuringStep = false;
      try {
        // exclusive: a read step and a multiline timeout flush of one file never interleave
        more = await file.exclusive(() => this.#step(file, reader));
      } catch (err) {
        this.#logger.warn({ path: file.currentPath, err: errorMessage(err) }, 'error reading log file; it will be retried at the next rescan');
      }
      file.scheduled = false;
      if (more) this.schedule(file);
      else if (file.changedDuringStep) this.scheduleChanged(file);
    }
  }
}
