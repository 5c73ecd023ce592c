/**
 * One Lumberjack v2 connection to one Logstash host: splits batches into windows, writes them
 * pipelined (up to `pipelining` windows in flight, shared by all batches on the connection),
 * reads ACKs, and ends the connection on silence, a protocol error or a socket error.
 *
 * ACK rules (go-lumber client/v2 client.go AwaitACK, Logstash BeatsHandler / ConnectionHandler):
 * - ACKs refer to the oldest unfinished window; `seq` is how many of its events are done.
 *   `seq == count` finishes the window; a smaller `seq` above the previous one is a partial ACK
 *   (progress); `seq` above `count` is a protocol error ("invalid sequence number received").
 * - A blocked Logstash sends `2A` with seq 0 (ConnectionHandler's writer-idle keep-alive);
 *   other servers repeat the last seq. Either is liveness, not progress: Filebeat resets its read
 *   deadline on every ACK and only counts advances (libbeat deadlock.go logs after 5 minutes of
 *   keep-alives without progress but keeps waiting; so do we).
 * - Silence for `timeout` while a window is outstanding (no ACK of any kind) means the peer is
 *   gone: the connection is closed and the unacknowledged rest is retried (go-lumber sets the
 *   read deadline to `timeout` before each ACK read).
 *
 * Windows are encoded when queued (one buffer per window, copied once from the events; zlib
 * on the thread pool when compressed) and written strictly in queue order, one write each.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { DockhandError, errorMessage } from '../../core/errors.ts';
import { abortedError, retry, unlessAborted } from '../abortable.ts';
import type { BatchConnection, ConnectionActivity, ConnectionEnd } from '../connection-pool.ts';
import type { EventSpans } from '../event-spans.ts';
import type { SendOutcome } from '../types.ts';
import type { BufferPool } from '../buffer-pool.ts';
import { WindowCompressor } from './compressor.ts';
import { AckReader, compressedWindowHeader, jsonFramesLength, LumberjackProtocolError, windowLength, writeJsonFrames, writeWindow } from './frames.ts';
import type { SlowStartWindow } from './window.ts';
import { timerDelay } from '../../core/timers.ts';

/** libbeat/outputs/logstash/deadlock.go logstashDeadlockTimeout. */
const STALL_WARNING_MS = 5 * 60_000;

export interface BeatsConnectionOptions {
  socket: Socket;
  /** Host label (as configured) for logs and metrics. */
  host: string;
  timeoutMs: number;
  compressionLevel: number;
  /** Windows in flight on this connection. */
  pipelining: number;
  /** The host's slow-start window; it outlives connections, as Filebeat's does. */
  window: SlowStartWindow;
  /** Window buffers, shared by the output's connections. */
  buffers: BufferPool;
  activity: ConnectionActivity;
  logger: Logger;
}

interface PendingWindow {
  count: number;
  acked: number;
  /** Encoded bytes waiting for their turn to be written (null while compressing, and once written). */
  chunks: Buffer[] | null;
  /** Pool buffer behind `chunks`, returned once the socket has flushed it. */
  pooled: Buffer | null;
  written: boolean;
  done: (acked: number, error: DockhandError | null) => void;
}

interface WindowResult {
  acked: number;
  error: DockhandError | null;
}

export class BeatsConnection implements BatchConnection {
  readonly #o: BeatsConnectionOptions;
  readonly #socket: Socket;
  readonly #acks = new AckReader();
  readonly #connectedAt = Date.now();
  /** Windows queued on this connection, oldest first; the first `#written` of them are on the wire. */
  readonly #queue: PendingWindow[] = [];
  #written = 0;
  readonly #slotWaiters = new Set<() => void>();
  #busy = 0;
  #draining = false;
  #end: ConnectionEnd | null = null;
  #resolveEnded!: (end: ConnectionEnd) => void;
  readonly ended: Promise<ConnectionEnd>;
  #progressed = false;
  /** Last time the peer showed life while a window was outstanding (ACK, or the first write). */
  #lastHeard = 0;
  #lastProgress = 0;
  #stallWarned = false;
  #timer: NodeJS.Timeout | null = null;
  #compressor: WindowCompressor | null = null;

