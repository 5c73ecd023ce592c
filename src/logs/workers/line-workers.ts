/**
 * The line workers, as the main thread sees them: started on first use (an idle agent, or one
 * whose files only trickle, never starts one), a step posted to a worker resolves with the
 * events it completed as spans of the worker's shared slabs, and a released event is
 * counted back to the worker that wrote it (batched: one message per turn of the event loop).
 * A worker that dies is not restarted: its files go back to the main thread (the caller rewinds
 * them to their last resume point), and the collector reads on as it did without workers.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors.ts';
import { markNewlineFramed } from '../../outputs/newline-framed.ts';
import type { EncodedSpans } from '../line-events.ts';
import type { ChunkStep, FlushStep, LineWorkerSetup, StepReply, ToLineWorker } from './protocol.ts';

/** A step's outcome: its events (file order, each with the offset after it), or why it failed. */
export interface StepEvents {
  events: EncodedSpans;
  reply: StepReply;
}

interface SlabRef {
  worker: LineWorker;
  id: number;
}

/**
 * How many line workers `logs.workers` means: `auto` is one on a host with two CPUs or more (the
 * main thread keeps reading, queueing and sending; one more thread is what those leave room for),
 * none on a single CPU, where a second thread would only take turns with the first.
 */
export function lineWorkerCount(setting: number | 'auto', cpus = availableParallelism()): number {
  if (setting !== 'auto') return setting;
  return cpus >= 2 ? 1 : 0;
}

/**
 * Workers with no file on their lanes for this long are stopped, and started again by the next
 * busy file: after a burst the agent goes back to its idle size (a worker holds its own V8 heap
 * and the slabs it keeps for reuse).
 */
export const IDLE_STOP_MS = 60_000;

/** Transfer buffers for chunks (returned by the worker with its reply); a few are kept. */
const KEEP_CHUNK_BUFFERS = 4;

class LineWorker {
  readonly thread: Worker;
  readonly index: number;
  /** Files on this worker's lane (to pick the least loaded one). */
  files = 0;
  ready = false;
  dead = false;
  /** Stopped on purpose (idle): its exit is no failure. */
  retiring = false;
  readonly #pending = new Map<number, { resolve: (r: StepReply) => void; reject: (e: Error) => void }>();
  /** Its slabs by id, each as a Buffer over the whole shared memory (announced once, with the first reply that used it). */
  readonly slabs = new Map<number, Buffer>();
  readonly #released = new Map<number, number>();
  #releaseScheduled = false;

