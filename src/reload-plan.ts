/**
 * What a configuration reload (SIGHUP, `systemctl reload`) can apply while running, and what
 * needs a restart. Pure: the keys that differ between two configurations in, the split out.
 * docs/configuration.md lists the same keys for operators (a unit test keeps the two in step).
 *
 * Applied live, without losing or re-sending a log line: the log level, the API token (and
 * `api.metrics_auth`), the outputs (hosts, TLS files re-read: batches in flight move to the new
 * outputs), the files collected (`logs.roots`, `include`, `exclude`) and the warning bounds,
 * the metrics interval, exported container labels and scrape cache, all of `health`, and all of
 * `audit`.
 * Everything else — where the API listens and its TLS, the Docker connection, the state
 * directory, how lines are read and joined, the queue bounds, what the sampler reads — is read
 * once at start.
 */

/** Key paths (or their prefixes) a reload applies. */
export const LIVE_KEYS: readonly string[] = [
  'log_level',
  'api.token_file',
  'api.metrics_auth',
  'outputs',
  'logs.roots',
  'logs.include',
  'logs.exclude',
  'logs.stall_warning',
  'logs.lag_warning',
  'metrics.interval',
  'metrics.container_labels',
  'metrics.scrape_cache',
  'health',
  'audit',
];

export function appliedLive(key: string): boolean {
  return LIVE_KEYS.some((k) => key === k || key.startsWith(`${k}.`) || key.startsWith(`${k}[`));
}

export interface ReloadPlan {
  /** Changed keys applied now. */
  live: string[];
  /** Changed keys that take effect at the next restart. */
  restart: string[];
}

/**
 * Splits changed key paths (as `diffKeys` reports them). Turning the API token on or off is a
 * restart: it decides whether the API may listen where it does.
 */
export function planReload(changed: readonly string[], tokenSwitched: boolean): ReloadPlan {
  const plan: ReloadPlan = { live: [], restart: [] };
  for (const key of changed) {
    const live = appliedLive(key) && !(key === 'api.token_file' && tokenSwitched);
    (live ? plan.live : plan.restart).push(key);
  }
  return plan;
}

/** Dotted paths of the leaves that differ between two configs (lists compare whole). */
export function diffKeys(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffKeys((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}
