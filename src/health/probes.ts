/**
 * The two probes: a TCP connect (Marathon's and Rancher's "TCP open" check) and an HTTP(S)
 * request whose status must fall in the expected ranges (Rancher's "HTTP 2xx/3xx", Kubernetes'
 * httpGet). Contract (DESIGN.md): `check(target, signal) → {ok, latencyMs, detail}`; the
 * scheduler owns timing, so a probe only bounds its own duration.
 *
 * HTTP goes through undici on a fresh connection per probe (`reset: true` = `Connection: close`):
 * a kept-alive socket would let a probe pass on a server that can no longer accept new
 * connections (full backlog, dead acceptor), which is exactly what clients would hit; the
 * Kubernetes prober disables keep-alive for the same reason (kubernetes#89898). The body is
 * read to a small bound and dropped; redirects are not followed (a 3xx is a status like any).
 */
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { systemCode } from '../core/errors.ts';
import { VERSION } from '../version.ts';
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

export function tcpCheck(target: ProbeTarget, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  if (signal?.aborted) return Promise.resolve({ ok: false, latencyMs: 0, detail: 'aborted', failure: 'error' });
  return new Promise((resolve) => {
    let done = false;
    const socket = connect({ host: target.host, port: target.port, noDelay: true });
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
    const timer = setTimeout(() => finish(false, `no connection within ${timeoutMs} ms`, 'timeout'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish(true, 'connected'));
    socket.once('error', (err) => finish(false, systemCode(err) ?? err.message, classify(err)));
  });
}

/** HTTP(S) probes share one undici Agent per (verify, timeout) pair; connections are never reused. */
export class HttpProber {
  readonly #agents = new Map<string, Agent>();
  readonly #userAgent = `dockhand/${VERSION} (health probe)`;

  async check(target: ProbeTarget, o: HttpProbeOptions, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new ProbeTimeout(timeoutMs)), timeoutMs);
    const onAbort = (): void => abort.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, accept: '*/*' };
    // undici derives the TLS server name from the Host header, so host_header also selects
    // the certificate name that is verified.
    if (o.hostHeader) headers.host = o.hostHeader;
    try {
      const res = await request(`${o.tls ? 'https' : 'http'}://${formatTarget(target)}${o.path}`, {
        method: o.method,
        headers,
        body: o.method === 'POST' ? '' : null,
        dispatcher: this.#agent(o.tls && o.tlsVerify, timeoutMs),
        reset: true,
        signal: abort.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const latencyMs = performance.now() - started;
      await res.body.dump({ limit: BODY_LIMIT, signal: abort.signal }).catch(() => undefined);
      const ok = statusAccepted(res.statusCode, o.expect);
      const result: ProbeResult = { ok, latencyMs, status: res.statusCode, detail: ok ? `HTTP ${res.statusCode}` : `HTTP ${res.statusCode} (expected ${o.expectText})` };
      if (!ok) result.failure = 'status';
      return result;
    } catch (err) {
      const latencyMs = performance.now() - started;
      if (abort.signal.reason instanceof ProbeTimeout) return { ok: false, latencyMs, detail: abort.signal.reason.message, failure: 'timeout' };
      return { ok: false, latencyMs, detail: describeError(err), failure: classify(err) };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #agent(verify: boolean, timeoutMs: number): Agent {
    const key = `${verify}|${timeoutMs}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      // A connect that outlives its aborted probe is bounded by the same timeout.
      agent = new Agent({ connect: { timeout: timeoutMs, rejectUnauthorized: verify }, keepAliveTimeout: 1000 });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map((a) => a.destroy()));
  }
}

class ProbeTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'ProbeTimeout';
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
