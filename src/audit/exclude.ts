/**
 * `audit.exclude`: entries are a check id glob (`container.root_user`, `container.no_*`), a
 * container name glob (`container:ci-*`), or both (`container.privileged@dind`). A finding is
 * left out when any entry matches it; a check excluded everywhere is not run at all.
 */
import { globToRegExp } from '../core/glob.ts';
import { CHECKS } from './catalogue.ts';

interface Rule {
  check: RegExp | null;
  container: RegExp | null;
}

function parse(entry: string): Rule {
  if (entry.startsWith('container:')) return { check: null, container: globToRegExp(entry.slice('container:'.length)) };
  const at = entry.indexOf('@');
  if (at >= 0) return { check: globToRegExp(entry.slice(0, at)), container: globToRegExp(entry.slice(at + 1)) };
  return { check: globToRegExp(entry), container: null };
}

/** Why an entry is wrong, or undefined: a check glob must match at least one check. */
export function excludeEntryProblem(entry: string): string | undefined {
  if (entry.trim() === '') return 'must not be empty';
  const rule = parse(entry);
  if (rule.container && entry.endsWith(':')) return `"${entry}" names no container`;
  if (rule.check && !CHECKS.some((c) => rule.check?.test(c.id))) return `"${entry}" matches no audit check (ids: daemon.*, files.*, container.*, cert.*, registry.*; containers: container:<name>)`;
  return undefined;
}

export class AuditExclude {
  readonly #rules: Rule[];

  constructor(entries: readonly string[]) {
    this.#rules = entries.map(parse);
  }

  /** The check is excluded everywhere: not run. */
  checkOff(check: string): boolean {
    return this.#rules.some((r) => r.container === null && r.check?.test(check) === true);
  }

  /** Every check is excluded for this container: it is not inspected. */
  containerOff(name: string): boolean {
    return this.#rules.some((r) => r.check === null && r.container?.test(name) === true);
  }

  excludes(check: string, containerName: string | undefined): boolean {
    return this.#rules.some((r) => {
      const checkOk = r.check === null || r.check.test(check);
      const containerOk = r.container === null || (containerName !== undefined && r.container.test(containerName));
      return checkOk && containerOk;
    });
  }
}
