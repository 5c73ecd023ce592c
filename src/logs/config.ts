/**
 * The `logs` section of the configuration: which files are collected (docs/logs.md describes the
 * directory and naming convention the defaults follow), how lines are read and joined, and the
 * bounds that keep memory and held files in check.
 */
import { catastrophicBacktrackingRisk } from '../core/regex-safety.ts';
import type { Infer } from '../config/schema-dsl.ts';
import { bool, duration, int, intOrAuto, list, obj, oneOf, requiredStr, size, str } from '../config/schema-dsl.ts';
import { DAY, HOUR, TEN_MINUTES, WEEK } from '../config/units.ts';
import { requiredPath } from '../config/values.ts';
import { exceptionsConfig } from '../exceptions/config.ts';

/** The default continuation pattern: the lines of a Java stack trace after its first (frames, `... n more`, `Caused by:`, `Suppressed:`). */
export const JAVA_CONTINUATION = '^(\\s+at |\\s+\\.\\.\\. \\d+ more|\\s*Caused by:|\\s+Suppressed:)';

/** The continuation pattern runs on every line (up to max_line_bytes long): valid and free of catastrophic backtracking. */
export function multilinePattern(s: string): string | undefined {
  if (s === '') return undefined;
  try {
    new RegExp(s);
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
  return catastrophicBacktrackingRisk(s);
}

export const logsConfig = obj('Log collection from the conventional directory (docs/logs.md).', {
  roots: list('Directories to watch.', requiredPath('directory'), ['/data/application/logs', '/data/application/logs/tracing'], '[/data/application/logs, /data/application/logs/tracing]'),
  include: list('Glob patterns (file names) to tail. The default takes `.log` in any letter case, as the naming convention does.', requiredStr('glob'), ['*.[lL][oO][gG]'], '["*.[lL][oO][gG]"]'),
  exclude: list('Glob patterns to skip.', requiredStr('glob'), [], '[]'),
  start_at: oneOf('Where to start in a file seen for the first time.', ['beginning', 'end'], 'beginning'),
  close_inactive: duration('Close a file after this long without new data; reopened when it grows.', '5m', 1000, WEEK),
  max_open_files: int('Bound on files held open at once.', 1024, 1, 1_000_000),
  max_line_bytes: size('Longer lines are truncated and tagged.', '1MiB', 1024),
  rescan_interval: duration('Periodic directory rescan, a safety net for missed watch events.', '10s', 100, HOUR),
  multiline: obj('Joining continuation lines (Java stack traces) into one event.', {
    pattern: str('Regular expression of a continuation line ("" = no multiline joining).', JAVA_CONTINUATION, multilinePattern),
    negate: bool('Lines NOT matching the pattern are continuations.', false),
    match: oneOf('Continuations join the event before (after) or after (before) them.', ['after', 'before'], 'after'),
    max_lines: int('Lines per joined event; the rest is dropped and flagged.', 500, 1, 100_000),
    timeout: duration('Flush a pending multiline event after this long.', '5s', 10, TEN_MINUTES),
  }),
  exceptions: exceptionsConfig,
  stall_warning: duration('Warn when shipping has made no progress for this long while events wait.', '60s', 1000, DAY),
  lag_warning: size('Warn when a file is this far behind (bytes not yet acknowledged by Logstash).', '256MiB', 1),
  release_deleted_after: duration('A deleted file still held open (output down) is released after this long; its unread bytes are counted as lost.', '30m', 1000, WEEK),
  queue_max_events: int('Events buffered in memory between files and outputs; reading pauses when full (batches in flight come on top).', 4096, 64, 10_000_000),
  queue_max_bytes: size('Bytes buffered in memory between files and outputs; reading pauses when full.', '16MiB', 65_536),
  workers: intOrAuto('Line worker threads that split, join and encode the lines of busy files: busy files (logs.worker_backlog) are dealt round-robin over the main thread and the workers; files that trickle stay on the main thread, and no thread starts until a file is busy. `auto`: 1 on a host with two CPUs or more, else 0. Off by default: a worker costs CPU per line and helps only where parsing dominates (docs/logs.md, Line workers).', 0, 0, 16),
  worker_backlog: size('A read step that finds more than this unread in a file makes the file busy, to be dealt to a line worker (logs.workers); 0 makes every file with anything to read busy.', '256KiB', 0),
  flush_interval: duration('A batch that is not full yet waits up to this long for more events before it is sent (0 = at once): at a trickle, one batch and one ACK for many lines instead of one per line. A full queue never waits.', '100ms', 0, TEN_MINUTES),
  env_codes: list('Environment codes in file names (first three letters of the environment).', requiredStr('code'), ['dev', 'nor', 'eme', 'spe', 'mir', 'pro'], '[dev, nor, eme, spe, mir, pro]'),
});

export type LogsConfig = Infer<typeof logsConfig>;
