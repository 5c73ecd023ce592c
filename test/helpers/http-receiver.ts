/**
 * What Logstash's `http` input does with a JSON body, for tests and benchmarks on 127.0.0.1: a
 * POSTed `application/json` array becomes one event per element (the input's json codec). The
 * answer to each request is scripted: queue statuses (503, 429 with Retry-After, 400, …) and
 * they are used in order, then 200 "ok" as Logstash answers. Events count as accepted only when
 * the answer was 2xx.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Events in the body (empty when the body was not a JSON array of objects). */
  events: Record<string, unknown>[];
  bodyBytes: number;
  status: number;
}

export interface HttpReceiverOptions {
  tls?: { cert: Buffer; key: Buffer };
  /** Parse bodies and keep events (default true); false = count bytes only (benchmarks). */
  record?: boolean;
}

export class HttpReceiver {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #record: boolean;
  readonly #tls: boolean;
  /** Answers for the next requests, used in order; then 200. */
  readonly script: ScriptedResponse[] = [];
  readonly requests: ReceivedRequest[] = [];
  /** Events of requests answered 2xx, in order. */
  readonly events: Record<string, unknown>[] = [];
  /** Bodies that were not a JSON array of objects. */
  readonly invalid: string[] = [];
  requestCount = 0;
  acceptedRequests = 0;
  bytes = 0;
  connections = 0;
  #port = 0;

  private constructor(options: HttpReceiverOptions) {
    this.#record = options.record ?? true;
    this.#tls = options.tls !== undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (this.#record) chunks.push(c);
      });
      req.on('end', () => {
        this.requestCount++;
        this.bytes += size;
        const reply = this.script.shift() ?? { status: 200 };
        let events: Record<string, unknown>[] = [];
        if (this.#record) {
          const body = Buffer.concat(chunks).toString('utf8');
          try {
            const parsed: unknown = JSON.parse(body);
            if (Array.isArray(parsed) && parsed.every((e) => typeof e === 'object' && e !== null && !Array.isArray(e))) events = parsed as Record<string, unknown>[];
            else this.invalid.push(body);
          } catch {
            this.invalid.push(body);
          }
          this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, events, bodyBytes: size, status: reply.status });
        }
        const send = (): void => {
          if (reply.status >= 200 && reply.status < 300) {
            this.acceptedRequests++;
            this.events.push(...events);
          }
          res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
          res.end(reply.status === 200 ? 'ok' : `status ${reply.status}`);
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs);
        else send();
      });
    };
    this.#server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createServer(handler);
    this.#server.keepAliveTimeout = 60_000;
    this.#server.on('connection', (s: Socket) => {
      this.connections++;
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  static async start(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
    const r = new HttpReceiver(options);
    await new Promise<void>((resolve, reject) => {
      r.#server.once('error', reject);
      r.#server.listen(0, '127.0.0.1', () => resolve());
    });
    r.#port = (r.#server.address() as AddressInfo).port;
    return r;
  }

  get port(): number {
    return this.#port;
  }

  /** `127.0.0.1:port`, as an output's `hosts` entry (the output adds http:// or https://). */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** `http://127.0.0.1:port/path` (https with tls). */
  url(path = '/'): string {
    return `${this.#tls ? 'https' : 'http'}://127.0.0.1:${this.#port}${path}`;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
