/**
 * What Logstash's `tcp` input with `codec => json_lines` sees, for tests and benchmarks on
 * 127.0.0.1: newline-delimited JSON over TCP (optionally TLS). Records every line; a line that
 * is not a JSON object is kept in `invalid` (Logstash would tag it `_jsonparsefailure`).
 */
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export interface JsonLinesReceiverOptions {
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requireClientCert?: boolean };
  /** Parse and keep every line (default true); false = count lines only (benchmarks). */
  record?: boolean;
  /** Stop reading from connections (the client's writes back up); resume with resume(). */
  paused?: boolean;
  /** Port on 127.0.0.1 (default: any free one) — e.g. one an agent has been failing to reach. */
  port?: number;
}

export class JsonLinesReceiver {
  readonly #options: JsonLinesReceiverOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly lines: Record<string, unknown>[] = [];
  readonly invalid: string[] = [];
  lineCount = 0;
  bytes = 0;
  connections = 0;
  #paused: boolean;
  #port = 0;

  private constructor(options: JsonLinesReceiverOptions) {
    this.#options = options;
    this.#paused = options.paused ?? false;
    const tls = options.tls;
    this.#server = tls
      ? createTlsServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: tls.requireClientCert ?? false, rejectUnauthorized: tls.requireClientCert ?? false }, (s) => this.#accept(s))
      : createNetServer((s) => this.#accept(s));
  }

  static async start(options: JsonLinesReceiverOptions = {}): Promise<JsonLinesReceiver> {
    const r = new JsonLinesReceiver(options);
    await new Promise<void>((resolve, reject) => {
      r.#server.once('error', reject);
      r.#server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    r.#port = (r.#server.address() as AddressInfo).port;
    return r;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  pause(): void {
    this.#paused = true;
    for (const s of this.#sockets) s.pause();
  }

  resume(): void {
    this.#paused = false;
    for (const s of this.#sockets) s.resume();
  }

  dropConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.connections++;
    this.#sockets.add(socket);
    if (this.#paused) socket.pause();
    const record = this.#options.record ?? true;
    let partial: Buffer | null = null;
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      const buf = partial ? Buffer.concat([partial, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        this.lineCount++;
        if (record) this.#line(buf.toString('utf8', start, nl));
        start = nl + 1;
      }
      partial = start < buf.length ? buf.subarray(start) : null;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#sockets.delete(socket);
      if (partial && record) this.invalid.push(`(connection ended inside a line) ${partial.toString('utf8')}`);
    });
  }

  #line(text: string): void {
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        this.lines.push(v as Record<string, unknown>);
        return;
      }
    } catch {
      // fall through
    }
    this.invalid.push(text);
  }
}
