/** Small helpers shared by the outputs' send paths. */
import { DockhandError } from '../core/errors.ts';
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

export function abortedError(what: string): DockhandError {
  return new DockhandError('UNAVAILABLE', `${what}: send aborted`, { transient: true });
}

export function retry(acked: number, error: DockhandError): SendOutcome {
  return { kind: 'retry', acked, error };
}
