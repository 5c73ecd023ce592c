/**
 * A followed file whose name vanished: renamed (keep following it), or deleted. A deleted file is
 * read to its end through the descriptor and then closed — at once when everything was already
 * read, so its space is freed. One still held past `releaseAfterMs` (the output is down, reading
 * is paused) is released: what was not read is lost, counted and logged — never a full disk
 * from held files.
 */
import type { Logger } from 'pino';
import type { TrackedFile } from './tracked-file.ts';

export interface DeletedFileOptions {
  releaseAfterMs: number;
  logger: Logger;
  metrics?: { bytesLost(n: number): void };
  /** Queues a read step (the step closes a deleted file it finds at its end). */
  schedule(file: TrackedFile): void;
  release(file: TrackedFile): Promise<void>;
}

export class DeletedFiles {
  readonly #o: DeletedFileOptions;

  constructor(options: DeletedFileOptions) {
    this.#o = options;
  }

  /** Checks a suspect's open descriptor: still linked somewhere (renamed), or deleted. */
  async check(file: TrackedFile, now: number): Promise<void> {
    if (!file.handle) return;
    const st = await file.handle.stat().catch(() => undefined);
    if (!st) return;
    if (st.nlink > 0) {
      file.suspectDeleted = false; // renamed, not deleted
      return;
    }
    file.deletedAt ??= now;
    if (now - file.deletedAt < this.#o.releaseAfterMs) {
      if (!file.scheduled) this.#o.schedule(file);
      return;
    }
    const lost = Math.max(0, st.size - file.readOffset);
    this.#o.metrics?.bytesLost(lost);
    this.#o.logger.error({ path: file.currentPath, lostBytes: lost, heldMs: now - file.deletedAt }, 'released a deleted log file held open too long; its unread bytes are lost');
    await this.#o.release(file);
  }
}
