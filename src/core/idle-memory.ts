/**
 * Gives memory back once the agent has gone quiet. V8 keeps the pages its heap grew into — the
 * young generation's semi-spaces grow to `--max-semi-space-size` during start-up and under log
 * load, then shrink back, and the freed pages stay in V8's page pool — and releases them only in
 * a memory-reducing collection, which its memory reducer starts only after a major GC and while
 * it judges the allocation rate low. An idle agent runs no major GC, so it never did: measured
 * with bench/idle, the pool and the rest of a memory-reducing collection held ~8 MB of an 86 MB
 * idle RSS (86.0 → 77.7 MB once released; the collection took 55 ms of the main thread).
 *
 * So a check every minute: when the event loop was busy less than `quietShare` of that minute
 * and RSS has grown `growthBytes` past what the last release left, run V8's last-resort
 * collection (the one it runs itself on a low-memory notification). At idle that is one
 * collection after start-up and then only when RSS creeps up; after a burst of log lines, one
 * once the burst is over. Never under load: a busy loop is never "quiet".
 *
 * After the collection, and at every other quiet check, glibc's malloc_trim (malloc-trim.ts): V8's
 * compiler and parser zones come and go in malloc's heap, and the pages they freed between live
 * allocations stay resident until something trims it. Measured with bench/idle:
 * docs/architecture.md, "What an idle agent holds".
 */
import { performance } from 'node:perf_hooks';
import type { EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { mallocTrim } from './malloc-trim.ts';

export interface IdleMemoryOptions {
  /** How often the agent looks (default 60 s). */
  checkMs?: number;
  /** Largest share of the last check's time the event loop may have been busy (default 0.02). */
  quietShare?: number;
  /** RSS growth since the last release that makes another worth its pause (default 4 MB). */
  growthBytes?: number;
  /** Called after each release, with RSS before and after and the pause. */
  released?: (figures: MemoryRelease) => void;
  /** glibc's malloc_trim, run after each collection and at every other quiet check (default: the agent's addon, when built). */
  trim?: () => boolean;
}

export interface MemoryRelease {
  rssBefore: number;
  rssAfter: number;
  /** The collection and the trim together. */
  pauseMs: number;
  /** What malloc_trim answered (true: memory given back); undefined when there is no trim. */
  trimmed?: boolean;
}

interface GcOptions {
  type: 'major';
  execution: 'sync';
  flavor: 'last-resort';
}
type GcFunction = (options: GcOptions) => void;

let gcFunction: GcFunction | undefined;

/**
 * V8's `gc()` without putting it on the global object: the flag only makes it available to
 * contexts created from now on, so a new context hands it over. A V8 that ignores `flavor`
 * runs a regular full collection instead, which releases less but is still correct.
 */
function gc(): GcFunction {
  if (gcFunction === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as GcFunction;
  }
  return gcFunction;
}

/** The agent's malloc_trim, or undefined when the addon is not there. */
function defaultTrim(): (() => boolean) | undefined {
  const load = mallocTrim();
  return load.ok ? () => load.addon.trim() : undefined;
}

/** Runs V8's memory-reducing collection now, then `trim` if given; returns RSS before and after. */
export function releaseMemory(trim?: () => boolean): MemoryRelease {
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  gc()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const trimmed = trim?.();
  const pauseMs = performance.now() - started;
  return { rssBefore, rssAfter: process.memoryUsage.rss(), pauseMs, ...(trimmed === undefined ? {} : { trimmed }) };
}

/** Whether a check should release: the loop was quiet and RSS grew enough since the last release. */
export function shouldRelease(busyShare: number, rss: number, rssAfterLastRelease: number | undefined, options: Required<Pick<IdleMemoryOptions, 'quietShare' | 'growthBytes'>>): boolean {
  if (busyShare > options.quietShare) return false;
  return rssAfterLastRelease === undefined || rss - rssAfterLastRelease >= options.growthBytes;
}

/** Starts the minute checks; returns the function that stops them. */
export function releaseMemoryWhenIdle(options: IdleMemoryOptions = {}): () => void {
  const quiet = { quietShare: options.quietShare ?? 0.02, growthBytes: options.growthBytes ?? 4e6 };
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let rssAfterLastRelease: number | undefined;
  const trim = options.trim ?? defaultTrim();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busyShare = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (!shouldRelease(busyShare, process.memoryUsage.rss(), rssAfterLastRelease, quiet)) {
      // a quiet minute without a collection still gets a trim: 0.2-1.7 ms, and it takes back the
      // 0-0.35 MB that V8's compiler zones left between live chunks since the last one (bench/idle)
      if (busyShare <= quiet.quietShare) trim?.();
      return;
    }
    const figures = releaseMemory(trim);
    rssAfterLastRelease = figures.rssAfter;
    options.released?.(figures);
    // The collection itself is loop time: the next minute is judged from after it.
    last = performance.eventLoopUtilization();
  }, options.checkMs ?? 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
