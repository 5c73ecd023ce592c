/**
 * Finds log files and notices when they change, without one watcher per file: one inotify watch
 * per root directory (directory-watch.ts; measured in bench/logs), whose events say which file
 * changed, and a periodic rescan (readdir + stat) as the safety net for lost events (inotify
 * queue overflow, roots created after start, file systems without inotify).
 */
import { isUtf8 } from 'node:buffer';
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { every } from '../core/timers.ts';
import { errorMessage, systemCode } from '../core/errors.ts';
import { GlobFilter } from '../core/glob.ts';
import { DirectoryWatches } from './directory-watch.ts';

/**
 * A path as the file system takes it. A name that is not valid UTF-8 cannot round-trip through a
 * JS string (Node decodes invalid bytes to U+FFFD), so such a file is opened by its raw bytes.
 */
export type FsPath = string | Buffer;

export interface DiscoveredFile {
  /** For display, events and metadata (invalid UTF-8 shown as U+FFFD). */
  path: string;
  /** For open/stat: `path` itself, or the name's raw bytes when it is not valid UTF-8. */
  ioPath: FsPath;
  stats: Stats;
}

/** A log root as /v1/logs shows it: readable, or why not. */
export interface LogRootState {
  path: string;
  readable: boolean;
  /** Why the agent cannot list it (or stat its files), e.g. `EACCES: permission denied for …`; null when readable. */
  problem: string | null;
}

/** Who the agent runs as, for messages about permissions. */
function runningAs(): string {
  const uid = process.getuid?.() ?? -1;
  try {
    return `uid ${uid} (${userInfo().username})`;
  } catch {
    return `uid ${uid}`; // no passwd entry, e.g. a numeric --user in a container
  }
}

/** Why a root cannot be read, in words an operator can act on. */
function rootProblem(err: unknown, stage: 'list' | 'stat'): string {
  const code = systemCode(err);
  if (code === 'EACCES' || code === 'EPERM') {
    const need = stage === 'list' ? 'read and search (r-x) permission on the directory' : 'search (x) permission on the directory to open its files';
    return `${code}: permission denied for ${runningAs()}: it needs ${need} (docs/operations.md, Log file permissions)`;
  }
  if (code === 'ENOENT') return 'ENOENT: does not exist (yet); looked for again at every rescan';
  if (code === 'ENOTDIR') return 'ENOTDIR: not a directory';
  return code ? `${code}: ${errorMessage(err)}` : errorMessage(err);
}

export interface DiscoveryOptions {
  roots: readonly string[];
  include: readonly string[];
  exclude: readonly string[];
  rescanIntervalMs: number;
  logger: Logger;
  /** A periodic or initial scan found these (matching) files in `readRoots` (the roots it could list). */
  onScan(files: DiscoveredFile[], initial: boolean, readRoots: ReadonlySet<string>): void;
  /** Something happened to this path (any name in a watched directory, matching or not); `ioPath` opens it. */
  onChange(path: string, ioPath: FsPath): void;
}

export class LogDiscovery {
  #o: DiscoveryOptions;
  #filter: GlobFilter;
  #watches: DirectoryWatches | undefined;
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  /** Roots that could not be read at the last scan, and why. */
  readonly #rootProblems = new Map<string, string>();
  #stopped = false;

  constructor(options: DiscoveryOptions) {
    this.#o = options;
    this.#filter = new GlobFilter(options.include, options.exclude);
  }

  matches(path: string): boolean {
    return this.#filter.matches(basename(path));
  }

  /** In one of the roots, and matching: a file this configuration collects. */
  takes(path: string): boolean {
    const dir = resolve(dirname(path));
    return this.#o.roots.some((root) => resolve(root) === dir) && this.matches(path);
  }

  get watchedDirectories(): number {
    return this.#watches?.size ?? 0;
  }

  get roots(): LogRootState[] {
    return this.#o.roots.map((path) => ({ path, readable: !this.#rootProblems.has(path), problem: this.#rootProblems.get(path) ?? null }));
  }

