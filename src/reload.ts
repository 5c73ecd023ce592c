/**
 * A configuration reload (SIGHUP, `systemctl reload`), carried out: the changed keys are split by
 * reload-plan.ts, each capability applies the keys of its sections it can, and the report says
 * what was applied, what failed (the capability keeps its previous settings) and which changed
 * keys wait for a restart — in the log and in `/v1/host` (`agent.config`), so an Ansible handler
 * and an operator can tell.
 */
import type { Config } from './configuration.ts';
import { errorMessage } from './core/errors.ts';
import { diffKeys, planReload } from './reload-plan.ts';

export type ConfigSection = keyof Config;

/** A capability's part in a reload: the sections it applies, and how. */
export interface ReloadTarget {
  name: string;
  sections: readonly ConfigSection[];
  /** Also on a reload that changed none of its keys (the API token file's content may have). */
  always?: boolean;
  apply(next: Config): Promise<void> | void;
}

export interface ReloadReport {
  at: string;
  /** The file the configuration was read from. */
  source: string;
  /** Changed keys applied by this reload. */
  applied: string[];
  /** Keys whose new value waits for a restart (changed since the agent started, in any reload). */
  pendingRestart: string[];
  failed: { target: string; error: string }[];
}

/** Turning the API token on or off needs a restart (it decides whether the API may listen where it does). */
function tokenSwitched(a: Config, b: Config): boolean {
  return (a.api.token_file === null) !== (b.api.token_file === null);
}

/**
 * Applies `next` over `running` (what the agent runs with now; `start` is what it started with).
 * Returns the new running configuration — `next` for what was applied, the previous values for
 * what needs a restart or failed — and the report.
 */
export async function reloadConfig(o: { start: Config; running: Config; next: Config; source: string; targets: readonly ReloadTarget[] }): Promise<{ running: Config; report: ReloadReport }> {
  const plan = planReload(diffKeys(o.running, o.next), tokenSwitched(o.running, o.next));
  const touched = new Set(plan.live.map((key) => key.split(/[.[]/, 1)[0] as string));
  const failedSections = new Set<string>();
  const failed: ReloadReport['failed'] = [];
  for (const target of o.targets) {
    if (!target.always && !target.sections.some((s) => touched.has(s))) continue;
    try {
      await target.apply(o.next);
    } catch (err) {
      failed.push({ target: target.name, error: errorMessage(err) });
      for (const s of target.sections) failedSections.add(s);
    }
  }
  let running = structuredClone(o.next);
  for (const key of plan.restart) running = withValueAt(running, key, valueAt(o.running, key));
  for (const section of failedSections) running = { ...running, [section]: o.running[section as ConfigSection] };
  return {
    running,
    report: {
      at: new Date().toISOString(),
      source: o.source,
      applied: plan.live.filter((key) => !failedSections.has(key.split(/[.[]/, 1)[0] as string)),
      pendingRestart: planReload(diffKeys(o.start, o.next), tokenSwitched(o.start, o.next)).restart,
      failed,
    },
  };
}

function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const seg of path.split('.')) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[seg] : undefined;
  return node;
}

/** A copy of `root` with the value at the dotted `path` replaced (objects only: lists compare whole). */
function withValueAt<T>(root: T, path: string, value: unknown): T {
  const [head, ...rest] = path.split('.');
  const obj = root as Record<string, unknown>;
  if (head === undefined) return root;
  return { ...obj, [head]: rest.length === 0 ? value : withValueAt(obj[head], rest.join('.'), value) } as T;
}
