/**
 * The exception summary across restarts: `<state_dir>/exceptions.json`, written atomically
 * (core/state-file.ts) at most every SAVE_INTERVAL_MS while it changes, and at stop; read at
 * start. A missing file is a first start; an unreadable or malformed one is logged and moved aside
 * (`exceptions.json.corrupt-<ms>`), and the summary starts empty — never a failed start.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.ts';
import { AtomicStateFile } from '../core/state-file.ts';
import type { StateFileMetrics, StateFileStatus } from '../core/state-file.ts';
import type { ExceptionSummary } from './summary.ts';
import { restoreSummary, summaryDocument } from './summary.ts';

export const SAVE_INTERVAL_MS = 10_000;

export class ExceptionStore {
  readonly #file: AtomicStateFile;
  readonly #logger: Logger;
  readonly #summary: ExceptionSummary;
  #saved = 0;
  #savedAt = 0;
  /** The write in progress (AtomicStateFile.write never rejects). */
  #writing: Promise<void> = Promise.resolve();

  constructor(options: { stateDir: string; summary: ExceptionSummary; logger: Logger; metrics?: StateFileMetrics }) {
    this.#file = new AtomicStateFile({ path: join(options.stateDir, 'exceptions.json'), logger: options.logger, ...(options.metrics ? { metrics: options.metrics } : {}) });
    this.#logger = options.logger;
    this.#summary = options.summary;
  }

  async load(): Promise<number> {
    const path = this.#file.path;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#logger.warn({ file: path, err: errorMessage(err) }, 'cannot read the exception summary; it starts empty');
      return 0;
    }
    try {
      const restored = restoreSummary(this.#summary, JSON.parse(text));
      this.#saved = this.#summary.changes;
      return restored;
    } catch (err) {
      const aside = `${path}.corrupt-${Date.now()}`;
      await rename(path, aside).catch(() => undefined);
      this.#logger.error({ file: path, movedTo: aside, err: errorMessage(err) }, 'the saved exception summary is corrupt; it starts empty');
      return 0;
    }
  }

  /** Writes the summary if it changed (and, unless `force`, the last write is SAVE_INTERVAL_MS old); one write at a time. */
  save(now: number, force = false): Promise<void> {
    const run = this.#writing.then(() => this.#save(now, force));
    this.#writing = run;
    return run;
  }

  async #save(now: number, force: boolean): Promise<void> {
    const changes = this.#summary.changes;
    if (changes === this.#saved || (!force && now - this.#savedAt < SAVE_INTERVAL_MS)) return;
    this.#savedAt = now;
    if (await this.#file.write(JSON.stringify(summaryDocument(this.#summary)))) this.#saved = changes;
  }

  status(): StateFileStatus {
    return this.#file.status();
  }
}
