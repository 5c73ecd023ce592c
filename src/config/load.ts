/**
 * Loading the configuration: YAML file (optional) → environment overrides → schema decode →
 * cross-key checks → referenced files readable. Every problem is collected and reported with its
 * key path, so `dockhand check-config` can list them all in one go (Ansible's `validate:`).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
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

function readYamlFile(file: string, problems: ConfigProblem[]): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push({ path: '', reason: `cannot read ${file}: ${systemCode(err) ?? errorMessage(err)}` });
    return {};
  }
  // uniqueKeys: a key written twice is almost always a merge mistake in a template.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, version: '1.2' });
  for (const e of doc.errors) {
    const pos = e.linePos?.[0];
    problems.push({ path: '', reason: `YAML ${pos ? `line ${pos.line} column ${pos.col}` : ''}: ${e.message.split('\n')[0] ?? ''}` });
  }
  if (doc.errors.length > 0) return {};
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  return value ?? {}; // an empty file means "all defaults"
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
}
