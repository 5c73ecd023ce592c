/**
 * The Output (types.ts) for the socket protocols — Beats and TCP json_lines share everything
 * but the connection: host selection and reconnects (ConnectionPool), batch accounting, stats,
 * metrics, graceful and forced shutdown.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DockhandError, errorMessage } from '../core/errors.ts';
import { abortedError, retry } from './abortable.ts';
import { ConnectionPool } from './connection-pool.ts';
import type { BatchConnection, ConnectionActivity } from './connection-pool.ts';
import type { StreamEndpoint } from './endpoint.ts';
import { outputInstruments } from './output-metrics.ts';
import type { OutputInstruments } from './output-metrics.ts';
import type { EncodedEvent, Output, OutputStats, SendOutcome } from './types.ts';

export interface StreamOutputOptions<C extends BatchConnection> {
  name: string;
  endpoints: readonly StreamEndpoint[];
  loadbalance: boolean;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Also bounds how long close() waits for in-flight batches. */
  timeoutMs: number;
  maxInFlight: number;
  /** A child logger that names the output (`{ output: name }`): lines here do not repeat it. */
  logger: Logger;
  registry?: Registry | undefined;
  connect(endpoint: StreamEndpoint, signal: AbortSignal, activity: ConnectionActivity): Promise<C>;
  random?: () => number;
}

export class StreamOutput<C extends BatchConnection> implements Output {
  readonly name: string;
  readonly maxInFlight: number;
  readonly #o: StreamOutputOptions<C>;
  readonly #pool: ConnectionPool<C>;
  readonly #instruments: OutputInstruments;
  readonly #releaseMetrics: () => void;
  #eventsAcked = 0;
  #inFlight = 0;
  #lastAckAt: number | null = null;
  #closing = false;

  constructor(options: StreamOutputOptions<C>) {
    this.name = options.name;
    this.maxInFlight = options.maxInFlight;
    this.#o = options;
    const { instruments, release } = outputInstruments(options.registry, options.name, () => this.stats());
    this.#instruments = instruments;
    this.#releaseMetrics = release;
    const activity: ConnectionActivity = {
      heard: () => {
        this.#lastAckAt = Date.now();
      },
      keepalive: (host) => instruments.keepalive(host),
      sent: (bytes) => instruments.sent(bytes),
      window: (host, size) => instruments.window(host, size),
    };
    this.#pool = new ConnectionPool<C>({
      name: options.name,
      endpoints: options.endpoints,
      loadbalance: options.loadbalance,
      backoffBaseMs: options.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs,
      connect: (endpoint, signal) => options.connect(endpoint, signal, activity),
      logger: options.logger,
      instruments,
      ...(options.random ? { random: options.random } : {}),
    });
  }

  start(): void {
    this.#pool.start();
  }

  async send(events: readonly EncodedEvent[], signal: AbortSignal): Promise<SendOutcome> {
    if (events.length === 0) return { kind: 'acked' };
    if (this.#closing) return this.#count(events.length, retry(0, this.#closedError()));
    this.#inFlight++;
    try {
      const conn = await this.#pool.acquire(signal);
      if (conn === null) return this.#count(events.length, retry(0, signal.aborted ? abortedError(this.name) : this.#closedError()));
      return this.#count(events.length, await conn.sendBatch(events, signal));
    } catch (err) {
      // Not expected (connections resolve every failure); the contract is never to reject.
      this.#o.logger.error({ err: errorMessage(err) }, 'unexpected error while sending a batch');
      return this.#count(events.length, retry(0, new DockhandError('INTERNAL', `${this.name}: ${errorMessage(err)}`, { transient: true, cause: err })));
    } finally {
      this.#inFlight--;
    }
  }

  stats(): OutputStats {
    return {
      state: this.#pool.state(),
      hosts: this.#pool.hosts(),
      eventsAcked: this.#eventsAcked,
      batchesInFlight: this.#inFlight,
      lastAckAt: this.#lastAckAt,
      reconnects: this.#pool.reconnects,
    };
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await this.#pool.close(this.#o.timeoutMs);
    this.#releaseMetrics();
  }

  destroy(): void {
    this.#closing = true;
    this.#pool.destroy(this.#closedError());
    this.#releaseMetrics();
  }

  #count(total: number, outcome: SendOutcome): SendOutcome {
    const acked = outcome.kind === 'acked' ? total : outcome.acked;
    if (acked > 0) {
      this.#eventsAcked += acked;
      this.#instruments.acked(acked);
    }
    this.#instruments.batch(outcome.kind);
    return outcome;
  }

  #closedError(): DockhandError {
    return new DockhandError('UNAVAILABLE', `${this.name}: output closed`, { transient: true });
  }
}
