/**
 * Long-lived connections to the Logstash hosts of one socket output (beats, tcp), with
 * reconnects and host selection:
 *
 * - loadbalance: every host keeps its own connection; a batch goes to the connected host with
 *   the fewest batches in flight (round-robin among equals). A down host is retried in the
 *   background with its own backoff while the others carry the load.
 * - failover: one connection at a time, to the first host that answers, in configured order.
 *   A healthy connection that ends is re-established to the same host first (Logstash closes
 *   idle clients after `client_inactivity_timeout`; that is no reason to switch); a host that
 *   refuses or a connection that failed without progress moves on to the next host at once;
 *   after a whole round of failures, wait a backoff delay.
 *
 * Reconnect delays come from core/backoff.ts (jittered exponential, backoff_base → backoff_max).
 * The backoff restarts from the base only after a *healthy* connection — one that got ACKs or
 * stayed up a while — not merely an accepted one: a Logstash (or a load balancer in front of it)
 * that accepts and closes at once must not get a tight reconnect loop (Filebeat resets its
 * backoff on successful publish, not on connect, for the same reason).
 */
import type { Logger } from 'pino';
import { Backoff } from '../core/backoff.ts';
import type { DockhandError } from '../core/errors.ts';
import { sleep } from '../core/timers.ts';
import type { StreamEndpoint } from './endpoint.ts';
import type { OutputInstruments } from './output-metrics.ts';
import type { EventSpans } from './event-spans.ts';
import type { OutputState, OutputStats, SendOutcome } from './types.ts';

export interface ConnectionEnd {
  error: DockhandError;
  /** The connection was worth having (made progress or lived long): the backoff restarts. */
  healthy: boolean;
  /** Nothing was in flight when it ended (e.g. Logstash closed an idle client). */
  idle: boolean;
}

/** What a connection reports to its output (stats, metrics). */
export interface ConnectionActivity {
  /** Any sign of delivery: an ACK (keep-alives included), or for tcp a flushed write. */
  heard(): void;
  keepalive(host: string): void;
  sent(bytes: number): void;
  window(host: string, size: number): void;
}

/** One connection to one host that sends batches. */
export interface BatchConnection {
  /** False once the connection is ending: take no new batches. */
  readonly alive: boolean;
  /** Batches being sent on it. */
  readonly busy: number;
  /** Resolves once, when the connection has ended. */
  readonly ended: Promise<ConnectionEnd>;
  /** Never rejects (see Output.send). */
  sendBatch(events: EventSpans, signal: AbortSignal): Promise<SendOutcome>;
  /** Graceful: take no new batches, wait up to `timeoutMs` for those in flight, then close. */
  drain(timeoutMs: number): Promise<void>;
  destroy(error: DockhandError): void;
}