  /** Records (and logs, once per change) that `root` cannot be read. */
  #rootFailed(root: string, err: unknown, stage: 'list' | 'stat'): void {
    const problem = rootProblem(err, stage);
    if (this.#rootProblems.get(root) === problem) return;
    this.#rootProblems.set(root, problem);
    this.#o.logger.warn({ root, err: systemCode(err) ?? errorMessage(err), problem }, 'log root not readable; will look again at every rescan');
  }

  async start(): Promise<void> {
    this.#watches = new DirectoryWatches((path, ioPath) => this.#o.onChange(path, ioPath), this.#o.logger);
    await this.scan(true);
    this.#timer = every(this.#o.rescanIntervalMs, () => void this.scan(false));
  }

  /** Lists every root (adding watches for roots that appeared); one scan at a time. */
  scan(initial = false): Promise<void> {
    this.#scanning ??= this.#scan(initial).finally(() => (this.#scanning = undefined));
    return this.#scanning;
  }

  async #scan(initial: boolean): Promise<void> {
    const found: DiscoveredFile[] = [];
    const readRoots = new Set<string>();
    for (const root of this.#o.roots) {
      let names: Buffer[];
      try {
        // Raw names: a name that is not valid UTF-8 would come back as U+FFFD, a path that does
        // not exist, and the file would be silently never shipped.
        names = (await readdir(root, { withFileTypes: true, encoding: 'buffer' })).filter((d) => d.isFile()).map((d) => d.name);
      } catch (err) {
        this.#rootFailed(root, err, 'list');
        continue;
      }
      if (!this.#stopped) this.#watches?.add(root);
      // Synchronous stats in slices: a metadata lookup on a local disk takes microseconds, while
      // the async form costs a thread-pool round trip each (measured: 5,000 idle files, rescan
      // every 10 s, went from ~3 % to under 1 % of a core). Yielding between slices keeps the
      // event loop responsive.
      let n = 0;
      let denied: unknown;
      for (const raw of names) {
        const name = raw.toString('utf8');
        if (!this.#filter.matches(name)) continue;
        const path = join(root, name);
        const ioPath = isUtf8(raw) ? path : Buffer.concat([Buffer.from(root.endsWith('/') ? root : `${root}/`), raw]);
        try {
          found.push({ path, ioPath, stats: statSync(ioPath) });
        } catch (err) {
          // ENOENT: gone between readdir and stat, nothing to do. EACCES: a directory readable
          // but not searchable (r-- for us) lists names whose files cannot be opened.
          if (systemCode(err) === 'EACCES' || systemCode(err) === 'EPERM') denied ??= err;
        }
        if (++n % 256 === 0) await new Promise((r) => setImmediate(r));
      }
      if (denied !== undefined) {
        // not counted as read: its saved offsets must not expire as if its files were gone
        this.#rootFailed(root, denied, 'stat');
        continue;
      }
      readRoots.add(root);
      if (this.#rootProblems.delete(root)) this.#o.logger.info({ root }, 'log root is readable now');
    }
    if (!this.#stopped) this.#o.onScan(found, initial, readRoots);
  }

  /**
   * New roots and globs (a configuration reload): roots no longer listed stop being watched, new
   * ones are watched from the scan this starts.
   */
  reconfigure(next: { roots: readonly string[]; include: readonly string[]; exclude: readonly string[] }): Promise<void> {
    for (const root of this.#o.roots) if (!next.roots.includes(root)) this.#watches?.remove(root);
    for (const root of [...this.#rootProblems.keys()]) if (!next.roots.includes(root)) this.#rootProblems.delete(root);
    this.#o = { ...this.#o, roots: next.roots, include: next.include, exclude: next.exclude };
    this.#filter = new GlobFilter(next.include, next.exclude);
    return this.scan();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#scanning;
    this.#watches?.close();
  }
}
