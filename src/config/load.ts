/**
 * Loading the configuration: YAML file (optional) → environment overrides → schema decode →
 * cross-key checks → referenced files readable. Every problem is collected and reported with its
 * key path, so `dockhand check-config` can list them all in one go (Ansible's `validate:`).
 */
import { accessSync, closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { isLoopbackHost } from '../core/net.ts';
import { ConfigError, errorMessage, systemCode } from '../core/errors.ts';
import type { ConfigProblem } from '../core/errors.ts';
import type { DecodeContext, SchemaNode } from './schema-dsl.ts';
import { join } from './schema-dsl.ts';
import { configSchema } from './schema.ts';
import type { Config } from './schema.ts';

export const DEFAULT_CONFIG_FILE = '/etc/dockhand/dockhand.yaml';
const ENV_PREFIX = 'DOCKHAND_';
/** Environment variables under the prefix that are not config keys. */
const ENV_NOT_KEYS = new Set(['DOCKHAND_CONFIG']);
const ENV_RESERVED_PREFIX = 'DOCKHAND_TEST_';

export interface LoadedConfig {
  config: Config;
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

/** Throws ConfigError listing every problem. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const problems: ConfigProblem[] = [];
  let raw: unknown = {};
  if (options.file !== undefined) raw = readYamlFile(options.file, problems);
  if (problems.length > 0) throw new ConfigError(problems, options.file);

  const ctx: DecodeContext = { problems, envSources: new Map() };
  raw = applyEnvOverrides(raw, env, ctx);
  const config = configSchema.decode(raw, '', ctx);
  if (problems.length === 0) checkCrossKeys(config, problems);
  if (problems.length === 0 && options.checkFiles !== false) checkReferencedFiles(config, problems);
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
function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv, ctx: DecodeContext): unknown {
  if (!isPlainObject(raw)) return raw; // decode reports the bad top level
  const root: Record<string, unknown> = { ...raw };
  const names = Object.keys(env).filter((k) => k.startsWith(ENV_PREFIX) && !ENV_NOT_KEYS.has(k) && !k.startsWith(ENV_RESERVED_PREFIX)).sort();
  for (const name of names) {
    const value = env[name] as string;
    const segments = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    let node: SchemaNode<unknown> = configSchema;
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

function checkCrossKeys(config: Config, problems: ConfigProblem[]): void {
  const { api, docker } = config;
  if (!isLoopbackHost(api.listen.host) && api.token_file === null && api.tls?.client_ca == null) {
    problems.push({
      path: 'api.listen',
      reason: `listening on ${api.listen.host} (not loopback) requires api.token_file or api.tls.client_ca: the API exposes the host's containers`,
    });
  }
  const tcp = !docker.host.startsWith('unix://');
  if (tcp && docker.tls === null && !docker.allow_insecure) {
    problems.push({
      path: 'docker.host',
      reason: 'plain TCP to the Docker API is refused (it is root on that host): set docker.tls {ca, cert, key}, or docker.allow_insecure: true',
    });
  }
  if (docker.reconnect_base > docker.reconnect_max) problems.push({ path: 'docker.reconnect_base', reason: 'must not exceed docker.reconnect_max' });
  const r = config.health.restart;
  if (r.backoff_base > r.backoff_max) problems.push({ path: 'health.restart.backoff_base', reason: 'must not exceed health.restart.backoff_max' });
  config.outputs.forEach((o, i) => {
    if (o.backoff_base > o.backoff_max) problems.push({ path: `outputs[${i}].backoff_base`, reason: `must not exceed outputs[${i}].backoff_max` });
    if (o.tls && (o.tls.cert === null) !== (o.tls.key === null)) problems.push({ path: `outputs[${i}].tls`, reason: 'cert and key go together' });
  });
}

/** Files the agent will need at start: catching a missing certificate here beats failing at 3 am. */
function checkReferencedFiles(config: Config, problems: ConfigProblem[]): void {
  const files: [string, string | null | undefined][] = [
    ['api.token_file', config.api.token_file],
    ['api.tls.cert', config.api.tls?.cert],
    ['api.tls.key', config.api.tls?.key],
    ['api.tls.client_ca', config.api.tls?.client_ca],
    ['docker.tls.ca', config.docker.tls?.ca],
    ['docker.tls.cert', config.docker.tls?.cert],
    ['docker.tls.key', config.docker.tls?.key],
  ];
  config.outputs.forEach((o, i) => {
    files.push([`outputs[${i}].tls.ca`, o.tls?.ca], [`outputs[${i}].tls.cert`, o.tls?.cert], [`outputs[${i}].tls.key`, o.tls?.key]);
  });
  for (const [path, file] of files) {
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      problems.push({ path, reason: `cannot read ${file}: ${systemCode(err) ?? errorMessage(err)}` });
    }
  }
  const stateDir = stateDirProblem(config.state_dir);
  if (stateDir) problems.push({ path: 'state_dir', reason: stateDir });
}

/**
 * The agent creates state_dir when it is missing, so a directory that does not exist yet is
 * fine (a first install) — but an existing non-directory there, or on the way there, is not.
 */
function stateDirProblem(dir: string): string | undefined {
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
