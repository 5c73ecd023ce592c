/**
 * The health capability: follows the inventory, works out each container's probe and restart
 * spec (labels + rules), resolves probe targets, feeds the scheduler, turns results into
 * verdicts (ProbeState) and verdicts and container events into restart decisions
 * (RestartController). Everything it does is visible: events in /v1/events (and the log
 * pipeline), metrics, `/v1/probes`, and `probe`/`restart` in /v1/containers.
 *
 * It follows the inventory by a scan (once a second, and soon after each container event) rather
 * than hooks: the inventory is a plain map whose `version` moves with every change, so a second
 * in which nothing changed costs one comparison (plus the restart upkeep of containers that have
 * a policy).
 */
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage } from '../core/errors.ts';
import type { RecentEvents } from '../core/recent-events.ts';
import { AtomicStateFile } from '../core/state-file.ts';
import type { StateFileMetrics, StateFileStatus } from '../core/state-file.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { ContainerRecord, RecordedEvent } from '../docker/types.ts';
import { readStopRecord } from '../docker/stop-record.ts';
import type { DockerConnectionState } from '../docker/watcher.ts';
import { loadHealthState, saveHealthState } from './health-state-file.ts';
import { HealthMetrics } from './health-metrics.ts';
import { ProbeState } from './probe-state.ts';
import type { ProbeStatus, ProbeTransition } from './probe-state.ts';
import { HttpProber, tcpCheck } from './probes.ts';
import type { ProbeResult } from './probes.ts';
import { RestartController } from './restart-controller.ts';
import type { EventLevel, HealthEventSink } from './restart-controller.ts';
import { RestartExecutor } from './restart-executor.ts';
import { ProbeScheduler } from './scheduler.ts';
import type { SchedulerStats } from './scheduler.ts';
import { HealthSpecResolver } from './spec.ts';
import type { ContainerIdentity, HealthConfig, HealthSpec, ProbeSpec, RestartSpec } from './spec.ts';
import { StopAttribution } from './stop-attribution.ts';
import { formatTarget, resolveTarget } from './target.ts';
import type { ProbeTarget } from './target.ts';

export interface HealthMonitorOptions {
  config: HealthConfig;
  stateDir: string;
  inventory: ContainerInventory;
  events: RecentEvents;
  docker: Docker;
  dockerState: () => DockerConnectionState;
  /** Bound on one Docker call (beyond a restart's stop timeout). */
  callTimeoutMs: number;
  logger: Logger;
  registry: Registry;
  syncIntervalMs?: number;
  /** Unix ms of the host's boot; injected by tests. */
  hostBootTime?: number;
  /** The daemon's data root (`docker info` DockerRootDir), for its record of manual stops. */
  dockerRootDir?: () => string | undefined;
  stateMetrics?: StateFileMetrics;
}

interface CachedSpec {
  labels: Readonly<Record<string, string>>;
  name: string;
  image: string;
  spec: HealthSpec;
}

interface ProbeEntry {
  id: string;
  name: string;
  image: string;
  spec: ProbeSpec;
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

export const STATE_FILE = 'health.json';

export class HealthMonitor {
  readonly #o: HealthMonitorOptions;
  readonly #resolver: HealthSpecResolver;
  readonly #specs = new Map<string, CachedSpec>();
  readonly #probes = new Map<string, ProbeEntry>();
  readonly #reported = new Map<string, Set<string>>();
  readonly #attribution = new StopAttribution();
  readonly #http = new HttpProber();
  readonly #scheduler: ProbeScheduler;
  readonly #metrics: HealthMetrics;
  readonly #stateFile: AtomicStateFile;
  #controller: RestartController | undefined;
  #unsubscribe: (() => void) | undefined;
  #tick: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #save: NodeJS.Timeout | undefined;
  #saving: Promise<void> = Promise.resolve();
  #everConnected = false;
  #seenVersion = -1;
  #seenConnected = false;
  #gen = 0;
  #stopped = false;

