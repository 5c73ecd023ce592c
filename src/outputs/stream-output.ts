/**
 * The Output (types.ts) for the socket protocols — Beats and TCP json_lines share everything
 * but the connection: host selection and reconnects (ConnectionPool), batch accounting, stats,
 * metrics, graceful and forced shutdown.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { OutputConfig } from './config.ts';
import { errorMessage } from '../core/errors.ts';
import { abortedError, closedError, retry, unexpectedSendError } from './abortable.ts';
import { BufferPool } from './buffer-pool.ts';
import { ConnectionPool } from './connection-pool.ts';
import type { BatchConnection, ConnectionActivity } from './connection-pool.ts';
import type { OutputDeps } from './deps.ts';
import { dial } from './dial.ts';
import { parseStreamEndpoints } from './endpoint.ts';
import type { StreamEndpoint } from './endpoint.ts';
import { loadOutputTls } from './tls-options.ts';
import { countOutcome, outputInstruments } from './output-metrics.ts';
import type { OutputInstruments } from './output-metrics.ts';
import { spansOf } from './event-spans.ts';
import type { EventList } from './event-spans.ts';
import type { Output, OutputStats, SendOutcome } from './types.ts';

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

/** What a protocol's connection gets besides its dialled socket. */
export interface StreamConnectionContext {
  endpoint: StreamEndpoint;
  activity: ConnectionActivity;
  /** Shared by the output's connections: windows in flight at once, over all of them, plus one being encoded. */
  buffers: BufferPool;
  /** Names the output. */
  logger: Logger;
}

/**
 * The StreamOutput of an `outputs[i]` entry of `type` (`beats`, `tcp`): hosts and TLS files
 * checked (a ConfigError naming `outputs[i].…`), reconnect and pipelining settings, one buffer
 * pool; `connection` wraps each socket dialled (TLS when configured) into the protocol.
 */
export function streamOutputFromConfig<C extends BatchConnection>(
  type: string,
  config: OutputConfig,
  index: number,
  deps: OutputDeps,
  connection: (socket: Socket, context: StreamConnectionContext) => C,
): StreamOutput<C> {
  const name = `${type}[${index}]`;
  const keyPath = `outputs[${index}]`;
  const endpoints = parseStreamEndpoints(config.hosts, `${keyPath}.hosts`);
  const tls = loadOutputTls(config.tls, `${keyPath}.tls`);
  const logger = deps.logger.child({ output: name });
  const buffers = new BufferPool(config.pipelining * endpoints.length + 1);
  return new StreamOutput<C>({
    name,
    endpoints,
    loadbalance: config.loadbalance,
    backoffBaseMs: config.backoff_base,
    backoffMaxMs: config.backoff_max,
    timeoutMs: config.timeout,
    maxInFlight: config.pipelining * (config.loadbalance ? endpoints.length : 1),
    logger,
    registry: deps.registry,
    ...(deps.random ? { random: deps.random } : {}),
    async connect(endpoint, signal, activity) {
      const socket = await dial(endpoint, tls, config.timeout, signal);
      return connection(socket, { endpoint, activity, buffers, logger });
    },
  });
}

export class StreamOutput<C extends BatchConnection> implements Output {
  readonly name: string;
  readonly maxInFlight: number;
  readonly backoff: { baseMs: number; maxMs: number };
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
    this.backoff = { baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs };
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

  async send(list: EventList, signal: AbortSignal): Promise<SendOutcome> {
    const events = spansOf(list);
    if (events.length === 0) return { kind: 'acked' };
    if (this.#closing) return this.#count(events.length, retry(0, closedError(this.name)));
    this.#inFlight++;
    try {
      const conn = await this.#pool.acquire(signal);
      if (conn === null) return this.#count(events.length, retry(0, signal.aborted ? abortedError(this.name) : closedError(this.name)));
      return this.#count(events.length, await conn.sendBatch(events, signal));
    } catch (err) {
      // Not expected (connections resolve every failure); the contract is never to reject.
      this.#o.logger.error({ err: errorMessage(err) }, 'unexpected error while sending a batch');
      return this.#count(events.length, retry(0, unexpectedSendError(this.name, err)));
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
    this.#pool.destroy(closedError(this.name));
    this.#releaseMetrics();
  }

  #count(total: number, outcome: SendOutcome): SendOutcome {
    this.#eventsAcked += countOutcome(this.#instruments, total, outcome);
    return outcome;
  }
}
