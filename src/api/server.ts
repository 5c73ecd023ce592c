/**
 * The control-plane HTTP(S) server: sockets, limits, auth and lifecycle. What each path returns
 * lives in routes.ts; how failures look lives in http-errors.ts. Graceful `close()` and immediate
 * `destroy()` are separate idempotent methods (undici's split).
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { DockhandError, errorMessage, systemCode } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import { accepts } from './accept.ts';
import { ApiMetrics } from './api-metrics.ts';
import { BearerTokenCheck, loadTlsMaterial, readTokenFile } from './auth.ts';
import type { TlsMaterial } from './auth.ts';
import { ConnectionGate } from './connection-gate.ts';
import type { ConnectionStats, RejectReason } from './connection-gate.ts';
import { errorBody, toHttpError } from './http-errors.ts';
import { apiLimits, REJECT_LOG_INTERVAL_MS, RETRY_AFTER_SECONDS } from './limits.ts';
import type { ApiLimits } from './limits.ts';
import { formatHostPort, listenOn } from './listen.ts';
import { coreRoutes, parseRequestTarget, RouteTable } from './routes.ts';
import type { RouteAccess, RouteDefinition, RouteHandler, RouteMethod, RouteResponse } from './routes.ts';
import type { AgentView } from './view.ts';
// not `import`: node:http's ESM facade loads Node's bundled undici (test/unit/api/builtin-imports.test.ts)
const { createServer: createHttpServer } = process.getBuiltinModule('node:http');

export interface ApiOptions {
  listen: { host: string; port: number };
  /** Bearer token file; a token is required on every endpoint but /healthz iff this is set. */
  token_file: string | null;
  /** HTTPS; `client_ca` set = mutual TLS (a client certificate signed by it is required). */
  tls: { cert: string; key: string; client_ca: string | null } | null;
  /** false = /metrics is served without the bearer token (Prometheus). */
  metrics_auth: boolean;
}

export { DEFAULT_API_LIMITS } from './limits.ts';
export type { ApiLimits } from './limits.ts';

export interface ApiServerDeps {
  options: ApiOptions;
  view: AgentView;
  logger: Logger;
  /** Extra routes, same as calling addRoute() before start(). */
  routes?: readonly RouteDefinition[];
  limits?: Partial<ApiLimits>;
}

export interface ApiAddress {
  /** The IP address bound (what api.listen resolved to), not the configured name. */
  host: string;
  port: number;
  url: string;
}

type State = 'new' | 'starting' | 'listening' | 'closed';

const JSON_TYPE = 'application/json; charset=utf-8';

export class ApiServer {
  #options: ApiOptions;
  #view: AgentView;
  #logger: Logger;
  #limits: ApiLimits;
  #routes = new RouteTable();
  #auth = new BearerTokenCheck(null);
  #mutualTls: boolean;
  #state: State = 'new';
  #server: Server | null = null;
  #sockets = new Set<Socket>();
  /** Abort controllers of requests being handled, so shutdown can abort them without waiting for socket events. */
  #inflight = new Set<AbortController>();
  #address: ApiAddress | null = null;
  #closed: Promise<void> = Promise.resolve();
  #graceTimer: NodeJS.Timeout | null = null;
  #gate: ConnectionGate;
  #metrics: ApiMetrics;
  #lastRejectLog = -Infinity;

