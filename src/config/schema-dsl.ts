/**
 * A small schema language for the config file: each node knows how to decode a raw YAML value
 * (collecting every problem with its key path instead of stopping at the first), its default,
 * how to coerce an environment variable's string, and its own documentation, so the README's
 * configuration reference is generated from the same place the defaults live (Telegraf's
 * sample.conf, Fluent Bit's config_map). Hand-written rather than zod/ajv: env coercion and the
 * docs both need to walk the schema, and the whole language is these ~250 lines.
 */
import type { ConfigProblem } from '../core/errors.ts';
import { parse as parseYaml } from 'yaml';
import { MAX_TIMER_MS } from '../core/timers.ts';
import { formatDuration, formatSize, parseDuration, parseSize } from './units.ts';

/** A file or directory a key names, to be checked when the configuration is loaded for use. */
export interface ReferencedFile {
  /** Key path (`api.tls.cert`). */
  path: string;
  file: string;
  kind: 'file' | 'directory';
}

export interface DecodeContext {
  problems: ConfigProblem[];
  /** Key path → environment variable that set it, so errors say where a bad value came from. */
  envSources: Map<string, string>;
  /** Files and directories named by the keys decoded so far (see values.ts). */
  files: ReferencedFile[];
}

/** A fresh context, e.g. to decode a default. */
export function decodeContext(): DecodeContext {
  return { problems: [], envSources: new Map(), files: [] };
}

/**
 * Adds checks across the keys of a mapping (a token required off loopback, base ≤ max): `check`
 * sees the decoded value and reports problems with their key paths under `path`.
 */
export function checked<T>(node: SchemaNode<T>, check: (value: T, path: string, report: (key: string, reason: string) => void) => void): SchemaNode<T> {
  return {
    ...node,
    decode(raw, path, ctx) {
      const value = node.decode(raw, path, ctx);
      check(value, path, (key, reason) => problem(ctx, key ? join(path, key) : path, reason));
      return value;
    },
  };
}

export interface SchemaNode<T> {
  /** Type as the reference documents it: `string`, `duration`, `list of host:port`, … */
  readonly typeName: string;
  readonly doc: string;
  /** Default, as the YAML an operator would write (undefined = required when the parent is given). */
  readonly defaultText: string | undefined;
  /** Decode a raw value; `undefined` means the key is absent. Returns the default on problems, so decoding goes on. */
  decode(raw: unknown, path: string, ctx: DecodeContext): T;
  /** Turn an environment variable's text into the raw value `decode` expects. */
  fromEnv(text: string): unknown;
  readonly fields?: Readonly<Record<string, SchemaNode<unknown>>>;
}

export type Infer<N> = N extends SchemaNode<infer T> ? T : never;

function problem(ctx: DecodeContext, path: string, reason: string): void {
  const env = ctx.envSources.get(path);
  ctx.problems.push({ path, reason: env ? `${reason} (from ${env})` : reason });
}

function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  return `${typeof raw} ${JSON.stringify(raw)}`;
}

interface ScalarSpec<T> {
  typeName: string;
  doc: string;
  default: T;
  defaultText: string;
  /** Returns the decoded value or an error message. */
  parse(raw: unknown): { value: T } | { error: string };
  fromEnv?: (text: string) => unknown;
}

function scalar<T>(spec: ScalarSpec<T>): SchemaNode<T> {
  return {
    typeName: spec.typeName,
    doc: spec.doc,
    defaultText: spec.defaultText,
    fromEnv: spec.fromEnv ?? ((text) => text),
    decode(raw, path, ctx) {
      if (raw === undefined) return spec.default;
      const r = spec.parse(raw);
      if ('error' in r) {
        problem(ctx, path, r.error);
        return spec.default;
      }
      return r.value;
    },
  };
}

export function str(doc: string, def: string, check?: (s: string) => string | undefined): SchemaNode<string> {
  return scalar<string>({
    typeName: 'string', doc, default: def, defaultText: JSON.stringify(def),
    parse(raw) {
      if (typeof raw !== 'string') return { error: `expected a string, got ${describe(raw)}` };
      const err = check?.(raw);
      return err ? { error: err } : { value: raw };
    },
  });
}

