/**
 * The audit capability: containers are checked when the inventory first lists them and again on
 * each of their lifecycle events (create, start, update, rename …) from one inspect, and dropped
 * when they are removed; the daemon, file, certificate and registry checks run every
 * `audit.interval` (which also re-checks every container). Findings that appear or clear become
 * agent events (medium severity and above), shipped like the others. Nothing here changes the
 * host: it inspects, stats, reads and opens TLS connections to the registries the daemon names.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.ts';
import { after, deadline, repeat } from '../core/timers.ts';
import { isNotFound } from '../docker/client.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { RecentEvents } from '../docker/recent-events.ts';
import type { ContainerRecord, RecordedEvent } from '../docker/types.ts';
import type { CertFacts } from './cert-checks.ts';
import type { CertSource } from './certificates.ts';
import type { AuditConfig } from './config.ts';
import { checkContainer } from './container-checks.ts';
import type { ContainerInspect } from './container-checks.ts';
import { AuditExclude } from './exclude.ts';
import { FindingStore, HOST_PART } from './findings.ts';
import type { FindingChange } from './findings.ts';
import { runHostSweep } from './host-sweep.ts';
import type { Finding } from './outcome.ts';

export interface AuditorOptions {
  config: AuditConfig;
  docker: Docker;
  inventory: ContainerInventory;
  events: RecentEvents;
  logger: Logger;
  callTimeoutMs: number;
  /** The Docker socket the agent uses ('' for tcp://). */
  socketPath: string;
  procRoot: string;
  dockerConnected: () => boolean;
  dockerRootDir: () => string | undefined;
  /** A dockhand probe covers the container. */
  probed: (record: ContainerRecord) => boolean;
  ownCertificates: () => CertSource[];
  /** Inventory scan period (tests shorten it). */
  tickMs?: number;
}

export interface SweepStats {
  at: string;
  durationMs: number;
  containers: number;
}

const RECHECK_ACTIONS = new Set(['create', 'start', 'restart', 'update', 'rename', 'unpause']);
const EVENT_SEVERITIES = new Set(['critical', 'high', 'medium']);
/** Host sweeps wait this long for the first Docker connection, then run without it. */
const FIRST_SWEEP_WAIT_MS = 10_000;

export class Auditor {
  #o: AuditorOptions;
  #exclude: AuditExclude;
  readonly #store: FindingStore;
  #certificates: CertFacts[] = [];
  #lastSweep: SweepStats | null = null;
  #stopTick: (() => void) | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #seenVersion = -1;
  #startedAt = 0;
  #sweeping: Promise<void> | undefined;
  /** Containers waiting for an inspect; true = again after the one in flight. */
  readonly #queue = new Map<string, boolean>();
  #draining: Promise<void> | undefined;
  #running = false;

  constructor(options: AuditorOptions) {
    this.#o = options;
    this.#exclude = new AuditExclude(options.config.exclude);
    this.#store = new FindingStore(this.#exclude);
  }

  get enabled(): boolean {
    return this.#o.config.enabled;
  }

  get lastSweep(): SweepStats | null {
    return this.#lastSweep;
  }