  constructor(deps: ApiServerDeps) {
    this.#options = deps.options;
    this.#view = deps.view;
    this.#logger = deps.logger;
    this.#limits = apiLimits(deps.limits);
    this.#mutualTls = deps.options.tls?.client_ca != null;
    this.#gate = new ConnectionGate({
      maxConnections: this.#limits.maxConnections,
      maxSockets: this.#limits.maxSockets,
      evictIdleAfterMs: this.#limits.evictIdleAfterMs,
      onReject: (reason) => this.#rejected(reason),
    });
    this.#metrics = new ApiMetrics(() => this.#gate.stats);
    const core = coreRoutes({ extraMetrics: () => this.#metrics.text() });
    for (const route of [...core, ...(deps.routes ?? [])]) this.#routes.add(route);
  }

  /** Adds an endpoint (e.g. `/v1/logs`); only before start(). Throws on a pattern clash. */
  addRoute(method: RouteMethod, pattern: string, handler: RouteHandler, options: { access?: RouteAccess } = {}): void {
    if (this.#state !== 'new') throw new DockhandError('INTERNAL', `cannot add route ${method} ${pattern} after start()`);
    this.#routes.add({ method, pattern, handler, ...(options.access === undefined ? {} : { access: options.access }) });
  }

  /** Where the server listens; null before start() resolves. */
  get address(): ApiAddress | null {
    return this.#address;
  }

  /** Open connections, requests in flight, and what was turned away (also on /metrics). */
  get connectionStats(): ConnectionStats {
    return this.#gate.stats;
  }

  async start(): Promise<ApiAddress> {
    if (this.#state !== 'new') throw new DockhandError('INTERNAL', 'ApiServer.start() called after start() or close()');
    this.#state = 'starting';
    try {
      return await this.#start();
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  async #start(): Promise<ApiAddress> {
    const { listen, token_file: tokenFile, tls } = this.#options;
    if (tokenFile !== null) {
      const { token, looselyPermitted } = await readTokenFile(tokenFile);
      this.#auth.set(token);
      if (looselyPermitted) this.#logger.warn({ file: tokenFile }, 'api.token_file is accessible to other users');
    }
    const material = tls === null ? null : await loadTlsMaterial(tls);
    if (material !== null && material.notAfter.getTime() < Date.now()) {
      this.#logger.warn({ file: tls?.cert, notAfter: material.notAfter.toISOString() }, 'api.tls.cert has expired');
    }
    if (this.#state !== 'starting') throw new DockhandError('UNAVAILABLE', 'API server closed while starting');

    const server = this.#createServer(material);
    this.#server = server;
    this.#closed = new Promise((resolve) => server.once('close', () => resolve()));
    // Off loopback a token or mTLS is required (docs/api.md). Decided on the address bound (listen.ts):
    // a name like localhost is only what the resolver says it is.
    const { host, port } = await listenOn(server, listen, this.#auth.enabled || this.#mutualTls);
    server.on('error', (err) => this.#logger.error({ err }, 'api server error'));
    if (this.#state !== 'starting') throw new DockhandError('UNAVAILABLE', 'API server closed while starting');
    this.#state = 'listening';

    this.#address = { host, port, url: `${material === null ? 'http' : 'https'}://${formatHostPort(host, port)}` };
    this.#logger.info(
      {
        url: this.#address.url,
        ...(host === listen.host ? {} : { listen: formatHostPort(listen.host, listen.port) }),
        tokenAuth: this.#auth.enabled,
        mutualTls: this.#mutualTls,
        metricsAuth: this.#options.metrics_auth,
      },
      'api listening',
    );
    return this.#address;
  }

  /**
   * Re-reads the token file (SIGHUP), from `file` when the path changed (a reload); `metricsAuth`
   * applies at once. Turning the token on or off needs a restart (it decides whether the API may
   * listen where it does). On failure the old token stays in force and the error is thrown.
   */
  async reloadToken(file = this.#options.token_file, metricsAuth = this.#options.metrics_auth): Promise<void> {
    this.#options = { ...this.#options, metrics_auth: metricsAuth };
    if (file === null || this.#options.token_file === null) return;
    const { token, looselyPermitted } = await readTokenFile(file);
    this.#options = { ...this.#options, token_file: file };
    this.#auth.set(token);
    if (looselyPermitted) this.#logger.warn({ file }, 'api.token_file is accessible to other users');
    this.#logger.info({ file }, 'api token reloaded');
  }

  /** Stops accepting, lets in-flight requests finish for up to closeGraceMs, then drops what is left. */
  close(): Promise<void> {
    const server = this.#server;
    if (this.#state === 'closed' || server === null) {
      this.#state = 'closed';
      return this.#closed;
    }
    this.#state = 'closed';
    this.#gate.close();
    server.close();
    // Idle keep-alive sockets would otherwise hold close() open until keepAliveTimeout.
    server.closeIdleConnections();
    this.#graceTimer = setTimeout(() => {
      this.#logger.warn({ sockets: this.#sockets.size }, 'api close: grace period over, dropping connections');
      this.#dropConnections(server);
    }, this.#limits.closeGraceMs);
    return this.#closed;
  }

  /** Drops every connection now; in-flight requests see their sockets close. */
  destroy(): void {
    const server = this.#server;
    const wasOpen = this.#state !== 'closed';
    this.#state = 'closed';
    this.#gate.close();
    if (server === null) return;
    if (wasOpen) server.close();
    this.#dropConnections(server);
  }

  #dropConnections(server: Server): void {
    const reason = new DockhandError('UNAVAILABLE', 'API server shutting down', { transient: true });
    for (const controller of this.#inflight) controller.abort(reason);
    server.closeAllConnections();
    // Raw sockets too: TLS sockets still in the handshake are not HTTP connections yet.
    for (const socket of this.#sockets) socket.destroy();
  }

  #createServer(material: TlsMaterial | null): Server {
    const limits = this.#limits;
    const httpOptions: ServerOptions = {
      maxHeaderSize: limits.maxHeaderSize,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Timeouts above are enforced by a periodic sweep (30 s by default), which would let a
      // slow client hold a socket for up to 40 s.
      connectionsCheckingInterval: 1_000,
    };
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      const release = this.#gate.begin(req.socket);
      if (release === null) {
        // Past the cap (requests in flight, or no room for this connection): an answer rather
        // than a dropped connection, and the socket is let go.
        const message = `the API is at capacity (${limits.maxConnections} requests in flight, or too many connections); retry later`;
        this.#sendError(req, res, 'UNAVAILABLE', 503, message, { 'retry-after': String(RETRY_AFTER_SECONDS), connection: 'close' });
        return;
      }
      res.once('close', release);
      this.#handle(req, res).catch((err: unknown) => {
        this.#logger.error({ err }, 'api request handling failed');
        if (!res.destroyed) res.destroy();
      });
    };
    const server: Server =
      material === null
        ? createHttpServer(httpOptions, listener)
        : process.getBuiltinModule('node:https').createServer(
            {
              ...httpOptions,
              cert: material.cert,
              key: material.key,
              minVersion: 'TLSv1.2',
              handshakeTimeout: limits.handshakeTimeoutMs,
              ...(material.clientCa === null ? {} : { ca: material.clientCa, requestCert: true, rejectUnauthorized: true }),
            },
            listener,
          );
    // The hard bound: node closes connections past it at accept, before they cost more than a file descriptor.
    server.maxConnections = limits.maxSockets;
    server.on('drop', () => this.#gate.dropped());
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      if (material === null) this.#gate.open(socket);
    });
    // HTTPS: the gate tracks the socket HTTP reads from, which exists once the handshake is done
    // (handshakes are bounded by handshakeTimeout and maxSockets).
    if (material !== null) server.on('secureConnection', (socket: TLSSocket) => this.#gate.open(socket));
    server.on('tlsClientError', (err: Error) => this.#logger.debug({ code: systemCode(err), reason: errorMessage(err) }, 'api tls handshake failed'));
    server.once('close', () => {
      if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
      this.#graceTimer = null;
    });
    return server;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    let path = '-';
    const controller = new AbortController();
    this.#inflight.add(controller);
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new DockhandError('UNAVAILABLE', 'client went away'));
    });
    try {
      const target = parseRequestTarget(req.url ?? '');
      path = target.path;
      const match = this.#routes.match(method, target.segments);
      const access = match.kind === 'not-found' ? 'protected' : match.access;
      if (!this.#authorized(req, access)) {
        this.#sendError(req, res, 'UNAUTHORIZED', 401, 'missing or invalid bearer token', { 'www-authenticate': 'Bearer realm="dockhand"' });
        return;
      }
      if (match.kind === 'not-found') {
        this.#sendError(req, res, 'NOT_FOUND', 404, `no such endpoint: ${path}`);
        return;
      }
      if (match.kind === 'method-not-allowed') {
        this.#sendError(req, res, 'METHOD_NOT_ALLOWED', 405, `method ${method} not allowed on ${path}`, { allow: match.allow.join(', ') });
        return;
      }
      const produces = match.route.produces ?? 'application/json';
      if (!accepts(req.headers.accept, produces)) {
        this.#sendError(req, res, 'NOT_ACCEPTABLE', 406, `${path} answers with ${produces}, which the Accept header does not allow`);
        return;
      }
      if (match.route.method === 'GET' && hasBody(req)) {
        this.#sendError(req, res, 'BAD_REQUEST', 400, `a ${method} request must not have a body`);
        return;
      }
      const response = await this.#runHandler(match.route.handler, controller, {
        view: this.#view,
        params: match.params,
        query: target.query,
        path,
        signal: controller.signal,
        request: req,
      });
      this.#sendResponse(res, response, head);
    } catch (err) {
      const mapped = toHttpError(err);
      if (mapped.internal) this.#logger.error({ err, method, path }, 'api handler failed');
      this.#sendError(req, res, mapped.code, mapped.status, mapped.message);
    } finally {
      this.#inflight.delete(controller);
      // Never the query or headers: nothing the client sent beyond method and path is logged.
      // status null: the connection went before an answer was written (client gone, shutdown).
      this.#logger.debug({ method, path, status: res.headersSent ? res.statusCode : null, ms: Math.round((performance.now() - started) * 10) / 10 }, 'api request');
    }
  }

  #rejected(reason: RejectReason): void {
    this.#metrics.rejected(reason);
    const now = performance.now();
    if (now - this.#lastRejectLog < REJECT_LOG_INTERVAL_MS) return;
    this.#lastRejectLog = now;
    this.#logger.warn({ reason, ...this.#gate.stats }, 'api connection limits reached (dockhand_api_connections_rejected_total counts every case)');
  }

  #authorized(req: IncomingMessage, access: RouteAccess): boolean {
    if (access === 'public') return true;
    if (access === 'metrics' && !this.#options.metrics_auth) return true;
    // rejectUnauthorized already refused the handshake; checked again so a TLS option slip cannot open the API.
    if (this.#mutualTls && !(req.socket as TLSSocket).authorized) return false;
    return this.#auth.verify(req.headers.authorization);
  }

  async #runHandler(handler: RouteHandler, controller: AbortController, ctx: Parameters<RouteHandler>[0]): Promise<RouteResponse> {
    const { signal } = controller;
    const timer = setTimeout(() => {
      controller.abort(new DockhandError('UNAVAILABLE', `request timed out after ${this.#limits.handlerTimeoutMs} ms`, { transient: true }));
    }, this.#limits.handlerTimeoutMs);
    // Stop waiting as soon as the request is aborted (deadline, client gone, shutdown), even if
    // the handler ignores its signal: the response is decided, the handler's result is dropped.
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([Promise.resolve().then(() => handler(ctx)), aborted]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  #sendResponse(res: ServerResponse, response: RouteResponse, head: boolean): void {
    const status = response.status ?? 200;
    if ('json' in response) {
      this.#write(res, status, JSON_TYPE, JSON.stringify(response.json), head, response.headers);
    } else {
      this.#write(res, status, response.contentType, response.text, head, response.headers);
    }
  }

  #sendError(req: IncomingMessage, res: ServerResponse, code: ErrorCode, status: number, message: string, headers?: Record<string, string>): void {
    // A body the client sent but nobody read: close instead of draining it to reuse the connection.
    const extra = hasBody(req) && !req.readableEnded ? { ...headers, connection: 'close' } : headers;
    this.#write(res, status, JSON_TYPE, errorBody(code, message), req.method === 'HEAD', extra);
  }

  #write(res: ServerResponse, status: number, contentType: string, body: string, head: boolean, headers?: Readonly<Record<string, string>>): void {
    if (res.headersSent || res.destroyed) return;
    res.statusCode = status;
    if (headers !== undefined) for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.setHeader('content-type', contentType);
    res.setHeader('content-length', Buffer.byteLength(body));
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    // While closing, finish this request and let the connection go rather than wait for keep-alive.
    if (this.#state === 'closed') res.setHeader('connection', 'close');
    res.end(head ? undefined : body);
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
