/**
 * The contract every Logstash output keeps (docs/architecture.md, as Beats and Fluent Bit split it):
 * `send(batch)` ends in exactly one of acked, retry (with how many of the batch's first events
 * were acknowledged) or fatal. The pipeline owns retrying a batch's rest and its backoff; the
 * output owns its connections (reconnect backoff, TLS, windows, keep-alives) and reports state.
 */
import type { DockhandError } from '../core/errors.ts';
import type { EventList } from './event-spans.ts';

/**
 * One event ready for the wire: a JSON object serialised as UTF-8, no trailing newline.
 * Outputs must not modify or retain it after `send` resolves (the pipeline may reuse memory).
 * Batches pass events as spans of memory (event-spans.ts), or as Buffers.
 */
export type EncodedEvent = Buffer;

export type SendOutcome =
  /** Every event of the batch was acknowledged by Logstash. */
  | { kind: 'acked' }
  /** The first `acked` events were acknowledged (0 ≤ acked < batch length); the rest must be sent again. */
  | { kind: 'retry'; acked: number; error: DockhandError }
  /** Cannot succeed by retrying (e.g. HTTP 400/413 for this batch); `acked` as for retry. */
  | { kind: 'fatal'; acked: number; error: DockhandError };

export type OutputState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface OutputStats {
  state: OutputState;
  /** Per host (host:port or URL): its connection state. */
  hosts: { host: string; state: OutputState; lastError: string | null }[];
  eventsAcked: number;
  batchesInFlight: number;
  /** Unix ms of the last ACK (or keep-alive ACK) from any host; null before the first. */
  lastAckAt: number | null;
  reconnects: number;
}

export interface Output {
  /** e.g. `beats[0]`, for logs and metric labels. */
  readonly name: string;
  /** Batches the output accepts at once (pipelining); the pipeline never exceeds it. */
  readonly maxInFlight: number;
  /**
   * The output's `backoff_base`/`backoff_max`: its reconnect delays, and the pipeline's delays
   * before it sends the rest of a batch this output failed (no progress) again.
   */
  readonly backoff: { baseMs: number; maxMs: number };
  /** Connects (in the background: an unreachable Logstash is a state, not a start failure). */
  start(): void;
  /**
   * Sends one batch and resolves once it is acknowledged or has failed. While no connection is
   * up, waits for one (or for `signal`). Aborting `signal` resolves with `retry` and the count
   * acknowledged so far. Never rejects.
   */
  send(events: EventList, signal: AbortSignal): Promise<SendOutcome>;
  stats(): OutputStats;
  /** Graceful: stop taking batches, wait (bounded) for in-flight ACKs, close connections. Idempotent. */
  close(): Promise<void>;
  /** Immediate: drop connections; pending sends resolve with `retry`. Idempotent. */
  destroy(): void;
}
