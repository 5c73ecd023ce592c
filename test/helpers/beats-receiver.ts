/**
 * A strict Lumberjack v2 receiver (what Logstash's beats input accepts, and stricter) for tests
 * and benchmarks, on 127.0.0.1 only. It records every event and rejects — records the problem
 * and drops the connection — anything a correct client must not send:
 *
 * - a version byte other than '2', an unknown frame type, an ACK frame from the client;
 * - a data frame outside a window, a window frame inside one, a window of 0 or more than
 *   `maxWindow` events;
 * - sequence numbers other than 1..count in each window (Logstash ACKs the highest seq it saw);
 * - a compressed frame that does not inflate (zlib), holds anything but JSON frames, or more
 *   events than the window has left;
 * - a payload that is not a JSON object.
 *
 * How it answers is decided per window by `plan` (settable at any time): ACK at once, after a
 * delay (with keep-alive ACKs meanwhile, seq 0 like Logstash's ConnectionHandler or the last
 * seq), partially (first k, then stall, drop or the rest later), never, or drop the connection
 * after k events of the window. Windows are answered strictly in order, as Logstash does.
 */
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { inflateSync } from 'node:zlib';
import { decodeFrame, encodeAck, LumberjackProtocolError } from '../../src/outputs/beats/frames.ts';
import type { DecodedFrame } from '../../src/outputs/beats/frames.ts';

export interface ReceivedEvent {
  /** Exact payload bytes (a copy). */
  raw: Buffer;
  json: Record<string, unknown>;
  /** Connection number (from 1) and window number on it (from 1). */
  connection: number;
  window: number;
  seq: number;
}

export interface WindowInfo {
  connection: number;
  /** Window number on its connection, from 1. */
  window: number;
  count: number;
}

export interface KeepAlive {
  everyMs: number;
  /** 'zero': seq 0 (Logstash); 'last': repeat the last seq ACKed in this window. Default 'zero'. */
  seq?: 'zero' | 'last';
}

export type AckPlan =
  /** ACK the whole window, after `delayMs` (default 0), sending keep-alives meanwhile if given. */
  | { kind: 'ack'; delayMs?: number; keepAlive?: KeepAlive }
  /** ACK the first `first` events; then stall (keep-alives if given), drop, or ACK the rest after `restAfterMs`. */
  | { kind: 'partial'; first: number; then: 'stall' | 'drop' | { restAfterMs: number }; keepAlive?: KeepAlive }
  /** Never answer this window (nor any after it on the connection). */
  | { kind: 'silent' }
  /** Close the connection once `afterEvents` events of this window have arrived, without an ACK. */
  | { kind: 'drop'; afterEvents: number };

export interface BeatsReceiverOptions {
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requireClientCert?: boolean };
  /** Largest window accepted (default 65536). */
  maxWindow?: number;
  /** Parse and keep every event (default true); false = count and check framing only (benchmarks). */
  record?: boolean;
  /**
   * Called with every event's payload (valid only during the call), recorded or not: for tests
   * that check millions of events without keeping them.
   */
  onEvent?: (payload: Buffer) => void;
  plan?: (w: WindowInfo) => AckPlan;
}

const DEFAULT_PLAN = (): AckPlan => ({ kind: 'ack' });

interface OpenWindow {
  info: WindowInfo;
  plan: AckPlan;
  /** Events of the window received so far. */
  received: number;
}

export class BeatsReceiver {
  readonly #options: BeatsReceiverOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Every event received, in arrival order (when `record`). */
  readonly events: ReceivedEvent[] = [];
  /** Protocol violations seen, each of which closed its connection. */
  readonly errors: string[] = [];
  /** TLS handshakes refused (e.g. no client certificate). */
  readonly tlsErrors: string[] = [];
  /** Subject CN of the client certificate, per TLS connection that had one. */
  readonly clientCertificates: string[] = [];
  /** Windows received in full: connection, window, count, whether it came compressed. */
  readonly windows: (WindowInfo & { compressed: boolean })[] = [];
  plan: (w: WindowInfo) => AckPlan;
  eventCount = 0;
  ackedEvents = 0;
  bytes = 0;
  connections = 0;
  #port = 0;

