/**
 * The dockhand probes of the host's containers: one entry per container whose spec has a probe,
 * following its runs (a new run starts a new verdict with its own grace period), resolving its
 * target (again whenever the record changes: ports and IPs arrive with the inspect after a
 * start), scheduling it, and turning results into verdicts (ProbeState). A transition is
 * reported (event with its evidence) and handed to `onTransition` (the restart policy).
 */
import type { ContainerRecord } from '../docker/types.ts';
import type { HealthConfigProblems } from './config-problems.ts';
import type { HealthMetrics } from './health-metrics.ts';
import { ProbeState } from './probe-state.ts';
import type { ProbeStatus, ProbeTransition } from './probe-state.ts';
import { HttpClients, createProbe } from './probes.ts';
import type { Probe, ProbeResult } from './probes.ts';
import type { EventLevel, HealthEventSink } from './health-events.ts';
import type { ProbeScheduler, SchedulerStats } from './scheduler.ts';
import type { ProbeSpec } from './spec.ts';
import { formatTarget, resolveTarget } from './target.ts';
import type { ProbeTarget } from './target.ts';

interface ProbeEntry {
  id: string;
  name: string;
  image: string;
  spec: ProbeSpec;
  probe: Probe;
  gen: number;
  target: ProbeTarget | null;
  targetError: string | null;
  /** Inventory record version the target was resolved from. */
  resolvedAt: number;
  /** startedAt of the run `state` belongs to. */
  run: string | null;
  state: ProbeState | null;
  running: boolean;
  last: (Omit<ProbeResult, 'latencyMs'> & { at: number; latencyMs: number }) | null;
}

export interface ContainerProbesOptions {
  scheduler: ProbeScheduler;
  metrics: HealthMetrics;
  problems: HealthConfigProblems;
  emit: HealthEventSink;
  /** A container by id or name, for `container:<other>` network modes. */
  find(ref: string): ContainerRecord | undefined;
  onTransition(id: string, t: ProbeTransition): void;
}

export class ContainerProbes {
  readonly #o: ContainerProbesOptions;
  readonly #entries = new Map<string, ProbeEntry>();
  readonly #clients = new HttpClients();
  #gen = 0;

  constructor(options: ContainerProbesOptions) {
    this.#o = options;
  }