  constructor(index: number, url: URL, setup: LineWorkerSetup, onExit: (worker: LineWorker, why: string) => void) {
    this.index = index;
    // worker_threads only when workers are on (logs.workers; off by default)
    const { Worker: Thread } = process.getBuiltinModule('node:worker_threads');
    this.thread = new Thread(url, { workerData: setup, name: `dockhand-lines-${index}` });
    this.thread.on('online', () => (this.ready = true));
    this.thread.on('message', (r: StepReply) => {
      const p = this.#pending.get(r.id);
      this.#pending.delete(r.id);
      p?.resolve(r);
    });
    const fail = (why: string): void => {
      if (this.dead) return;
      this.dead = true;
      const err = new Error(`line worker ${index} stopped: ${why}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      onExit(this, why);
    };
    this.thread.on('error', (err) => fail(errorMessage(err)));
    this.thread.on('exit', (code) => fail(`exit code ${code}`));
  }

  step(msg: ChunkStep | FlushStep, transfer: ArrayBuffer[]): Promise<StepReply> {
    if (this.dead) return Promise.reject(new Error(`line worker ${this.index} is not running`));
    return new Promise((resolve, reject) => {
      this.#pending.set(msg.id, { resolve, reject });
      this.thread.postMessage(msg, transfer);
    });
  }

  post(msg: ToLineWorker): void {
    if (!this.dead) this.thread.postMessage(msg);
  }

  /** Counts released events back to the worker: batched, one message per turn of the event loop. */
  released(id: number, count: number): void {
    if (this.dead) return;
    this.#released.set(id, (this.#released.get(id) ?? 0) + count);
    if (this.#releaseScheduled) return;
    this.#releaseScheduled = true;
    setImmediate(() => {
      this.#releaseScheduled = false;
      this.post({ t: 'released', slabs: [...this.#released.keys()], counts: [...this.#released.values()] });
      this.#released.clear();
    });
  }
}

export class LineWorkers {
  readonly #max: number;
  readonly #setup: LineWorkerSetup;
  readonly #logger: Logger;
  readonly #url: URL;
  readonly #workers: LineWorker[] = [];
  /** By shared slab: the worker that wrote it, and its id there (to count released events back). */
  readonly #slabs = new WeakMap<ArrayBufferLike, SlabRef>();
  readonly #chunkBuffers: ArrayBuffer[] = [];
  #nextId = 1;
  #started = false;
  #stopped = false;
  #idleTimer: NodeJS.Timeout | undefined;

  /** `max` workers at most (0: none, everything stays on the main thread). */
  constructor(options: { max: number; setup: LineWorkerSetup; logger: Logger }) {
    this.#max = options.max;
    this.#setup = options.setup;
    this.#logger = options.logger;
    // The worker's own module next to this one (.ts when run from source, .js once built).
    this.#url = new URL(import.meta.url.endsWith('.ts') ? './line-worker.ts' : './line-worker.js', import.meta.url);
  }

  /** Workers at most (logs.workers resolved). */
  get max(): number {
    return this.#max;
  }

  /** Workers running (started and not dead). */
  get running(): number {
    return this.#workers.filter((w) => !w.dead).length;
  }

  /** Files whose lines a running worker holds. */
  get files(): number {
    let n = 0;
    for (const w of this.#workers) if (!w.dead) n += w.files;
    return n;
  }

  /** A new lane id for a file moving to a worker. */
  laneId(): number {
    return this.#nextId++;
  }

  /** Whether a worker can take a file now, starting them all on first use (false while they start, and when there are none). */
  available(): boolean {
    if (this.#max === 0 || this.#stopped) return false;
    if (!this.#started) this.#start();
    return this.#workers.some((w) => w.ready && !w.dead);
  }

  /**
   * The least loaded running worker for a busy file (counted on it until `forget`), starting them
   * all on first use; undefined when there are none (max 0, stopped, all dead) or they are still starting.
   */
  pick(): LineWorker | undefined {
    if (!this.available()) return undefined;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    let best: LineWorker | undefined;
    for (const w of this.#workers) if (w.ready && !w.dead && (best === undefined || w.files < best.files)) best = w;
    if (best) best.files++;
    return best;
  }

  /** Posts a chunk (copied into a transferable buffer) and resolves with the events it completed. */
  async chunk(worker: LineWorker, step: Omit<ChunkStep, 't' | 'id' | 'chunk' | 'length'>, chunk: Buffer): Promise<StepEvents> {
    let ab = this.#chunkBuffers.pop();
    if (ab === undefined || ab.byteLength < chunk.length) ab = new ArrayBuffer(Math.max(chunk.length, 64 * 1024));
    chunk.copy(new Uint8Array(ab));
    const reply = await worker.step({ ...step, t: 'chunk', id: this.#nextId++, chunk: ab, length: chunk.length }, [ab]);
    if (reply.chunk && this.#chunkBuffers.length < KEEP_CHUNK_BUFFERS) this.#chunkBuffers.push(reply.chunk);
    return this.#events(worker, reply);
  }

  /** Asks for a file's pending multiline event (when due, or unconditionally). */
  async flush(worker: LineWorker, step: Omit<FlushStep, 't' | 'id'>): Promise<StepEvents> {
    return this.#events(worker, await worker.step({ ...step, t: 'flush', id: this.#nextId++ }, []));
  }

  /** A file left `worker`'s lane: its line state there is dropped. */
  forget(worker: LineWorker, file: number): void {
    worker.files = Math.max(0, worker.files - 1);
    worker.post({ t: 'forget', file });
    if (this.#workers.every((w) => w.files === 0) && this.#idleTimer === undefined && !this.#stopped) {
      this.#idleTimer = setTimeout(() => this.#stopIdle(), IDLE_STOP_MS);
      this.#idleTimer.unref();
    }
  }

  /** The pipeline is done with `count` events in `event`'s memory: true when it is a worker's slab (counted back to it), else false. */
  release(memory: Buffer, count: number): boolean {
    const ref = this.#slabs.get(memory.buffer);
    if (ref === undefined) return false;
    ref.worker.released(ref.id, count);
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#idleTimer);
    await Promise.all(this.#workers.map((w) => w.thread.terminate()));
  }

  /** No busy file for IDLE_STOP_MS: the workers go (events they wrote stay readable in shared memory). */
  #stopIdle(): void {
    this.#idleTimer = undefined;
    if (this.#stopped || !this.#workers.every((w) => w.files === 0)) return;
    const stopping = this.#workers.splice(0);
    this.#started = false;
    for (const w of stopping) {
      w.retiring = true;
      void w.thread.terminate();
    }
    this.#logger.info({ workers: stopping.length }, 'stopped idle line workers');
  }

  #start(): void {
    this.#started = true;
    for (let i = 0; i < this.#max; i++) {
      this.#workers.push(new LineWorker(i, this.#url, this.#setup, (w, why) => {
        if (!this.#stopped && !w.retiring) this.#logger.warn({ worker: w.index, why }, 'a line worker stopped; its files are read on the main thread from now on');
      }));
    }
    this.#logger.info({ workers: this.#max }, 'started line workers for busy log files');
  }

  #events(worker: LineWorker, reply: StepReply): StepEvents {
    // Slabs first, also from a failed step: later replies use them.
    for (const { id, sab } of reply.newSlabs) {
      worker.slabs.set(id, Buffer.from(sab));
      this.#slabs.set(sab, { worker, id });
      // the worker's encoder writes a newline after each event, as the main thread's does
      markNewlineFramed(sab);
    }
    if (reply.error !== undefined) throw new Error(`line worker ${worker.index}: ${reply.error}`);
    // Spans over the slabs: no Buffer per event (its start and length stay in the reply's arrays).
    const n = reply.slab.length;
    const memories = new Array<Buffer>(n);
    for (let i = 0; i < n; i++) {
      const s = reply.slab[i] as number;
      if (s >= 0) {
        memories[i] = worker.slabs.get(s) as Buffer;
      } else {
        const large = Buffer.from(reply.large[-1 - s] as ArrayBuffer);
        memories[i] = large;
        reply.start[i] = 0;
        reply.length[i] = large.length;
      }
    }
    return { events: { memories, starts: reply.start, lengths: reply.length, ends: reply.end, count: n }, reply };
  }
}

export type { LineWorker };
