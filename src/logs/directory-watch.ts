/**
 * One inotify watch per log directory (Node's `fs.watch` on the directory), whose events name
 * the file that changed — what the collector needs, and nothing more. chokidar did this job
 * first and was dropped, measured: on every event it lstat()s the file, and on activity it
 * re-reads the whole directory with an lstat per entry (once a second per directory), so one
 * line written to one of 5,000 files cost 5,000 lstat calls, and at 2,000 lines/s over 20 files
 * the watcher alone took more CPU than reading and shipping the lines (bench/logs --modes
 * trickle; docs/logs.md). Lost events (a queue overflow, a file system without inotify, a
 * directory replaced) are the periodic rescan's job, as before: a watch that fails is closed and
 * made again by the next scan that finds its directory.
 */
import { isUtf8 } from 'node:buffer';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage, systemCode } from '../core/errors.ts';
import type { FsPath } from './discovery.ts';

/** A name in a watched directory changed: its display path, and the path to open (raw bytes for a name that is not UTF-8). */
export type ChangeHandler = (path: string, ioPath: FsPath) => void;

export class DirectoryWatches {
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #onChange: ChangeHandler;
  readonly #logger: Logger;

  constructor(onChange: ChangeHandler, logger: Logger) {
    this.#onChange = onChange;
    this.#logger = logger;
  }

  get size(): number {
    return this.#watchers.size;
  }

  has(dir: string): boolean {
    return this.#watchers.has(dir);
  }

  /** Watches `dir` (once); false, logged, when it cannot be watched now (the rescan still covers it). */
  add(dir: string): boolean {
    if (this.#watchers.has(dir)) return true;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false, encoding: 'buffer' }, (_event, name) => {
        if (!name) return;
        const path = join(dir, name.toString('utf8'));
        this.#onChange(path, isUtf8(name) ? path : Buffer.concat([Buffer.from(dir.endsWith('/') ? dir : `${dir}/`), name]));
      });
    } catch (err) {
      this.#logger.warn({ dir, err: systemCode(err) ?? errorMessage(err) }, 'cannot watch a log directory; its files are found by the periodic rescan');
      return false;
    }
    watcher.on('error', (err) => {
      // e.g. the directory was removed: watched again by the scan that finds it
      this.#logger.warn({ dir, err: systemCode(err) ?? errorMessage(err) }, 'log directory watch failed; the periodic rescan continues');
      this.remove(dir);
    });
    this.#watchers.set(dir, watcher);
    return true;
  }

  remove(dir: string): void {
    this.#watchers.get(dir)?.close();
    this.#watchers.delete(dir);
  }

  close(): void {
    for (const dir of [...this.#watchers.keys()]) this.remove(dir);
  }
}
