/**
 * Loading a configuration against its schema: YAML file (optional, bounded) → environment
 * overrides → schema decode (with each section's own cross-key checks) → referenced files and
 * directories usable. Every problem is collected and reported with its key path, so
 * `dockhand check-config` can list them all in one go (Ansible's `validate:`). Generic: the
 * agent's schema is assembled in src/configuration.ts.
 */
import { accessSync, closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, errorMessage, systemCode } from '../core/errors.ts';
import type { ConfigProblem } from '../core/errors.ts';
import type { DecodeContext, ReferencedFile, SchemaNode } from './schema-dsl.ts';
import { decodeContext, join } from './schema-dsl.ts';

export const DEFAULT_CONFIG_FILE = '/etc/dockhand/dockhand.yaml';
const ENV_PREFIX = 'DOCKHAND_';
/** Environment variables under the prefix that are not config keys. */
const ENV_NOT_KEYS = new Set(['DOCKHAND_CONFIG']);
const ENV_RESERVED_PREFIX = 'DOCKHAND_TEST_';

export interface Loaded<T> {
  config: T;
  /** Where it came from, for logs: the file path or "embedded defaults". */
  source: string;
}

export interface LoadOptions {
  /** YAML file to read; undefined = embedded defaults only. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Check that referenced files (token, certificates) are readable. */
  checkFiles?: boolean;
}

/** Decodes `options.file` (or the defaults) with `schema`; throws ConfigError listing every problem. */
export function loadConfigWith<T>(schema: SchemaNode<T>, options: LoadOptions = {}): Loaded<T> {
  const env = options.env ?? process.env;
  const ctx: DecodeContext = decodeContext();
  const problems = ctx.problems;
  let raw: unknown = {};
  if (options.file !== undefined) raw = readYamlFile(options.file, problems);
  if (problems.length > 0) throw new ConfigError(problems, options.file);

  raw = applyEnvOverrides(schema, raw, env, ctx);
  const config = schema.decode(raw, '', ctx);
  if (problems.length === 0 && options.checkFiles !== false) checkReferencedFiles(ctx.files, problems);
  if (problems.length > 0) throw new ConfigError(problems, options.file ?? 'embedded defaults + environment');
  return { config, source: options.file ?? 'embedded defaults' };
}

/**
 * Larger than any real configuration by far: a file this size is a mistake (a log or a binary
 * pointed at), and parsing megabytes of YAML costs seconds and hundreds of MB.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** YAML aliases expanded at most this many times: a "billion laughs" file is refused, not expanded. */
const MAX_YAML_ALIASES = 100;

function readYamlFile(file: string, problems: ConfigProblem[]): unknown {
  const text = readBoundedText(file, problems);
  if (text === undefined) return {};
  // uniqueKeys: a key written twice is almost always a merge mistake in a template.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, version: '1.2' });
  for (const e of doc.errors) {
    const pos = e.linePos?.[0];
    problems.push({ path: '', reason: `YAML ${pos ? `line ${pos.line} column ${pos.col}` : ''}: ${e.message.split('\n')[0] ?? ''}` });
  }
  if (doc.errors.length > 0) return {};
  try {
    const value: unknown = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    return value ?? {}; // an empty file means "all defaults"
  } catch (err) {
    // yaml throws a ReferenceError for alias bombs ("Excessive alias count …") and unresolved aliases
    problems.push({ path: '', reason: `YAML: ${errorMessage(err)}` });
    return {};
  }
}

/** The file's text; undefined (with a problem) when it is unreadable, not a regular file, or too large. */
function readBoundedText(file: string, problems: ConfigProblem[]): string | undefined {
  let fd: number | undefined;
  try {
    // Opened once and checked through the descriptor: a FIFO or /dev/zero would never end a read.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) {
      problems.push({ path: '', reason: `${file} is not a regular file` });
      return undefined;
    }
    if (st.size > MAX_CONFIG_BYTES) {
      problems.push({ path: '', reason: `${file} is ${st.size} bytes; a configuration file may be at most ${MAX_CONFIG_BYTES} bytes` });
      return undefined;
    }
    return readFileSync(fd, 'utf8');
  } catch (err) {
    problems.push({ path: '', reason: `cannot read ${file}: ${systemCode(err) ?? errorMessage(err)}` });
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * `DOCKHAND_API__LISTEN=0.0.0.0:9731` sets `api.listen`; `__` separates levels because keys
 * themselves contain `_`. Unknown names are errors: a typo must not be silently ignored.
 */
function applyEnvOverrides(schema: SchemaNode<unknown>, raw: unknown, env: NodeJS.ProcessEnv, ctx: DecodeContext): unknown {
  if (!isPlainObject(raw)) return raw; // decode reports the bad top level
  const root: Record<string, unknown> = { ...raw };
  const names = Object.keys(env).filter((k) => k.startsWith(ENV_PREFIX) && !ENV_NOT_KEYS.has(k) && !k.startsWith(ENV_RESERVED_PREFIX)).sort();
  for (const name of names) {
    const value = env[name] as string;
    const segments = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    let node: SchemaNode<unknown> = schema;
    let target = root;
    let path = '';
    for (const [i, seg] of segments.entries()) {
      const child = node.fields?.[seg];
      path = join(path, seg);
      if (!child || (i < segments.length - 1 && child.typeName.startsWith('list'))) {
        ctx.problems.push({ path: `env ${name}`, reason: `no configuration key ${path}` });
        break;
      }
      if (i === segments.length - 1) {
        target[seg] = child.fromEnv(value);
        ctx.envSources.set(path, name);
      } else {
        const existing = target[seg];
        const next: Record<string, unknown> = isPlainObject(existing) ? { ...existing } : {};
        target[seg] = next;
        target = next;
        node = child;
      }
    }
  }
  return root;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Files the agent will need at start must be readable, directories usable: caught here rather than at 3 am. */
function checkReferencedFiles(files: readonly ReferencedFile[], problems: ConfigProblem[]): void {
  for (const { path, file, kind } of files) {
    if (kind === 'directory') {
      const problem = directoryProblem(file);
      if (problem) problems.push({ path, reason: problem });
      continue;
    }
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      problems.push({ path, reason: `cannot read ${file}: ${systemCode(err) ?? errorMessage(err)}` });
    }
  }
}

/**
 * The agent creates such a directory when it is missing, so one that does not exist yet is fine
 * (a first install) — but an existing non-directory there, or on the way there, is not.
 */
function directoryProblem(dir: string): string | undefined {
  for (let p = dir; ; p = dirname(p)) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      const code = systemCode(err);
      if (code === 'ENOENT' && dirname(p) !== p) continue;
      return `cannot use ${dir}: ${code ?? errorMessage(err)}`;
    }
    if (st.isDirectory()) return undefined;
    return p === dir ? `${dir} exists and is not a directory` : `cannot create ${dir}: ${p} is not a directory`;
  }
}