  private constructor(options: BeatsReceiverOptions) {
    this.#options = options;
    this.plan = options.plan ?? DEFAULT_PLAN;
    const tls = options.tls;
    if (tls) {
      this.#server = createTlsServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: tls.requireClientCert ?? false, rejectUnauthorized: tls.requireClientCert ?? false }, (s) => this.#accept(s));
      this.#server.on('tlsClientError', (err: Error) => this.tlsErrors.push(err.message));
    } else {
      this.#server = createNetServer((s) => this.#accept(s));
    }
  }

  static async start(options: BeatsReceiverOptions = {}, port = 0): Promise<BeatsReceiver> {
    const r = new BeatsReceiver(options);
    await new Promise<void>((resolve, reject) => {
      r.#server.once('error', reject);
      r.#server.listen(port, '127.0.0.1', () => resolve());
    });
    r.#port = (r.#server.address() as AddressInfo).port;
    return r;
  }

  get port(): number {
    return this.#port;
  }

  /** `127.0.0.1:port`, as an output's `hosts` entry. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Connections currently open. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Closes every open connection (the server keeps listening). */
  dropConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.dropConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const connection = ++this.connections;
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    if (this.#options.tls) {
      const cert = (socket as TLSSocket).getPeerCertificate();
      if (cert && typeof cert.subject?.CN === 'string') this.clientCertificates.push(cert.subject.CN);
    }
    const record = this.#options.record ?? true;
    const maxWindow = this.#options.maxWindow ?? 65536;
    const chunks: Buffer[] = [];
    let buffered = 0;
    let need = 2; // bytes needed before decoding can make progress
    let windowNo = 0;
    let open: OpenWindow | null = null;
    /** Complete windows waiting for their turn to be answered. */
    const toAnswer: OpenWindow[] = [];
    let answering = false;
    let closed = false;

