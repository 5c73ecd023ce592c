/**
 * Hostile clients for the API, shared by test/integration/api-abuse.test.ts and
 * bench/api-abuse.ts: one-shot requests whose every outcome is recorded (a response, or the
 * connection lost without one), and a slowloris. Loopback only: callers pass 127.0.0.1 ports.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { waitFor } from './wait.ts';

/** A complete response, or `error`: the connection was closed or reset without one (or timed out). */
export type Outcome = { status: number; headers: IncomingHttpHeaders; body: string } | { error: string };

/** GET `path` on a connection of its own; never rejects. */
export function getOnce(port: number, path: string, timeoutMs = 30_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

/** Outcomes by status, and `dropped (CODE)` for connections lost without a response. */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = 'error' in o ? `dropped (${o.error})` : String(o.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * Slowloris: `count` connections, each sending a request line and then one header byte every
 * `byteEveryMs`, never the blank line that ends the head. With `reconnect`, a connection the
 * server closes is replaced (an attacker keeps the pressure on); `closedByServer` counts those closes.
 */
export class Slowloris {
  closedByServer = 0;
  /** Connections that were established, whatever became of them since. */
  established = 0;
  #sockets = new Set<net.Socket>();
  #timer: NodeJS.Timeout;
  #stopped = false;
  #port: number;
  #reconnect: boolean;

  constructor(port: number, count: number, options: { reconnect: boolean; byteEveryMs?: number }) {
    this.#port = port;
    this.#reconnect = options.reconnect;
    for (let i = 0; i < count; i++) this.#open();
    this.#timer = setInterval(() => {
      for (const socket of this.#sockets) if (socket.writable && !socket.connecting) socket.write('x');
    }, options.byteEveryMs ?? 50);
  }

  /** Connections open (or connecting) now. */
  get open(): number {
    return this.#sockets.size;
  }

  #open(): void {
    const socket = net.connect(this.#port, '127.0.0.1');
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.established++;
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    });
    // Whatever the server answers (a 408 at its headers timeout) is read and dropped.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      if (this.#stopped) return;
      this.closedByServer++;
      // A short pause so a server that drops every new connection does not make this a busy loop.
      if (this.#reconnect) setTimeout(() => this.#stopped || this.#open(), 20);
    });
  }

  /** Resolves once `count` connections have been established (a server may have closed some since). */
  async connected(count: number, timeoutMs = 5_000): Promise<void> {
    await waitFor(`${count} slowloris connections`, () => this.established >= count, timeoutMs, 10);
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const socket of this.#sockets) socket.destroy();
  }
}
