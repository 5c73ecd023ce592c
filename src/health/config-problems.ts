/**
 * What is wrong with a container's health configuration, by where it comes from: its labels
 * (or the rules that match it), or its probe target (a port that is not published, a network
 * mode without an address). A container with a problem is left alone — no probe, no restart —
 * and each distinct problem is reported once, when it appears (an agent event and a warning),
 * and shown in `/v1/probes` until it is fixed.
 */
import type { ContainerRecord } from '../docker/types.ts';

export type ProblemScope = 'labels' | 'target';

export interface HealthConfigProblem {
  scope: ProblemScope;
  error: string;
}

export class HealthConfigProblems {
  readonly #byContainer = new Map<string, HealthConfigProblem[]>();
  readonly #report: (rec: ContainerRecord, problem: HealthConfigProblem) => void;

  /** `report` is called once per new problem. */
  constructor(report: (rec: ContainerRecord, problem: HealthConfigProblem) => void) {
    this.#report = report;
  }

  /** Replaces the container's problems of `scope` with `errors` (nulls are no problem). */
  update(rec: ContainerRecord, scope: ProblemScope, errors: readonly (string | null)[]): void {
    const current = errors.filter((e): e is string => e !== null);
    const known = this.#byContainer.get(rec.id) ?? [];
    if (known.length === 0 && current.length === 0) return;
    const kept = known.filter((p) => p.scope !== scope || current.includes(p.error));
    for (const error of current) {
      if (kept.some((p) => p.scope === scope && p.error === error)) continue;
      const problem = { scope, error };
      kept.push(problem);
      this.#report(rec, problem);
    }
    if (kept.length > 0) this.#byContainer.set(rec.id, kept);
    else this.#byContainer.delete(rec.id);
  }

  of(id: string): readonly HealthConfigProblem[] {
    return this.#byContainer.get(id) ?? [];
  }

  forget(id: string): void {
    this.#byContainer.delete(id);
  }

  /** Containers with at least one problem (a gauge). */
  get containers(): number {
    return this.#byContainer.size;
  }
}
