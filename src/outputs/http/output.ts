/**
 * The HTTP output (Logstash `http` input) through undici: each batch is one POST of a JSON array
 * (`content-type: application/json`), which the input's default codec map turns into one event
 * per element — no extra Logstash configuration, unlike ndjson (`application/x-ndjson` needs its
 * own codec mapping). Connections are kept alive per host (an undici Pool of `pipelining`
 * connections, HTTP/1.1 without request pipelining: Logstash's input is HTTP/1.1 and a
 * pipelined request stuck behind a slow one would only add latency).
 *
 * Outcomes: 2xx → acked (Logstash answers once the events are in its queue); 408/425/429/5xx and
 * network errors → retry; other 4xx → fatal (the pipeline counts and drops the batch). A host
 * that failed is left alone for a backoff delay (jittered exponential, reset by a success), or
 * for `Retry-After` when the answer carries one (capped at backoff_max) — with loadbalance the
 * other hosts take the batches meanwhile. A batch is all or nothing: acked counts are 0 or all.
 */
import type { Logger } from 'pino';
import type * as Undici from 'undici';
import type { Pool } from 'undici';
import { Backoff } from '../../core/backoff.ts';
import { lazyModule } from '../../core/lazy-module.ts';
import { DockhandError, errorMessage } from '../../core/errors.ts';
import { sleep } from '../../core/timers.ts';
import type { OutputConfig } from '../config.ts';
import { abortedError, closedError, retry, unexpectedSendError } from '../abortable.ts';
import { BufferPool } from '../buffer-pool.ts';
import type { OutputDeps } from '../deps.ts';
import { parseHttpEndpoints } from '../endpoint.ts';
import type { HttpEndpoint } from '../endpoint.ts';
import { countOutcome, outputInstruments } from '../output-metrics.ts';
import type { OutputInstruments } from '../output-metrics.ts';
import { loadOutputTls, tlsConnectOptions } from '../tls-options.ts';
import { spansOf } from '../event-spans.ts';
import type { EventList, EventSpans } from '../event-spans.ts';
import type { Output, OutputState, OutputStats, SendOutcome } from '../types.ts';
import { parseRetryAfter, verdictFor } from './retry-after.ts';

/** undici is loaded only when an HTTP output is configured (src/core/lazy-module.ts). */
const undici = lazyModule<typeof Undici>('undici');

/** Bytes of an error answer kept for the log message. */
const ERROR_BODY_BYTES = 512;

interface HttpHost {
  endpoint: HttpEndpoint;
  pool: Pool;
  state: OutputState;
  lastError: string | null;
  backoff: Backoff;
  /** Unix ms before which this host gets no batch (after a failure or Retry-After). */
  availableAt: number;
  busy: number;
}

/** `[e1,e2,…]` in one buffer (in `target` when it is large enough). */
export function encodeJsonArray(events: EventList, target?: Buffer): Buffer {
  const spans = spansOf(events);
  const size = jsonArrayLength(spans);
  const out = target && target.length >= size ? target.subarray(0, size) : Buffer.allocUnsafe(size);
  out[0] = 0x5b;
  let pos = 1;
  for (let i = 0; i < spans.length; i++) {
    if (i > 0) out[pos++] = 0x2c;
    const start = spans.start(i);
    pos += spans.memory(i).copy(out, pos, start, start + spans.size(i));
  }
  out[pos] = 0x5d;
  return out;
}

export function jsonArrayLength(events: EventList): number {
  const spans = spansOf(events);
  return 1 + spans.length + spans.bytes; // brackets and commas
}

export class HttpOutput implements Output {
  readonly name: string;
  readonly maxInFlight: number;
  readonly backoff: { baseMs: number; maxMs: number };
  readonly #hosts: HttpHost[];
  readonly #loadbalance: boolean;
  readonly #timeoutMs: number;
  readonly #backoffMaxMs: number;
  readonly #logger: Logger;
  readonly #instruments: OutputInstruments;
  readonly #releaseMetrics: () => void;
  readonly #closeSignal = new AbortController();
  readonly #buffers: BufferPool;
  #next = 0;
  #eventsAcked = 0;
  #inFlight = 0;
  #lastAckAt: number | null = null;
  #reconnects = 0;
  #closed = false;