    const fail = (reason: string): void => {
      if (closed) return;
      this.errors.push(`connection ${connection}: ${reason}`);
      socket.destroy();
    };

    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          resolve();
        }, ms);
        this.#timers.add(t);
      });

    const ack = (seq: number): void => {
      if (!closed) socket.write(encodeAck(seq));
    };

    /** Waits `ms`, sending keep-alives as the plan says; false if the connection closed meanwhile. */
    const wait = async (ms: number, keepAlive: KeepAlive | undefined, lastSeq: number): Promise<boolean> => {
      const until = Date.now() + ms;
      while (!closed && Date.now() < until) {
        const step = keepAlive ? Math.min(keepAlive.everyMs, until - Date.now()) : until - Date.now();
        await sleep(Math.max(1, step));
        if (!closed && keepAlive && Date.now() < until) ack(keepAlive.seq === 'last' ? lastSeq : 0);
      }
      return !closed;
    };

    const answer = async (): Promise<void> => {
      if (answering) return;
      answering = true;
      while (!closed && toAnswer.length > 0) {
        const w = toAnswer.shift() as OpenWindow;
        const { plan } = w;
        const count = w.info.count;
        if (plan.kind === 'silent') return; // and answering stays true: nothing more on this connection
        if (plan.kind === 'drop') continue; // handled while receiving
        if (plan.kind === 'ack') {
          if (plan.delayMs && !(await wait(plan.delayMs, plan.keepAlive, 0))) return;
          ack(count);
          this.ackedEvents += count;
          continue;
        }
        const first = Math.min(plan.first, count);
        ack(first);
        this.ackedEvents += first;
        if (plan.then === 'drop') {
          socket.destroy();
          return;
        }
        if (plan.then === 'stall') {
          if (plan.keepAlive) while (await wait(plan.keepAlive.everyMs * 1000, plan.keepAlive, first));
          return;
        }
        if (!(await wait(plan.then.restAfterMs, plan.keepAlive, first))) return;
        ack(count);
        this.ackedEvents += count - first;
      }
      answering = false;
    };

    const onEvent = (seq: number, payload: Buffer, compressed: boolean): boolean => {
      const w = open;
      if (w === null) {
        fail(`data frame (seq ${seq}) outside a window`);
        return false;
      }
      const expected = w.received + 1;
      if (seq !== expected) {
        fail(`sequence number ${seq} where ${expected} was expected (window ${w.info.window} of ${w.info.count} events)`);
        return false;
      }
      if (payload.length < 2 || payload[0] !== 0x7b || payload[payload.length - 1] !== 0x7d) {
        fail(`event ${seq} of window ${w.info.window} is not a JSON object`);
        return false;
      }
      if (record) {
        let json: unknown;
        try {
          json = JSON.parse(payload.toString('utf8'));
        } catch (err) {
          fail(`event ${seq} of window ${w.info.window} is not valid JSON: ${(err as Error).message}`);
          return false;
        }
        this.events.push({ raw: Buffer.from(payload), json: json as Record<string, unknown>, connection, window: w.info.window, seq });
      }
      this.#options.onEvent?.(payload);
      this.eventCount++;
      w.received++;
      if (w.plan.kind === 'drop' && w.received >= w.plan.afterEvents) {
        socket.destroy();
        return false;
      }
      if (w.received === w.info.count) {
        this.windows.push({ ...w.info, compressed });
        toAnswer.push(w);
        open = null;
        void answer();
      }
      return true;
    };

    const onCompressed = (payload: Buffer): boolean => {
      if (open === null) {
        fail('compressed frame outside a window');
        return false;
      }
      let inner: Buffer;
      try {
        inner = inflateSync(payload);
      } catch (err) {
        fail(`compressed frame does not inflate (zlib): ${(err as Error).message}`);
        return false;
      }
      let pos = 0;
      while (pos < inner.length) {
        let r: { frame: DecodedFrame; next: number } | null;
        try {
          r = decodeFrame(inner, pos);
        } catch (err) {
          fail(`inside a compressed frame: ${(err as Error).message}`);
          return false;
        }
        if (r === null) {
          fail('compressed frame ends inside a frame');
          return false;
        }
        if (r.frame.type !== 'json') {
          fail(`compressed frame holds a ${r.frame.type} frame; only JSON frames belong there`);
          return false;
        }
        if (open === null) {
          fail('compressed frame holds more events than its window');
          return false;
        }
        if (!onEvent(r.frame.seq, r.frame.payload, true)) return false;
        pos = r.next;
      }
      return true;
    };

    const onFrame = (frame: DecodedFrame): boolean => {
      switch (frame.type) {
        case 'window': {
          if (open !== null) {
            fail(`window frame inside window ${open.info.window} (${open.received} of ${open.info.count} events received)`);
            return false;
          }
          if (frame.count === 0 || frame.count > maxWindow) {
            fail(`window of ${frame.count} events (allowed 1..${maxWindow})`);
            return false;
          }
          const info: WindowInfo = { connection, window: ++windowNo, count: frame.count };
          open = { info, plan: this.plan(info), received: 0 };
          if (open.plan.kind === 'drop' && open.plan.afterEvents <= 0) {
            socket.destroy();
            return false;
          }
          return true;
        }
        case 'json':
          return onEvent(frame.seq, frame.payload, false);
        case 'compressed':
          return onCompressed(frame.payload);
        case 'ack':
          fail('the client sent an ACK frame');
          return false;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      this.bytes += chunk.length;
      chunks.push(chunk);
      buffered += chunk.length;
      if (buffered < need) return;
      let buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, buffered);
      chunks.length = 0;
      let pos = 0;
      for (;;) {
        let r: { frame: DecodedFrame; next: number } | null;
        try {
          r = decodeFrame(buf, pos);
        } catch (err) {
          fail(err instanceof LumberjackProtocolError ? err.message : String(err));
          return;
        }
        if (r === null) break;
        pos = r.next;
        if (!onFrame(r.frame) || closed) return;
      }
      buf = buf.subarray(pos);
      buffered = buf.length;
      need = bytesNeeded(buf);
      if (buffered > 0) chunks.push(buf);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      this.#sockets.delete(socket);
    });
  }
}

/** Bytes the next frame needs in total, from what its header says (at least 2). */
function bytesNeeded(buf: Buffer): number {
  if (buf.length < 2) return 2;
  const type = buf[1];
  if (type === 0x4a) return buf.length < 10 ? 10 : 10 + buf.readUInt32BE(6);
  if (type === 0x43) return buf.length < 6 ? 6 : 6 + buf.readUInt32BE(2);
  return 6;
}

/** Polls until the receiver has at least `n` events (or throws after `timeoutMs`). */
export async function waitForEvents(receiver: BeatsReceiver, n: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (receiver.eventCount < n) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} events (have ${receiver.eventCount})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
