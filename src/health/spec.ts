/**
 * What to probe and when to restart, per container: `health.rules` from the config file matched
 * on name/image/label, then the container's own `dockhand.probe.*` / `dockhand.restart*` labels
 * (labels win), then `health.defaults` / `health.restart`. Label values are decoded with the
 * same schema nodes as the config keys (src/config/schema.ts), so both accept the same syntax.
 *
 * A bad label never throws: the probe (or restart policy) is not applied and the reason is kept
 * for the API and logged once by the caller — one typo in one container's labels must not take
 * down the agent for the other 499 (autoheal and friends crash or silently ignore instead).
 */
import type { DecodeContext, SchemaNode } from '../config/schema-dsl.ts';
import { probeSettings, restartSettings } from './config.ts';
import type { HealthConfig } from './config.ts';
import { parseStatusRanges } from './status-ranges.ts';
import type { StatusRange } from './status-ranges.ts';
import { globToRegExp } from '../core/glob.ts';

export type { HealthConfig } from './config.ts';
type ProbeSettings = HealthConfig['rules'][number]['probe'];
type RestartSettings = HealthConfig['rules'][number]['restart'];

export const PROBE_LABEL_PREFIX = 'dockhand.probe.';
export const RESTART_LABEL = 'dockhand.restart';

export type ProbeType = 'tcp' | 'http';
export type HttpMethod = 'GET' | 'HEAD' | 'POST';
export type RestartPolicyName = 'no' | 'on-unhealthy' | 'on-failure' | 'always';

export interface ProbeSpec {
  type: ProbeType;
  /** Container port; null = the container's only published TCP port (resolved with the target). */
  port: number | null;
  path: string;
  method: HttpMethod;
  expect: StatusRange[];
  /** `expect` as written, for the API. */
  expectText: string;
  hostHeader: string | null;
  tls: boolean;
  tlsVerify: boolean;
  intervalMs: number;
  /** Never more than intervalMs: a probe always ends before the next one is due. */
  timeoutMs: number;
  graceMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface RestartSpec {
  policy: RestartPolicyName;
  maxRestarts: number;
  windowMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  resetAfterMs: number;
  stopTimeoutMs: number;
}

export interface HealthSpec {
  /** null: no probe declared (or declared `none`, or in error). */
  probe: ProbeSpec | null;
  /** Why the declared probe is not run (bad label or rule value); null when fine. */
  probeError: string | null;
  restart: RestartSpec;
  /** Why the declared restart policy is not applied (the policy is then `no`); null when fine. */
  restartError: string | null;
  /** Indexes of the `health.rules` entries that matched. */
  rules: number[];
}

export interface ContainerIdentity {
  name: string;
  image: string;
  labels: Readonly<Record<string, string>>;
}

interface CompiledRule {
  name: RegExp | null;
  image: RegExp | null;
  labelKey: string | null;
  labelValue: string | null;
  probe: ProbeSettings;
  restart: RestartSettings;
}

const PROBE_KEYS = Object.keys(probeSettings.fields ?? {}) as (keyof ProbeSettings)[];
const RESTART_KEYS = Object.keys(restartSettings.fields ?? {}) as (keyof RestartSettings)[];

export class HealthSpecResolver {
  readonly #health: HealthConfig;
  readonly #rules: CompiledRule[];

  constructor(health: HealthConfig) {
    this.#health = health;
    this.#rules = health.rules.map((r) => {
      const eq = r.match.label === null ? -1 : r.match.label.indexOf('=');
      return {
        name: r.match.name === null ? null : globToRegExp(r.match.name),
        image: r.match.image === null ? null : globToRegExp(r.match.image),
        labelKey: r.match.label === null ? null : eq < 0 ? r.match.label : r.match.label.slice(0, eq),
        labelValue: r.match.label === null || eq < 0 ? null : r.match.label.slice(eq + 1),
        probe: r.probe,
        restart: r.restart,
      };
    });
  }

  resolve(container: ContainerIdentity): HealthSpec {
    const matched: number[] = [];
    const probe = emptySettings<ProbeSettings>(PROBE_KEYS);
    const restart = emptySettings<RestartSettings>(RESTART_KEYS);
    this.#rules.forEach((rule, i) => {
      if (!ruleMatches(rule, container)) return;
      matched.push(i);
      overlay(probe, rule.probe);
      overlay(restart, rule.restart);
    });

    const labels = parseHealthLabels(container.labels);
    overlay(probe, labels.probe);
    overlay(restart, labels.restart);

    let probeSpec: ProbeSpec | null = null;
    let probeError = labels.probeProblems.length > 0 ? labels.probeProblems.join('; ') : null;
    if (probeError === null) {
      if (probe.type === null) {
        if (labels.probeLabelsSet) probeError = `${PROBE_LABEL_PREFIX}type is not set (tcp or http)`;
      } else if (probe.type !== 'none') {
        probeSpec = this.#probeSpec(probe, probe.type);
      }
    }

    const d = this.#health.restart;
    const restartSpec: RestartSpec = {
      policy: restart.policy ?? d.policy,
      maxRestarts: restart.max_restarts ?? d.max_restarts,
      windowMs: restart.window ?? d.window,
      backoffBaseMs: restart.backoff_base ?? d.backoff_base,
      backoffMaxMs: restart.backoff_max ?? d.backoff_max,
      resetAfterMs: restart.reset_after ?? d.reset_after,
      stopTimeoutMs: restart.stop_timeout ?? d.stop_timeout,
    };
    const restartProblems = [...labels.restartProblems];
    if (restartSpec.backoffBaseMs > restartSpec.backoffMaxMs) {
      restartProblems.push(`backoff_base (${restartSpec.backoffBaseMs} ms) exceeds backoff_max (${restartSpec.backoffMaxMs} ms)`);
    }
    // A restart policy we cannot read is not applied at all: acting on a half-understood
    // declaration (say, a typo in max_restarts) is how restart storms start.
    if (restartProblems.length > 0) restartSpec.policy = 'no';
    return { probe: probeSpec, probeError, restart: restartSpec, restartError: restartProblems.length > 0 ? restartProblems.join('; ') : null, rules: matched };
  }

  #probeSpec(s: ProbeSettings, type: ProbeType): ProbeSpec {
    const d = this.#health.defaults;
    const expectText = s.expect ?? '200-399';
    const expect = parseStatusRanges(expectText);
    const intervalMs = s.interval ?? d.interval;
    return {
      type,
      port: s.port,
      path: s.path ?? '/',
      method: (s.method ?? 'get').toUpperCase() as HttpMethod,
      // validated when decoded; the fallback only satisfies the type
      expect: typeof expect === 'string' ? [{ from: 200, to: 399 }] : expect,
      expectText,
      hostHeader: s.host_header,
      tls: s.tls ?? false,
      tlsVerify: s.tls_verify ?? true,
      intervalMs,
      timeoutMs: Math.min(s.timeout ?? d.timeout, intervalMs),
      graceMs: s.grace ?? d.grace,
      healthyThreshold: s.healthy_threshold ?? d.healthy_threshold,
      unhealthyThreshold: s.unhealthy_threshold ?? d.unhealthy_threshold,
    };
  }
}

