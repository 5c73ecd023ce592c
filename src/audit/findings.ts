/**
 * The audit's current answer: outcomes by part (the host sweep, each container), what is
 * published (findings not excluded, with the time each was first seen), and the change each
 * update makes — the findings that appeared and cleared, for the agent events.
 */
import { checkDefinition } from './catalogue.ts';
import type { AuditExclude } from './exclude.ts';
import type { Finding, NotChecked, Outcome } from './outcome.ts';

export const HOST_PART = 'host';

export interface FindingChange {
  appeared: Finding[];
  cleared: Finding[];
}

function key(o: Outcome): string {
  return `${o.check}\0${o.target}`;
}

export class FindingStore {
  readonly #parts = new Map<string, Outcome[]>();
  readonly #published = new Map<string, Map<string, Finding>>();
  #exclude: AuditExclude;

  constructor(exclude: AuditExclude) {
    this.#exclude = exclude;
  }

  has(part: string): boolean {
    return this.#parts.has(part);
  }

  parts(): string[] {
    return [...this.#parts.keys()];
  }

  /** Replaces a part's outcomes (undefined = the part is gone: a removed container). */
  set(part: string, outcomes: Outcome[] | undefined, now = Date.now()): FindingChange {
    if (outcomes === undefined) this.#parts.delete(part);
    else this.#parts.set(part, outcomes);
    return this.#publish(part, now);
  }

  /** New exclusions: every part is published again. */
  setExclude(exclude: AuditExclude, now = Date.now()): FindingChange {
    this.#exclude = exclude;
    const change: FindingChange = { appeared: [], cleared: [] };
    for (const part of new Set([...this.#parts.keys(), ...this.#published.keys()])) {
      const c = this.#publish(part, now);
      change.appeared.push(...c.appeared);
      change.cleared.push(...c.cleared);
    }
    return change;
  }

  findings(): Finding[] {
    return [...this.#published.values()].flatMap((m) => [...m.values()]);
  }

  /** Published findings of one container. */
  containerFindings(id: string): Finding[] {
    return [...(this.#published.get(id)?.values() ?? [])];
  }

  notChecked(): NotChecked[] {
    const out: NotChecked[] = [];
    for (const outcomes of this.#parts.values()) {
      for (const o of outcomes) if (o.status === 'not_checked' && !this.#exclude.excludes(o.check, o.containerName)) out.push({ check: o.check, target: o.target, reason: o.detail });
    }
    return out;
  }

  #publish(part: string, now: number): FindingChange {
    const before = this.#published.get(part) ?? new Map<string, Finding>();
    const after = new Map<string, Finding>();
    const appeared: Finding[] = [];
    for (const o of this.#parts.get(part) ?? []) {
      if (o.status !== 'fail' || this.#exclude.excludes(o.check, o.containerName)) continue;
      const k = key(o);
      if (after.has(k)) {
        const f = after.get(k) as Finding;
        if (!f.detail.includes(o.detail)) f.detail = `${f.detail}; ${o.detail}`;
        continue;
      }
      const old = before.get(k);
      const def = checkDefinition(o.check);
      const f: Finding = {
        check: o.check, cis: def.cis, severity: def.severity, title: def.title, target: o.target, detail: o.detail, remediation: def.remediation,
        firstSeen: old?.firstSeen ?? new Date(now).toISOString(),
      };
      if (o.containerId !== undefined) f.containerId = o.containerId;
      if (o.containerName !== undefined) f.containerName = o.containerName;
      after.set(k, f);
      if (!old) appeared.push(f);
    }
    const cleared = [...before].filter(([k]) => !after.has(k)).map(([, f]) => f);
    if (after.size > 0) this.#published.set(part, after);
    else this.#published.delete(part);
    return { appeared, cleared };
  }
}