/** A string that must be given when its parent mapping is (e.g. `tls.cert`). */
export function requiredStr(doc: string, check?: (s: string) => string | undefined): SchemaNode<string> {
  const base = str(doc, '', check);
  return {
    ...base,
    defaultText: undefined,
    decode(raw, path, ctx) {
      if (raw === undefined || raw === null) {
        problem(ctx, path, 'is required here');
        return '';
      }
      return base.decode(raw, path, ctx);
    },
  };
}

export function int(doc: string, def: number, min: number, max: number): SchemaNode<number> {
  return scalar<number>({
    typeName: `integer (${min}–${max})`, doc, default: def, defaultText: String(def),
    parse(raw) {
      if (typeof raw !== 'number' || !Number.isInteger(raw)) return { error: `expected an integer, got ${describe(raw)}` };
      if (raw < min || raw > max) return { error: `must be between ${min} and ${max}, got ${raw}` };
      return { value: raw };
    },
    fromEnv: (text) => (/^-?\d+$/.test(text.trim()) ? Number(text) : text),
  });
}

/** An integer in [min, max], or `auto` (the program decides, e.g. from the number of CPUs). */
export function intOrAuto(doc: string, def: number | 'auto', min: number, max: number): SchemaNode<number | 'auto'> {
  return scalar<number | 'auto'>({
    typeName: `auto | integer (${min}–${max})`, doc, default: def, defaultText: String(def),
    parse(raw) {
      if (raw === 'auto') return { value: 'auto' };
      if (typeof raw !== 'number' || !Number.isInteger(raw)) return { error: `expected auto or an integer, got ${describe(raw)}` };
      if (raw < min || raw > max) return { error: `must be auto or between ${min} and ${max}, got ${raw}` };
      return { value: raw };
    },
    fromEnv: (text) => (/^-?\d+$/.test(text.trim()) ? Number(text) : text.trim()),
  });
}

export function bool(doc: string, def: boolean): SchemaNode<boolean> {
  return scalar<boolean>({
    typeName: 'boolean', doc, default: def, defaultText: String(def),
    parse(raw) {
      return typeof raw === 'boolean' ? { value: raw } : { error: `expected true or false, got ${describe(raw)}` };
    },
    fromEnv(text) {
      const t = text.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) return true;
      if (['false', '0', 'no', 'off'].includes(t)) return false;
      return text;
    },
  });
}

export function oneOf<const V extends string>(doc: string, values: readonly V[], def: V): SchemaNode<V> {
  return scalar<V>({
    typeName: values.join(' | '), doc, default: def, defaultText: def,
    parse(raw) {
      // YAML 1.1 habits: `policy: no` may arrive as boolean false from other tools' files.
      const v = raw === false && values.includes('no' as V) ? 'no' : raw;
      if (typeof v === 'string') {
        const found = values.find((x) => x === v.toLowerCase());
        if (found) return { value: found };
      }
      return { error: `must be one of ${values.join(', ')}, got ${describe(raw)}` };
    },
  });
}

/** Longest duration a key takes unless it says otherwise. */
export const DEFAULT_MAX_DURATION_MS = 24 * 3_600_000;

/**
 * Duration in milliseconds, within [minMs, maxMs]. Every duration has an upper bound: Node's
 * timers hold at most 2^31−1 ms (~24.8 days) and turn anything longer into 1 ms, so an
 * unbounded `720h` would make a once-a-month timer fire a thousand times a second.
 */
export function duration(doc: string, def: string, minMs = 0, maxMs = DEFAULT_MAX_DURATION_MS): SchemaNode<number> {
  const defMs = parseDuration(def);
  if (typeof defMs !== 'number') throw new Error(`bad default duration ${def}`);
  if (maxMs > MAX_TIMER_MS || defMs > maxMs || defMs < minMs) throw new Error(`duration bounds ${minMs}..${maxMs} do not fit the timers or the default ${def}`);
  return scalar<number>({
    typeName: `duration (${formatDuration(minMs)}–${formatDuration(maxMs)})`, doc, default: defMs, defaultText: def,
    parse(raw) {
      if (typeof raw !== 'string' && raw !== 0) return { error: `expected a duration like "10s", got ${describe(raw)}` };
      const ms = parseDuration(String(raw));
      if (typeof ms === 'string') return { error: ms };
      if (ms < minMs) return { error: `must be at least ${formatDuration(minMs)}` };
      if (ms > maxMs) return { error: `must be at most ${formatDuration(maxMs)}, got ${String(raw)}` };
      return { value: ms };
    },
  });
}