function ruleMatches(rule: CompiledRule, c: ContainerIdentity): boolean {
  if (rule.name && !rule.name.test(c.name)) return false;
  if (rule.image && !rule.image.test(c.image)) return false;
  if (rule.labelKey !== null) {
    const v = c.labels[rule.labelKey];
    if (v === undefined || (rule.labelValue !== null && v !== rule.labelValue)) return false;
  }
  return true;
}

function emptySettings<T>(keys: readonly (keyof T)[]): T {
  const out = {} as T;
  for (const k of keys) (out as Record<keyof T, unknown>)[k] = null;
  return out;
}

function overlay<T extends object>(target: T, source: T): void {
  for (const [k, v] of Object.entries(source)) if (v !== null) (target as Record<string, unknown>)[k] = v;
}

export interface ParsedHealthLabels {
  probe: ProbeSettings;
  restart: RestartSettings;
  /** Any `dockhand.probe.*` label present (even a bad one). */
  probeLabelsSet: boolean;
  probeProblems: string[];
  restartProblems: string[];
}

/** Decodes `dockhand.probe.*`, `dockhand.restart` and `dockhand.restart.*`; problems name the label. */
export function parseHealthLabels(labels: Readonly<Record<string, string>>): ParsedHealthLabels {
  const out: ParsedHealthLabels = {
    probe: emptySettings<ProbeSettings>(PROBE_KEYS),
    restart: emptySettings<RestartSettings>(RESTART_KEYS),
    probeLabelsSet: false,
    probeProblems: [],
    restartProblems: [],
  };
  for (const [label, value] of Object.entries(labels)) {
    if (label.startsWith(PROBE_LABEL_PREFIX)) {
      out.probeLabelsSet = true;
      decodeLabel(label, label.slice(PROBE_LABEL_PREFIX.length), value, probeSettings.fields ?? {}, out.probe, out.probeProblems);
    } else if (label === RESTART_LABEL) {
      decodeLabel(label, 'policy', value, restartSettings.fields ?? {}, out.restart, out.restartProblems);
    } else if (label.startsWith(`${RESTART_LABEL}.`)) {
      const key = label.slice(RESTART_LABEL.length + 1);
      if (key === 'policy') out.restartProblems.push(`${label}: unknown label (the policy is the label ${RESTART_LABEL} itself)`);
      else decodeLabel(label, key, value, restartSettings.fields ?? {}, out.restart, out.restartProblems);
    }
  }
  out.probeProblems.sort();
  out.restartProblems.sort();
  return out;
}

function decodeLabel(
  label: string,
  key: string,
  value: string,
  fields: Readonly<Record<string, SchemaNode<unknown>>>,
  target: object,
  problems: string[],
): void {
  const node = Object.hasOwn(fields, key) ? fields[key] : undefined;
  if (!node) {
    const prefix = label.slice(0, label.length - key.length);
    problems.push(`${label}: unknown label (known: ${Object.keys(fields).map((k) => prefix + k).join(', ')})`);
    return;
  }
  const ctx: DecodeContext = { problems: [], envSources: new Map(), files: [] };
  // fromEnv turns text into what the config file would hold ("3" → 3, "yes" → true).
  const decoded = node.decode(node.fromEnv(value.trim()), label, ctx);
  if (ctx.problems.length > 0) {
    for (const p of ctx.problems) problems.push(`${p.path}: ${p.reason}`);
    return;
  }
  (target as Record<string, unknown>)[key] = decoded;
}
