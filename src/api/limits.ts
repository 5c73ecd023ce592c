/**
 * The API server's socket, time and connection bounds. Not operator options: the defaults suit a
 * control-plane API; tests shrink them. What happens past them is in connection-gate.ts.
 */
export interface ApiLimits {
  /** A handler still running after this answers 503 UNAVAILABLE (a hung NFS mount under view.host()). */
  handlerTimeoutMs: number;
  /** close() waits this long for in-flight requests before destroying their sockets. */
  closeGraceMs: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** TLS handshakes (Node's default is 120 s, an easy way to hold sockets open). */
  handshakeTimeoutMs: number;
  maxHeaderSize: number;
  /** Requests served at once; past it a request gets 503 + Retry-After (connection-gate.ts). */
  maxConnections: number;
  /**
   * Sockets held at once, the hard bound; further connections are closed at accept. Past half of
   * it, idle connections are evicted and new ones only answered 503. Default 8 × maxConnections.
   */
  maxSockets: number;
  /** With more than maxSockets / 2 open, idle connections at least this old are closed to make room. */
  evictIdleAfterMs: number;
}

/**
 * Sockets held per request slot by default. A held socket costs a few KB, and a burst arrives
 * faster than it is answered: at 2 × 256, 2,000 concurrent connections to 127.0.0.1 lost 1,488 at
 * accept (accepted in one go, before any was answered); at 4 ×, still a few hundred
 * (bench/api-abuse.ts). Past half of the bound connections are only answered 503, so the extra
 * sockets cost no handler work.
 */
const SOCKETS_PER_CONNECTION = 8;

export const DEFAULT_API_LIMITS: Readonly<ApiLimits> = {
  handlerTimeoutMs: 15_000,
  closeGraceMs: 5_000,
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  handshakeTimeoutMs: 5_000,
  maxHeaderSize: 8 * 1024,
  maxConnections: 256,
  maxSockets: SOCKETS_PER_CONNECTION * 256,
  // Legitimate clients send a request head within a round trip; a slowloris connection is still
  // without one a second later. Only matters past maxSockets / 2 open connections.
  evictIdleAfterMs: 1_000,
};

/** Retry-After on a 503 past the cap: requests here take milliseconds, a second is plenty. */
export const RETRY_AFTER_SECONDS = 1;
/** At most one warning per this long while connections are turned away; the counter has the rest. */
export const REJECT_LOG_INTERVAL_MS = 60_000;

/** The defaults with `overrides`; maxSockets follows a changed maxConnections unless given too. */
export function apiLimits(overrides: Partial<ApiLimits> = {}): ApiLimits {
  const limits = { ...DEFAULT_API_LIMITS, ...overrides };
  if (overrides.maxSockets === undefined) limits.maxSockets = SOCKETS_PER_CONNECTION * limits.maxConnections;
  return limits;
}
