/**
 * The DriftDetector's clock and voice for the DockerWatcher: a timer that asks for a verifying
 * re-list at the detector's deadline (debounced: after the stream quiets, never later than the
 * detector's maximum delay), one that confirms what a re-list found once late events had their
 * chance, the drift counter, and the rate-limited warning. The detector and the report (drift.ts)
 * hold the logic; this only schedules.
 */
import { DRIFT_REASONS, DEFAULT_DRIFT, DriftDetector, DriftReport } from './drift.ts';
import type { DriftDetectorOptions, DriftFinding, DriftReason, DriftSummary, DriftTrigger } from './drift.ts';

export interface DriftMonitorOptions {
  /** Starts a verifying re-list; the watcher skips it while another is under way (its end calls settle()). */
  verify(): void;
  /** The rate-limited summary of what was found. */
  warn(summary: DriftSummary): void;
  count?(reason: DriftReason, n: number): void;
  detector?: DriftDetectorOptions;
  /** At most one warning per this interval; findings meanwhile are gathered into the next. */
  warnIntervalMs?: number;
  /** Monotonic clock in ms (tests pass a fake one). */
  now?: () => number;
}

export class DriftMonitor {
  readonly #o: DriftMonitorOptions;
  readonly #detector: DriftDetector;
  readonly #report: DriftReport;
  readonly #now: () => number;
  #verifyTimer: NodeJS.Timeout | undefined;
  #verifyAt = 0;
  #reportTimer: NodeJS.Timeout | undefined;
  #confirmTimer: NodeJS.Timeout | undefined;

  constructor(options: DriftMonitorOptions) {
    this.#o = options;
    this.#detector = new DriftDetector(options.detector ?? DEFAULT_DRIFT);
    this.#report = new DriftReport(options.warnIntervalMs ?? 60_000);
    this.#now = options.now ?? (() => performance.now());
  }

  /** A lifecycle event being applied (see DriftDetector.observe). */
  observe(id: string, action: string, known: boolean, replay: boolean): void {
    const symptom = this.#detector.observe(id, action, known, replay, this.#now());
    if (symptom) this.found([symptom]);
    this.#arm();
  }

  /** A re-list begins; returns the triggers it covers. */
  begin(): Map<DriftTrigger, number> {
    return this.#detector.begin();
  }

  /** The re-list is in the inventory; call before replaying the events queued meanwhile. */
  reconciled(listedIds: Iterable<string>): void {
    this.#detector.reconciled(listedIds);
  }

  /**
   * What a re-list found: drift unless an event for the container follows soon (DriftDetector.hold).
   * Where events were lost more may be: one more verification once the stream is quiet (a re-list
   * repairs what it finds, so in a quiet system the next one finds nothing and this ends).
   */
  relisted(findings: readonly DriftFinding[]): void {
    if (findings.length === 0) return;
    this.#detector.hold(findings, this.#now());
    this.#detector.suspect('relist', this.#now());
    this.#armConfirm();
  }

  found(findings: readonly DriftFinding[]): void {
    if (findings.length === 0) return;
    for (const reason of DRIFT_REASONS) {
      const n = findings.filter((f) => f.reason === reason).length;
      if (n > 0) this.#o.count?.(reason, n);
    }
    this.#report.add(findings);
  }

  /** A re-list ended (or failed): verify again if still suspect, and report (with the re-list's findings once confirmed). */
  settle(): void {
    if (this.#detector.confirmAt === undefined) this.#flush();
    this.#arm();
  }

  stop(): void {
    clearTimeout(this.#verifyTimer);
    clearTimeout(this.#reportTimer);
    clearTimeout(this.#confirmTimer);
    this.#verifyTimer = this.#reportTimer = this.#confirmTimer = undefined;
  }

  #armConfirm(): void {
    const at = this.#detector.confirmAt;
    if (at === undefined || this.#confirmTimer) return;
    this.#confirmTimer = setTimeout(() => {
      this.#confirmTimer = undefined;
      this.found(this.#detector.confirm(this.#now()));
      if (this.#detector.confirmAt === undefined) this.#flush();
      else this.#armConfirm();
    }, Math.max(0, at - this.#now()));
    this.#confirmTimer.unref();
  }

  /** The deadline only moves later while suspicion lasts, so a timer that fires early re-arms. */
  #arm(): void {
    const due = this.#detector.deadline;
    if (due === undefined || (this.#verifyTimer && this.#verifyAt <= due)) return;
    clearTimeout(this.#verifyTimer);
    this.#verifyAt = due;
    this.#verifyTimer = setTimeout(() => {
      this.#verifyTimer = undefined;
      const deadline = this.#detector.deadline;
      if (deadline === undefined) return;
      if (deadline > this.#now()) this.#arm();
      else this.#o.verify();
    }, Math.max(0, due - this.#now()));
    this.#verifyTimer.unref();
  }

  #flush(): void {
    const summary = this.#report.take(this.#now());
    if (summary) this.#o.warn(summary);
    const due = this.#report.dueAt;
    if (due === undefined || this.#reportTimer) return;
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      this.#flush();
    }, Math.max(0, due - this.#now()));
    this.#reportTimer.unref();
  }
}