  ids(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** The verdict of the container's probe; null when it has no dockhand probe. */
  status(id: string): ProbeStatus | null {
    const e = this.#entries.get(id);
    return e ? (e.state?.status ?? 'starting') : null;
  }

  /** Follows the container's record: (re)creates, re-targets, schedules or parks its probe. */
  sync(rec: ContainerRecord, spec: ProbeSpec | null): void {
    let e = this.#entries.get(rec.id);
    if (!spec) {
      if (e) this.drop(rec.id);
      return;
    }
    if (!e || e.spec !== spec) {
      if (e) this.#o.scheduler.remove(rec.id);
      e = { id: rec.id, name: rec.name, image: rec.image, spec, probe: createProbe(spec, this.#clients), gen: ++this.#gen, target: null, targetError: null, resolvedAt: -1, run: null, state: null, running: false, last: null };
      this.#entries.set(rec.id, e);
    }
    e.name = rec.name;
    e.running = rec.state === 'running' && rec.pid > 0;
    if (!e.running) {
      this.#o.scheduler.remove(rec.id);
      return;
    }
    const run = rec.startedAt ?? '';
    if (e.run !== run) {
      const started = rec.startedAt ? Date.parse(rec.startedAt) : Date.now();
      e.state = new ProbeState({ healthyThreshold: e.spec.healthyThreshold, unhealthyThreshold: e.spec.unhealthyThreshold, graceMs: e.spec.graceMs }, started);
      e.run = run;
      e.last = null;
    }
    // Re-resolve when the record changed (ports and IPs arrive with the inspect after a start);
    // `container:<id>` networking depends on another record, so it is re-resolved every time.
    if (e.resolvedAt !== rec.updatedAt || rec.networkMode.startsWith('container:')) {
      e.resolvedAt = rec.updatedAt;
      const r = resolveTarget(rec, e.spec.port, (ref) => this.#o.find(ref));
      this.#o.problems.update(rec, 'target', [r.ok ? null : r.error]);
      if (!r.ok) {
        e.target = null;
        e.targetError = r.error;
        this.#o.scheduler.remove(rec.id);
        return;
      }
      e.targetError = null;
      if (!e.target || e.target.host !== r.target.host || e.target.port !== r.target.port) {
        e.target = r.target;
        this.#o.scheduler.remove(rec.id);
      }
    }
    if (e.target && !this.#o.scheduler.has(rec.id)) {
      const id = rec.id;
      const gen = e.gen;
      this.#o.scheduler.add(id, e.spec.intervalMs, (signal) => this.#run(id, gen, signal));
    }
  }

  drop(id: string): void {
    this.#o.scheduler.remove(id);
    this.#entries.delete(id);
  }

  async #run(id: string, gen: number, signal: AbortSignal): Promise<void> {
    const e = this.#entries.get(id);
    const state = e?.state;
    const target = e?.target;
    if (!e || e.gen !== gen || !state || !target) return;
    const result = await e.probe.check(target, signal);
    // Stopped, replaced, or a new run began while this probe was out: its answer is moot.
    if (signal.aborted || this.#entries.get(id) !== e || e.state !== state) return;
    const at = Date.now();
    this.#o.metrics.probe(e.spec.type, result.latencyMs / 1000);
    if (!result.ok) this.#o.metrics.probeFailure(id, e.name, e.spec.type, result.failure ?? 'error');
    e.last = { ...result, at, latencyMs: Math.round(result.latencyMs * 100) / 100 };
    const t = state.observe(result, at);
    if (t) this.#transition(e, t, state);
  }

  #transition(e: ProbeEntry, t: ProbeTransition, state: ProbeState): void {
    const level: EventLevel = t.to === 'unhealthy' ? 'warn' : 'info';
    this.#o.emit(`probe.${t.to}`, level, `${e.name}: ${e.spec.type} probe ${t.from} → ${t.to} after ${t.consecutive} consecutive ${t.to === 'healthy' ? 'success(es)' : 'failure(s)'} (${t.detail})`, {
      containerId: e.id,
      containerName: e.name,
      image: e.image,
      type: e.spec.type,
      target: e.target ? formatTarget(e.target) : null,
      from: t.from,
      to: t.to,
      consecutive: t.consecutive,
      detail: t.detail,
      // the results that made the verdict, so the event alone explains it
      evidence: state.recent(t.consecutive).map((o) => ({ at: new Date(o.at).toISOString(), ok: o.ok, latencyMs: o.latencyMs, detail: o.detail, counted: o.counted })),
    });
    this.#o.onTransition(e.id, t);
  }

  /** One row per probe, for the `dockhand_probe_up` gauge. */
  *rows(): Iterable<{ id: string; name: string; type: string; healthy: boolean }> {
    for (const e of this.#entries.values()) yield { id: e.id, name: e.name, type: e.spec.type, healthy: e.running && e.state?.status === 'healthy' };
  }

  /** The `probe` key of a container's details; null when it has no probe and no probe problem. */
  details(rec: ContainerRecord): Record<string, unknown> | null {
    const e = this.#entries.get(rec.id);
    const errors = this.#o.problems.of(rec.id).map((p) => p.error);
    if (!e && errors.length === 0) return null;
    const now = Date.now();
    let status: string;
    if (!e || e.targetError !== null) status = errors.length > 0 ? 'error' : 'stopped';
    else status = e.running && e.state ? e.state.status : 'stopped';
    return {
      // the verdict's counters first: `status` below is the container-level answer
      ...(e?.running && e.target && e.state ? e.state.snapshot(now) : {}),
      containerId: rec.id,
      containerName: rec.name,
      image: rec.image,
      containerState: rec.state,
      status,
      error: errors.length > 0 ? errors.join('; ') : null,
      type: e?.spec.type ?? null,
      target: e?.target ? formatTarget(e.target) : null,
      via: e?.target?.via ?? null,
      spec: e ? describeSpec(e.spec) : null,
      last: e?.last ? { ...e.last, at: new Date(e.last.at).toISOString() } : null,
    };
  }

  stats(): SchedulerStats {
    return this.#o.scheduler.stats();
  }

  setMaxConcurrent(maxConcurrent: number): void {
    this.#o.scheduler.setMaxConcurrent(maxConcurrent);
  }

  async stop(): Promise<void> {
    await this.#o.scheduler.stop();
    await this.#clients.close();
  }
}

function describeSpec(s: ProbeSpec): Record<string, unknown> {
  const base = { port: s.port, intervalMs: s.intervalMs, timeoutMs: s.timeoutMs, graceMs: s.graceMs, healthyThreshold: s.healthyThreshold, unhealthyThreshold: s.unhealthyThreshold };
  if (s.type === 'tcp') return base;
  return { ...base, method: s.method, path: s.path, expect: s.expectText, hostHeader: s.hostHeader, tls: s.tls, tlsVerify: s.tlsVerify };
}
