/**
 * The route table and the core endpoints (docs/api.md). Routing is a plain segment matcher: the API
 * has a few dozen fixed paths, so a radix tree would buy nothing, and keeping it here means the
 * server owns sockets and auth while this file owns what each path means.
 */
import type { IncomingMessage } from 'node:http';
import { DockhandError } from '../core/errors.ts';
import type { AgentView } from './view.ts';

/** Methods a route may declare. HEAD is served by every GET route and never declared. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route: `public` never needs auth (/healthz); `metrics` needs it unless
 * `api.metrics_auth` is false (Prometheus scrapes without a token); `protected` always does.
 */
export type RouteAccess = 'public' | 'metrics' | 'protected';

export interface RouteContext {
  readonly view: AgentView;
  /** Values of the pattern's `:name` segments, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Decoded, normalised path (no query). */
  readonly path: string;
  /** Aborted when the client goes away, the handler times out, or the server is destroyed. */
  readonly signal: AbortSignal;
  /**
   * The raw request, for a future route that reads a body (bounded by itself). GET routes never
   * see a body: the server refuses requests that declare one.
   */
  readonly request: IncomingMessage;
}

export type RouteResponse =
  | { status?: number; json: unknown; headers?: Readonly<Record<string, string>> }
  | { status?: number; text: string; contentType: string; headers?: Readonly<Record<string, string>> };

/** Throw a DockhandError to answer with its mapped status (see http-errors.ts). */
export type RouteHandler = (ctx: RouteContext) => RouteResponse | Promise<RouteResponse>;

export interface RouteDefinition {
  method: RouteMethod;
  /** `/v1/containers/:ref`: static segments and `:name` parameters, each a whole segment. */
  pattern: string;
  handler: RouteHandler;
  /** Default `protected`. */
  access?: RouteAccess;
  /**
   * The media type the route answers with (type/subtype, as src/api/openapi.json lists it); a
   * request whose Accept header allows none is answered 406. Default `application/json`.
   */
  produces?: string;
}

export interface RequestTarget {
  path: string;
  segments: string[];
  query: URLSearchParams;
}

function badRequest(message: string): DockhandError {
  return new DockhandError('BAD_REQUEST', message);
}

/**
 * Splits and decodes a request target. Dot segments (also percent-encoded, `%2e%2e`), encoded
 * slashes and backslashes are refused rather than resolved, so no spelling of a path can reach a
 * route other than the one it names; a target not starting with `/` (`//host`, absolute-form,
 * `*`) is refused too instead of being handed to URL resolution, which would read `//x` as a host.
 */
export function parseRequestTarget(target: string): RequestTarget {
  if (!target.startsWith('/') || target.startsWith('//')) throw badRequest('request target must be an absolute path');
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQuery = q === -1 ? '' : target.slice(q + 1);
  const segments = rawPath === '/' ? [] : rawPath.slice(1).split('/').map(decodeSegment);
  return { path: `/${segments.join('/')}`, segments, query: new URLSearchParams(rawQuery) };
}

function decodeSegment(raw: string): string {
  let segment: string;
  try {
    segment = decodeURIComponent(raw);
  } catch {
    throw badRequest('malformed percent-encoding in path');
  }
  if (segment === '.' || segment === '..') throw badRequest('dot segments are not allowed in the path');
  if (/[/\\\0]/.test(segment)) throw badRequest('encoded slash, backslash or NUL in the path');
  return segment;
}

type Segment = { kind: 'static'; value: string } | { kind: 'param'; name: string };

interface CompiledRoute {
  definition: RouteDefinition;
  access: RouteAccess;
  segments: Segment[];
  /** Static = 0, param = 1 per segment: sorting on it tries static segments before parameters. */
  rank: string;
}

export type RouteMatch =
  | { kind: 'found'; route: RouteDefinition; access: RouteAccess; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[]; access: RouteAccess }
  | { kind: 'not-found' };

