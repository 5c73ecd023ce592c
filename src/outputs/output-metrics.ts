/**
 * `dockhand_output_*` figures. One set of metric objects per prom-client Registry (several
 * outputs share them, told apart by the `output` label); gauges are read from the outputs'
 * stats() at scrape time, counters are bumped per batch or window (bound label children, no
 * label lookup on the hot path).
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { OutputStats, SendOutcome } from './types.ts';

/** What an output reports while it works; every method is cheap. */
export interface OutputInstruments {
  /** Events acknowledged (prefix of a batch). */
  acked(events: number): void;
  /** Bytes written to the wire (after compression). */
  sent(bytes: number): void;
  batch(outcome: 'acked' | 'retry' | 'fatal'): void;
  /** A connection to `host` was lost or refused and is being re-established. */
  reconnect(host: string): void;
  /** Beats keep-alive ACK (no progress) from `host`. */
  keepalive(host: string): void;
  /** Current Beats window size towards `host`. */
  window(host: string, size: number): void;
}

export const NO_INSTRUMENTS: OutputInstruments = {
  acked() {},
  sent() {},
  batch() {},
  reconnect() {},
  keepalive() {},
  window() {},
};

const STATES: OutputStats['state'][] = ['connecting', 'connected', 'disconnected', 'closed'];

class OutputMetricSet {
  readonly #sources = new Map<string, () => OutputStats>();
  readonly acked: Counter<'output'>;
  readonly sent: Counter<'output'>;
  readonly batches: Counter<'output' | 'outcome'>;
  readonly reconnects: Counter<'output' | 'host'>;
  readonly keepalives: Counter<'output' | 'host'>;
  readonly dropped: Counter<'output'>;
  readonly window: Gauge<'output' | 'host'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const sources = this.#sources;
    this.acked = new Counter({ name: 'dockhand_output_events_acked_total', help: 'Events acknowledged by Logstash (for tcp: written to the socket).', labelNames: ['output'], registers });
    this.sent = new Counter({ name: 'dockhand_output_sent_bytes_total', help: 'Bytes written towards Logstash, after compression and framing.', labelNames: ['output'], registers });
    this.batches = new Counter({ name: 'dockhand_output_batches_total', help: 'Batches handled by the output, by outcome (acked, retry, fatal).', labelNames: ['output', 'outcome'], registers });
    this.reconnects = new Counter({ name: 'dockhand_output_reconnects_total', help: 'Connections to a Logstash host lost or refused, each followed by a reconnect with backoff.', labelNames: ['output', 'host'], registers });
    this.keepalives = new Counter({ name: 'dockhand_output_keepalives_total', help: 'Beats keep-alive ACKs received (Logstash busy, no progress).', labelNames: ['output', 'host'], registers });
    this.dropped = new Counter({ name: 'dockhand_output_events_dropped_total', help: 'Events given up on after max_retries failed attempts.', labelNames: ['output'], registers });
    this.window = new Gauge({ name: 'dockhand_output_window_size', help: 'Current Beats window size (events) towards a host (slow start).', labelNames: ['output', 'host'], registers });
    new Gauge({
      name: 'dockhand_output_connection_state',
      help: 'Connection state per Logstash host: 1 for the current state, 0 for the others.',
      labelNames: ['output', 'host', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [output, stats] of sources) {
          for (const h of stats().hosts) for (const s of STATES) this.set({ output, host: h.host, state: s }, h.state === s ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'dockhand_output_last_ack_timestamp_seconds',
      help: 'Unix time of the last ACK (or keep-alive) from any host of the output; absent before the first.',
      labelNames: ['output'],
      registers,
      collect() {
        this.reset();
        for (const [output, stats] of sources) {
          const at = stats().lastAckAt;
          if (at !== null) this.set({ output }, at / 1000);
        }
      },
    });
    new Gauge({
      name: 'dockhand_output_batches_in_flight',
      help: 'Batches being sent and not yet acknowledged or failed.',
      labelNames: ['output'],
      registers,
      collect() {
        this.reset();
        for (const [output, stats] of sources) this.set({ output }, stats().batchesInFlight);
      },
    });
  }

  /**
   * A replacement output (a configuration reload) takes over its predecessor's name: the gauges
   * read the newer one from now on, and the counters go on counting under the same label.
   */
  instruments(output: string, stats: () => OutputStats): OutputInstruments {
    this.#sources.set(output, stats);
    const acked = this.acked.labels({ output });
    const sent = this.sent.labels({ output });
    const outcomes = { acked: this.batches.labels({ output, outcome: 'acked' }), retry: this.batches.labels({ output, outcome: 'retry' }), fatal: this.batches.labels({ output, outcome: 'fatal' }) };
    return {
      acked: (n) => acked.inc(n),
      sent: (n) => sent.inc(n),
      batch: (outcome) => outcomes[outcome].inc(),
      reconnect: (host) => this.reconnects.inc({ output, host }),
      keepalive: (host) => this.keepalives.inc({ output, host }),
      window: (host, size) => this.window.set({ output, host }, size),
    };
  }

  /** Forgets `output` unless a replacement has taken its name since. */
  forget(output: string, stats: () => OutputStats): void {
    if (this.#sources.get(output) === stats) this.#sources.delete(output);
  }
}

const sets = new WeakMap<Registry, OutputMetricSet>();

function metricSet(registry: Registry): OutputMetricSet {
  let set = sets.get(registry);
  if (!set) {
    set = new OutputMetricSet(registry);
    sets.set(registry, set);
  }
  return set;
}

/** Instruments for one output in `registry` (NO_INSTRUMENTS without one). Call `release` on close. */
/** Counts a send's outcome of `total` events (batches by kind, events acknowledged); returns the events acknowledged. */
export function countOutcome(instruments: OutputInstruments, total: number, outcome: SendOutcome): number {
  const acked = outcome.kind === 'acked' ? total : outcome.acked;
  if (acked > 0) instruments.acked(acked);
  instruments.batch(outcome.kind);
  return acked;
}

export function outputInstruments(registry: Registry | undefined, output: string, stats: () => OutputStats): { instruments: OutputInstruments; release: () => void } {
  if (!registry) return { instruments: NO_INSTRUMENTS, release: () => {} };
  const set = metricSet(registry);
  return { instruments: set.instruments(output, stats), release: () => set.forget(output, stats) };
}

/** `dockhand_output_events_dropped_total{output}` for a wrapper that does not own the output's instruments. */
export function droppedCounter(registry: Registry | undefined, output: string): (events: number) => void {
  if (!registry) return () => {};
  const child = metricSet(registry).dropped.labels({ output });
  child.inc(0); // the series exists from the start, so increase() sees the first drop
  return (n) => child.inc(n);
}
