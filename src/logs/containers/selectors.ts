/**
 * Which containers' output is collected: `container_logs.include` / `exclude` selectors
 * (`name:<glob>`, `image:<glob>`, `label:<key>`, `label:<key>=<glob>`; a bare glob is a name)
 * and the opt-out label `dockhand.logs=false`.
 */
import { globToRegExp } from '../../core/glob.ts';
import type { ContainerRecord } from '../../docker/types.ts';

export const OPT_OUT_LABEL = 'dockhand.logs';

type Selector = (c: ContainerRecord) => boolean;

function compile(text: string): Selector {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? 'name' : text.slice(0, colon);
  const rest = colon < 0 ? text : text.slice(colon + 1);
  if (kind === 'image') {
    const re = globToRegExp(rest);
    return (c) => re.test(c.image);
  }
  if (kind === 'label') {
    const eq = rest.indexOf('=');
    if (eq < 0) return (c) => Object.hasOwn(c.labels, rest);
    const key = rest.slice(0, eq);
    const re = globToRegExp(rest.slice(eq + 1));
    return (c) => Object.hasOwn(c.labels, key) && re.test(c.labels[key] as string);
  }
  const re = globToRegExp(rest);
  return (c) => re.test(c.name);
}

export class ContainerSelection {
  readonly #include: Selector[];
  readonly #exclude: Selector[];

  constructor(include: readonly string[], exclude: readonly string[]) {
    this.#include = include.map(compile);
    this.#exclude = exclude.map(compile);
  }

  /** Why a container's output is not collected, or null when it is. */
  skipReason(c: ContainerRecord): string | null {
    if (c.labels[OPT_OUT_LABEL]?.toLowerCase() === 'false') return `label ${OPT_OUT_LABEL}=false`;
    if (!this.#include.some((s) => s(c))) return 'not in container_logs.include';
    if (this.#exclude.some((s) => s(c))) return 'in container_logs.exclude';
    return null;
  }
}
