/**
 * Moves batches from the EventQueue to the outputs and acknowledgements back to the files.
 * The pipeline owns retries (an output's `retry` outcome says how many of the batch's first
 * events were acknowledged; the rest is sent again after a backoff when no progress was made)
 * — the split Beats and Fluent Bit make. Several batches are in flight at once (pipelining);
 * ACKs may complete out of order, and OffsetTracker keeps file offsets ordered.
 * With several outputs, every batch goes to each; an event counts as acknowledged once all did.
 * Each output retries on its own backoff (its `backoff_base`/`backoff_max`).
 *
 * The outputs can be replaced while running (a configuration reload): batches in flight to the
 * old outputs get up to REPLACE_GRACE_MS to be acknowledged there, then are called back; what
 * every old output had acknowledged stays acknowledged, and
 * the rest goes to the new outputs first, before anything newer — no event lost, none sent twice
 * to an output that had it (with several outputs, an event only some of them had acknowledged is
 * sent to all the new ones).
 */
import type { Logger } from 'pino';
import { Backoff } from '../core/backoff.ts';
import { sleep } from '../core/timers.ts';
import type { Output } from '../outputs/types.ts';
import type { Batch, EventQueue } from './event-queue.ts';

/** Replaced outputs: how long batches in flight to them may still take (a Logstash that answers does so in milliseconds). */
export const REPLACE_GRACE_MS = 2000;

export interface PipelineMetrics {
  acked(events: number, bytes: number): void;
  dropped(events: number, reason: string): void;
  retried(events: number): void;
}

export interface PipelineOptions {
  queue: EventQueue;
  outputs: readonly Output[];
  /** How long batches in flight to replaced outputs may take to be acknowledged there before they are called back (REPLACE_GRACE_MS). */
  replaceGraceMs?: number;
  logger: Logger;
  /** Events per batch at most. A batch goes to every output, so this is the smallest bulk_max_size. */
  bulkMaxSize: number;
  /** Bytes per batch at most (an event larger than this still goes alone); likewise the smallest bulk_max_bytes. */
  bulkMaxBytes: number;
  /**
   * `logs.flush_interval`: a batch that is not full yet waits up to this long for more events
   * (Filebeat's queue flush timeout, Fluent Bit's Flush); 0 = send what is there at once. A full
   * queue never waits.
   */
  flushIntervalMs?: number;
  metrics?: PipelineMetrics;
  /**
   * Called when the pipeline is done with events (acknowledged by every output, or dropped): their
   * memory may be reused. `count` consecutive events lie in `memory` (a Buffer over a whole
   * ArrayBuffer, see outputs/event-spans.ts): one call per run, not per event. Not called for
   * events still unacknowledged at a stop.
   */
  release?: (memory: Buffer, count: number) => void;
}

export class Pipeline {
  readonly #o: PipelineOptions;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  /** Set while the outputs are being replaced: no new batch starts until it resolves. */
  #hold: Promise<void> | undefined;
  #outputs: readonly Output[];
  /** Aborted when the outputs are replaced: deliveries to the old ones stop. */
  #generation = new AbortController();
  /** A stop or a replacement: what a delivery's sends listen to (one per generation, not per batch). */
  #sendSignal: AbortSignal = AbortSignal.any([this.#abort.signal, this.#generation.signal]);
  /** Rests of batches called back from replaced outputs, in the order they were taken: sent before the queue's next batch. */
  readonly #redo: { order: number; batch: Batch }[] = [];
  #taken = 0;
  #wake: (() => void) | undefined;
  /** Ends a batch's wait for more events (a drain sends at once). */
  #lingering: AbortController | undefined;
  #draining = false;
  #loop: Promise<void> | undefined;
  #lastAckAt: number | null = null;
  #eventsAcked = 0;

  constructor(options: PipelineOptions) {
    if (options.outputs.length === 0) throw new RangeError('a pipeline needs at least one output');
    this.#o = options;
    this.#outputs = options.outputs;
  }

  get outputs(): readonly Output[] {
    return this.#outputs;
  }

