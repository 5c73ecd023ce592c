/**
 * The two probes: a TCP connect (Marathon's and Rancher's "TCP open" check) and an HTTP(S)
 * request whose status must fall in the expected ranges (Rancher's "HTTP 2xx/3xx", Kubernetes'
 * httpGet). One contract, as outputs have theirs: `Probe.check(target, signal) → {ok,
 * latencyMs, detail}`; the scheduler owns timing, so a probe only bounds its own duration.
 * `createProbe(spec)` is the one place that picks the kind.
 *
 * HTTP goes through undici on a fresh connection per probe (`reset: true` = `Connection: close`):
 * a kept-alive socket would let a probe pass on a server that can no longer accept new
 * connections (full backlog, dead acceptor), which is exactly what clients would hit; the
 * Kubernetes prober disables keep-alive for the same reason (kubernetes#89898). The body is
 * read to a small bound and dropped; redirects are not followed (a 3xx is a status like any).
 */
import { connect } from 'node:net';
import type * as Undici from 'undici';
import type { Client, Dispatcher } from 'undici';
import { systemCode } from '../core/errors.ts';
import { lazyModule } from '../core/lazy-module.ts';
import { after } from '../core/timers.ts';
import { VERSION } from '../core/version.ts';
import type { HttpMethod } from './spec.ts';
import { statusAccepted } from './status-ranges.ts';
import type { StatusRange } from './status-ranges.ts';
import { formatTarget } from './target.ts';
import type { ProbeTarget } from './target.ts';

/** Why a probe failed, as a small closed set (a metric label). */
export type ProbeFailure = 'refused' | 'timeout' | 'reset' | 'tls' | 'status' | 'error';

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  /** `connected`, `HTTP 200`, `ECONNREFUSED`, `HTTP 404 (expected 200-399)`, … */
  detail: string;
  failure?: ProbeFailure;
  /** HTTP status, when one was received. */
  status?: number;
}

export interface HttpProbeOptions {
  method: HttpMethod;
  path: string;
  expect: readonly StatusRange[];
  expectText: string;
  hostHeader: string | null;
  tls: boolean;
  tlsVerify: boolean;
}

/** Body bytes read before the connection is dropped: enough for any health page, bounded for any other. */
const BODY_LIMIT = 64 * 1024;

/** One check of one target, bounded by the probe's own timeout. */
export interface Probe {
  readonly type: 'tcp' | 'http';
  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult>;
}

/** The probe a container's spec asks for; HTTP probes share `clients`. */
export function createProbe(spec: HttpProbeOptions & { type: 'tcp' | 'http'; timeoutMs: number }, clients: HttpClients): Probe {
  return spec.type === 'tcp' ? new TcpProbe(spec.timeoutMs) : new HttpProbe(spec, spec.timeoutMs, clients);
}

/** Connects and closes: the port accepts connections. */
export class TcpProbe implements Probe {
  readonly type = 'tcp';
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    return tcpConnect(target, this.#timeoutMs, signal);
  }
}

function tcpConnect(target: ProbeTarget, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  if (signal?.aborted) return Promise.resolve({ ok: false, latencyMs: 0, detail: 'aborted', failure: 'error' });
  return new Promise((resolve) => {
    let done = false;
    const socket = connect({ host: target.host, port: target.port });
    const finish = (ok: boolean, detail: string, failure?: ProbeFailure): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      const result: ProbeResult = { ok, latencyMs: performance.now() - started, detail };
      if (failure) result.failure = failure;
      resolve(result);
    };
    const onAbort = (): void => finish(false, 'aborted', 'error');
    const timer = after(timeoutMs, () => finish(false, `no connection within ${timeoutMs} ms`, 'timeout'));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish(true, 'connected'));
    socket.once('error', (err) => finish(false, systemCode(err) ?? err.message, classify(err)));
  });
}

/** An undici Client not used for this long is closed (probe intervals are far shorter). */
const CLIENT_IDLE_MS = 10 * 60_000;

/**
 * HTTP(S) probes keep one undici Client per target (origin, verification, timeout) and never
 * reuse its connections. One Client per target rather than an Agent: the Agent closes an
 * origin's Pool whenever its last connection goes, so with a fresh connection per probe every
 * probe built and dropped a Pool and a Client (two 2048-slot queues: ~8 KB of garbage per probe,
 * most of the probe's allocations in bench/probes). A Client outlives its connections.
 * Requests go through undici's dispatch API with a small handler rather than `request()`: a
 * probe needs the status and a byte count, not a body stream and its promises per response.
 */
export class HttpProbe implements Probe {
  readonly type = 'http';
  readonly #o: HttpProbeOptions;
  readonly #timeoutMs: number;
  readonly #clients: HttpClients;

