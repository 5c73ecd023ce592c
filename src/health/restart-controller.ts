/**
 * Applies the restart policy: turns container events, probe verdicts and Docker (re)connects
 * into triggers, asks the pure `decide()` what to do, keeps each container's restart history,
 * runs due restarts through the executor under a host-wide concurrency bound, and reports every
 * decision and outcome. Timers and I/O live here; the rules live in restart-policy.ts.
 *
 * After a host reboot or a Docker daemon restart, what was running and is down now (judged in
 * outage-judge.ts) is restarted one `stagger` apart, `max_concurrent` at most at once: not all
 * in the same second, which is what turns a reboot into a restart storm.
 */
import { uptime } from 'node:os';
import type { ContainerEvent, ContainerRecord } from '../docker/types.ts';
import { after } from '../core/timers.ts';
import type { PersistedContainer, PersistedHealthState } from './health-state-file.ts';
import { OutageJudge } from './outage-judge.ts';
import { describeRecheck, newRestartEntry, persistedEntry, restartSnapshot } from './restart-entry.ts';
import type { Pending, RestartEntry } from './restart-entry.ts';
import type { HealthMetrics } from './health-metrics.ts';
import type { ProbeStatus, ProbeTransition } from './probe-state.ts';
import type { RestartOutcome, RestartRunner } from './restart-executor.ts';
import type { HealthEventSink } from './health-events.ts';
import { containerFacts, decide, recheck, relax } from './restart-policy.ts';
import type { ContainerFacts, RestartDecision, RestartTrigger } from './restart-policy.ts';
import type { ContainerIdentity, RestartSpec } from './spec.ts';
import type { StopAttribution } from './stop-attribution.ts';

export interface RestartContext {
  record(id: string): ContainerRecord | undefined;
  records(): Iterable<ContainerRecord>;
  /**
   * The container's restart spec; undefined when it is unknown. `fallback` (from an event's
   * attributes) serves a container that dies before its first inspect lands in the inventory.
   */
  restartSpec(id: string, fallback?: ContainerIdentity): RestartSpec | undefined;
  /** The dockhand probe's verdict; null when the container has no dockhand probe. */
  probeStatus(id: string): ProbeStatus | null;
  dockerConnected(): boolean;
}

export interface RestartControllerOptions {
  runner: RestartRunner;
  attribution: StopAttribution;
  context: RestartContext;
  maxConcurrent: number;
  staggerMs: number;
  emit: HealthEventSink;
  metrics?: HealthMetrics;
  /** Unix ms of the host's boot (default: now − os.uptime()). */
  hostBootTime?: number;
  now?: () => number;
  random?: () => number;
  /** Persisted state (health-state-file.ts) from the previous run; null on a first start. */
  persisted?: PersistedHealthState | null;
  /** Called when something worth persisting changed. */
  onDirty?: () => void;
}

export class RestartController {
  #o: RestartControllerOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #entries = new Map<string, RestartEntry>();
  readonly #queue: RestartEntry[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #outage: OutageJudge;
  #stopped = false;