  constructor(options: HealthMonitorOptions) {
    this.#o = options;
    this.#resolver = new HealthSpecResolver(options.config);
    this.#stateFile = new AtomicStateFile({
      path: join(options.stateDir, STATE_FILE),
      logger: options.logger,
      ...(options.stateMetrics ? { metrics: options.stateMetrics } : {}),
    });
    this.#metrics = new HealthMetrics(options.registry, {
      probes: () => this.#probeRows(),
      restartable: () => this.#controller?.crashLooping() ?? [],
      configErrors: () => [...this.#reported.values()].filter((s) => s.size > 0).length,
    });
    this.#scheduler = new ProbeScheduler({ maxConcurrent: options.config.max_concurrent_probes, onDelay: (ms) => this.#metrics.scheduleDelay(ms) });
  }

  async start(): Promise<void> {
    const loaded = await loadHealthState(this.#stateFile.path);
    if (loaded.problem) this.#o.logger.warn({ file: this.#stateFile.path, err: loaded.problem }, 'health state file ignored; acting as on a first start');
    const config = this.#o.config;
    this.#controller = new RestartController({
      runner: new RestartExecutor({ docker: this.#o.docker, callTimeoutMs: this.#o.callTimeoutMs }),
      attribution: this.#attribution,
      context: {
        record: (id) => (id === this.#o.inventory.selfId ? undefined : this.#o.inventory.byId(id)),
        records: () => this.#records(),
        restartSpec: (id, fallback) => this.#restartSpec(id, fallback),
        probeStatus: (id) => this.#probeStatus(id),
        dockerConnected: () => this.#o.dockerState() === 'connected',
      },
      maxConcurrent: config.restart.max_concurrent,
      staggerMs: config.restart.stagger,
      emit: this.#emit,
      metrics: this.#metrics,
      persisted: loaded.state,
      onDirty: () => this.#markDirty(),
      ...(this.#o.hostBootTime === undefined ? {} : { hostBootTime: this.#o.hostBootTime }),
    });
    this.#unsubscribe = this.#o.events.subscribe((e) => this.#onEvent(e));
    this.#tick = setInterval(() => this.#sync(), this.#o.syncIntervalMs ?? 1000);
    this.#sync();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    clearInterval(this.#tick);
    clearTimeout(this.#soon);
    await this.#scheduler.stop();
    await this.#controller?.stop();
    await this.#http.close();
    clearTimeout(this.#save);
    await this.#saving;
    if (this.#controller && this.#everConnected) await this.#persist();
  }

  /** Scheduler figures (targets, in flight, worst skew) for /v1/probes and the benchmark. */
  schedulerStats(): SchedulerStats {
    return this.#scheduler.stats();
  }

  // --- following the inventory ------------------------------------------------------------

  /** The inventory minus the agent's own container: it never probes or restarts itself. */
  *#records(): Iterable<ContainerRecord> {
    const self = this.#o.inventory.selfId;
    for (const id of this.#o.inventory.ids()) {
      const r = id === self ? undefined : this.#o.inventory.byId(id);
      if (r) yield r;
    }
  }

  /**
   * The container's spec, resolved once per distinct labels/name/image. Every inspect brings a
   * new labels object with the same content (a reconnect re-inspects everything): the spec, and
   * with it the probe's verdict so far, must survive that.
   */
  #spec(rec: ContainerIdentity & { id: string }): HealthSpec {
    const cached = this.#specs.get(rec.id);
    if (cached && cached.name === rec.name && cached.image === rec.image) {
      if (cached.labels === rec.labels) return cached.spec;
      if (sameLabels(cached.labels, rec.labels)) {
        cached.labels = rec.labels;
        return cached.spec;
      }
    }
    const spec = this.#resolver.resolve(rec);
    this.#specs.set(rec.id, { labels: rec.labels, name: rec.name, image: rec.image, spec });
    return spec;
  }

  #restartSpec(id: string, fallback?: ContainerIdentity): RestartSpec | undefined {
    if (id === this.#o.inventory.selfId) return undefined;
    const rec = this.#o.inventory.byId(id);
    if (rec) return this.#spec(rec).restart;
    return fallback ? this.#resolver.resolve(fallback).restart : undefined;
  }

  #probeStatus(id: string): ProbeStatus | null {
    const e = this.#probes.get(id);
    return e ? (e.state?.status ?? 'starting') : null;
  }

  #sync(): void {
    if (this.#stopped) return;
    clearTimeout(this.#soon);
    this.#soon = undefined;
    try {
      const connected = this.#o.dockerState() === 'connected';
      const controller = this.#controller as RestartController;
      // Nothing moved in the inventory: only the time-based upkeep (reset_after) is due.
      const version = this.#o.inventory.version;
      if (version === this.#seenVersion && connected === this.#seenConnected) {
        controller.relaxAll();
        return;
      }
      this.#seenVersion = version;
      this.#seenConnected = connected;
      const seen = new Set<string>();
      for (const rec of this.#records()) {
        seen.add(rec.id);
        const spec = this.#spec(rec);
        this.#reportConfigErrors(rec, 'labels', [spec.probeError, spec.restartError]);
        this.#syncProbe(rec, spec);
      }
      if (connected) {
        for (const id of this.#probes.keys()) if (!seen.has(id)) this.#dropProbe(id);
        for (const id of this.#specs.keys()) {
          if (seen.has(id)) continue;
          this.#specs.delete(id);
          this.#reported.delete(id);
          this.#metrics.forget(id);
          this.#attribution.forget(id); // removed while the stream was down: no destroy event
        }
      }
      if (connected && !this.#everConnected) {
        this.#everConnected = true;
        void this.#judgeStops(true);
        this.#markDirty(); // savedAt must postdate this boot (reboot detection)
      }
      controller.sync(connected);
    } catch (err) {
      this.#o.logger.error({ err: errorMessage(err) }, 'health sync failed');
    }
  }

  /** Shortly after a container event: the watcher's inspect has usually landed by then. */
  #syncSoon(): void {
    this.#soon ??= setTimeout(() => this.#sync(), 100);
  }

  #syncProbe(rec: ContainerRecord, spec: HealthSpec): void {
    let e = this.#probes.get(rec.id);
    if (!spec.probe) {
      if (e) this.#dropProbe(rec.id);
      return;
    }
    if (!e || e.spec !== spec.probe) {
      if (e) this.#scheduler.remove(rec.id);
      e = { id: rec.id, name: rec.name, image: rec.image, spec: spec.probe, gen: ++this.#gen, target: null, targetError: null, resolvedAt: -1, run: null, state: null, running: false, last: null };
      this.#probes.set(rec.id, e);
    }
    e.name = rec.name;
    e.running = rec.state === 'running' && rec.pid > 0;
    if (!e.running) {
      this.#scheduler.remove(rec.id);
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
      const r = resolveTarget(rec, e.spec.port, (ref) => {
        try {
          return this.#o.inventory.find(ref);
        } catch {
          return undefined;
        }
      });
      if (!r.ok) {
        e.target = null;
        e.targetError = r.error;
        this.#scheduler.remove(rec.id);
        this.#reportConfigErrors(rec, 'target', [r.error]);
        return;
      }
      e.targetError = null;
      this.#reportConfigErrors(rec, 'target', []);
      if (!e.target || e.target.host !== r.target.host || e.target.port !== r.target.port) {
        e.target = r.target;
        this.#scheduler.remove(rec.id);
      }
    }
    if (e.target && !this.#scheduler.has(rec.id)) {
      const id = rec.id;
      const gen = e.gen;
      this.#scheduler.add(id, e.spec.intervalMs, (signal) => this.#runProbe(id, gen, signal));
    }
  }

  #dropProbe(id: string): void {
    this.#scheduler.remove(id);
    this.#probes.delete(id);
  }

  // --- probing ----------------------------------------------------------------------------

  async #runProbe(id: string, gen: number, signal: AbortSignal): Promise<void> {
    const e = this.#probes.get(id);
    const state = e?.state;
    const target = e?.target;
    if (!e || e.gen !== gen || !state || !target) return;
    const spec = e.spec;
    const result = spec.type === 'tcp' ? await tcpCheck(target, spec.timeoutMs, signal) : await this.#http.check(target, spec, spec.timeoutMs, signal);
    // Stopped, replaced, or a new run began while this probe was out: its answer is moot.
    if (signal.aborted || this.#probes.get(id) !== e || e.state !== state) return;
    const at = Date.now();
    this.#metrics.probe(spec.type, result.latencyMs / 1000);
    if (!result.ok) this.#metrics.probeFailure(id, e.name, spec.type, result.failure ?? 'error');
    e.last = { ...result, at, latencyMs: Math.round(result.latencyMs * 100) / 100 };
    const t = state.observe(result, at);
    if (t) this.#onTransition(e, t, state);
  }

  #onTransition(e: ProbeEntry, t: ProbeTransition, state: ProbeState): void {
    const level: EventLevel = t.to === 'unhealthy' ? 'warn' : 'info';
    this.#emit(`probe.${t.to}`, level, `${e.name}: ${e.spec.type} probe ${t.from} → ${t.to} after ${t.consecutive} consecutive ${t.to === 'healthy' ? 'success(es)' : 'failure(s)'} (${t.detail})`, {
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
    this.#controller?.onProbeTransition(e.id, t);
  }

  // --- events in and out ------------------------------------------------------------------

  #onEvent(e: RecordedEvent): void {
    // Runs inside RecentEvents.record() (the watcher's event path): never throw from here.
    try {
      if (e.kind === 'container') {
        this.#controller?.onContainerEvent(e);
        this.#syncSoon();
      } else if (e.action === 'docker.disconnected') {
        this.#controller?.onStreamLost(e.time);
      } else if (e.action === 'docker.reconnected') {
        this.#sync();
        void this.#judgeStops(false);
      }
    } catch (err) {
      this.#o.logger.error({ err: errorMessage(err), event: e.seq }, 'health: handling an event failed');
    }
  }

  /**
   * (Re)connected: asks the daemon's own record how each suspect's run ended (a stop through the
   * API, or its shutdown / a crash), then lets the controller restart what an outage took down.
   * Without the record (not readable here) the controller goes by the event timing.
   */
  async #judgeStops(first: boolean): Promise<void> {
    const controller = this.#controller;
    if (!controller) return;
    const suspects = controller.stopSuspects(first);
    const manuallyStopped = new Map<string, boolean>();
    let unavailable = this.#o.config.restart.daemon_record ? '' : 'turned off (health.restart.daemon_record: false)';
    const root = this.#o.dockerRootDir?.() ?? '';
    try {
      for (const id of unavailable ? [] : suspects) {
        const r = await readStopRecord(root, id);
        if ('manuallyStopped' in r) manuallyStopped.set(id, r.manuallyStopped);
        else unavailable ||= r.unavailable;
      }
    } catch (err) {
      unavailable ||= errorMessage(err);
    }
    if (this.#stopped) return;
    try {
      if (suspects.length > 0) {
        const name = (id: string): string => this.#o.inventory.byId(id)?.name ?? id.slice(0, 12);
        const onPurpose = [...manuallyStopped].filter(([, v]) => v).map(([id]) => name(id)).sort();
        const notOnPurpose = [...manuallyStopped].filter(([, v]) => !v).map(([id]) => name(id)).sort();
        const survivors = first ? [] : controller.survivorsOfLoss().map(name).sort();
        const source = !unavailable ? 'daemon-record' : manuallyStopped.size === 0 ? 'event-timing' : 'mixed';
        const when = first ? 'agent start' : 'Docker reconnect';
        let message = !unavailable
          ? `${when}: the daemon's record says ${onPurpose.length} of ${suspects.length} stopped container(s) were stopped through its API`
          : `${when}: ${suspects.length - manuallyStopped.size} of ${suspects.length} stopped container(s) judged by event timing; the daemon's record of manual stops is not readable (${unavailable})`;
        if (survivors.length > 0) message += `; ${survivors.length} container(s) ran through the loss, so no daemon shutdown stopped anything (a dropped connection, or live-restore)`;
        this.#emit('restart.stops_judged', 'info', message, {
          first,
          source,
          stoppedOnPurpose: onPurpose,
          notStoppedOnPurpose: notOnPurpose,
          ...(survivors.length > 0 ? { survivedTheLoss: survivors } : {}),
          ...(unavailable ? { unavailable } : {}),
        });
      }
      controller.onConnected(first, manuallyStopped);
    } catch (err) {
      this.#o.logger.error({ err: errorMessage(err) }, 'health: judging stopped containers failed');
    }
  }

  readonly #emit: HealthEventSink = (action, level, message, details) => {
    this.#o.logger[level]({ event: action, ...details }, message);
    this.#o.events.record({ kind: 'agent', time: Date.now(), action, level, message, details });
  };

  /** Logs and records each distinct configuration problem of a container once. */
  #reportConfigErrors(rec: ContainerRecord, scope: 'labels' | 'target', problems: (string | null)[]): void {
    let reported = this.#reported.get(rec.id);
    const current = problems.filter((p): p is string => p !== null).map((p) => `${scope}: ${p}`);
    if (!reported) {
      if (current.length === 0) return;
      this.#reported.set(rec.id, (reported = new Set()));
    }
    for (const old of [...reported]) if (old.startsWith(`${scope}: `) && !current.includes(old)) reported.delete(old);
    for (const p of current) {
      if (reported.has(p)) continue;
      reported.add(p);
      this.#emit('probe.config_error', 'warn', `${rec.name}: health configuration not applied: ${p.slice(scope.length + 2)}`, {
        containerId: rec.id,
        containerName: rec.name,
        image: rec.image,
        scope,
        error: p.slice(scope.length + 2),
      });
    }
  }

  // --- persistence ------------------------------------------------------------------------

  #markDirty(): void {
    if (this.#stopped || this.#save) return;
    this.#save = setTimeout(() => {
      this.#save = undefined;
      this.#saving = this.#saving.then(() => this.#persist());
    }, 1000);
  }

  async #persist(): Promise<void> {
    if (!this.#controller) return;
    const saved = await saveHealthState(this.#stateFile, { version: 1, savedAt: Date.now(), containers: this.#controller.persistable() });
    // Counted and logged by the state file; try again in a second rather than at the next change.
    if (!saved) this.#markDirty();
  }

  /** The health state file's write state (a full disk shows here). */
  stateFileStatus(): StateFileStatus {
    return this.#stateFile.status();
  }

  // --- what the API shows -----------------------------------------------------------------

  *#probeRows(): Iterable<{ id: string; name: string; type: string; healthy: boolean }> {
    for (const e of this.#probes.values()) yield { id: e.id, name: e.name, type: e.spec.type, healthy: e.running && e.state?.status === 'healthy' };
  }

  /** The `probe` key of a container's details; null when it has no probe and no probe problem. */
  probeDetails(rec: ContainerRecord): Record<string, unknown> | null {
    const e = this.#probes.get(rec.id);
    const errors = [...(this.#reported.get(rec.id) ?? [])].map((p) => p.slice(p.indexOf(': ') + 2));
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

  restartDetails(rec: ContainerRecord): Record<string, unknown> | null {
    return this.#controller?.snapshot(rec.id) ?? null;
  }

  /** `/v1/probes`: every container with a probe or a probe problem, by name. */
  probesDocument(statusFilter: string | null): Record<string, unknown> {
    const probes: Record<string, unknown>[] = [];
    const recs = [...this.#records()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const rec of recs) {
      const p = this.probeDetails(rec);
      if (!p || (statusFilter !== null && p.status !== statusFilter)) continue;
      probes.push({ ...p, restart: this.restartDetails(rec) });
    }
    return { probes, scheduler: this.#scheduler.stats() };
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

function describeSpec(s: ProbeSpec): Record<string, unknown> {
  const base = { port: s.port, intervalMs: s.intervalMs, timeoutMs: s.timeoutMs, graceMs: s.graceMs, healthyThreshold: s.healthyThreshold, unhealthyThreshold: s.unhealthyThreshold };
  if (s.type === 'tcp') return base;
  return { ...base, method: s.method, path: s.path, expect: s.expectText, hostHeader: s.hostHeader, tls: s.tls, tlsVerify: s.tlsVerify };
}
