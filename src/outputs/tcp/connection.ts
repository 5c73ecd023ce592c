/**
 * One TCP (or TLS) connection to a Logstash `tcp` input with `codec => json_lines`: every event
 * is one line, a batch is one write (a writev of the runs of events as they lie in memory).
 *
 * What "acked" means here. The tcp input never answers, so there is no acknowledgement to wait
 * for; a batch counts as acked when its write callback fires, i.e. Node has handed every byte to
 * the kernel (for TLS: encrypted and handed over). That is *not* delivery: bytes in this host's
 * send buffer, in flight, or in Logstash's receive buffer are lost if Logstash or the network
 * fails before Logstash reads them — up to roughly the two socket buffers (a few MiB) per
 * connection, and the file offsets will already have advanced past them. And a batch cut by a
 * failure mid-write is retried whole, so Logstash may see its first lines twice, the last one
 * possibly cut (a `_jsonparsefailure`). Use the beats output where at-least-once matters.
 *
 * A write that does not complete within `timeout` (Logstash stopped reading and both buffers are
 * full) ends the connection; the pending batches are retried on the next one.
 */
import type { Socket } from 'node:net';
import { DockhandError } from '../../core/errors.ts';
import { abortedError, retry, unlessAborted } from '../abortable.ts';
import type { BatchConnection, ConnectionActivity, ConnectionEnd } from '../connection-pool.ts';
import { isNewlineFramed } from '../newline-framed.ts';
import { spansOf } from '../event-spans.ts';
import type { EventList, EventSpans } from '../event-spans.ts';
import type { SendOutcome } from '../types.ts';
import { timerDelay } from '../../core/timers.ts';

export interface JsonLinesConnectionOptions {
  socket: Socket;
  host: string;
  timeoutMs: number;
  activity: ConnectionActivity;
}

/** Bytes of the json_lines encoding of `events`. */
export function jsonLinesLength(events: EventList): number {
  const spans = spansOf(events);
  return spans.bytes + spans.length;
}

interface PendingWrite {
  startedAt: number;
  done: (error: DockhandError | null) => void;
}

/**
 * Events as json_lines in one new buffer. A raw newline inside an event (never in
 * JSON.stringify output, but possible in hand-made JSON) would split it in two; outside strings it
 * is only whitespace and inside strings it is invalid JSON anyway, so it becomes a space.
 */
export function encodeJsonLines(events: EventList, from = 0, to?: number): Buffer {
  const spans = spansOf(events).slice(from, to);
  const out = Buffer.allocUnsafe(jsonLinesLength(spans));
  let pos = 0;
  for (let i = 0; i < spans.length; i++) {
    const memory = spans.memory(i);
    const start = spans.start(i);
    const end = start + spans.size(i);
    memory.copy(out, pos, start, end);
    let nl = memory.indexOf(10, start);
    while (nl !== -1 && nl < end) {
      out[pos + nl - start] = 0x20;
      nl = memory.indexOf(10, nl + 1);
    }
    pos += end - start;
    out[pos++] = 10;
  }
  return out;
}

/**
 * A batch as json_lines, in as few pieces as its memory allows: a run of consecutive events in
 * newline-framed memory (the encoder's slabs, ../newline-framed.ts) is one piece as it lies there,
 * the newlines between them included — no copy, no scan; other events are copied (encodeJsonLines).
 * The pieces go out in one writev.
 */
export function jsonLinesChunks(events: EventList): Buffer[] {
  const spans = spansOf(events);
  const chunks: Buffer[] = [];
  let memory: Buffer | null = null;
  let start = 0;
  let end = 0;
  let copied = -1; // first of the events waiting to be copied, or -1
  for (let i = 0; i < spans.length; i++) {
    const m = spans.memory(i);
    const s = spans.start(i);
    if (m === memory && s === end) {
      end += spans.size(i) + 1;
      continue;
    }
    if (memory !== null) chunks.push(memory.subarray(start, end));
    if (isNewlineFramed(m.buffer)) {
      if (copied >= 0) chunks.push(encodeJsonLines(spans, copied, i));
      copied = -1;
      memory = m;
      start = s;
      end = s + spans.size(i) + 1;
    } else {
      memory = null;
      if (copied < 0) copied = i;
    }
  }
  if (memory !== null) chunks.push(memory.subarray(start, end));
  if (copied >= 0) chunks.push(encodeJsonLines(spans, copied));
  return chunks;
}