  constructor(config: OutputConfig, index: number, deps: OutputDeps) {
    this.name = `http[${index}]`;
    const keyPath = `outputs[${index}]`;
    const tls = loadOutputTls(config.tls, `${keyPath}.tls`);
    const endpoints = parseHttpEndpoints(config.hosts, tls !== null, `${keyPath}.hosts`);
    this.#loadbalance = config.loadbalance;
    this.#timeoutMs = config.timeout;
    this.#backoffMaxMs = config.backoff_max;
    this.maxInFlight = config.pipelining * (config.loadbalance ? endpoints.length : 1);
    this.backoff = { baseMs: config.backoff_base, maxMs: config.backoff_max };
    this.#logger = deps.logger.child({ output: this.name });
    this.#buffers = new BufferPool(this.maxInFlight + 1);
    this.#hosts = endpoints.map((endpoint) => ({
      endpoint,
      pool: new (undici().Pool)(endpoint.origin, {
        connections: config.pipelining,
        pipelining: 1,
        allowH2: false,
        headersTimeout: config.timeout,
        bodyTimeout: config.timeout,
        keepAliveTimeout: 60_000,
        connect: { timeout: config.timeout, ...(tls && endpoint.origin.startsWith('https:') ? tlsConnectOptions(tls, endpoint.hostname) : {}) },
      }),
      state: 'connecting',
      lastError: null,
      backoff: new Backoff({ baseMs: config.backoff_base, maxMs: config.backoff_max, ...(deps.random ? { random: deps.random } : {}) }),
      availableAt: 0,
      busy: 0,
    }));
    const { instruments, release } = outputInstruments(deps.registry, this.name, () => this.stats());
    this.#instruments = instruments;
    this.#releaseMetrics = release;
  }

  /** Nothing to open ahead: a host's state is learnt from its first answer. */
  start(): void {}

  async send(list: EventList, signal: AbortSignal): Promise<SendOutcome> {
    const events = spansOf(list);
    if (events.length === 0) return { kind: 'acked' };
    if (this.#closed) return this.#count(events.length, retry(0, closedError(this.name)));
    this.#inFlight++;
    try {
      const host = await this.#pickHost(signal);
      if (host === null) return this.#count(events.length, retry(0, signal.aborted ? abortedError(this.name) : closedError(this.name)));
      return this.#count(events.length, await this.#post(host, events, signal));
    } catch (err) {
      this.#logger.error({ err: errorMessage(err) }, 'unexpected error while sending a batch');
      return this.#count(events.length, retry(0, unexpectedSendError(this.name, err)));
    } finally {
      this.#inFlight--;
    }
  }

  stats(): OutputStats {
    const hosts = this.#hosts.map((h) => ({ host: h.endpoint.label, state: this.#closed ? ('closed' as const) : h.state, lastError: h.lastError }));
    let state: OutputState = 'disconnected';
    if (this.#closed) state = 'closed';
    else if (hosts.some((h) => h.state === 'connected')) state = 'connected';
    else if (hosts.some((h) => h.state === 'connecting')) state = 'connecting';
    return { state, hosts, eventsAcked: this.#eventsAcked, batchesInFlight: this.#inFlight, lastAckAt: this.#lastAckAt, reconnects: this.#reconnects };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeSignal.abort();
    // Pool.close() waits for the requests in flight; bounded by timeout, then forced.
    const timer = new AbortController();
    const closing = Promise.all(this.#hosts.map((h) => h.pool.close())).then(() => true);
    const closed = await Promise.race([closing, sleep(this.#timeoutMs, timer.signal).then(() => false)]);
    timer.abort(); // no timer left to hold the process open
    if (!closed) this.destroy();
    this.#releaseMetrics();
  }

  destroy(): void {
    this.#closed = true;
    this.#closeSignal.abort();
    for (const h of this.#hosts) void h.pool.destroy().catch(() => {});
    this.#releaseMetrics();
  }

  async #pickHost(signal: AbortSignal): Promise<HttpHost | null> {
    for (;;) {
      if (this.#closed || signal.aborted) return null;
      const now = Date.now();
      let best: HttpHost | null = null;
      let soonest = Infinity;
      const n = this.#hosts.length;
      for (let k = 0; k < n; k++) {
        // Failover walks the hosts in configured order; loadbalance starts at a rotating index.
        const h = this.#hosts[this.#loadbalance ? (this.#next + k) % n : k] as HttpHost;
        if (h.availableAt > now) {
          soonest = Math.min(soonest, h.availableAt);
          continue;
        }
        if (!this.#loadbalance) {
          best = h;
          break;
        }
        if (best === null || h.busy < best.busy) best = h;
      }
      this.#next = (this.#next + 1) % n;
      if (best) return best;
      await sleep(soonest - now, AbortSignal.any([signal, this.#closeSignal.signal]));
    }
  }

  async #post(host: HttpHost, events: EventSpans, signal: AbortSignal): Promise<SendOutcome> {
    const backing = this.#buffers.acquire(jsonArrayLength(events));
    const body = encodeJsonArray(events, backing);
    const label = host.endpoint.label;
    host.busy++;
    let status: number;
    let text = '';
    let retryAfter: string | string[] | undefined;
    try {
      const res = await host.pool.request({
        method: 'POST',
        path: host.endpoint.path,
        headers: { 'content-type': 'application/json' },
        body,
        signal,
      });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      this.#instruments.sent(body.length);
      if (status >= 200 && status < 300) {
        await res.body.dump();
        // Logstash read the whole body before answering 2xx, so every byte left this process:
        // the buffer can be reused. (After an early error answer, an abort or a network error
        // the socket may still be writing from it; then it is left to the GC.)
        this.#buffers.release(backing);
      } else {
        text = (await readLimited(res.body, ERROR_BODY_BYTES)).trim();
      }
    } catch (err) {
      if (signal.aborted) return retry(0, abortedError(this.name));
      const error = new DockhandError('UNAVAILABLE', `${label}: ${errorMessage(err)}`, { transient: true, cause: err });
      this.#hostFailed(host, error.message, null);
      return retry(0, error);
    } finally {
      host.busy--;
    }
    const verdict = verdictFor(status);
    if (verdict === 'acked') {
      if (host.state !== 'connected') this.#logger.info({ host: label }, 'Logstash answers');
      host.state = 'connected';
      host.lastError = null;
      host.backoff.reset();
      host.availableAt = 0;
      this.#lastAckAt = Date.now();
      return { kind: 'acked' };
    }
    const message = `${label}: HTTP ${status}${text ? `: ${text}` : ''}`;
    if (verdict === 'fatal') {
      // The host works; this batch is refused. Not a host failure.
      host.state = 'connected';
      host.lastError = message;
      return { kind: 'fatal', acked: 0, error: new DockhandError('BAD_REQUEST', message) };
    }
    this.#hostFailed(host, message, parseRetryAfter(retryAfter, Date.now()));
    return retry(0, new DockhandError('UNAVAILABLE', message, { transient: true }));
  }

  #hostFailed(host: HttpHost, message: string, retryAfterMs: number | null): void {
    const delay = retryAfterMs === null ? host.backoff.next() : Math.min(retryAfterMs, this.#backoffMaxMs);
    host.availableAt = Date.now() + delay;
    host.state = 'disconnected';
    host.lastError = message;
    this.#reconnects++;
    this.#instruments.reconnect(host.endpoint.label);
    this.#logger.warn({ host: host.endpoint.label, err: message, retryInMs: delay }, 'Logstash http request failed');
  }

  #count(total: number, outcome: SendOutcome): SendOutcome {
    this.#eventsAcked += countOutcome(this.#instruments, total, outcome);
    return outcome;
  }
}

async function readLimited(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