  constructor(options: HttpProbeOptions, timeoutMs: number, clients: HttpClients) {
    this.#o = options;
    this.#timeoutMs = timeoutMs;
    this.#clients = clients;
  }

  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    const o = this.#o;
    const timeoutMs = this.#timeoutMs;
    const started = performance.now();
    if (signal?.aborted) return Promise.resolve({ ok: false, latencyMs: 0, detail: 'aborted', failure: 'error' });
    return new Promise((resolve) => {
      let done = false;
      let controller: Dispatcher.DispatchController | undefined;
      let status = 0;
      let latencyMs = 0;
      let bytes = 0;
      const finish = (result: ProbeResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const answered = (): ProbeResult => {
        const ok = statusAccepted(status, o.expect);
        const result: ProbeResult = { ok, latencyMs, status, detail: ok ? `HTTP ${status}` : `HTTP ${status} (expected ${o.expectText})` };
        if (!ok) result.failure = 'status';
        return result;
      };
      const stop = (reason: Error, result: ProbeResult): void => {
        finish(result); // first: aborting calls onResponseError synchronously
        if (controller && !controller.aborted) controller.abort(reason);
      };
      const onAbort = (): void => stop(new ProbeAborted('aborted'), { ok: false, latencyMs: performance.now() - started, detail: 'aborted', failure: 'error' });
      const timer = after(timeoutMs, () => {
        stop(new ProbeAborted(`no answer within ${timeoutMs} ms`), { ok: false, latencyMs: performance.now() - started, detail: `no answer within ${timeoutMs} ms`, failure: 'timeout' });
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: '*/*' };
      // undici derives the TLS server name from the Host header, so host_header also selects
      // the certificate name that is verified.
      if (o.hostHeader) headers.host = o.hostHeader;
      try {
        this.#clients.client(`${o.tls ? 'https' : 'http'}://${formatTarget(target)}`, o.tls && o.tlsVerify, timeoutMs).dispatch(
          {
            path: o.path,
            method: o.method,
            headers,
            body: o.method === 'POST' ? '' : null,
            reset: true,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          {
            onRequestStart(c) {
              controller = c;
              if (done) c.abort(new ProbeAborted('probe already ended'));
            },
            onResponseStart(_c, statusCode) {
              status = statusCode;
              latencyMs = performance.now() - started;
            },
            onResponseData(c, chunk) {
              bytes += chunk.length;
              // enough of any health page: the verdict is the status, the rest is dropped
              if (bytes > BODY_LIMIT) stop(new ProbeAborted('body limit'), answered());
              else if (done) c.abort(new ProbeAborted('probe already ended'));
            },
            onResponseEnd() {
              finish(answered());
            },
            onResponseError(_c, err) {
              if (status !== 0 && !(err instanceof ProbeAborted)) finish(answered());
              else finish({ ok: false, latencyMs: performance.now() - started, detail: describeError(err), failure: classify(err) });
            },
          },
        );
      } catch (err) {
        finish({ ok: false, latencyMs: performance.now() - started, detail: describeError(err), failure: classify(err) });
      }
    });
  }

}

const USER_AGENT = `dockhand/${VERSION} (health probe)`;

/** undici is loaded with the first HTTP probe (src/core/lazy-module.ts): most hosts probe TCP or nothing. */
const undici = lazyModule<typeof Undici>('undici');

/**
 * undici Clients of the HTTP probes, one per target origin, TLS choice and timeout; a Client
 * not used for a while (its container gone) is closed.
 */
export class HttpClients {
  readonly #clients = new Map<string, { client: Client; usedAt: number }>();
  #sweptAt = performance.now();

  client(origin: string, verify: boolean, timeoutMs: number): Client {
    const now = performance.now();
    if (now - this.#sweptAt > CLIENT_IDLE_MS) this.#sweep(now);
    const key = `${origin}|${verify}|${timeoutMs}`;
    let entry = this.#clients.get(key);
    if (!entry) {
      // A connect that outlives its aborted probe is bounded by the same timeout.
      entry = { client: new (undici().Client)(origin, { connect: { timeout: timeoutMs, rejectUnauthorized: verify }, keepAliveTimeout: 1000 }), usedAt: now };
      this.#clients.set(key, entry);
    }
    entry.usedAt = now;
    return entry.client;
  }

  /** Closes the Clients of targets no longer probed (containers gone, ports changed). */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [key, entry] of this.#clients) {
      if (now - entry.usedAt <= CLIENT_IDLE_MS) continue;
      this.#clients.delete(key);
      entry.client.destroy().catch(() => undefined);
    }
  }

  /** Targets with a Client (for tests and the benchmark). */
  get clients(): number {
    return this.#clients.size;
  }

  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((e) => e.client.destroy()));
  }
}

/** Why the prober itself ended a request (timeout, stop, body bound): never reported as the server's fault. */
class ProbeAborted extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeAborted';
  }
}

/** undici wraps socket errors: the system code may sit on the error or on its cause. */
function codeOf(err: unknown): string | undefined {
  const own = systemCode(err);
  if (own && !own.startsWith('UND_ERR_SOCKET')) return own;
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? err.cause : undefined;
  return systemCode(cause) ?? own;
}

function describeError(err: unknown): string {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

export function classify(err: unknown): ProbeFailure {
  const code = codeOf(err) ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'reset';
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME_MISMATCH/.test(code)) return 'tls';
  return 'error';
}