  start(): void {
    if (!this.#o.config.enabled || this.#running) return;
    this.#running = true;
    this.#startedAt = Date.now();
    this.#unsubscribe = this.#o.events.subscribe((e) => this.#onEvent(e));
    this.#stopTick = repeat(this.#o.tickMs ?? 1000, () => this.#scan());
    this.#scan();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#seenVersion = -1;
    this.#unsubscribe?.();
    this.#stopTick?.();
    clearTimeout(this.#sweepTimer);
    this.#queue.clear();
    await Promise.allSettled([this.#sweeping, this.#draining]);
  }

  /** SIGHUP: every `audit` key applies live. */
  async reconfigure(next: AuditConfig): Promise<void> {
    const was = this.#o.config;
    this.#o = { ...this.#o, config: next };
    if (JSON.stringify(was.exclude) !== JSON.stringify(next.exclude)) {
      this.#exclude = new AuditExclude(next.exclude);
      this.#emit(this.#store.setExclude(this.#exclude));
    }
    if (!next.enabled && this.#running) {
      await this.stop();
      for (const part of this.#store.parts()) this.#emit(this.#store.set(part, undefined));
      this.#certificates = [];
      this.#lastSweep = null; // turned on again: sweep at once, not an interval later
    } else if (next.enabled && !this.#running) this.start();
    else if (next.interval !== was.interval && this.#lastSweep) this.#scheduleSweep();
  }

  findings(): Finding[] {
    return this.#store.findings();
  }

  containerFindings(id: string): Finding[] | null {
    return this.#o.config.enabled ? this.#store.containerFindings(id) : null;
  }

  notChecked(): ReturnType<FindingStore['notChecked']> {
    return this.#store.notChecked();
  }

  certificates(): CertFacts[] {
    return this.#certificates;
  }

  /** `audit.metric_containers`: names whose findings get per-container series. */
  metricContainers(): readonly string[] {
    return this.#o.config.metric_containers;
  }

  /** Checks excluded everywhere (not run). */
  checkOff(check: string): boolean {
    return this.#exclude.checkOff(check);
  }

  /** One full sweep now: host checks and every container (the benchmark and tests call it). */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
      this.#scheduleSweep();
    });
    return this.#sweeping;
  }

  /** Re-checks one container now (what a lifecycle event does). */
  async recheck(id: string): Promise<void> {
    let info: ContainerInspect;
    try {
      info = await this.#o.docker.getContainer(id).inspect({ abortSignal: deadline(this.#o.callTimeoutMs) });
    } catch (err) {
      if (isNotFound(err)) this.#emit(this.#store.set(id, undefined));
      else this.#o.logger.debug({ id, err: errorMessage(err) }, 'audit: inspect failed; the container is checked again on its next event or sweep');
      return;
    }
    if (!this.#running) return;
    const name = info.Name?.replace(/^\//, '') ?? id;
    if (this.#exclude.containerOff(name)) {
      this.#emit(this.#store.set(id, []));
      return;
    }
    const record = this.#o.inventory.byId(id);
    const rootDir = this.#o.dockerRootDir();
    const outcomes = checkContainer(info, {
      probed: record ? this.#o.probed(record) : false,
      dockerSockets: this.#o.socketPath ? [this.#o.socketPath] : [],
      ...(rootDir ? { dockerRootDir: rootDir } : {}),
    }).filter((o) => !this.#exclude.checkOff(o.check));
    this.#emit(this.#store.set(id, outcomes));
  }

  #scheduleSweep(): void {
    clearTimeout(this.#sweepTimer);
    if (this.#running) this.#sweepTimer = after(this.#o.config.interval, () => void this.sweep());
  }

  async #sweep(): Promise<void> {
    const started = Date.now();
    try {
      const cfg = this.#o.config;
      const host = await runHostSweep({
        docker: this.#o.docker,
        callTimeoutMs: this.#o.callTimeoutMs,
        socketPath: this.#o.socketPath,
        procRoot: this.#o.procRoot,
        daemonConfig: cfg.daemon_config,
        certsDir: cfg.certs_dir,
        registryTimeoutMs: cfg.registry_timeout,
        ownCertificates: this.#o.ownCertificates(),
        skip: (check) => this.#exclude.checkOff(check),
      });
      if (!this.#running) return;
      this.#certificates = host.certificates;
      this.#emit(this.#store.set(HOST_PART, host.outcomes));
      const ids = this.#o.dockerConnected() ? this.#o.inventory.ids() : [];
      for (const id of ids) await this.recheck(id);
      this.#lastSweep = { at: new Date(started).toISOString(), durationMs: Date.now() - started, containers: ids.length };
    } catch (err) {
      this.#o.logger.warn({ err: errorMessage(err) }, 'audit sweep failed; the next one runs at the interval');
    }
  }

  /** Follows the inventory: containers not yet checked are queued, removed ones dropped. */
  #scan(): void {
    if (!this.#running) return;
    if (!this.#lastSweep && !this.#sweeping && (this.#o.dockerConnected() || Date.now() - this.#startedAt > FIRST_SWEEP_WAIT_MS)) void this.sweep();
    const inv = this.#o.inventory;
    // a sweep in flight checks every container: the scan after it picks up what it missed
    if (this.#sweeping || inv.version === this.#seenVersion || !this.#o.dockerConnected()) return;
    this.#seenVersion = inv.version;
    for (const id of inv.ids()) if (!this.#store.has(id)) this.#enqueue(id);
    for (const part of this.#store.parts()) if (part !== HOST_PART && !inv.byId(part)) this.#emit(this.#store.set(part, undefined));
  }

  #onEvent(e: RecordedEvent): void {
    if (e.kind !== 'container') return;
    if (e.action === 'destroy') {
      this.#queue.delete(e.containerId);
      this.#emit(this.#store.set(e.containerId, undefined));
    } else if (RECHECK_ACTIONS.has(e.action)) this.#enqueue(e.containerId);
  }

  #enqueue(id: string): void {
    this.#queue.set(id, true);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  async #drain(): Promise<void> {
    while (this.#running && this.#queue.size > 0) {
      const [id] = this.#queue.keys();
      if (id === undefined) break;
      this.#queue.delete(id);
      await this.recheck(id);
    }
  }

  #emit(change: FindingChange): void {
    for (const [list, action, level] of [[change.appeared, 'audit.finding', 'warn'], [change.cleared, 'audit.cleared', 'info']] as const) {
      for (const f of list) {
        if (!EVENT_SEVERITIES.has(f.severity)) continue;
        const verb = action === 'audit.finding' ? 'audit finding' : 'audit finding cleared';
        this.#o.events.record({
          kind: 'agent', time: Date.now(), action, level,
          message: `${verb}: ${f.title} (${f.severity}${f.cis ? `, CIS ${f.cis}` : ''}): ${f.target}: ${f.detail}`,
          details: { check: f.check, cis: f.cis, severity: f.severity, target: f.target, ...(f.containerId ? { containerId: f.containerId, containerName: f.containerName } : {}) },
        });
      }
    }
  }
}
