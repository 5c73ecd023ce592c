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
import type { RecentEvents } from '../docker/recent-events.ts';
import { AtomicStateFile } from '../core/state-file.ts';
import type { StateFileMetrics, StateFileStatus } from '../core/state-file.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { ContainerRecord, RecordedEvent } from '../docker/types.ts';
import { readStopRecord } from '../docker/stop-record.ts';
import type { DockerConnectionState } from '../docker/watcher.ts';
import { loadHealthState, saveHealthState } from './health-state-file.ts';
import { HealthConfigProblems } from './config-problems.ts';
import { ContainerProbes } from './container-probes.ts';
import { HealthMetrics } from './health-metrics.ts';
import { judgeStops } from './outage-judge.ts';
import { RestartController } from './restart-controller.ts';
import type { HealthEventSink } from './health-events.ts';
import { RestartExecutor } from './restart-executor.ts';
import { ProbeScheduler } from './scheduler.ts';
import type { SchedulerStats } from './scheduler.ts';
import { HealthSpecResolver } from './spec.ts';
import type { ContainerIdentity, HealthConfig, HealthSpec, RestartSpec } from './spec.ts';
import { StopAttribution } from './stop-attribution.ts';
import { repeat } from '../core/timers.ts';

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
  /** Resolved under an earlier configuration (before a reload): resolve again. */
  stale?: boolean;
}

export const STATE_FILE = 'health.json';

export class HealthMonitor {
  #o: HealthMonitorOptions;
  #resolver: HealthSpecResolver;
  readonly #specs = new Map<string, CachedSpec>();
  readonly #probes: ContainerProbes;
  readonly #problems: HealthConfigProblems;
  readonly #attribution = new StopAttribution();
  readonly #metrics: HealthMetrics;
  readonly #stateFile: AtomicStateFile;
  #controller: RestartController | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopTicks: (() => void) | undefined;
  #soon: NodeJS.Timeout | undefined;
  #save: NodeJS.Timeout | undefined;
  #saving: Promise<void> = Promise.resolve();
  #everConnected = false;
  #seenVersion = -1;
  #seenConnected = false;
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
      probes: () => this.#probes.rows(),
      restartable: () => this.#controller?.crashLooping() ?? [],
      configErrors: () => this.#problems.containers,
    });
    this.#problems = new HealthConfigProblems((rec, p) => {
      this.#emit('probe.config_error', 'warn', `${rec.name}: health configuration not applied: ${p.error}`, {
        containerId: rec.id,
        containerName: rec.name,
        image: rec.image,
        scope: p.scope,
        error: p.error,
      });
    });
    this.#probes = new ContainerProbes({
      scheduler: new ProbeScheduler({ maxConcurrent: options.config.max_concurrent_probes, onDelay: (ms) => this.#metrics.scheduleDelay(ms) }),
      metrics: this.#metrics,
      problems: this.#problems,
      emit: this.#emit,
      find: (ref) => {
        try {
          return this.#o.inventory.find(ref);
        } catch {
          return undefined; // an ambiguous reference resolves to nothing
        }
      },
      onTransition: (id, t) => this.#controller?.onProbeTransition(id, t),
    });
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
        probeStatus: (id) => this.#probes.status(id),
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
    this.#stopTicks = repeat(this.#o.syncIntervalMs ?? 1000, () => this.#sync());
    this.#sync();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#stopTicks?.();
    clearTimeout(this.#soon);
    await this.#probes.stop();
    await this.#controller?.stop();
    clearTimeout(this.#save);
    await this.#saving;
    if (this.#controller && this.#everConnected) await this.#persist();
  }

  /** Scheduler figures (targets, in flight, worst skew) for /v1/probes and the benchmark. */
  schedulerStats(): SchedulerStats {
    return this.#probes.stats();
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
    if (cached?.stale) return this.#reresolve(rec, cached);
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

  /** After a reload: the new spec, keeping the old probe spec object (and so its verdict) where the probe did not change. */
  #reresolve(rec: ContainerIdentity & { id: string }, cached: CachedSpec): HealthSpec {
    const resolved = this.#resolver.resolve(rec);
    const sameProbe = JSON.stringify(resolved.probe) === JSON.stringify(cached.spec.probe);
    const spec = sameProbe ? { ...resolved, probe: cached.spec.probe } : resolved;
    this.#specs.set(rec.id, { labels: rec.labels, name: rec.name, image: rec.image, spec });
    return spec;
  }

  /**
   * A configuration reload: probe defaults, rules, restart policies and the concurrency bounds
   * apply at the next sync (now); a container whose probe settings did not change keeps its
   * verdict so far.
   */
  reconfigure(next: HealthConfig): void {
    this.#o = { ...this.#o, config: next };
    this.#resolver = new HealthSpecResolver(next);
    for (const cached of this.#specs.values()) cached.stale = true;
    this.#probes.setMaxConcurrent(next.max_concurrent_probes);
    this.#controller?.setLimits(next.restart.max_concurrent, next.restart.stagger);
    this.#seenVersion = -1;
    this.#sync();
  }

  #restartSpec(id: string, fallback?: ContainerIdentity): RestartSpec | undefined {
    if (id === this.#o.inventory.selfId) return undefined;
    const rec = this.#o.inventory.byId(id);
    if (rec) return this.#spec(rec).restart;
    return fallback ? this.#resolver.resolve(fallback).restart : undefined;
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
        this.#problems.update(rec, 'labels', [spec.probeError, spec.restartError]);
        this.#probes.sync(rec, spec.probe);
      }
      if (connected) {
        for (const id of [...this.#probes.ids()]) if (!seen.has(id)) this.#probes.drop(id);
        for (const id of this.#specs.keys()) {
          if (seen.has(id)) continue;
          this.#specs.delete(id);
          this.#problems.forget(id);
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
   * (Re)connected: asks the daemon's own record how each suspect's run ended (outage-judge.ts),
   * then lets the controller restart what an outage took down.
   */
  async #judgeStops(first: boolean): Promise<void> {
    const controller = this.#controller;
    if (!controller) return;
    const root = this.#o.dockerRootDir?.() ?? '';
    const manuallyStopped = await judgeStops({
      first,
      judge: controller,
      useDaemonRecord: this.#o.config.restart.daemon_record,
      readStopRecord: (id) => readStopRecord(root, id),
      name: (id) => this.#o.inventory.byId(id)?.name ?? id.slice(0, 12),
      emit: this.#emit,
      stopped: () => this.#stopped,
    });
    if (manuallyStopped === null) return;
    try {
      controller.onConnected(first, manuallyStopped);
    } catch (err) {
      this.#o.logger.error({ err: errorMessage(err) }, 'health: judging stopped containers failed');
    }
  }

  readonly #emit: HealthEventSink = (action, level, message, details) => {
    this.#o.logger[level]({ event: action, ...details }, message);
    this.#o.events.record({ kind: 'agent', time: Date.now(), action, level, message, details });
  };

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

  /** The `probe` key of a container's details; null when it has no probe and no probe problem. */
  probeDetails(rec: ContainerRecord): Record<string, unknown> | null {
    return this.#probes.details(rec);
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
    return { probes, scheduler: this.#probes.stats() };
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
