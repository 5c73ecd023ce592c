/**
 * Errors with a stable code and a transient flag, so the place that handles an error can decide
 * (retry or give up) without string matching, and logs/API responses carry a code operators can
 * grep for. Modelled on undici's UND_ERR_* catalogue.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'DOCKER_UNREACHABLE'
  | 'DOCKER_INSECURE'
  | 'DOCKER_API'
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_ACCEPTABLE'
  | 'BAD_REQUEST'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class DockhandError extends Error {
  readonly code: ErrorCode;
  /** True when retrying the same operation later may succeed (a socket down, a daemon restarting). */
  readonly transient: boolean;

  constructor(code: ErrorCode, message: string, options: { transient?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DockhandError';
    this.code = code;
    this.transient = options.transient ?? false;
  }
}

/** One problem in a configuration, named by its key path (`api.listen`) or its source (`env DOCKHAND_X`). */
export interface ConfigProblem {
  path: string;
  reason: string;
}

export class ConfigError extends DockhandError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], source?: string) {
    const head = source ? `invalid configuration in ${source}` : 'invalid configuration';
    super('CONFIG_INVALID', `${head}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return p.path ? `${p.path}: ${p.reason}` : p.reason;
}

/** Message of anything thrown, for logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Node system error code (ECONNREFUSED, ENOENT, …) if there is one. */
export function systemCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
