/**
 * One file's line path, shared by the main thread (file-events.ts) and the line workers
 * (workers/line-worker.ts): a chunk's bytes → lines (LineSplitter) → joined events
 * (MultilineJoiner) → encoded events with the offset each one ends at, the stack traces in joined
 * events inspected on the way. Where the events go (the queue, a worker's reply) is the caller's.
 */
import type { ExceptionInspector } from '../exceptions/inspector.ts';
import type { EncodedPrefix, EventEncoder } from './event-encoder.ts';
import { LineSplitter } from './line-splitter.ts';
import { MultilineJoiner } from './multiline.ts';
import type { JoinedEvent } from './multiline.ts';
import type { LineSettings } from './tracked-file.ts';

/** A file's partial line and pending multiline event. */
export interface LineState {
  splitter: LineSplitter;
  joiner: MultilineJoiner;
}

/** Fresh line state for a file read from `offset` on. */
export function newLineState(settings: LineSettings, offset: number): LineState {
  const m = settings.multiline;
  return {
    splitter: new LineSplitter({ maxLineBytes: settings.maxLineBytes, startOffset: offset }),
    joiner: new MultilineJoiner({ pattern: m.pattern, negate: m.negate, match: m.match, maxLines: m.maxLines, maxBytes: settings.maxLineBytes, timeoutMs: m.timeoutMs }),
  };
}

/** Where the line state could start over without losing or repeating an event: its pending multiline event's first byte, else its partial line's. */
export function resumeOffset(state: LineState): number {
  return state.joiner.pendingSince !== undefined ? (state.joiner.safeOffset as number) : state.splitter.resumeOffset;
}

/** Feeds a chunk read at `offset`; complete events go to `emit`. Returns the lines it completed. */
export function pushChunk(state: LineState, chunk: Buffer, offset: number, now: number, emit: (ev: JoinedEvent) => void): number {
  let lines = 0;
  state.splitter.push(chunk, offset, (buf, from, to, start, end, truncated) => {
    lines++;
    state.joiner.pushLine(buf, from, to, start, end, truncated, now, emit);
  });
  return lines;
}

export interface EventSinkOptions {
  encoder: EventEncoder;
  prefix: EncodedPrefix;
  /** Stack traces in joined events (logs.exceptions); null = off. */
  exceptions: ExceptionInspector | null;
  /** The application the file's exceptions count under, and its path (the summary's source). */
  app: string;
  path: string;
  now: number;
  /** An event cut at max_line_bytes. */
  truncated: () => void;
}

/**
 * Encoded events as spans (event i is `memories[i][starts[i], starts[i] + lengths[i])`, see
 * outputs/event-spans.ts) and the offsets they end at: `count` of them, from index 0.
 */
export interface EncodedSpans {
  readonly memories: readonly Buffer[];
  readonly starts: ArrayLike<number>;
  readonly lengths: ArrayLike<number>;
  readonly ends: ArrayLike<number>;
  readonly count: number;
}

/**
 * EncodedSpans being filled. The main thread reuses one from chunk to chunk (`clearEncodedRun`):
 * arrays grown anew for each chunk's ~5,000 events allocated ~70 bytes per line, a quarter of
 * what the agent allocated under full load.
 */
export interface EncodedRun extends EncodedSpans {
  memories: Buffer[];
  starts: number[];
  lengths: number[];
  ends: number[];
  count: number;
}

export function newEncodedRun(): EncodedRun {
  return { memories: [], starts: [], lengths: [], ends: [], count: 0 };
}

const NO_MEMORY = Buffer.alloc(0);

/** Empties a run for reuse, keeping its arrays' capacity; drops its references to the memory. */
export function clearEncodedRun(run: EncodedRun): void {
  run.memories.fill(NO_MEMORY, 0, run.count);
  run.count = 0;
}

/** Collects joined events, encoded, with the offsets they end at, into `run` (after what it holds). */
export function eventSink(o: EventSinkOptions, run: EncodedRun = newEncodedRun()): { emit: (ev: JoinedEvent) => void; run: EncodedRun } {
  const emit = (ev: JoinedEvent): void => {
    // Blank lines reach the joiner (they can belong to a multiline event) but are no event alone.
    if (ev.to === ev.from) return;
    if (ev.flags.includes('truncated')) o.truncated();
    // Only an event joined from several lines can carry a stack trace: one comparison for the rest.
    const extra = ev.lines > 1 && o.exceptions !== null ? o.exceptions.inspect(o.app, o.path, ev.buf, ev.from, ev.to, o.now) : null;
    const i = run.count++;
    const encoder = o.encoder;
    run.lengths[i] = encoder.encodeLineSpan(o.prefix, ev.buf, ev.start, o.now, ev.flags, ev.from, ev.to, extra);
    run.memories[i] = encoder.spanMemory;
    run.starts[i] = encoder.spanStart;
    run.ends[i] = ev.end;
  };
  return { emit, run };
}
