/** Small helpers shared by the outputs' send paths. */
import { DockhandError, errorMessage } from '../core/errors.ts';
import type { SendOutcome } from './types.ts';

/** `promise`'s value, or null as soon as `signal` aborts (the promise keeps running). */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = (): void => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** A send to an output that is closing or closed: transient (the agent is stopping; events are read again). */
export function closedError(output: string): DockhandError {
  return new DockhandError('UNAVAILABLE', `${output}: output closed`, { transient: true });
}

/** A send that threw, which the output contract does not allow: kept as a retry, never a rejection. */
export function unexpectedSendError(output: string, err: unknown): DockhandError {
  return new DockhandError('INTERNAL', `${output}: ${errorMessage(err)}`, { transient: true, cause: err });
}

export function abortedError(what: string): DockhandError {
  return new DockhandError('UNAVAILABLE', `${what}: send aborted`, { transient: true });
}

export function retry(acked: number, error: DockhandError): SendOutcome {
  return { kind: 'retry', acked, error };
}
