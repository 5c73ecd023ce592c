/**
 * How many connections and requests the API takes on, and what it does past that:
 *
 * - Requests in flight ≤ `maxConnections` (256; HTTP/1.1 has one request in flight per
 *   connection, so this is "connections being served"). A request past it is answered 503 with
 *   Retry-After and its connection closed, instead of the silent close a plain socket cap gives
 *   (an issue run: 2,000 concurrent /metrics requests, 1,744 dropped without a response). The 503
 *   is written through the HTTP stack after the request head was read, so for a GET nothing the
 *   client sent is left unread when the socket ends: the client gets a FIN after the response,
 *   not a reset.
 * - Sockets held ≤ `maxSockets` (2,048, see limits.ts), enforced by node's
 *   `server.maxConnections`, which closes further connections at accept: the hard bound that keeps
 *   memory bounded whatever clients do (counted here, `dropped()`).
 * - Open connections ≤ half of maxSockets ("room"), softly. Past it, the oldest connection that
 *   is idle (no request in flight, but bytes read from it) and older than `evictIdleAfterMs` is
 *   closed: at each new connection, and from a sweep while the count stays above (a slowloris
 *   that fills every socket brings no new connection to react to). A connection for which no room
 *   could be made is an overflow connection: its requests get the 503 without being handled (a
 *   connection waiting for its answer costs a few KB, a handled /metrics request far more) unless
 *   there is room again when the request comes. So a burst is answered, 200 or 503, rather than
 *   closed at accept, as far as the hard bound allows.
 *
 * Slowloris clients (trickling header bytes, never finishing a request) therefore never take a
 * request slot and cannot starve /healthz and scrapes of one; they only hold sockets, and past the
 * room they are the idle old connections that get closed. Nothing is evicted below the room, so a
 * slowloris smaller than it just waits for headersTimeout rather than making the agent and the
 * attacker churn connections. A burst of legitimate connections is younger than the minimum age,
 * or not read yet when the agent is busy, and a connection being served is never idle, so none of
 * those is evicted; an idle keep-alive connection may be, and its client reconnects.
 */
import type { Socket } from 'node:net';

/** Why a connection or request was turned away (`dockhand_api_connections_rejected_total{reason}`). */
export type RejectReason = 'capacity' | 'socket_limit' | 'idle_evicted';
export const REJECT_REASONS: readonly RejectReason[] = ['capacity', 'socket_limit', 'idle_evicted'];

export interface ConnectionGateOptions {
  maxConnections: number;
  maxSockets: number;
  evictIdleAfterMs: number;
  onReject?: (reason: RejectReason) => void;
  /** Monotonic milliseconds; tests pass their own clock. */
  now?: () => number;
}

export interface ConnectionStats {
  /** HTTP connections open (for HTTPS: handshake done). */
  open: number;
  inFlight: number;
  rejected: Readonly<Record<RejectReason, number>>;
}

interface Connection {
  openedAt: number;
  inFlight: number;
  /** Opened when no room could be made: answered 503, not served. */
  overflow: boolean;
}

export class ConnectionGate {
  #maxConnections: number;
  /** Half of maxSockets: the open connections the gate makes room within. */
  #room: number;
  #minAgeMs: number;
  #onReject: (reason: RejectReason) => void;
  #now: () => number;
  /** Insertion order is opening order, so the first idle entry old enough is the one to evict. */
  #connections = new Map<Socket, Connection>();
  #inFlight = 0;
  #rejected: Record<RejectReason, number> = { capacity: 0, socket_limit: 0, idle_evicted: 0 };
  #sweep: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: ConnectionGateOptions) {
    this.#maxConnections = options.maxConnections;
    this.#room = Math.max(1, Math.floor(options.maxSockets / 2));
    this.#minAgeMs = options.evictIdleAfterMs;
    this.#onReject = options.onReject ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now());
  }

  get stats(): ConnectionStats {
    return { open: this.#connections.size, inFlight: this.#inFlight, rejected: { ...this.#rejected } };
  }

  /** An HTTP connection is open: the socket HTTP reads from (for HTTPS the TLS socket, after the handshake). */
  open(socket: Socket): void {
    if (this.#closed || socket.destroyed) return;
    const connection: Connection = { openedAt: this.#now(), inFlight: 0, overflow: false };
    this.#connections.set(socket, connection);
    socket.once('close', () => this.#connections.delete(socket));
    if (this.#connections.size > this.#room) {
      this.#evictIdle(1);
      this.#startSweep();
    }
    connection.overflow = this.#connections.size > this.#room;
  }

  /**
   * A request arrived on `socket`. Returns null when it is to be answered 503 (maxConnections
   * requests in flight, or an overflow connection); otherwise a release function to call once
   * when its response is done.
   */
  begin(socket: Socket): (() => void) | null {
    const connection = this.#connections.get(socket);
    if (connection?.overflow === true && this.#connections.size <= this.#room) connection.overflow = false;
    if (connection?.overflow === true || this.#inFlight >= this.#maxConnections) {
      this.#reject('capacity');
      return null;
    }
    this.#inFlight++;
    if (connection !== undefined) connection.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
      if (connection !== undefined) connection.inFlight--;
    };
  }

  /** Node refused a connection at accept because maxSockets were held. */
  dropped(): void {
    this.#reject('socket_limit');
  }

  /** The server is closing: no more sweeps (its own shutdown closes the connections). */
  close(): void {
    this.#closed = true;
    this.#stopSweep();
  }

  /** Closes up to `limit` idle connections older than the minimum age, oldest first; returns how many. */
  #evictIdle(limit: number): number {
    const now = this.#now();
    let evicted = 0;
    for (const [socket, connection] of this.#connections) {
      if (evicted >= limit) break;
      // Opening order: every later connection is younger still.
      if (now - connection.openedAt < this.#minAgeMs) break;
      // Nothing read from it yet: not known to be slow. Under load the agent may simply not have
      // read it (a burst of 2,000 connections took seconds), and evicting it would reset a client
      // that did nothing wrong. A connection that never sends a byte ends at headersTimeout.
      if (connection.inFlight > 0 || socket.bytesRead === 0) continue;
      this.#connections.delete(socket);
      // destroy, not end: an evicted slowloris has sent a partial head and gets nothing back.
      socket.destroy();
      evicted++;
      this.#reject('idle_evicted');
    }
    return evicted;
  }

  #startSweep(): void {
    if (this.#sweep !== null || this.#closed) return;
    this.#sweep = setInterval(() => {
      const excess = this.#connections.size - this.#room;
      if (excess <= 0) this.#stopSweep();
      else this.#evictIdle(excess);
    }, Math.max(50, this.#minAgeMs / 2));
    this.#sweep.unref();
  }

  #stopSweep(): void {
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
  }

  #reject(reason: RejectReason): void {
    this.#rejected[reason]++;
    this.#onReject(reason);
  }
}
