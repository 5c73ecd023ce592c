/**
 * Reads a followed log body to its end in batches: the socket reads that arrived are gathered
 * and handed on together (one turn of the event loop each), not awaited one by one. The daemon
 * writes each message on its own, so a reader that keeps up would wake once per line: as for
 * files (READ_COALESCE_MS), a stream that delivers again within that long of its last batch waits
 * for the rest — its reads are gathered, not parsed — and is then parsed and queued many lines at
 * a time (up to LINGER_MAX_BYTES). It adds at most that much latency. The connection is paused
 * while the queue is full.
 */
import type { RawBody } from '../../docker/raw-stream.ts';
import { READ_COALESCE_MS } from '../read-pumps.ts';

/** Parsing waits for more reads only while less than this is waiting. */
const LINGER_MAX_BYTES = 1024 * 1024;

export interface BatchHandler {
  /** Parses and queues a batch of reads; resolves once its events are in the queue. */
  batch(chunks: Buffer[]): Promise<void>;
  /** Whether the queue is full (then reading pauses until the batch is queued). */
  full(): boolean;
  /** A batch is done (queued). */
  idle(): void;
}

export function readBatches(body: RawBody, signal: AbortSignal, handler: BatchHandler): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let scheduled = false;
    let running = false;
    let ended = false;
    let full = false;
    let lingering = false;
    let batchAt = 0;
    const step = async (): Promise<void> => {
      scheduled = false;
      if (running) return;
      running = true;
      try {
        while (chunks.length > 0 && !signal.aborted) {
          batchAt = performance.now();
          pendingBytes = 0;
          const queued = handler.batch(chunks.splice(0));
          full = handler.full();
          if (full) body.pause();
          await queued;
          if (full) {
            full = false;
            body.resume();
          }
          handler.idle();
        }
        if (ended || signal.aborted) resolve();
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      } finally {
        running = false;
        handler.idle();
      }
    };
    const schedule = (): void => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => void step());
    };
    let pendingBytes = 0;
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      pendingBytes += chunk.length;
      if (scheduled || lingering) {
        if (lingering && pendingBytes >= LINGER_MAX_BYTES) schedule();
        return;
      }
      const wait = batchAt + READ_COALESCE_MS - performance.now();
      if (wait <= 0) {
        schedule();
        return;
      }
      // The socket keeps being read (pausing it would hold the daemon back: a unix socket buffers
      // only a few hundred small messages); only the parsing waits.
      lingering = true;
      setTimeout(() => {
        lingering = false;
        schedule();
      }, wait).unref();
    });
    body.on('end', () => {
      ended = true;
      schedule();
    });
    body.on('error', (err: Error) => reject(err));
    body.on('close', () => {
      if (!ended) {
        ended = signal.aborted;
        if (ended) schedule();
        else reject(new Error('the Docker API closed the log stream'));
      }
    });
    body.start();
  });
}