  constructor(options: BeatsConnectionOptions) {
    this.#o = options;
    this.#socket = options.socket;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    this.#socket.on('data', (chunk: Buffer) => {
      try {
        this.#acks.push(chunk, this.#onAck);
      } catch (err) {
        const reason = err instanceof LumberjackProtocolError ? `protocol error from Logstash: ${err.message}` : errorMessage(err);
        this.#fail(new DockhandError('UNAVAILABLE', `${options.host}: ${reason}`, { transient: true, cause: err }));
      }
    });
    this.#socket.on('end', () => this.#fail(new DockhandError('UNAVAILABLE', `${options.host}: connection closed by Logstash`, { transient: true })));
    this.#socket.on('error', (err) => this.#fail(new DockhandError('UNAVAILABLE', `${options.host}: ${err.message}`, { transient: true, cause: err })));
    this.#socket.on('close', () => this.#fail(new DockhandError('UNAVAILABLE', `${options.host}: connection closed`, { transient: true })));
    options.activity.window(options.host, options.window.size);
  }

  get alive(): boolean {
    return this.#end === null && !this.#draining;
  }

  get busy(): number {
    return this.#busy;
  }

  async sendBatch(events: EventSpans, signal: AbortSignal): Promise<SendOutcome> {
    const n = events.length;
    if (!this.alive) return retry(0, this.#end?.error ?? this.#closedError());
    this.#busy++;
    try {
      const windows: Promise<WindowResult>[] = [];
      let failure: DockhandError | null = null;
      let offset = 0;
      while (offset < n) {
        if (!(await this.#windowSlot(signal)) || failure) break;
        const end = Math.min(n, offset + this.#o.window.size);
        const result = this.#enqueue(events, offset, end);
        void result.then((r) => {
          if (r.error) {
            failure ??= r.error;
            this.#o.window.shrink();
          } else {
            this.#o.window.grow(n);
          }
          this.#o.activity.window(this.#o.host, this.#o.window.size);
        });
        windows.push(result);
        offset = end;
      }
      let acked = 0;
      for (const w of windows) {
        const r = await unlessAborted(w, signal);
        if (r === null) return retry(acked, abortedError(this.#o.host));
        acked += r.acked;
        if (r.error) return retry(acked, r.error);
      }
      if (acked === n) return { kind: 'acked' };
      if (signal.aborted) return retry(acked, abortedError(this.#o.host));
      return retry(acked, failure ?? this.#end?.error ?? this.#closedError());
    } finally {
      this.#busy--;
      this.#wakeSlotWaiters();
    }
  }

  async drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    const deadline = Date.now() + timeoutMs;
    while (this.#end === null && (this.#queue.length > 0 || this.#busy > 0) && Date.now() < deadline) {
      await Promise.race([this.ended, new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))))]);
    }
    this.#fail(this.#closedError());
  }

  destroy(error: DockhandError): void {
    this.#fail(error);
  }

  /** Resolves true when this connection may take another window, false when it cannot (ended or aborted). */
  async #windowSlot(signal: AbortSignal): Promise<boolean> {
    while (this.#end === null && !signal.aborted && this.#queue.length >= this.#o.pipelining) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.#slotWaiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#slotWaiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    return this.#end === null && !signal.aborted;
  }

  #wakeSlotWaiters(): void {
    for (const wake of [...this.#slotWaiters]) wake();
  }

  #enqueue(events: EventSpans, start: number, end: number): Promise<WindowResult> {
    return new Promise<WindowResult>((resolve) => {
      const w: PendingWindow = { count: end - start, acked: 0, chunks: null, pooled: null, written: false, done: (acked, error) => resolve({ acked, error }) };
      this.#queue.push(w);
      if (this.#o.compressionLevel > 0) {
        // Copy the frames now (the caller may reuse the events once sendBatch returns), deflate later.
        const length = jsonFramesLength(events, start, end);
        const plain = this.#o.buffers.acquire(length);
        writeJsonFrames(plain, 0, events, start, end);
        this.#compressor ??= new WindowCompressor(this.#o.compressionLevel);
        this.#compressor.compress(plain.subarray(0, length)).then(
          (payload) => {
            this.#o.buffers.release(plain);
            if (this.#end !== null) return;
            w.chunks = [compressedWindowHeader(end - start, payload.length), payload];
            this.#flushWrites();
          },
          (err: unknown) => {
            this.#o.buffers.release(plain);
            this.#fail(new DockhandError('INTERNAL', `${this.#o.host}: compressing a window failed: ${errorMessage(err)}`, { cause: err }));
          },
        );
      } else {
        const length = windowLength(events, start, end);
        const buf = this.#o.buffers.acquire(length);
        writeWindow(buf, events, start, end);
        w.chunks = [buf.subarray(0, length)];
        w.pooled = buf;
        this.#flushWrites();
      }
    });
  }

  /** Writes every encoded window whose predecessors are written, in queue order. */
  #flushWrites(): void {
    while (this.#end === null && this.#written < this.#queue.length) {
      const w = this.#queue[this.#written] as PendingWindow;
      const chunks = w.chunks;
      if (chunks === null) return;
      if (this.#written === 0) {
        // Nothing was outstanding: the wait for this window's ACK starts now.
        this.#lastHeard = Date.now();
        this.#lastProgress = this.#lastHeard;
      }
      let bytes = 0;
      if (chunks.length === 1) {
        const pooled = w.pooled;
        // The callback runs once the bytes are with the kernel, or with an error on destroy: either way the buffer is free.
        this.#socket.write(chunks[0] as Buffer, pooled ? () => this.#o.buffers.release(pooled) : undefined);
        w.pooled = null;
        bytes = (chunks[0] as Buffer).length;
      } else {
        this.#socket.cork();
        for (const c of chunks) {
          this.#socket.write(c);
          bytes += c.length;
        }
        this.#socket.uncork();
      }
      w.chunks = null;
      w.written = true;
      this.#written++;
      this.#o.activity.sent(bytes);
      this.#armTimer(this.#o.timeoutMs);
    }
  }

  readonly #onAck = (seq: number): void => {
    const now = Date.now();
    this.#o.activity.heard();
    const head = this.#written > 0 ? (this.#queue[0] as PendingWindow) : undefined;
    if (head === undefined) {
      // Logstash may send its keep-alive just after the last ACK; anything else is out of place.
      if (seq === 0) return;
      throw new LumberjackProtocolError(`ACK ${seq} while no window is outstanding`);
    }
    this.#lastHeard = now;
    if (seq > head.count) throw new LumberjackProtocolError(`ACK ${seq} beyond the window of ${head.count} events`);
    if (seq <= head.acked) {
      this.#o.activity.keepalive(this.#o.host);
      if (!this.#stallWarned && now - this.#lastProgress > STALL_WARNING_MS) {
        this.#stallWarned = true;
        this.#o.logger.warn({ host: this.#o.host, stalledMs: now - this.#lastProgress }, 'Logstash keeps the connection alive but has acknowledged nothing for a long time (its pipeline may be blocked)');
      }
      return;
    }
    head.acked = seq;
    this.#progressed = true;
    this.#lastProgress = now;
    this.#stallWarned = false;
    if (seq === head.count) {
      this.#queue.shift();
      this.#written--;
      head.done(head.count, null);
      this.#wakeSlotWaiters();
    }
  };

  #armTimer(ms: number): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#end !== null || this.#written === 0) return;
      const silent = Date.now() - this.#lastHeard;
      if (silent >= this.#o.timeoutMs) {
        this.#fail(new DockhandError('UNAVAILABLE', `${this.#o.host}: no ACK or keep-alive from Logstash for ${silent} ms (timeout ${this.#o.timeoutMs} ms)`, { transient: true }));
      } else {
        this.#armTimer(this.#o.timeoutMs - silent);
      }
    }, timerDelay(ms));
  }

  #closedError(): DockhandError {
    return new DockhandError('UNAVAILABLE', `${this.#o.host}: connection closed`, { transient: true });
  }

  #fail(error: DockhandError): void {
    if (this.#end !== null) return;
    const idle = this.#queue.length === 0 && this.#busy === 0;
    this.#end = { error, healthy: this.#progressed || Date.now() - this.#connectedAt >= this.#o.timeoutMs, idle };
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#socket.destroy();
    this.#compressor?.close();
    const queue = this.#queue.splice(0);
    this.#written = 0;
    for (const w of queue) {
      if (w.pooled) this.#o.buffers.release(w.pooled);
      w.done(w.acked, error);
    }
    this.#wakeSlotWaiters();
    this.#resolveEnded(this.#end);
  }
}
