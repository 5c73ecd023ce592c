/**
 * `max_retries`: the operator's bound on retrying one batch. By default (-1) nothing is ever
 * dropped — the pipeline retries the unacknowledged rest forever. With a bound, the attempt that
 * fails for the (max_retries + 1)-th time *without progress* comes back `fatal`, so the pipeline
 * drops the rest of that batch and counts it (its `dropped` metric, plus
 * `dockhand_output_events_dropped_total` here), and this is logged.
 *
 * "The same batch" is recognised by the first unacknowledged event: the pipeline resends
 * `events.slice(acked)` of the same memory, so where the first event lies (its ArrayBuffer and
 * the offset in it) marks the rest of one batch. Only attempts that acknowledged nothing count;
 * any progress moves the head to another event, whose count starts at zero. The counts live in
 * a WeakMap keyed by that ArrayBuffer, so nothing is retained once the memory is let go of; and
 * because an encoder slab is reused for newer events once its events are acknowledged, a head's
 * count is forgotten as soon as an attempt from it makes progress or succeeds. If a caller
 * re-encoded events between attempts, the count would never reach the bound — the safe
 * direction (retry, never drop early).
 * An aborted send (shutdown) never counts.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DockhandError } from '../core/errors.ts';
import { droppedCounter } from './output-metrics.ts';
import { spansOf } from './event-spans.ts';
import type { EventList } from './event-spans.ts';
import type { Output, OutputStats, SendOutcome } from './types.ts';

export class RetryBoundOutput implements Output {
  readonly name: string;
  readonly maxInFlight: number;
  readonly backoff: { baseMs: number; maxMs: number };
  readonly #inner: Output;
  readonly #maxRetries: number;
  /** Failed attempts without progress, by the head event's memory and its offset there. */
  readonly #failures = new WeakMap<ArrayBufferLike, Map<number, number>>();
  readonly #dropped: (events: number) => void;
  readonly #logger: Logger;

  constructor(inner: Output, maxRetries: number, deps: { logger: Logger; registry?: Registry | undefined }) {
    if (!(maxRetries >= 0)) throw new RangeError(`max_retries must be >= 0 here, got ${maxRetries}`);
    this.#inner = inner;
    this.#maxRetries = maxRetries;
    this.name = inner.name;
    this.maxInFlight = inner.maxInFlight;
    this.backoff = inner.backoff;
    this.#dropped = droppedCounter(deps.registry, inner.name);
    this.#logger = deps.logger;
  }

  start(): void {
    this.#inner.start();
  }

  async send(list: EventList, signal: AbortSignal): Promise<SendOutcome> {
    if (list.length === 0) return this.#inner.send(list, signal);
    const events = spansOf(list);
    const memory = events.memory(0);
    const at = memory.byteOffset + events.start(0);
    const outcome = await this.#inner.send(events, signal);
    if (signal.aborted) return outcome;
    let counts = this.#failures.get(memory.buffer);
    // Progress is not a failure: the rest starts with another event, whose count starts at 0.
    if (outcome.kind !== 'retry' || outcome.acked > 0) {
      counts?.delete(at);
      return outcome;
    }
    const failures = (counts?.get(at) ?? 0) + 1;
    if (failures <= this.#maxRetries) {
      if (counts === undefined) this.#failures.set(memory.buffer, (counts = new Map<number, number>()));
      counts.set(at, failures);
      return outcome;
    }
    counts?.delete(at);
    const lost = events.length;
    this.#dropped(lost);
    this.#logger.error({ output: this.name, events: lost, attempts: failures, err: outcome.error.message }, 'giving up on events after max_retries failed attempts');
    return {
      kind: 'fatal',
      acked: 0,
      error: new DockhandError('UNAVAILABLE', `${this.name}: gave up after ${failures} failed attempts (max_retries ${this.#maxRetries}): ${outcome.error.message}`, { cause: outcome.error }),
    };
  }

  stats(): OutputStats {
    return this.#inner.stats();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  destroy(): void {
    this.#inner.destroy();
  }
}