/** Size in bytes. */
export function size(doc: string, def: string, minBytes = 0): SchemaNode<number> {
  const defBytes = parseSize(def);
  if (typeof defBytes !== 'number') throw new Error(`bad default size ${def}`);
  return scalar<number>({
    typeName: 'size', doc, default: defBytes, defaultText: def,
    parse(raw) {
      if (typeof raw !== 'string' && typeof raw !== 'number') return { error: `expected a size like "1MiB", got ${describe(raw)}` };
      const bytes = parseSize(raw);
      if (typeof bytes === 'string') return { error: bytes };
      if (bytes < minBytes) return { error: `must be at least ${formatSize(minBytes)}` };
      return { value: bytes };
    },
    fromEnv: (text) => (/^\d+$/.test(text.trim()) ? Number(text) : text),
  });
}

/** `null` (or absent) unless given; then decoded by `inner`. Used for optional files and TLS blocks. */
export function nullable<T>(inner: SchemaNode<T>, doc?: string): SchemaNode<T | null> {
  return {
    typeName: inner.typeName,
    doc: doc ?? inner.doc,
    defaultText: 'null',
    fields: inner.fields,
    fromEnv: (text) => (text.trim() === '' || text.trim() === 'null' ? null : inner.fromEnv(text)),
    decode(raw, path, ctx) {
      if (raw === undefined || raw === null) return null;
      return inner.decode(raw, path, ctx);
    },
  };
}

export function list<T>(doc: string, item: SchemaNode<T>, def: T[], defText: string, minItems = 0): SchemaNode<T[]> {
  return {
    typeName: `list of ${item.typeName}`,
    doc,
    defaultText: defText,
    fields: item.fields,
    fromEnv: parseFlowYaml,
    decode(raw, path, ctx) {
      if (raw === undefined) return def;
      if (!Array.isArray(raw)) {
        problem(ctx, path, `expected a list, got ${describe(raw)}`);
        return def;
      }
      if (raw.length < minItems) problem(ctx, path, `needs at least ${minItems} item(s)`);
      return raw.map((v: unknown, i) => item.decode(v, `${path}[${i}]`, ctx));
    },
  };
}

type Fields = Record<string, SchemaNode<unknown>>;
export type ObjectOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

/** A mapping with fixed keys; unknown keys are errors that name their path. */
export function obj<F extends Fields>(doc: string, fields: F): SchemaNode<ObjectOf<F>> {
  return {
    typeName: 'mapping',
    doc,
    defaultText: undefined,
    fields,
    fromEnv: parseFlowYaml,
    decode(raw, path, ctx) {
      const src: Record<string, unknown> = {};
      if (raw !== undefined && raw !== null) {
        if (typeof raw !== 'object' || Array.isArray(raw)) {
          problem(ctx, path || '(top level)', `expected a mapping, got ${describe(raw)}`);
        } else {
          Object.assign(src, raw);
        }
      }
      for (const key of Object.keys(src)) {
        if (!Object.hasOwn(fields, key)) {
          const near = nearest(key, Object.keys(fields));
          problem(ctx, join(path, key), `unknown key${near ? ` (did you mean "${near}"?)` : ''}`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const [key, node] of Object.entries(fields)) out[key] = node.decode(src[key], join(path, key), ctx);
      return out as ObjectOf<F>;
    },
  };
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Lists and mappings in environment variables are written as YAML flow: `[a, b]`, `{k: v}`. */
function parseFlowYaml(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text; // decode() then reports "expected a list, got string …" with the variable's name
  }
}

/** Closest known key by edit distance (≤ 2), for "did you mean". */
function nearest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}
