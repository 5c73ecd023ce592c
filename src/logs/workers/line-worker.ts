/**
 * A line worker (a worker_threads thread): splits, joins and encodes the chunks of the busy
 * files the main thread hands it (protocol.ts), the same way the main thread does for the rest
 * (file-events.ts). Events are written into shared-memory slabs, so the main thread queues and
 * sends them in place: only their positions cross threads. A slab is reused once the main thread
 * has released every event cut from it (every output acknowledged them). Slabs moved with each
 * reply (transferred ArrayBuffers) were tried and dropped: every reply then brought new buffer
 * objects and megabytes of external memory to the main thread, and its garbage collector
 * (major collections, prompted by external memory) took twice the time it takes without workers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ExceptionInspector } from '../../exceptions/inspector.ts';
import type { FoundTrace } from '../../exceptions/inspector.ts';
import { EventEncoder } from '../event-encoder.ts';
import type { EncodedPrefix } from '../event-encoder.ts';
import { eventSink, newLineState, pushChunk, resumeOffset } from '../line-events.ts';
import type { EncodedSpans, LineState } from '../line-events.ts';
import type { ChunkStep, FlushStep, LineWorkerSetup, StepReply, ToLineWorker } from './protocol.ts';

interface FileLines extends LineState {
  prefix: EncodedPrefix | undefined;
}

const setup = workerData as LineWorkerSetup;
const port = parentPort;
if (!port) throw new Error('line-worker.ts runs as a worker thread');

/**
 * Slabs are shared memory, allocated on demand and never dropped while the worker runs (the
 * queue bounds how many are in use at once; an idle worker is stopped, which frees them). Each is
 * announced to the main thread once, with the reply whose events first use it.
 */
const slabsById = new Map<number, SharedArrayBuffer>();
const slabIds = new WeakMap<ArrayBufferLike, number>();
let announce: { id: number; sab: SharedArrayBuffer }[] = [];
const encoder = new EventEncoder({
  hostName: setup.hostName,
  hostIps: setup.hostIps,
  agentVersion: setup.agentVersion,
  slabs: {
    keepFree: Number.POSITIVE_INFINITY,
    allocate(bytes) {
      const sab = new SharedArrayBuffer(bytes);
      const id = slabsById.size;
      slabsById.set(id, sab);
      slabIds.set(sab, id);
      announce.push({ id, sab });
      return Buffer.from(sab);
    },
  },
});
let found: FoundTrace[] = [];
const inspector = setup.exceptions ? new ExceptionInspector({ config: setup.exceptions, found: (t) => found.push(t) }) : null;
const files = new Map<number, FileLines>();

function fileLines(step: ChunkStep | FlushStep): FileLines {
  let state = files.get(step.file);
  if (step.reset !== undefined || state === undefined) {
    state = { ...newLineState(setup.lines, step.reset ?? 0), prefix: undefined };
    files.set(step.file, state);
  }
  if (step.fields) state.prefix = encoder.prefixFor(step.fields);
  return state;
}

function run(step: ChunkStep | FlushStep): StepReply {
  const state = fileLines(step);
  const prefix = state.prefix;
  if (!prefix) throw new Error('a file step without its fields');
  let truncated = 0;
  const inspected0 = inspector?.stats;
  // a fresh run per step: its arrays are handed to reply() (count === length)
  const { emit, run: events } = eventSink({ encoder, prefix, exceptions: inspector, app: step.app, path: step.path, now: step.now, truncated: () => truncated++ });
  let lines = 0;
  if (step.t === 'chunk') lines = pushChunk(state, Buffer.from(step.chunk, 0, step.length), step.offset, step.now, emit);
  else if (step.onlyIfDue) state.joiner.flushIfDue(step.now, emit);
  else state.joiner.flush(emit);
  return reply(step, state, events, lines, truncated, inspected0);
}

function reply(step: ChunkStep | FlushStep, state: FileLines, events: EncodedSpans, lines: number, truncated: number, before: ExceptionInspector['stats'] | undefined): StepReply {
  const n = events.count;
  const out: StepReply = {
    id: step.id,
    slab: new Int32Array(n),
    start: new Uint32Array(n),
    length: new Uint32Array(n),
    end: Float64Array.from(events.ends),
    newSlabs: announce,
    large: [],
    lines,
    truncated,
    resume: resumeOffset(state),
    dueAt: state.joiner.dueAt ?? -1,
    traces: found,
    inspected: 0,
    failures: 0,
  };
  if (step.t === 'chunk') out.chunk = step.chunk;
  found = [];
  announce = [];
  if (inspector && before) {
    const after = inspector.stats;
    out.inspected = after.inspected - before.inspected;
    out.failures = after.failures - before.failures;
  }
  for (let i = 0; i < n; i++) {
    const memory = events.memories[i] as Buffer;
    const start = memory.byteOffset + (events.starts[i] as number);
    const length = events.lengths[i] as number;
    const id = slabIds.get(memory.buffer);
    if (id === undefined) {
      // Too large for a slab: its own buffer, moved to the main thread.
      out.slab[i] = -1 - out.large.length;
      out.large.push(start === 0 && length === memory.buffer.byteLength ? (memory.buffer as ArrayBuffer) : (memory.buffer.slice(start, start + length) as ArrayBuffer));
      continue;
    }
    out.slab[i] = id;
    out.start[i] = start;
    out.length[i] = length;
  }
  return out;
}

function failed(step: ChunkStep | FlushStep, error: string): StepReply {
  const none = { slab: new Int32Array(0), start: new Uint32Array(0), length: new Uint32Array(0), end: new Float64Array(0) };
  const newSlabs = announce;
  announce = [];
  return { id: step.id, ...none, newSlabs, large: [], lines: 0, truncated: 0, resume: -1, dueAt: -1, traces: [], inspected: 0, failures: 0, error, ...(step.t === 'chunk' ? { chunk: step.chunk } : {}) };
}

function transferList(r: StepReply): ArrayBuffer[] {
  const list: ArrayBuffer[] = [r.slab.buffer as ArrayBuffer, r.start.buffer as ArrayBuffer, r.length.buffer as ArrayBuffer, r.end.buffer as ArrayBuffer, ...r.large];
  if (r.chunk) list.push(r.chunk);
  return list;
}

port.on('message', (msg: ToLineWorker) => {
  switch (msg.t) {
    case 'chunk':
    case 'flush': {
      let r: StepReply;
      try {
        r = run(msg);
      } catch (err) {
        // The main thread moves the file back to its own lane and reads it again from its last resume point.
        files.delete(msg.file);
        found = [];
        r = failed(msg, err instanceof Error ? err.message : String(err));
      }
      port.postMessage(r, transferList(r));
      break;
    }
    case 'forget':
      files.delete(msg.file);
      break;
    case 'released':
      for (let i = 0; i < msg.slabs.length; i++) {
        const sab = slabsById.get(msg.slabs[i] as number);
        if (sab) encoder.releaseFrom(sab, msg.counts[i] as number);
      }
      break;
  }
});
