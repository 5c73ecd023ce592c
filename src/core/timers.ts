/**
 * Delays that are safe for any value. Node keeps timer delays in a signed 32-bit integer: a
 * delay above 2^31−1 ms (~24.8 days), like NaN or a negative one, becomes 1 ms with only a
 * TimeoutOverflowWarning — so a `resync_interval: 720h` would re-list Docker ~1,000 times a
 * second. The config schema bounds every duration key well below that; these helpers are the
 * second line, for values computed at run time (backoffs, deadlines) and for the schema's
 * future keys: a delay is clamped into [0, MAX_TIMER_MS], and "not a number" means "never
 * soon", not "now".
 */

/** Node's largest timer delay (setTimeout's 32-bit signed limit). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` made safe for setTimeout/setInterval/AbortSignal.timeout: within [0, MAX_TIMER_MS]; NaN → the maximum. */
export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIMER_MS;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(ms)));
}

/** setTimeout with a safe delay. */
export function after(ms: number, fn: () => void): NodeJS.Timeout {
  return setTimeout(fn, timerDelay(ms));
}

/** setInterval with a safe period (at least 1 ms: an interval of 0 would spin). */
export function every(ms: number, fn: () => void): NodeJS.Timeout {
  return setInterval(fn, Math.max(1, timerDelay(ms)));
}

/** AbortSignal.timeout with a safe delay (it throws a RangeError above 2^32−1 ms, and overflows to 1 ms above 2^31−1). */
export function deadline(ms: number): AbortSignal {
  return AbortSignal.timeout(timerDelay(ms));
}

/** A timer that resolves early (with false) when the signal aborts, so stop() never waits out a backoff. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
