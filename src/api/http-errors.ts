/**
 * How errors become HTTP responses. One table from the stable DockhandError codes to statuses, so
 * every endpoint answers the same failure the same way (fastify's error catalogue), and one JSON
 * shape the control plane can parse: `{"error":{"code":"...","message":"..."}}` (docs/api.md).
 */
import { DockhandError } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';

const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  // Docker answered, but with an error: the agent is a gateway to it here.
  DOCKER_API: 502,
  DOCKER_UNREACHABLE: 503,
  UNAVAILABLE: 503,
  // Configuration problems surfacing while serving are the agent's fault, not the client's.
  CONFIG_INVALID: 500,
  CONFIG_UNREADABLE: 500,
  DOCKER_INSECURE: 500,
  INTERNAL: 500,
};

/** The message a client sees for a 500: details stay in the agent's log, never in the response. */
export const INTERNAL_MESSAGE = 'internal error';

export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}

export interface HttpError {
  status: number;
  code: ErrorCode;
  /** Safe to send to the client. */
  message: string;
  /** True when the original error is a bug or an unexpected failure that the server must log. */
  internal: boolean;
}

/**
 * Maps anything a handler threw to what the client gets. A DockhandError keeps its code and (for
 * non-500 statuses) its message; anything else is an INTERNAL 500 with a generic message, so a
 * stack, a file path or a Docker response body never leaks to a caller.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof DockhandError) {
    const status = statusForCode(err.code);
    if (status === 500) return { status, code: err.code, message: INTERNAL_MESSAGE, internal: true };
    return { status, code: err.code, message: err.message, internal: false };
  }
  return { status: 500, code: 'INTERNAL', message: INTERNAL_MESSAGE, internal: true };
}

export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}
