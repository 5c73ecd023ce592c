/**
 * Exponential backoff with "full jitter" on the upper half (AWS architecture blog, "Exponential
 * Backoff And Jitter"): delay n is uniform in [d/2, d] where d = min(max, base·2^n). Keeping the
 * lower half avoids the near-zero retries full jitter allows, which matter when 500 agents
 * reconnect to one Logstash or one restarted dockerd at once.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Injected for tests: returns [0, 1). */
  random?: () => number;
}

export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    if (!(options.baseMs > 0) || !(options.maxMs >= options.baseMs)) {
      throw new RangeError(`backoff needs 0 < base (${options.baseMs}) <= max (${options.maxMs})`);
    }
    this.#baseMs = options.baseMs;
    this.#maxMs = options.maxMs;
    this.#random = options.random ?? Math.random;
  }

  /** Attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Delay before the next attempt; advances the sequence. */
  next(): number {
    // 2^attempt overflows to Infinity after ~1024 attempts; min() keeps it at max.
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** this.#attempt);
    this.#attempt++;
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#random());
  }

  reset(): void {
    this.#attempt = 0;
  }
}
