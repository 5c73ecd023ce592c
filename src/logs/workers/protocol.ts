/**
 * The messages between the collector (main thread) and a line worker (line-worker.ts). A busy
 * file's chunks are split, joined and encoded on a worker; the main thread keeps everything that
 * decides what is read and what is acknowledged (identity, rotation, offsets, the queue, the
 * outputs). Per file, messages are handled strictly in order, one step at a time.
 */
import type { FoundTrace } from '../../exceptions/inspector.ts';
import type { ExceptionsConfig } from '../../exceptions/config.ts';
import type { FileFields } from '../event-encoder.ts';
import type { LineSettings } from '../tracked-file.ts';

/** What every worker is started with (workerData). */
export interface LineWorkerSetup {
  lines: LineSettings;
  hostName: string;
  hostIps: readonly string[];
  agentVersion: string;
  /** logs.exceptions, or null when off. */
  exceptions: ExceptionsConfig | null;
}

/** What every step of a file says about it. */
export interface FileStep {
  /** Request id: the reply carries it. */
  id: number;
  /** The file's lane id on this worker (a new one each time a file moves here). */
  file: number;
  now: number;
  /** The application its exceptions count under, and its path (the summary's source). */
  app: string;
  path: string;
  /** The file's constant fields, when the worker has none for it yet or they changed. */
  fields?: FileFields;
  /** Present on a file's first step on this lane: its line state starts fresh at this offset. */
  reset?: number;
}

export interface ChunkStep extends FileStep {
  t: 'chunk';
  /** The bytes read (a copy, transferred), `length` of them, read at file offset `offset`. */
  chunk: ArrayBuffer;
  length: number;
  offset: number;
}

export interface FlushStep extends FileStep {
  t: 'flush';
  /** Only when the pending multiline event's timeout is due (else unconditionally: the file was deleted). */
  onlyIfDue: boolean;
}

export type ToLineWorker =
  | ChunkStep
  | FlushStep
  /** The file left this lane: its line state is dropped. */
  | { t: 'forget'; file: number }
  /** Events the main thread is done with, counted per slab id. */
  | { t: 'released'; slabs: number[]; counts: number[] };

/** The reply to a chunk or flush step: the events it completed, in file order. */
export interface StepReply {
  id: number;
  /** The transferred chunk buffer, back for reuse. */
  chunk?: ArrayBuffer;
  /** Per event: the id of the slab it is in, or -1 - index into `large` (an event too big for a slab). */
  slab: Int32Array;
  start: Uint32Array;
  length: Uint32Array;
  /** Per event: the file offset just after it (what its acknowledgement commits). */
  end: Float64Array;
  /**
   * Slabs the worker allocated since its last reply (shared memory, announced once: the main
   * thread keeps them by id, so a reply adds no new buffer objects and no external memory for
   * its garbage collector to account).
   */
  newSlabs: { id: number; sab: SharedArrayBuffer }[];
  large: ArrayBuffer[];
  lines: number;
  truncated: number;
  /** Where the file's line state could start over without losing or repeating an event. */
  resume: number;
  /** When the pending multiline event is due (-1: nothing pending). */
  dueAt: number;
  traces: FoundTrace[];
  inspected: number;
  failures: number;
  /** Set when the step failed: nothing else is meaningful. */
  error?: string;
}
