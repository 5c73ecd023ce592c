/**
 * Where log events meet the exception summary: for an event joined from several lines, parse the
 * trace (trace.ts); when there is one, count it (summary, metric) and return the JSON members the
 * encoder appends to the event — `"error":{…}` (ECS) and `"dockhand":{"exception":{…}}`:
 *
 *   ,"error":{"type":…,"message":…,"stack_trace":…,"fingerprint":…},
 *    "dockhand":{"exception":{"language":…,"root_cause":{"type":…,"message":…}}}
 *
 * Bad bytes never throw: the text is decoded with replacement characters, and a trace the parsers
 * do not recognize leaves the event as it was.
 */
import type { ExceptionsConfig } from './config.ts';
import { ExceptionSummary } from './summary.ts';
import type { TraceSource } from './summary.ts';
import { parseTrace } from './trace.ts';
import type { ParsedTrace } from './trace.ts';

export interface ExceptionInspectorOptions {
  config: ExceptionsConfig;
  /** One exception counted for `app` (already folded: a name or `other`). */
  counted?: (app: string) => void;
  /**
   * Where a trace found goes instead of this inspector's own summary: a line worker
   * (src/logs/workers/) parses traces on its thread and hands them to the main thread's
   * inspector (`foundElsewhere`), which owns the summary.
   */
  found?: (trace: FoundTrace) => void;
}

/** A trace found in an event, as a line worker hands it over. */
export interface FoundTrace {
  app: string;
  source: TraceSource;
  trace: ParsedTrace;
  now: number;
}

export class ExceptionInspector {
  readonly summary: ExceptionSummary;
  readonly #frames: number;
  readonly #counted: ((app: string) => void) | undefined;
  readonly #found: ((trace: FoundTrace) => void) | undefined;
  #parsed = 0;
  #traces = 0;
  #failures = 0;

  constructor(options: ExceptionInspectorOptions) {
    const c = options.config;
    this.summary = new ExceptionSummary({ maxApps: c.max_apps, topPerApp: c.top_per_app, sampleBytes: c.sample_bytes });
    this.#frames = c.fingerprint_frames;
    this.#counted = options.counted;
    this.#found = options.found;
  }

  /** Joined events looked at, the traces found among them, and parser failures (events shipped without error.*). */
  get stats(): { inspected: number; traces: number; failures: number } {
    return { inspected: this.#parsed, traces: this.#traces, failures: this.#failures };
  }

  /**
   * The event `buf[from, to)` (joined from several lines) of `app`, read from `source` (a file's
   * path, or the container whose output it is): the JSON to append to it, or null when it carries
   * no stack trace.
   */
  inspect(app: string, source: TraceSource, buf: Buffer, from: number, to: number, now: number): Buffer | null {
    this.#parsed++;
    let trace: ParsedTrace | null;
    try {
      trace = parseTrace(buf.toString('utf8', from, to), this.#frames);
    } catch {
      // A parser bug must not stop the file or stream: the event is shipped as it is, and counted.
      this.#failures++;
      return null;
    }
    if (trace === null) return null;
    this.#traces++;
    if (this.#found) this.#found({ app, source, trace, now });
    else this.#record(app, source, trace, now);
    return Buffer.from(errorFields(trace), 'utf8');
  }

  /** What a line worker's inspector looked at: its events, failures and the traces it found. */
  foundElsewhere(found: readonly FoundTrace[], inspected: number, failures: number): void {
    this.#parsed += inspected;
    this.#failures += failures;
    this.#traces += found.length;
    for (const f of found) this.#record(f.app, f.source, f.trace, f.now);
  }

  #record(app: string, source: TraceSource, trace: ParsedTrace, now: number): void {
    const { app: counted } = this.summary.record(app, source, trace, now);
    this.#counted?.(counted);
  }
}

/** The members appended to an event: `,"error":{…},"dockhand":{…}` (a leading comma, no braces around). */
export function errorFields(t: ParsedTrace): string {
  const error = { type: t.type, message: t.message, stack_trace: t.stackTrace, fingerprint: t.fingerprint };
  const dockhand = { exception: { language: t.language, root_cause: { type: t.rootType, message: t.rootMessage } } };
  return `,"error":${JSON.stringify(error)},"dockhand":${JSON.stringify(dockhand)}`;
}