  /**
   * Sends from now on to `next`; returns once the batches in flight to the old outputs have been
   * called back (their unacknowledged rest queued for `next`). The caller closes the old ones.
   */
  async replaceOutputs(next: readonly Output[]): Promise<void> {
    if (next.length === 0) throw new RangeError('a pipeline needs at least one output');
    const inFlight = [...this.#inFlight];
    const replaced = this.#generation;
    let resume!: () => void;
    this.#hold = new Promise((resolve) => (resume = resolve));
    this.#outputs = next;
    this.#generation = new AbortController();
    this.#sendSignal = AbortSignal.any([this.#abort.signal, this.#generation.signal]);
    // A batch in flight has usually reached the old output, its acknowledgement on the way: called
    // back at once, it would be sent to the new one too, and the old receiver had it. So the old
    // outputs get a moment to acknowledge; newer batches wait, so each file's lines keep their order.
    const grace = new AbortController();
    await Promise.race([Promise.allSettled(inFlight), sleep(this.#o.replaceGraceMs ?? REPLACE_GRACE_MS, AbortSignal.any([grace.signal, this.#abort.signal]))]);
    grace.abort();
    replaced.abort();
    await Promise.allSettled(inFlight);
    this.#hold = undefined;
    resume();
    this.#wake?.();
  }

  get inFlightBatches(): number {
    return this.#inFlight.size;
  }

  get lastAckAt(): number | null {
    return this.#lastAckAt;
  }

  get eventsAcked(): number {
    return this.#eventsAcked;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Graceful: keeps delivering until the queue is empty and nothing is in flight, or until
   * `timeoutMs`; then aborts what is left (those events stay unacknowledged: they are read
   * again after the restart — duplicates, never loss).
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.#draining = true;
    this.#lingering?.abort();
    const busy = (): boolean => this.#o.queue.length > 0 || this.#inFlight.size > 0 || this.#redo.length > 0;
    while (busy() && Date.now() < deadline) {
      await sleep(20);
    }
    const drained = !busy();
    await this.stop();
    return drained;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    this.#o.queue.close();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const maxInFlight = Math.min(...this.#outputs.map((o) => o.maxInFlight));
      while (this.#inFlight.size >= maxInFlight && !signal.aborted) await Promise.race(this.#inFlight);
      if (this.#redo.length === 0) {
        // The queue, or a replacement of the outputs handing back a batch's rest.
        await Promise.race([this.#o.queue.whenReadable(), new Promise<void>((resolve) => (this.#wake = resolve))]);
        this.#wake = undefined;
      }
      if (signal.aborted) break;
      await this.#linger(signal);
      // The outputs are being replaced: batches in flight to the old ones finish first.
      if (this.#hold !== undefined) await this.#hold;
      if (signal.aborted) break;
      const redo = this.#redo.shift();
      const batch = redo?.batch ?? this.#o.queue.take(this.#o.bulkMaxSize, this.#o.bulkMaxBytes);
      if (!batch) continue;
      const delivery: Promise<void> = this.#deliver(batch, signal, redo?.order ?? this.#taken++).finally(() => this.#inFlight.delete(delivery));
      this.#inFlight.add(delivery);
    }
  }

  /** Lets a batch fill up for flush_interval at most (not when a batch's rest is to be redone, or when stopping). */
  async #linger(signal: AbortSignal): Promise<void> {
    const ms = this.#o.flushIntervalMs ?? 0;
    if (ms <= 0 || this.#draining || this.#redo.length > 0 || this.#o.queue.length >= this.#o.bulkMaxSize) return;
    const lingering = (this.#lingering = new AbortController());
    await Promise.race([this.#o.queue.whenAtLeast(this.#o.bulkMaxSize), sleep(ms, AbortSignal.any([signal, lingering.signal]))]);
    lingering.abort();
    this.#lingering = undefined;
  }

  async #deliver(batch: Batch, stop: AbortSignal, order: number): Promise<void> {
    const outputs = this.#outputs;
    const replaced = this.#generation.signal;
    const signal = this.#sendSignal;
    const done = outputs.map(() => 0); // per output: events acknowledged (a prefix of the batch)
    let committed = 0; // events acknowledged by every output and passed to their trackers
    const advance = (): void => {
      const min = Math.min(...done);
      if (min <= committed) return;
      let bytes = 0;
      const { events, trackers, seqs } = batch;
      // runs: a file's consecutive events are acknowledged with one call, and events cut from one
      // slab released with one (the per-event calls were a few % of the agent under full load)
      for (let i = committed; i < min; ) {
        const tracker = trackers[i];
        const seq = seqs[i] as number;
        let j = i + 1;
        if (tracker) {
          while (j < min && trackers[j] === tracker && seqs[j] === seq + (j - i)) j++;
          tracker.ack(seq, j - i);
        }
        i = j;
      }
      const release = this.#o.release;
      const { memories, lengths, first } = events;
      for (let i = first + committed, last = first + min; i < last; ) {
        const memory = memories[i] as Buffer;
        let j = i;
        while (j < last && memories[j] === memory) bytes += lengths[j++] as number;
        release?.(memory, j - i);
        i = j;
      }
      this.#eventsAcked += min - committed;
      this.#lastAckAt = Date.now();
      this.#o.metrics?.acked(min - committed, bytes);
      committed = min;
    };
    await Promise.all(
      outputs.map(async (output, i) => {
        const backoff = new Backoff(output.backoff);
        while (done[i]! < batch.events.length && !signal.aborted) {
          const rest = batch.events.slice(done[i]!);
          const outcome = await output.send(rest, signal);
          if (outcome.kind === 'acked') {
            done[i] = batch.events.length;
          } else {
            const progressed = outcome.acked > 0;
            done[i]! += outcome.acked;
            if (outcome.kind === 'fatal') {
              // Logstash refuses these events for good (HTTP 4xx): count and log the loss rather
              // than stall every file behind them forever.
              const lost = batch.events.length - done[i]!;
              this.#o.metrics?.dropped(lost, 'rejected');
              this.#o.logger.error({ output: output.name, events: lost, err: outcome.error.message }, 'output rejected events; they are dropped');
              done[i] = batch.events.length;
            } else {
              this.#o.metrics?.retried(batch.events.length - done[i]!);
              if (progressed) backoff.reset();
              else if (!signal.aborted) await sleep(backoff.next(), signal);
            }
          }
          advance();
        }
      }),
    );
    advance();
    if (replaced.aborted && !stop.aborted && committed < batch.events.length) {
      // Called back from replaced outputs: the rest goes to the new ones, before newer batches
      // and in the order the batches were taken, so each file's lines keep their order.
      const events = batch.events.slice(committed);
      const rest: Batch = {
        events,
        trackers: batch.trackers.slice(committed),
        seqs: Array.from(batch.seqs).slice(committed),
        bytes: events.bytes,
      };
      const at = this.#redo.findIndex((r) => r.order > order);
      this.#redo.splice(at < 0 ? this.#redo.length : at, 0, { order, batch: rest });
    }
  }
}