  constructor(options: RestartControllerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#outage = new OutageJudge({
      attribution: options.attribution,
      persisted: options.persisted ?? null,
      hostBootTime: options.hostBootTime ?? Date.now() - uptime() * 1000,
      facts: {
        records: () => options.context.records(),
        record: (id) => options.context.record(id),
        idle: (id) => {
          const entry = this.#entry(id);
          return entry !== undefined && !entry.pending && !entry.inFlight;
        },
        running: () => [...this.#entries.values()].filter((e) => e.running).map((e) => e.id),
      },
    });
  }

  /** Feed every container event, in stream order (before the inventory applies it). */
  onContainerEvent(e: ContainerEvent): void {
    const attr = this.#o.attribution.onContainerEvent(e);
    const id = e.containerId;
    if (e.action === 'destroy') {
      this.#forget(id);
      return;
    }
    const entry = this.#entry(id, { name: e.containerName, image: e.image, labels: e.labels });
    if (!entry) return;
    switch (e.action) {
      case 'die':
        if (!attr.byAgent && attr.exitCause) {
          this.#trigger(entry, { kind: 'exit', at: e.time, exitCode: e.exitCode ?? null, oomKilled: attr.oomKilled ?? false, cause: attr.exitCause }, this.#facts(id, 'exited'));
        }
        entry.history = { ...entry.history, upSince: null };
        entry.running = false;
        this.#o.onDirty?.();
        break;
      case 'stop':
        // A stop event settles a die that looked like a crash (custom StopSignal): undo nothing.
        if (attr.exitCause === 'operator' && entry.pending?.trigger.kind === 'exit') this.#cancel(entry, 'stopped-on-purpose', 'stopped through the Docker API');
        this.#o.onDirty?.();
        break;
      case 'start': {
        entry.running = true;
        if (!attr.byAgent && entry.history.crashLooping) {
          entry.history = { ...entry.history, crashLooping: false, attempt: 0 };
          this.#o.emit('restart.crashloop_cleared', 'info', `${entry.name}: started from outside the agent; crash-loop mark cleared`, this.#details(entry));
        }
        const rec = this.#o.context.record(id);
        const judged = this.#o.context.probeStatus(id) !== null || (rec !== undefined && rec.health !== 'none');
        entry.history = { ...entry.history, upSince: judged ? null : e.time };
        this.#o.onDirty?.();
        break;
      }
      case 'health_status':
        if (e.health === 'unhealthy') {
          entry.history = { ...entry.history, upSince: null };
          this.#trigger(entry, { kind: 'unhealthy', at: e.time, source: 'docker', detail: 'health_status: unhealthy' }, this.#facts(id));
        } else if (e.health === 'healthy' && this.#o.context.probeStatus(id) === null && entry.history.upSince === null) {
          entry.history = { ...entry.history, upSince: e.time };
        }
        break;
      default:
        break;
    }
  }

  /** A dockhand probe changed its verdict. */
  onProbeTransition(id: string, t: ProbeTransition): void {
    const entry = this.#entry(id);
    if (!entry) return;
    if (t.to === 'healthy') {
      entry.history = { ...entry.history, upSince: t.at };
    } else if (t.to === 'unhealthy') {
      entry.history = { ...entry.history, upSince: null };
      this.#trigger(entry, { kind: 'unhealthy', at: t.at, source: 'probe', detail: t.detail }, this.#facts(id));
    }
  }

  /** The Docker event stream was lost at `at` (the daemon may be restarting): see outage-judge.ts. */
  onStreamLost(at: number): void {
    this.#outage.onStreamLost(at);
  }

  survivorsOfLoss(): string[] {
    return this.#outage.survivorsOfLoss();
  }

  stopSuspects(first: boolean): string[] {
    return this.#outage.stopSuspects(first);
  }

  /**
   * Docker is connected and the inventory reconciled: on the first connect after the agent
   * started (`first`), or after the stream was lost. Restarts what an outage took down, one
   * `stagger` apart; `manuallyStopped` is the daemon's own record where it could be read.
   */
  onConnected(first: boolean, manuallyStopped: ReadonlyMap<string, boolean> = new Map()): void {
    const now = this.#now();
    let slot = 0;
    for (const { rec, cause } of this.#outage.victims(first, manuallyStopped)) {
      const entry = this.#entry(rec.id);
      if (!entry) continue;
      const trigger: RestartTrigger = { kind: 'exit', at: now, exitCode: rec.exitCode, oomKilled: rec.oomKilled, cause };
      const staggerMs = cause === 'outage' ? slot++ * this.#o.staggerMs : 0;
      this.#trigger(entry, trigger, this.#facts(rec.id), staggerMs);
    }
  }

  /** Time-based upkeep only (reset_after, window pruning), for seconds in which the inventory did not change. */
  relaxAll(): void {
    const now = this.#now();
    for (const entry of this.#entries.values()) this.#relax(entry, now);
  }

  #relax(entry: RestartEntry, now: number): void {
    const spec = this.#o.context.restartSpec(entry.id) ?? entry.spec;
    const relaxed = relax(entry.history, spec, now);
    if (relaxed === entry.history) return;
    if (entry.history.crashLooping && !relaxed.crashLooping) {
      this.#o.emit('restart.crashloop_cleared', 'info', `${entry.name}: up for ${Math.round(spec.resetAfterMs / 1000)} s; crash-loop mark and backoff reset`, this.#details(entry));
    }
    entry.history = relaxed;
    this.#o.onDirty?.();
  }

  /** Periodic upkeep: follows the inventory, applies reset_after, drops removed containers. */
  sync(connected: boolean): void {
    const now = this.#now();
    const seen = new Set<string>();
    for (const rec of this.#o.context.records()) {
      seen.add(rec.id);
      const entry = this.#entry(rec.id);
      if (!entry) continue;
      entry.name = rec.name;
      if (connected && entry.running !== (rec.state === 'running')) {
        entry.running = rec.state === 'running';
        this.#o.onDirty?.();
      }
      this.#relax(entry, now);
    }
    if (connected) {
      for (const id of this.#entries.keys()) if (!seen.has(id)) this.#forget(id);
    }
  }

  /** The `restart` key of /v1/containers/:id; null when the container has no policy and no history. */
  snapshot(id: string): Record<string, unknown> | null {
    const spec = this.#o.context.restartSpec(id);
    const entry = this.#entries.get(id);
    if (!spec || (spec.policy === 'no' && !entry)) return null;
    return restartSnapshot(entry, spec, this.#now(), this.#o.attribution.stoppedOnPurpose(id));
  }

  crashLooping(): { id: string; name: string; crashLooping: boolean }[] {
    return [...this.#entries.values()].map((e) => ({ id: e.id, name: e.name, crashLooping: e.history.crashLooping }));
  }

  /** What must survive an agent restart (health-state-file.ts). */
  persistable(): Record<string, PersistedContainer> {
    const out: Record<string, PersistedContainer> = {};
    for (const e of this.#entries.values()) out[e.id] = persistedEntry(e, this.#o.attribution.stoppedOnPurpose(e.id));
    return out;
  }

  /** A configuration reload: new bounds on restarts at once and on their spacing. */
  setLimits(maxConcurrent: number, staggerMs: number): void {
    this.#o = { ...this.#o, maxConcurrent, staggerMs };
    this.#pump();
  }

  /** Cancels scheduled restarts and waits for those in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const e of this.#entries.values()) clearTimeout(e.pending?.timer);
    this.#queue.length = 0;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** The entry of a container with a restart policy (created on first sight); undefined otherwise. */
  #entry(id: string, fallback?: ContainerIdentity): RestartEntry | undefined {
    const existing = this.#entries.get(id);
    if (existing) return existing;
    const spec = this.#o.context.restartSpec(id, fallback);
    if (!spec || spec.policy === 'no') return undefined;
    const rec = this.#o.context.record(id);
    // A container judged by a probe or a HEALTHCHECK is "up" only once it is healthy.
    const judged = this.#o.context.probeStatus(id) !== null || (rec !== undefined && rec.health !== 'none' && rec.health !== 'healthy');
    const entry = newRestartEntry({ id, spec, rec, previous: this.#outage.previousRun(id), judged, name: fallback?.name });
    this.#entries.set(id, entry);
    return entry;
  }

  #facts(id: string, state?: ContainerRecord['state']): ContainerFacts {
    return containerFacts(this.#o.context.record(id), state);
  }

  #details(entry: RestartEntry, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { containerId: entry.id, containerName: entry.name, image: this.#o.context.record(entry.id)?.image ?? '', ...extra };
  }

  #trigger(entry: RestartEntry, trigger: RestartTrigger, facts: ContainerFacts, staggerMs = 0): void {
    if (this.#stopped) return;
    const spec = this.#o.context.restartSpec(entry.id) ?? entry.spec;
    if (!spec) return;
    // The run just started by the agent's restart already ended: a crash, decided on once the call has returned (#execute).
    if (trigger.kind === 'exit' && entry.inFlight) {
      entry.exitInFlight = { trigger, facts };
      return;
    }
    // An exit overtakes a pending restart for unhealthiness: decide again on the exit.
    if (trigger.kind === 'exit' && entry.pending?.trigger.kind === 'unhealthy') this.#cancel(entry, 'superseded', 'the container exited');
    const now = this.#now();
    const { decision, history } = decide({ spec, trigger, facts, history: { ...entry.history, pending: entry.pending !== null || entry.inFlight }, now, random: this.#random(), staggerMs });
    entry.history = { ...history, pending: false };
    this.#record(entry, decision, now, trigger);
    if (decision.action === 'restart') {
      const pending: Pending = { trigger, reason: decision.reason, dueAt: now + decision.delayMs, timer: undefined };
      pending.timer = after(decision.delayMs, () => this.#due(entry, pending));
      entry.pending = pending;
    }
    this.#o.onDirty?.();
  }

  #record(entry: RestartEntry, d: RestartDecision, now: number, trigger: RestartTrigger): void {
    if (d.action === 'skip' && d.reason === 'pending') return; // the same trouble reported twice (probe and HEALTHCHECK)
    entry.lastDecision = { at: now, action: d.action, reason: d.reason, message: d.message };
    this.#o.metrics?.decision(d.action, d.reason);
    const details = this.#details(entry, { decision: d.action, reason: d.reason, trigger: trigger.kind, ...(trigger.kind === 'exit' ? { exitCode: trigger.exitCode, cause: trigger.cause } : { source: trigger.source }) });
    if (d.action === 'restart') {
      this.#o.emit('restart.scheduled', 'warn', `${entry.name}: ${d.message}`, { ...details, delayMs: d.delayMs, attempt: d.attempt, restartsInWindow: d.restartsInWindow });
    } else if (d.action === 'crashloop') {
      this.#o.emit('restart.crashloop', 'error', `${entry.name}: ${d.message}`, { ...details, restartsInWindow: d.restartsInWindow });
    } else {
      this.#o.emit('restart.skipped', 'info', `${entry.name}: ${d.message}`, details);
    }
  }

  #cancel(entry: RestartEntry, reason: string, why: string): void {
    if (!entry.pending) return;
    clearTimeout(entry.pending.timer);
    const idx = this.#queue.indexOf(entry);
    if (idx >= 0) this.#queue.splice(idx, 1);
    entry.pending = null;
    entry.lastDecision = { at: this.#now(), action: 'cancel', reason, message: why };
    this.#o.metrics?.decision('cancel', reason);
    this.#o.emit('restart.cancelled', 'info', `${entry.name}: scheduled restart cancelled: ${why}`, this.#details(entry, { reason }));
  }

  #due(entry: RestartEntry, pending: Pending): void {
    if (this.#stopped || entry.pending !== pending) return;
    // Nothing can be restarted while Docker is unreachable; try again once it is back.
    if (!this.#o.context.dockerConnected()) {
      pending.timer = setTimeout(() => this.#due(entry, pending), 1000);
      return;
    }
    pending.timer = undefined;
    this.#queue.push(entry);
    this.#pump();
  }

  #pump(): void {
    while (!this.#stopped && this.#inFlight.size < this.#o.maxConcurrent && this.#queue.length > 0) {
      const entry = this.#queue.shift() as RestartEntry;
      const run: Promise<void> = this.#execute(entry)
        .catch((err: unknown) => {
          // the executor never throws; a bug here must cost one restart, not the agent
          entry.inFlight = false;
          entry.pending = null;
          this.#o.emit('restart.failed', 'error', `${entry.name}: restart failed: ${err instanceof Error ? err.message : String(err)}`, this.#details(entry));
        })
        .finally(() => {
          this.#inFlight.delete(run);
          this.#pump();
        });
      this.#inFlight.add(run);
    }
  }

  async #execute(entry: RestartEntry): Promise<void> {
    const pending = entry.pending;
    const spec = this.#o.context.restartSpec(entry.id) ?? entry.spec;
    if (!pending) return;
    const rec = this.#o.context.record(entry.id);
    const facts = rec ? this.#facts(entry.id) : undefined;
    const why = recheck(pending.trigger, facts, { probe: this.#o.context.probeStatus(entry.id), docker: rec?.health ?? 'none' }, this.#o.attribution.stoppedOnPurpose(entry.id));
    if (why !== null) {
      this.#cancel(entry, why, describeRecheck(why));
      return;
    }
    entry.pending = null;
    entry.inFlight = true;
    this.#o.attribution.agentActionStarted(entry.id);
    let outcome: RestartOutcome;
    try {
      outcome = await this.#o.runner.restart(entry.id, spec.stopTimeoutMs);
    } finally {
      entry.inFlight = false;
      this.#o.attribution.agentActionFinished(entry.id, this.#now());
    }
    const now = this.#now();
    entry.history = { ...entry.history, restarts: [...entry.history.restarts, now] };
    entry.total++;
    entry.lastOutcome = { at: now, ok: outcome.ok, method: outcome.method, durationMs: Math.round(outcome.durationMs), ...(outcome.error ? { error: outcome.error } : {}) };
    const details = this.#details(entry, { reason: pending.reason, method: outcome.method, durationMs: Math.round(outcome.durationMs), ...(outcome.error ? { error: outcome.error } : {}) });
    this.#o.onDirty?.();
    const exited = entry.exitInFlight;
    entry.exitInFlight = null;
    if (outcome.ok) {
      this.#o.metrics?.restarted(pending.reason);
      this.#o.emit('restart.done', 'warn', `${entry.name}: restarted by the agent (${pending.reason}, ${outcome.method})`, details);
      if (exited && !entry.running) this.#trigger(entry, exited.trigger, exited.facts);
      return;
    }
    this.#o.metrics?.restartFailed();
    this.#o.emit('restart.failed', 'error', `${entry.name}: restart failed: ${outcome.error ?? 'unknown error'}`, details);
    if (outcome.gone || this.#stopped) return;
    // Try again later under the same rules (backoff, max_restarts): a failed attempt counts.
    this.#trigger(entry, pending.trigger, { ...this.#facts(entry.id), state: pending.trigger.kind === 'unhealthy' ? 'running' : 'exited' });
  }

  #forget(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    clearTimeout(entry.pending?.timer);
    const idx = this.#queue.indexOf(entry);
    if (idx >= 0) this.#queue.splice(idx, 1);
    this.#entries.delete(id);
    this.#o.onDirty?.();
  }
}
