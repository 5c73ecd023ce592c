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

/**
 * Periodic work on a shared timer: every caller asking for the same period shares one interval,
 * so their work runs in one wake-up of the event loop rather than one each at its own phase of
 * the second. Five once-a-second tasks (file sweep, container-log sweep, shipping tick, health
 * sync, audit scan) started milliseconds apart woke an idle agent five times a second; each
 * wake-up costs the loop's fixed work (timers, microtasks, epoll) besides the task's own.
 * Returns the function that stops this caller's work; the interval ends with its last caller.
 * A task that throws is reported as uncaught (as its own setInterval would) after the others ran.
 */
const shared = new Map<number, { timer: NodeJS.Timeout; tasks: Set<() => void> }>();

export function repeat(ms: number, task: () => void): () => void {
  const period = Math.max(1, timerDelay(ms));
  let group = shared.get(period);
  if (group === undefined) {
    const tasks = new Set<() => void>();
    const timer = setInterval(() => {
      for (const run of [...tasks]) {
        try {
          run();
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }, period);
    group = { timer, tasks };
    shared.set(period, group);
  }
  const own = (): void => task(); // one entry per call, even for the same function
  const g = group;
  g.tasks.add(own);
  return () => {
    if (!g.tasks.delete(own) || g.tasks.size > 0) return;
    clearInterval(g.timer);
    if (shared.get(period) === g) shared.delete(period);
  };
}
