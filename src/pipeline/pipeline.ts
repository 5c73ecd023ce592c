/**
 * Moves batches from the EventQueue to the outputs and acknowledgements back to the files.
 * The pipeline owns retries (an output's `retry` outcome says how many of the batch's first
 * events were acknowledged; the rest is sent again after a backoff when no progress was made)
 * — the split Beats and Fluent Bit make. Several batches are in flight at once (pipelining);
 * ACKs may complete out of order, and OffsetTracker keeps file offsets ordered.
 * With several outputs, every batch goes to each; an event counts as acknowledged once all did.
 * Each output retries on its own backoff (its `backoff_base`/`backoff_max`).
 */
import type { Logger } from 'pino';
import { Backoff } from '../core/backoff.ts';
import { sleep } from '../core/timers.ts';
import type { EncodedEvent, Output } from '../outputs/types.ts';
import type { Batch, EventQueue } from './event-queue.ts';

export interface PipelineMetrics {
  acked(events: number, bytes: number): void;
  dropped(events: number, reason: string): void;
  retried(events: number): void;
}

export interface PipelineOptions {
  queue: EventQueue;
  outputs: readonly Output[];
  logger: Logger;
  /** Events per batch at most. A batch goes to every output, so this is the smallest bulk_max_size. */
  bulkMaxSize: number;
  /** Bytes per batch at most (an event larger than this still goes alone); likewise the smallest bulk_max_bytes. */
  bulkMaxBytes: number;
  metrics?: PipelineMetrics;
  /**
   * Called once per event when the pipeline is done with it (acknowledged by every output, or
   * dropped): its buffer may be reused. Not called for events still unacknowledged at a stop.
   */
  release?: (event: EncodedEvent) => void;
}

export class Pipeline {
  readonly #o: PipelineOptions;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;
  #lastAckAt: number | null = null;
  #eventsAcked = 0;

  constructor(options: PipelineOptions) {
    if (options.outputs.length === 0) throw new RangeError('a pipeline needs at least one output');
    this.#o = options;
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
    while ((this.#o.queue.length > 0 || this.#inFlight.size > 0) && Date.now() < deadline) {
      await sleep(20);
    }
    const drained = this.#o.queue.length === 0 && this.#inFlight.size === 0;
    await this.stop();
    return drained;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#o.queue.close();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const maxInFlight = Math.min(...this.#o.outputs.map((o) => o.maxInFlight));
    while (!signal.aborted) {
      while (this.#inFlight.size >= maxInFlight && !signal.aborted) await Promise.race(this.#inFlight);
      await this.#o.queue.whenReadable();
      if (signal.aborted) break;
      const batch = this.#o.queue.take(this.#o.bulkMaxSize, this.#o.bulkMaxBytes);
      if (!batch) continue;
      const delivery: Promise<void> = this.#deliver(batch, signal).finally(() => this.#inFlight.delete(delivery));
      this.#inFlight.add(delivery);
    }
  }

  async #deliver(batch: Batch, signal: AbortSignal): Promise<void> {
    const outputs = this.#o.outputs;
    const done = outputs.map(() => 0); // per output: events acknowledged (a prefix of the batch)
    let committed = 0; // events acknowledged by every output and passed to their trackers
    const advance = (): void => {
      const min = Math.min(...done);
      if (min <= committed) return;
      let bytes = 0;
      const release = this.#o.release;
      for (let i = committed; i < min; i++) {
        batch.trackers[i]?.ack(batch.seqs[i] as number);
        const event = batch.events[i] as Buffer;
        bytes += event.length;
        release?.(event);
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
          const rest = done[i] === 0 ? batch.events : batch.events.slice(done[i]);
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
  }
}
