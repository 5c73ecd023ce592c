/**
 * Slow-start window sizing, ported from Filebeat's Logstash output (elastic/beats
 * `libbeat/outputs/logstash/window.go`, with `minWindowSize = 1` and
 * `defaultStartMaxWindowSize = 10` from its `sync.go`): a connection starts with windows of 10
 * events and grows by 1.5× after every fully ACKed window, up to the batch size and
 * `bulk_max_size`; any failure halves it (never below 1). A Logstash that struggles with large
 * windows (timeouts while its pipeline is blocked) so gets smaller ones instead of the same
 * failing window again. The growth factor is Filebeat's 1.5, not doubling.
 *
 * `maxOk` is the largest window that ever succeeded; after a shrink, growth stops there (the
 * Filebeat code does exactly this; its window_test.go pins it).
 */
export const START_WINDOW = 10;
export const MIN_WINDOW = 1;

export class SlowStartWindow {
  readonly #max: number;
  readonly #enabled: boolean;
  #size: number;
  #maxOk = 0;

  /** `enabled: false` = every window is `max` events (Filebeat's `slow_start: false`). */
  constructor(max: number, enabled = true, start = START_WINDOW) {
    if (!(max >= 1)) throw new RangeError(`window maximum must be at least 1, got ${max}`);
    this.#max = max;
    this.#enabled = enabled;
    this.#size = enabled ? Math.max(MIN_WINDOW, Math.min(start, max)) : max;
  }

  /** Events in the next window. */
  get size(): number {
    return this.#size;
  }

  /** A window was ACKed in full; `batchSize` is the whole batch it came from (window.go tryGrowWindow). */
  grow(batchSize: number): void {
    const size = this.#size;
    if (!this.#enabled || size > batchSize) return;
    if (this.#maxOk < size) {
      this.#maxOk = size;
      let next = Math.ceil(1.5 * size);
      if (batchSize < next) next = batchSize;
      if (next > this.#max) next = this.#max;
      this.#size = next;
    } else if (size < this.#maxOk) {
      this.#size = Math.min(Math.ceil(1.5 * size), this.#maxOk);
    }
  }

  /** A window failed (timeout, connection lost): halve (window.go shrinkWindow). */
  shrink(): void {
    if (!this.#enabled) return;
    this.#size = Math.max(MIN_WINDOW, Math.floor(this.#size / 2));
  }
}
