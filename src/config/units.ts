/**
 * Durations (`500ms`, `10s`, `5m`, `1h`, `1d`, combinations like `1m30s`) and sizes (`512KiB`, `1MiB`,
 * `10MB`, plain bytes), as docs/configuration.md writes them in the config file.
 */
/** Handy upper bounds for duration keys (every duration has one: see schema-dsl.ts `duration`). */
export const TEN_MINUTES = 10 * 60_000;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Milliseconds, or an error message. A bare number is refused: `10` could mean seconds or ms. */
export function parseDuration(text: string): number | string {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') return 'empty duration';
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(s);
    if (!m) return `"${text}" is not a duration (use e.g. 500ms, 10s, 5m, 1h, 1m30s)`;
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    pos = DURATION_PART.lastIndex;
  }
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
  k: 1024, m: 1024 ** 2, g: 1024 ** 3,
};

/** Bytes, or an error message. */
export function parseSize(text: string | number): number | string {
  if (typeof text === 'number') {
    return Number.isSafeInteger(text) && text >= 0 ? text : `${text} is not a whole number of bytes`;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? SIZE_UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined) return `"${text}" is not a size (use e.g. 512KiB, 1MiB, 10MB)`;
  return Math.round(Number(m[1]) * unit);
}

export function formatSize(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
