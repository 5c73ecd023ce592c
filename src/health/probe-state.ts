/**
 * The verdict of one container's probe, from consecutive results: Marathon's
 * `maxConsecutiveFailures` and Rancher's healthy/unhealthy thresholds. Pure (no timers, no I/O):
 * the caller passes each result with its time.
 *
 * Grace (Marathon `gracePeriodSeconds`, Docker `--health-start-period`): failures during the
 * grace period after a start are recorded but not counted; a success during it counts and ends
 * it, since the container has shown it is up (Docker's start-period rule), so a later failure
 * counts at once. Thresholds make one bad probe (or one good one) never flip the verdict, which
 * is what keeps a flapping service from triggering restarts.
 */
import type { ProbeResult } from './probes.ts';

export type ProbeStatus = 'starting' | 'healthy' | 'unhealthy';

export interface ProbeThresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
  graceMs: number;
}

export interface ProbeObservation {
  at: number;
  ok: boolean;
  latencyMs: number;
  detail: string;
  /** False for a failure inside the grace period. */
  counted: boolean;
}

export interface ProbeTransition {
  from: ProbeStatus;
  to: ProbeStatus;
  at: number;
  /** Consecutive counted results that made the transition. */
  consecutive: number;
  detail: string;
}

/** Results kept for the API (the last few explain a transition). */
const HISTORY = 10;

export class ProbeState {
  readonly #t: ProbeThresholds;
  /** Unix ms of the container start this state belongs to. */
  readonly startedAt: number;
  #status: ProbeStatus = 'starting';
  #since: number;
  #graceOver = false;
  #successes = 0;
  #failures = 0;
  #checks = 0;
  #failed = 0;
  #ignored = 0;
  readonly #history: ProbeObservation[] = [];

  constructor(thresholds: ProbeThresholds, startedAt: number) {
    this.#t = thresholds;
    this.startedAt = startedAt;
    this.#since = startedAt;
  }

  get status(): ProbeStatus {
    return this.#status;
  }

  /** When the current status began. */
  get since(): number {
    return this.#since;
  }

  inGrace(at: number): boolean {
    return !this.#graceOver && at < this.startedAt + this.#t.graceMs;
  }

  /** Records one result; returns the transition it caused, if any. */
  observe(result: ProbeResult, at: number): ProbeTransition | undefined {
    this.#checks++;
    const counted = result.ok || !this.inGrace(at);
    this.#history.push({ at, ok: result.ok, latencyMs: Math.round(result.latencyMs * 100) / 100, detail: result.detail, counted });
    if (this.#history.length > HISTORY) this.#history.shift();
    if (result.ok) {
      this.#graceOver = true;
      this.#successes++;
      this.#failures = 0;
      if (this.#status !== 'healthy' && this.#successes >= this.#t.healthyThreshold) return this.#move('healthy', at, this.#successes, result.detail);
      return undefined;
    }
    this.#failed++;
    if (!counted) {
      this.#ignored++;
      return undefined;
    }
    this.#failures++;
    this.#successes = 0;
    if (this.#status !== 'unhealthy' && this.#failures >= this.#t.unhealthyThreshold) return this.#move('unhealthy', at, this.#failures, result.detail);
    return undefined;
  }

  #move(to: ProbeStatus, at: number, consecutive: number, detail: string): ProbeTransition {
    const t: ProbeTransition = { from: this.#status, to, at, consecutive, detail };
    this.#status = to;
    this.#since = at;
    return t;
  }

  /** The last `n` results, oldest first (the evidence behind a transition). */
  recent(n: number): ProbeObservation[] {
    return this.#history.slice(-n);
  }

  snapshot(now: number): Record<string, unknown> {
    return {
      status: this.#status,
      since: new Date(this.#since).toISOString(),
      inGrace: this.inGrace(now),
      consecutiveSuccesses: this.#successes,
      consecutiveFailures: this.#failures,
      checks: this.#checks,
      failures: this.#failed,
      ignoredInGrace: this.#ignored,
      history: this.#history.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
    };
  }
}