export class JsonLinesConnection implements BatchConnection {
  readonly #o: JsonLinesConnectionOptions;
  readonly #socket: Socket;
  readonly #connectedAt = Date.now();
  readonly #pending = new Set<PendingWrite>();
  #busy = 0;
  #draining = false;
  #progressed = false;
  #end: ConnectionEnd | null = null;
  #resolveEnded!: (end: ConnectionEnd) => void;
  readonly ended: Promise<ConnectionEnd>;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: JsonLinesConnectionOptions) {
    this.#o = options;
    this.#socket = options.socket;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    // The tcp input never writes; whatever arrives is read and dropped so it cannot pile up.
    this.#socket.on('data', () => {});
    this.#socket.on('end', () => this.#fail(new DockhandError('UNAVAILABLE', `${options.host}: connection closed by Logstash`, { transient: true })));
    this.#socket.on('error', (err) => this.#fail(new DockhandError('UNAVAILABLE', `${options.host}: ${err.message}`, { transient: true, cause: err })));
    this.#socket.on('close', () => this.#fail(new DockhandError('UNAVAILABLE', `${options.host}: connection closed`, { transient: true })));
  }

  get alive(): boolean {
    return this.#end === null && !this.#draining;
  }

  get busy(): number {
    return this.#busy;
  }

  async sendBatch(events: EventSpans, signal: AbortSignal): Promise<SendOutcome> {
    if (!this.alive) return retry(0, this.#end?.error ?? this.#closedError());
    this.#busy++;
    try {
      const chunks = jsonLinesChunks(events);
      let bytes = 0;
      for (const c of chunks) bytes += c.length;
      let write!: PendingWrite;
      const written = new Promise<DockhandError | null>((resolve) => {
        write = { startedAt: Date.now(), done: resolve };
        this.#pending.add(write);
        const last = chunks.length - 1;
        // one writev for the batch; its last write's callback means the kernel has every piece
        if (last > 0) this.#socket.cork();
        for (let i = 0; i < last; i++) this.#socket.write(chunks[i] as Buffer);
        this.#socket.write(chunks[last] as Buffer, (err) => {
          this.#pending.delete(write);
          if (err) {
            resolve(this.#end?.error ?? new DockhandError('UNAVAILABLE', `${this.#o.host}: ${err.message}`, { transient: true, cause: err }));
            return;
          }
          this.#progressed = true;
          this.#o.activity.heard();
          resolve(null);
        });
        if (last > 0) this.#socket.uncork();
        this.#o.activity.sent(bytes);
        this.#armTimer(this.#o.timeoutMs);
      });
      const error = await unlessAborted(written, signal);
      if (error === null && signal.aborted) {
        // The write still points into the events' memory, which is reused once another output
        // (after a replacement) has them: the connection ends rather than send what may be
        // overwritten by then. A stop reaches this only after the drain timeout.
        if (this.#pending.has(write)) this.#fail(abortedError(this.#o.host));
        return retry(0, abortedError(this.#o.host));
      }
      return error ? retry(0, error) : { kind: 'acked' };
    } finally {
      this.#busy--;
    }
  }

  async drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    const deadline = Date.now() + timeoutMs;
    while (this.#end === null && (this.#pending.size > 0 || this.#busy > 0) && Date.now() < deadline) {
      await Promise.race([this.ended, new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))))]);
    }
    // end() sends a FIN after what is buffered, so Logstash reads the last line whole; a peer
    // that never closes its side does not keep the socket (or the process) alive.
    if (this.#end === null) {
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 5_000).unref();
    }
    this.#fail(this.#closedError(), false);
  }

  destroy(error: DockhandError): void {
    this.#fail(error);
  }

  #armTimer(ms: number): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#end !== null || this.#pending.size === 0) return;
      let oldest = Infinity;
      for (const w of this.#pending) oldest = Math.min(oldest, w.startedAt);
      const waited = Date.now() - oldest;
      if (waited >= this.#o.timeoutMs) {
        this.#fail(new DockhandError('UNAVAILABLE', `${this.#o.host}: a write did not complete within ${this.#o.timeoutMs} ms (Logstash not reading)`, { transient: true }));
      } else {
        this.#armTimer(this.#o.timeoutMs - waited);
      }
    }, timerDelay(ms));
  }

  #closedError(): DockhandError {
    return new DockhandError('UNAVAILABLE', `${this.#o.host}: connection closed`, { transient: true });
  }

  #fail(error: DockhandError, destroy = true): void {
    if (this.#end !== null) return;
    this.#end = { error, healthy: this.#progressed || Date.now() - this.#connectedAt >= this.#o.timeoutMs, idle: this.#pending.size === 0 && this.#busy === 0 };
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    // Writes still queued fail through their callbacks once the socket is destroyed; resolve
    // them here too so no sender waits on a socket that will never call back.
    for (const w of this.#pending) w.done(error);
    this.#pending.clear();
    if (destroy) this.#socket.destroy();
    this.#resolveEnded(this.#end);
  }
}
