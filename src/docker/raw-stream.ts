/**
 * A streaming `GET` to the Docker API on a connection of its own, for the one body that is hot:
 * a followed container log. dockerode goes through Node's HTTP client, which turns each chunk
 * of a chunked body into its own Buffer and stream event; the daemon flushes every log message,
 * so that is one event per line, several µs each (bench/container-logs). Here the response head
 * is parsed once and the body de-framed per socket read (chunked-body.ts): one `data` event per
 * read, each a Buffer of many messages. Same daemon address, TLS material and error shape
 * (`statusCode`, dockerode's message) as the client the rest of the agent uses.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import type Docker from 'dockerode';
import { ChunkedBody } from './chunked-body.ts';

/** The response head may not be larger than this. */
const MAX_HEAD = 64 * 1024;
/** An error response's body is read up to this much (Docker's JSON `{"message": …}`). */
const MAX_ERROR_BODY = 64 * 1024;

/** Where the daemon is, as the dockerode client was configured (src/docker/client.ts). */
interface ModemTarget {
  socketPath?: string;
  host?: string;
  port?: number | string;
  protocol?: string;
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** A non-2xx answer, shaped as dockerode's errors (`statusCode`; "(HTTP code N) reason - message"). */
export class DockerApiError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, reason: string, message: string) {
    super(`(HTTP code ${statusCode}) ${reason} - ${message}`);
    this.statusCode = statusCode;
  }
}

/**
 * The body of a streaming answer: `data` (Buffer: body bytes, owned by the listener), `end`
 * (the body is complete), `error`, `close` (the connection is gone; after `end` or not).
 */
export class RawBody extends EventEmitter {
  readonly #socket: Socket;
  /** Body bytes that came with the head, and what handles them: delivered by start(). */
  #first: Buffer | null = null;
  #onBytes: ((chunk: Buffer) => void) | null = null;
  constructor(socket: Socket) {
    super();
    this.#socket = socket;
  }
  /** @internal the connection is paused until start(): listeners are attached by then. */
  hold(first: Buffer, onBytes: (chunk: Buffer) => void): void {
    this.#first = first;
    this.#onBytes = onBytes;
    this.#socket.pause();
  }
  /** Delivers the body: call once the listeners are attached. */
  start(): void {
    const first = this.#first;
    this.#first = null;
    if (first !== null && this.#onBytes !== null) this.#onBytes(first);
    this.#socket.resume();
  }
  pause(): void {
    this.#socket.pause();
  }
  resume(): void {
    this.#socket.resume();
  }
  destroy(): void {
    this.#socket.destroy();
  }
}

/** Opens `GET path` (with its query) and resolves with the body once the daemon answered 200. */
export function rawGet(docker: Docker, path: string, signal: AbortSignal): Promise<RawBody> {
  const target = (docker as unknown as { modem: ModemTarget }).modem;
  return new Promise<RawBody>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError());
      return;
    }
    const socket = connectTo(target);
    const body = new RawBody(socket);
    let head: Buffer | null = Buffer.alloc(0);
    let decoder: ChunkedBody | null = null;
    let failure: { status: number; reason: string; bytes: Buffer[]; size: number } | null = null;
    let settled = false;
    const onAbort = (): void => {
      socket.destroy();
      if (!settled) fail(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const fail = (err: Error): void => {
      if (settled) {
        body.emit('error', err);
        return;
      }
      settled = true;
      socket.destroy();
      reject(err);
    };
    const finishError = (): void => {
      if (failure === null) return;
      const text = Buffer.concat(failure.bytes).toString('utf8');
      let message = text.trim();
      try {
        const parsed = JSON.parse(text) as { message?: unknown };
        if (typeof parsed.message === 'string') message = parsed.message;
      } catch {
        // not JSON: the text as it is
      }
      fail(new DockerApiError(failure.status, failure.reason, message));
    };
    socket.on('error', (err) => fail(err));
    socket.on('close', () => {
      signal.removeEventListener('abort', onAbort);
      if (failure !== null) finishError();
      else if (!settled) fail(new Error('the Docker API closed the connection before answering'));
      else body.emit('close');
    });
    const onBytes = (chunk: Buffer): void => {
      try {
        const dec = decoder as ChunkedBody;
        const data = dec.push(chunk);
        if (failure !== null) {
          if (failure.size < MAX_ERROR_BODY) {
            failure.bytes.push(Buffer.from(data));
            failure.size += data.length;
          }
          if (dec.done) socket.destroy();
          return;
        }
        if (data.length > 0) body.emit('data', data);
        if (dec.done) {
          body.emit('end');
          socket.destroy();
        }
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    };
    socket.on('data', (chunk: Buffer) => {
      if (head === null) {
        onBytes(chunk);
        return;
      }
      try {
        const all: Buffer = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const endOfHead = all.indexOf('\r\n\r\n');
        if (endOfHead < 0) {
          if (all.length > MAX_HEAD) throw new Error('the Docker API sent an oversized response head');
          head = all;
          return;
        }
        const parsed = parseHead(all.toString('latin1', 0, endOfHead));
        head = null;
        decoder = new ChunkedBody(parsed);
        const rest = all.subarray(endOfHead + 4);
        if (parsed.status === 200) {
          settled = true;
          body.hold(rest, onBytes);
          resolve(body);
          return;
        }
        failure = { status: parsed.status, reason: parsed.reason, bytes: [], size: 0 };
        onBytes(rest);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    const host = target.socketPath !== undefined ? 'docker' : `${target.host ?? 'localhost'}`;
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: dockhand\r\nAccept: application/vnd.docker.multiplexed-stream, application/vnd.docker.raw-stream\r\nConnection: close\r\n\r\n`);
  });
}

function connectTo(target: ModemTarget): Socket {
  if (target.socketPath !== undefined && target.socketPath !== '') return netConnect({ path: target.socketPath });
  const port = Number(target.port ?? (target.protocol === 'https' ? 2376 : 2375));
  const host = target.host ?? '127.0.0.1';
  if (target.protocol === 'https') return process.getBuiltinModule('node:tls').connect({ host, port, servername: host, ca: target.ca, cert: target.cert, key: target.key });
  return netConnect({ host, port });
}

function parseHead(text: string): { status: number; reason: string; chunked: boolean; contentLength: number | null } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (m === null) throw new Error(`the Docker API answered something that is not HTTP/1.1: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  let chunked = false;
  let contentLength: number | null = null;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'transfer-encoding') chunked = value.toLowerCase().split(',').map((s) => s.trim()).includes('chunked');
    else if (name === 'content-length' && /^\d+$/.test(value)) contentLength = Number(value);
  }
  return { status: Number(m[1]), reason: (m[2] ?? '').toLowerCase(), chunked, contentLength };
}

function abortError(): Error {
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}