function compilePattern(pattern: string): Segment[] {
  if (!pattern.startsWith('/')) throw new Error(`route pattern must start with "/": ${pattern}`);
  if (pattern === '/') return [];
  return pattern
    .slice(1)
    .split('/')
    .map((part): Segment => {
      if (part === '') throw new Error(`route pattern has an empty segment: ${pattern}`);
      if (part.startsWith(':')) {
        const name = part.slice(1);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad parameter name in route pattern: ${pattern}`);
        return { kind: 'param', name };
      }
      return { kind: 'static', value: part };
    });
}

function shapeOf(segments: Segment[]): string {
  return segments.map((s) => (s.kind === 'static' ? `/${s.value}` : '/:')).join('');
}

export class RouteTable {
  #routes: CompiledRoute[] = [];

  add(definition: RouteDefinition): void {
    const segments = compilePattern(definition.pattern);
    const shape = shapeOf(segments);
    for (const route of this.#routes) {
      if (route.definition.method === definition.method && shapeOf(route.segments) === shape) {
        throw new Error(`route ${definition.method} ${definition.pattern} clashes with ${route.definition.pattern}`);
      }
    }
    const rank = segments.map((s) => (s.kind === 'static' ? '0' : '1')).join('');
    this.#routes.push({ definition, access: definition.access ?? 'protected', segments, rank });
    this.#routes.sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  }

  match(method: string, segments: readonly string[]): RouteMatch {
    const lookup = method === 'HEAD' ? 'GET' : method;
    const allow = new Set<string>();
    let access: RouteAccess | undefined;
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      if (route.definition.method === lookup) return { kind: 'found', route: route.definition, access: route.access, params };
      allow.add(route.definition.method);
      if (route.definition.method === 'GET') allow.add('HEAD');
      access ??= route.access;
    }
    if (access === undefined) return { kind: 'not-found' };
    return { kind: 'method-not-allowed', allow: [...allow].sort(), access };
  }
}

function matchSegments(pattern: readonly Segment[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i];
    const got = segments[i];
    if (want === undefined || got === undefined) return undefined;
    if (want.kind === 'static') {
      if (want.value !== got) return undefined;
    } else {
      if (got === '') return undefined;
      params[want.name] = got;
    }
  }
  return params;
}

export const EVENTS_DEFAULT_LIMIT = 500;
export const EVENTS_MAX_LIMIT = 5000;
/** Container ids are 64 hex chars and Docker names are short; anything far longer is not a reference. */
const MAX_CONTAINER_REF = 256;

/** A non-negative integer query parameter; absent = fallback; anything else is a 400 naming it. */
export function integerParam(query: URLSearchParams, name: string, fallback: number): number {
  const values = query.getAll(name);
  if (values.length === 0) return fallback;
  if (values.length > 1) throw badRequest(`query parameter "${name}" is given more than once`);
  const raw = values[0] ?? '';
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw badRequest(`query parameter "${name}" must be a non-negative integer, got "${raw.slice(0, 64)}"`);
  }
  return value;
}

/**
 * The endpoints every agent serves. Later features add theirs through ApiServer.addRoute.
 * `extraMetrics` is Prometheus text appended to the view's /metrics (the API server's own figures).
 */
export function coreRoutes(options: { extraMetrics?: () => Promise<string> } = {}): RouteDefinition[] {
  const extraMetrics = options.extraMetrics ?? (() => Promise.resolve(''));
  return [
    { method: 'GET', pattern: '/healthz', access: 'public', handler: () => ({ json: { status: 'ok' } }) },
    {
      method: 'GET',
      pattern: '/readyz',
      handler: ({ view }) => {
        const readiness = view.readiness();
        return { status: readiness.ready ? 200 : 503, json: readiness };
      },
    },
    { method: 'GET', pattern: '/v1/host', handler: async ({ view }) => ({ json: await view.host() }) },
    { method: 'GET', pattern: '/v1/containers', handler: ({ view }) => ({ json: { containers: view.containers() } }) },
    {
      method: 'GET',
      pattern: '/v1/containers/:ref',
      handler: ({ view, params }) => {
        const ref = params['ref'] ?? '';
        if (ref.length > MAX_CONTAINER_REF) throw badRequest(`container reference longer than ${MAX_CONTAINER_REF} characters`);
        const record = view.container(ref);
        if (record === undefined) throw new DockhandError('NOT_FOUND', `no container matches "${ref}"`);
        return { json: record };
      },
    },
    {
      method: 'GET',
      pattern: '/v1/events',
      handler: ({ view, query }) => {
        const since = integerParam(query, 'since', 0);
        const limit = integerParam(query, 'limit', EVENTS_DEFAULT_LIMIT);
        if (limit === 0) throw badRequest('query parameter "limit" must be at least 1');
        const events = view.events(since, Math.min(limit, EVENTS_MAX_LIMIT));
        return { json: { events, next: events.at(-1)?.seq ?? since } };
      },
    },
    {
      method: 'GET',
      pattern: '/metrics',
      access: 'metrics',
      produces: 'text/plain',
      handler: async ({ view }) => {
        const [{ contentType, body }, extra] = await Promise.all([view.metrics(), extraMetrics()]);
        // Only after Prometheus text: an OpenMetrics exposition ends with "# EOF", nothing may follow.
        return { text: contentType.startsWith('text/plain') ? body + extra : body, contentType };
      },
    },
  ];
}