export interface ConnectionPoolOptions<C extends BatchConnection> {
  name: string;
  endpoints: readonly StreamEndpoint[];
  loadbalance: boolean;
  backoffBaseMs: number;
  backoffMaxMs: number;
  connect(endpoint: StreamEndpoint, signal: AbortSignal): Promise<C>;
  logger: Logger;
  instruments: OutputInstruments;
  /** Injected for tests: the backoff's jitter source. */
  random?: () => number;
  /** Injected for tests: how reconnect delays are waited out (core/sleep by default). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<boolean>;
}

interface HostSlot<C> {
  endpoint: StreamEndpoint;
  state: OutputState;
  lastError: string | null;
  conn: C | null;
}

export class ConnectionPool<C extends BatchConnection> {
  readonly #o: ConnectionPoolOptions<C>;
  readonly #slots: HostSlot<C>[];
  readonly #abort = new AbortController();
  readonly #waiters = new Set<() => void>();
  readonly #loops: Promise<void>[] = [];
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<boolean>;
  #next = 0;
  #reconnects = 0;
  #closed = false;

  constructor(options: ConnectionPoolOptions<C>) {
    if (options.endpoints.length === 0) throw new RangeError(`${options.name}: no hosts`);
    this.#o = options;
    this.#sleep = options.sleep ?? sleep;
    this.#slots = options.endpoints.map((endpoint) => ({ endpoint, state: 'disconnected', lastError: null, conn: null }));
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  start(): void {
    if (this.#loops.length > 0 || this.#closed) return;
    // The loops handle every failure they expect; anything else is logged, never an unhandled rejection.
    const guard = (loop: Promise<void>): Promise<void> =>
      loop.catch((err: unknown) => this.#o.logger.error({ err: (err as Error).message }, 'connection loop failed; this output no longer reconnects'));
    if (this.#o.loadbalance) for (const slot of this.#slots) this.#loops.push(guard(this.#maintainOne(slot)));
    else this.#loops.push(guard(this.#maintainFailover()));
  }

  /** A live connection (waiting for one while none is up), or null once `signal` aborts or the pool closes. */
  async acquire(signal: AbortSignal): Promise<C | null> {
    for (;;) {
      if (this.#closed || signal.aborted) return null;
      const conn = this.#pick();
      if (conn) return conn;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.#waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  hosts(): OutputStats['hosts'] {
    return this.#slots.map((s) => ({ host: s.endpoint.label, state: this.#closed ? 'closed' : s.state, lastError: s.lastError }));
  }

  /** Overall state: connected if any host is, else connecting if any is trying. */
  state(): OutputState {
    if (this.#closed) return 'closed';
    if (this.#slots.some((s) => s.state === 'connected')) return 'connected';
    if (this.#slots.some((s) => s.state === 'connecting')) return 'connecting';
    return 'disconnected';
  }

  /** Graceful: no new connections; live ones finish their batches (bounded by `timeoutMs`) and close. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#wakeAll();
    await Promise.all(this.#slots.map((s) => (s.conn ? s.conn.drain(timeoutMs) : Promise.resolve())));
    await Promise.all(this.#loops);
  }

  destroy(error: DockhandError): void {
    this.#closed = true;
    this.#abort.abort();
    this.#wakeAll();
    for (const s of this.#slots) s.conn?.destroy(error);
  }

  #pick(): C | null {
    let best: C | null = null;
    const n = this.#slots.length;
    for (let k = 0; k < n; k++) {
      const conn = (this.#slots[(this.#next + k) % n] as HostSlot<C>).conn;
      if (conn?.alive && (best === null || conn.busy < best.busy)) best = conn;
    }
    this.#next = (this.#next + 1) % n;
    return best;
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** One attempt at `slot`: the end of its connection, or null when the connect failed. */
  async #connectAndHold(slot: HostSlot<C>): Promise<ConnectionEnd | null> {
    const { endpoint } = slot;
    slot.state = 'connecting';
    let conn: C;
    try {
      conn = await this.#o.connect(endpoint, this.#abort.signal);
    } catch (err) {
      if (this.#closed) return null;
      const message = (err as Error).message;
      slot.state = 'disconnected';
      slot.lastError = message;
      this.#lost(endpoint, { host: endpoint.label, err: message }, 'cannot connect to Logstash', 'warn');
      return null;
    }
    if (this.#closed) {
      await conn.drain(0);
      return null;
    }
    slot.conn = conn;
    slot.state = 'connected';
    slot.lastError = null;
    this.#o.logger.info({ host: endpoint.label }, 'connected to Logstash');
    this.#wakeAll();
    const end = await conn.ended;
    slot.conn = null;
    if (this.#closed) return end;
    slot.state = 'disconnected';
    slot.lastError = end.error.message;
    this.#lost(endpoint, { host: endpoint.label, err: end.error.message, idle: end.idle }, 'connection to Logstash ended', end.idle ? 'info' : 'warn');
    return end;
  }

  #lost(endpoint: StreamEndpoint, fields: Record<string, unknown>, msg: string, level: 'info' | 'warn'): void {
    this.#reconnects++;
    this.#o.instruments.reconnect(endpoint.label);
    this.#o.logger[level](fields, msg);
  }

  #backoff(): Backoff {
    return new Backoff({ baseMs: this.#o.backoffBaseMs, maxMs: this.#o.backoffMaxMs, ...(this.#o.random ? { random: this.#o.random } : {}) });
  }

  async #maintainOne(slot: HostSlot<C>): Promise<void> {
    const backoff = this.#backoff();
    while (!this.#closed) {
      const end = await this.#connectAndHold(slot);
      if (this.#closed) break;
      if (end?.healthy) backoff.reset();
      await this.#sleep(backoff.next(), this.#abort.signal);
    }
  }

  async #maintainFailover(): Promise<void> {
    const backoff = this.#backoff();
    const n = this.#slots.length;
    let i = 0;
    let failedInRound = 0;
    while (!this.#closed) {
      const slot = this.#slots[i] as HostSlot<C>;
      const end = await this.#connectAndHold(slot);
      if (this.#closed) break;
      if (end?.healthy) {
        // Try the same host again first, after a short (reset) delay.
        backoff.reset();
        failedInRound = 0;
        await this.#sleep(backoff.next(), this.#abort.signal);
        continue;
      }
      i = (i + 1) % n;
      if (++failedInRound >= n) {
        failedInRound = 0;
        await this.#sleep(backoff.next(), this.#abort.signal);
      }
    }
  }
}
