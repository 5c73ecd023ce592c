/**
 * One file of state that must survive a restart (log offsets, restart history), written
 * atomically the way Vector's checkpointer and Filebeat's registrar write theirs: a temp file in
 * the same directory, fsync, rename over the old one, fsync of the directory. A crash leaves the
 * old or the new file, never half of one.
 *
 * A failed write (a full disk, a read-only remount, a vanished directory) is a state, not an
 * exception: `write()` never rejects, the caller simply tries again on its next tick, and the
 * failure is counted, logged without flooding the journal (the first failure, then at most once a
 * minute, then the recovery), and shown in `status()` for /readyz and /v1/host.
 */
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage, systemCode } from './errors.ts';

/** Implemented by the metrics side: failed writes by file name. */
export interface StateFileMetrics {
  stateWriteFailed(file: string): void;
}

export interface StateFileStatus {
  /** Base name (`log-offsets.json`), as the metric labels it. */
  file: string;
  path: string;
  /** false while the latest write failed. */
  ok: boolean;
  writes: number;
  failures: number;
  lastError: string | null;
  /** ISO time of the first failure of the current run of failures; null when ok. */
  failingSince: string | null;
  lastWrittenAt: string | null;
}

/** While writes keep failing, one log line per this interval. */
const REPEAT_LOG_MS = 60_000;

export class AtomicStateFile {
  readonly #path: string;
  readonly #name: string;
  readonly #logger: Logger;
  readonly #metrics: StateFileMetrics | undefined;
  readonly #tmp: string;
  #writes = 0;
  #failures = 0;
  #lastError: string | null = null;
  #failingSince: number | null = null;
  #failuresSinceLog = 0;
  #lastLogAt = 0;
  #lastWrittenAt: number | null = null;

  constructor(options: { path: string; logger: Logger; metrics?: StateFileMetrics }) {
    this.#path = options.path;
    this.#name = basename(options.path);
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#tmp = `${options.path}.tmp-${process.pid}`;
  }

  get path(): string {
    return this.#path;
  }

  /** Replaces the file's content atomically; false (counted and logged) when it could not. */
  async write(content: string): Promise<boolean> {
    try {
      await mkdir(dirname(this.#path), { recursive: true, mode: 0o750 });
      const handle = await open(this.#tmp, 'w', 0o640);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(this.#tmp, this.#path);
      // The rename itself is durable only once the directory entry is on disk.
      const dir = await open(dirname(this.#path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      // A partial temp file would hold the very space whose lack made the write fail.
      await unlink(this.#tmp).catch(() => undefined);
      this.#failed(err);
      return false;
    }
    this.#succeeded();
    return true;
  }

  status(): StateFileStatus {
    return {
      file: this.#name,
      path: this.#path,
      ok: this.#failingSince === null,
      writes: this.#writes,
      failures: this.#failures,
      lastError: this.#lastError,
      failingSince: this.#failingSince === null ? null : new Date(this.#failingSince).toISOString(),
      lastWrittenAt: this.#lastWrittenAt === null ? null : new Date(this.#lastWrittenAt).toISOString(),
    };
  }

  #failed(err: unknown): void {
    const now = Date.now();
    this.#failures++;
    this.#failuresSinceLog++;
    this.#lastError = systemCode(err) ?? errorMessage(err);
    this.#metrics?.stateWriteFailed(this.#name);
    const first = this.#failingSince === null;
    this.#failingSince ??= now;
    if (first || now - this.#lastLogAt >= REPEAT_LOG_MS) {
      this.#logger.error(
        { event: 'state.write_failed', file: this.#path, err: errorMessage(err), failures: this.#failuresSinceLog, failingForMs: now - this.#failingSince },
        first ? 'cannot write a state file; retrying' : 'still cannot write a state file; retrying',
      );
      this.#lastLogAt = now;
      this.#failuresSinceLog = 0;
    }
  }

  #succeeded(): void {
    const now = Date.now();
    this.#writes++;
    this.#lastWrittenAt = now;
    if (this.#failingSince !== null) {
      this.#logger.info({ event: 'state.write_recovered', file: this.#path, failedForMs: now - this.#failingSince }, 'state file written again');
      this.#failingSince = null;
      this.#lastError = null;
      this.#failuresSinceLog = 0;
    }
  }
}
