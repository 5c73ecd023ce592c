/**
 * The metrics capability as the agent runs it: sweeps the containers every `metrics.interval`
 * (and on a scrape when the last sweep is older than `metrics.scrape_cache`, so two scrapers
 * within it share one sample), keeps lifecycle figures for stopped containers, renders the
 * container and host series for /metrics, and answers the API's per-container details.
 *
 * A sweep that is running is joined, never doubled; the timer re-arms `interval` after the last
 * sweep of any kind, so frequent scrapes replace timer sweeps instead of adding to them.
 */
import os from 'node:os';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { MetricsConfig } from './config.ts';
import { errorMessage } from '../core/errors.ts';
import type { RecentEvents } from '../docker/recent-events.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { ContainerRecord } from '../docker/types.ts';
import type { EngineInfo } from '../docker/watcher.ts';
import type { HostSample } from '../host/host-status.ts';
import type { CgroupLayout } from './cgroup/layout.ts';
import { detectCgroupLayout } from './cgroup/layout.ts';
import { ContainerExposition } from './container-exposition.ts';
import type { ExportedContainer } from './container-exposition.ts';
import { ContainerSampler } from './container-sampler.ts';
import type { SweepResult } from './container-sampler.ts';
import { ExpositionWriter } from './exposition.ts';
import { renderHost } from './host-exposition.ts';
import { ContainerLifecycleTracker } from './lifecycle.ts';
import type { ContainerLifecycle } from './lifecycle.ts';
import { blockTotals, networkTotals } from './rates.ts';
import type { ContainerRates, ContainerSample } from './types.ts';
import { after } from '../core/timers.ts';

export interface MetricsCollectorOptions {
  config: MetricsConfig;
  inventory: ContainerInventory;
  events: RecentEvents;
  /** Fallback source (stats API); null = none. */
  docker: Docker | null;
  dockerTimeoutMs: number;
  engine: () => EngineInfo | undefined;
  /** Host figures (shared with /v1/host); undefined = no host series. */
  host: (() => Promise<HostSample>) | undefined;
  registry: Registry;
  logger: Logger;
  /** True while the inventory is reconciled with Docker (the watcher is connected); absent = always. */
  inventoryReconciled?: () => boolean;
  now?: () => number;
  /** Detected from the mount table when not given (tests pass fixture layouts). */
  layout?: CgroupLayout;
}

/** What /v1/containers shows under `stats` for a running container. */
export interface ContainerStatsView {
  sampledAt: string;
  source: string;
  cpu: ContainerSample['cpu'] & { percent: number | null; throttledPercent: number | null };
  memory: ContainerSample['memory'] & { limitPercent: number | null };
  network: { interfaces: ContainerSample['network']; rxBytes: number; txBytes: number; rxBytesPerSecond: number | null; txBytesPerSecond: number | null } | null;
  blockIo: {
    devices: ContainerSample['blockIo'];
    readBytes: number;
    writeBytes: number;
    reads: number;
    writes: number;
    readBytesPerSecond: number | null;
    writeBytesPerSecond: number | null;
  } | null;
  pids: number | null;
  rateWindowSeconds: number | null;
}

interface OwnMetrics {
  sweeps: Counter;
  sweepSeconds: Histogram;
  sweepCpu: Counter;
  sampled: Gauge<'source'>;
  vanished: Counter;
  failed: Counter;
  shared: Counter;
  lastSweep: Gauge;
}

export class MetricsCollector {
  #o: MetricsCollectorOptions;
  readonly #now: () => number;
  readonly #layout: CgroupLayout;
  readonly #sampler: ContainerSampler;
  readonly #lifecycle: ContainerLifecycleTracker;
  #exposition: ContainerExposition;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #lastSweepAt = -Infinity;
  #lastResult: SweepResult | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;
  #complete = false;
  readonly #m: OwnMetrics;

  constructor(options: MetricsCollectorOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    const config = options.config;
    this.#layout = options.layout ?? detectCgroupLayout({ cgroupRoot: config.cgroup_root, procRoot: config.proc_root });
    this.#sampler = new ContainerSampler({
      layout: this.#layout,
      procRoot: config.proc_root,
      excludeInterfaces: config.exclude_interfaces,
      docker: config.stats_api_fallback ? options.docker : null,
      statsApiTimeoutMs: options.dockerTimeoutMs,
      hostMemoryBytes: os.totalmem(),
      logger: options.logger,
      now: this.#now,
    });
    this.#lifecycle = new ContainerLifecycleTracker({ keepStoppedMs: config.keep_stopped });
    this.#exposition = new ContainerExposition(config.container_labels);
    this.#m = this.#ownMetrics(options.registry);
  }

  get layout(): CgroupLayout {
    return this.#layout;
  }

  get lastSweep(): SweepResult | undefined {
    return this.#lastResult;
  }

  /**
   * True once a sweep ran over a reconciled inventory: from then on exported() lists every
   * container (before, an agent that just started would list none).
   */
  get complete(): boolean {
    return this.#complete;
  }

  start(): void {
    const log = this.#o.logger;
    if (this.#layout.version === 'none') log.warn({ cgroups: this.#layout.description }, 'no cgroup hierarchy found: container figures come from the Docker stats API');
    else log.info({ cgroups: this.#layout.description }, 'cgroup layout detected');
    this.#unsubscribe = this.#o.events.subscribe((e) => this.#lifecycle.onEvent(e, (id) => this.#o.inventory.byId(id)));
    void this.fresh(0, false);
  }

  /**
   * A configuration reload: the interval (from the next sweep on), the exported container labels
   * and the scrape cache apply at once; the other `metrics.*` keys need a restart.
   */
  reconfigure(next: MetricsConfig): void {
    const config = this.#o.config;
    this.#o = { ...this.#o, config: { ...config, interval: next.interval, scrape_cache: next.scrape_cache, container_labels: next.container_labels } };
    if (JSON.stringify(config.container_labels) !== JSON.stringify(next.container_labels)) this.#exposition = new ContainerExposition(next.container_labels);
    if (next.interval !== config.interval && this.#timer !== undefined && !this.#stopped) {
      clearTimeout(this.#timer);
      this.#timer = after(next.interval, () => void this.fresh(0, false));
      this.#timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
    await this.#inflight;
    this.#sampler.close();
  }

  /**
   * Makes sure a sample at most `maxAgeMs` old exists: joins a running sweep, reuses a recent
   * one, else sweeps. Returns whether it swept. `forScrape`: count a reused sample in
   * dockhand_metrics_samples_shared_total (the timer's own calls are not scrapes).
   */
  async fresh(maxAgeMs = this.#o.config.scrape_cache, forScrape = true): Promise<boolean> {
    if (this.#stopped) return false;
    if (this.#inflight) {
      if (forScrape) this.#m.shared.inc();
      await this.#inflight;
      return false;
    }
    if (this.#now() - this.#lastSweepAt < maxAgeMs) {
      if (forScrape) this.#m.shared.inc();
      return false;
    }
    const sweep = this.#sweep().finally(() => {
      this.#inflight = undefined;
    });
    this.#inflight = sweep;
    await sweep;
    return true;
  }

  async #sweep(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      const reconciled = this.#o.inventoryReconciled?.() ?? true;
      const result = await this.#sampler.sweep(this.#o.inventory.list());
      this.#lastSweepAt = result.at;
      this.#lastResult = result;
      this.#lifecycle.update(this.#o.inventory.list(), (id) => this.#sampler.latest(id), this.#now());
      if (reconciled) this.#complete = true;
      const m = this.#m;
      m.sweeps.inc();
      m.sweepSeconds.observe(result.wallMs / 1000);
      m.sweepCpu.inc(result.cpuMs / 1000);
      m.sampled.set({ source: 'cgroup' }, result.sampled.cgroup);
      m.sampled.set({ source: 'stats_api' }, result.sampled['stats-api']);
      if (result.vanished > 0) m.vanished.inc(result.vanished);
      if (result.failed > 0) m.failed.inc(result.failed);
      m.lastSweep.set(result.at / 1000);
    } catch (err) {
      // a bug, not bad input: keep the timer going and say so
      this.#o.logger.error({ err: errorMessage(err) }, 'metrics sweep failed');
    } finally {
      if (!this.#stopped) {
        this.#timer = after(this.#o.config.interval, () => void this.fresh(0, false));
        this.#timer.unref();
      }
    }
  }

  /**
   * Containers exported on /metrics and to Zabbix: running, or stopped within keep_stopped (plus
   * `lingerMs`: the Zabbix per-container document, see lifecycle.ts LINGER_MS).
   */
  exported(lingerMs = 0): ExportedContainer[] {
    return this.#lifecycle
      .list(this.#now(), lingerMs)
      .map((lifecycle) => ({ lifecycle, sample: lifecycle.state === 'removed' ? undefined : this.#sampler.latest(lifecycle.id) }));
  }

  lifecycle(id: string): ContainerLifecycle | undefined {
    return this.#lifecycle.get(id);
  }

  latest(id: string): ContainerSample | undefined {
    return this.#sampler.latest(id);
  }

  rates(id: string): ContainerRates | undefined {
    return this.#sampler.rates(id);
  }

  /** The container and host families, from a sample at most scrape_cache old. */
  async exposition(): Promise<string> {
    await this.fresh();
    const w = new ExpositionWriter();
    this.#exposition.render(w, this.exported());
    if (this.#o.host) {
      try {
        const engine = this.#o.engine();
        renderHost(w, await this.#o.host(), engine && { ...engine });
      } catch (err) {
        this.#o.logger.warn({ err: errorMessage(err) }, 'host figures unavailable for /metrics');
      }
    }
    return w.text();
  }

  /** `stats` of a container in /v1/containers: latest figures and rates; null when not running. */
  statsView(record: ContainerRecord): ContainerStatsView | null {
    const s = this.#sampler.latest(record.id);
    if (!s || s.id !== record.id) return null;
    const r = this.#sampler.rates(record.id);
    const net = networkTotals(s.network);
    const blk = blockTotals(s.blockIo);
    const limit = s.memory.limitBytes;
    return {
      sampledAt: new Date(s.at).toISOString(),
      source: s.source,
      cpu: { ...s.cpu, percent: r?.cpuPercent ?? null, throttledPercent: r?.cpuThrottledPercent ?? null },
      memory: {
        ...s.memory,
        limitPercent: limit && s.memory.workingSetBytes !== null ? Math.round((s.memory.workingSetBytes / limit) * 10_000) / 100 : null,
      },
      network: net && { interfaces: s.network, ...net, rxBytesPerSecond: r?.networkRxBytesPerSecond ?? null, txBytesPerSecond: r?.networkTxBytesPerSecond ?? null },
      blockIo: blk && { devices: s.blockIo, ...blk, readBytesPerSecond: r?.blockReadBytesPerSecond ?? null, writeBytesPerSecond: r?.blockWriteBytesPerSecond ?? null },
      pids: s.pids,
      rateWindowSeconds: r?.windowSeconds ?? null,
    };
  }

  /** `lifecycle` of a container in /v1/containers: what the inventory record lacks. */
  lifecycleView(record: ContainerRecord): { lastSeen: string | null; oomEvents: number } | null {
    const l = this.#lifecycle.get(record.id);
    if (!l) return null;
    return { lastSeen: l.lastSeen === null ? null : new Date(l.lastSeen).toISOString(), oomEvents: l.oomEvents };
  }

  /** Readiness: a sweep finished within three intervals (a stuck sampler is worth a 503). */
  readiness(): { name: string; ok: boolean; detail: string } {
    const r = this.#lastResult;
    if (!r) return { name: 'metrics', ok: false, detail: 'no sweep yet' };
    const ageMs = this.#now() - r.at;
    const ok = ageMs <= Math.max(3 * this.#o.config.interval, 30_000);
    const detail = `last sweep ${Math.round(ageMs / 1000)} s ago: ${r.sampled.cgroup} from cgroups, ${r.sampled['stats-api']} from the stats API, ${r.failed} failed`;
    return { name: 'metrics', ok, detail };
  }

  #ownMetrics(registry: Registry): OwnMetrics {
    const registers = [registry];
    const sampler = this.#sampler;
    const layout = this.#layout;
    new Gauge({
      name: 'dockhand_metrics_cgroup_version',
      help: 'cgroup hierarchy the sampler reads: 1, 2, or 0 when none was found (stats API only).',
      registers,
    }).set(layout.version === 'none' ? 0 : layout.version);
    new Counter({
      name: 'dockhand_metrics_kernel_file_reads_total',
      help: 'cgroup and procfs files read by the container sampler.',
      registers,
      collect() {
        this.reset();
        this.inc(sampler.fileCounts.reads);
      },
    });
    new Gauge({
      name: 'dockhand_metrics_open_files',
      help: 'cgroup files held open between sweeps (re-read with pread; closed when their container stops).',
      registers,
      collect() {
        this.set(sampler.fileCounts.held);
      },
    });
    new Counter({
      name: 'dockhand_metrics_kernel_file_failures_total',
      help: 'cgroup and procfs reads that failed (missing controller files, vanished containers).',
      registers,
      collect() {
        this.reset();
        this.inc(sampler.fileCounts.failures);
      },
    });
    return {
      sweeps: new Counter({ name: 'dockhand_metrics_sweeps_total', help: 'Container sweeps (one reading of every running container).', registers }),
      sweepSeconds: new Histogram({
        name: 'dockhand_metrics_sweep_duration_seconds',
        help: 'Wall time of a container sweep, including stats API fallbacks.',
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      }),
      sweepCpu: new Counter({ name: 'dockhand_metrics_sweep_cpu_seconds_total', help: 'CPU time spent reading cgroup and procfs files in sweeps.', registers }),
      sampled: new Gauge({ name: 'dockhand_metrics_containers_sampled', help: 'Containers read in the last sweep, by source (cgroup, stats_api).', labelNames: ['source'], registers }),
      vanished: new Counter({ name: 'dockhand_metrics_containers_vanished_total', help: 'Containers that stopped or were removed while a sweep read them (skipped).', registers }),
      failed: new Counter({ name: 'dockhand_metrics_containers_failed_total', help: 'Container readings that failed from every source (left out of that sweep).', registers }),
      shared: new Counter({ name: 'dockhand_metrics_samples_shared_total', help: 'Requests for fresh figures answered by a running sweep or one younger than metrics.scrape_cache.', registers }),
      lastSweep: new Gauge({ name: 'dockhand_metrics_last_sweep_timestamp_seconds', help: 'When the last container sweep started, seconds since the epoch.', registers }),
    };
  }
}
