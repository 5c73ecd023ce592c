/**
 * The log-shipping capability as the agent runs it: registry → outputs → pipeline → collector
 * (and Docker lifecycle events into the same queue), started in that order and stopped in
 * reverse: stop reading, deliver what is queued (bounded), persist offsets, close outputs.
 * Also watches for stalls: events waiting and no ACK for `stall_warning` is logged, recorded as
 * an agent event and exposed as a metric ("is there a warning when collection is interrupted?").
 */
import os from 'node:os';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { OutputConfig } from '../outputs/config.ts';
import type { RecentEvents } from '../docker/recent-events.ts';
import type { StateFileMetrics, StateFileStatus } from '../core/state-file.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { RecordedEvent } from '../docker/types.ts';
import { ExceptionInspector } from '../exceptions/inspector.ts';
import { ExceptionStore } from '../exceptions/store.ts';
import { createOutput } from '../outputs/index.ts';
import type { Output } from '../outputs/types.ts';
import { EventQueue } from '../pipeline/event-queue.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import type { PipelineMetrics } from '../pipeline/pipeline.ts';
import { LogCollector } from './collector.ts';
import type { LogCollectorMetrics } from './collector.ts';
import type { LogsConfig } from './config.ts';
import type { LogFileView } from './tracked-file.ts';
import { EventEncoder } from './event-encoder.ts';
import { LogFileRegistry } from './registry.ts';
import { LineWorkers, lineWorkerCount } from './workers/line-workers.ts';
import { ContainerLogCollector } from './containers/collector.ts';
import type { ContainerLogsConfig } from './containers/config.ts';
import type { ContainerLogMetrics, ContainerStreamView } from './containers/container-stream.ts';
import { repeat } from '../core/timers.ts';

/** Docker/agent events wait here when the queue is full; past this they are dropped and counted. */
const RECORD_BACKLOG = 10_000;

export interface LogShippingOptions {
  /** The configuration's sections this capability uses. */
  config: { state_dir: string; logs: LogsConfig; outputs: readonly OutputConfig[]; container_logs: ContainerLogsConfig };
  inventory: ContainerInventory;
  /** The Docker API client: containers' stdout/stderr are read through it (container_logs). */
  docker?: Docker;
  events: RecentEvents;
  logger: Logger;
  registry: Registry;
  version: string;
  stateMetrics?: StateFileMetrics;
  /**
   * The capability's instruments (the metrics side implements them: src/metrics/log-metrics.ts);
   * `snapshot` gives the gauges their values at scrape time.
   */
  instrument(snapshot: () => LogGaugeSnapshot): LogShippingMetrics;
}

/** What log shipping reports as it works: the collector's and the pipeline's counters. */
export interface LogShippingMetrics extends LogCollectorMetrics, PipelineMetrics, ContainerLogMetrics {
  /** A stack trace found in a log event of `app` (a name, or `other` past logs.exceptions.max_apps). */
  exceptionSeen(app: string): void;
}

/** Gauges read at scrape time. */
export interface LogGaugeSnapshot {
  queuedEvents: number;
  queuedBytes: number;
  batchesInFlight: number;
  lastAckAt: number | null;
  stalled: boolean;
  openFiles: number;
  trackedFiles: number;
  watchedDirectories: number;
  lags: Iterable<[string, number]>;
  containerStreams: number;
  containerPending: number;
  /** Line workers running, and the files whose lines they hold. */
  lineWorkers: number;
  filesOnLineWorkers: number;
}

export class LogShipping {
  #o: LogShippingOptions;
  readonly #offsets: LogFileRegistry;
  readonly #queue: EventQueue;
  #outputs: Output[];
  readonly #pipeline: Pipeline;
  readonly #collector: LogCollector;
  readonly #containers: ContainerLogCollector | undefined;
  readonly #encoder: EventEncoder;
  /** Line workers for busy files (logs.workers); undefined when there are none. */
  readonly #workers: LineWorkers | undefined;
  /** Stack traces in joined events; null when logs.exceptions.enabled is false. */
  readonly exceptions: ExceptionInspector | null;
  readonly #exceptionStore: ExceptionStore | null;
  readonly #metrics: LogShippingMetrics;
  readonly #backlog: RecordedEvent[] = [];
  #unsubscribe: (() => void) | undefined;
  #stopTicks: (() => void) | undefined;
  #stalledSince: number | undefined;
  #waitingSince: number | undefined;
  #laggingFiles = new Set<string>();
  #stopping: Promise<void> | undefined;

  constructor(options: LogShippingOptions) {
    this.#o = options;
    const { config, logger } = options;
    const logs = config.logs;
    this.#offsets = new LogFileRegistry({ dir: config.state_dir, logger, ...(options.stateMetrics ? { metrics: options.stateMetrics } : {}) });
    this.#queue = new EventQueue({ maxEvents: logs.queue_max_events, maxBytes: logs.queue_max_bytes });
    this.#outputs = config.outputs.map((o, i) => createOutput(o, i, { logger, registry: options.registry }));
    this.#metrics = options.instrument(() => this.#gaugeSnapshot());
    // One batch goes to every output (an event is acknowledged once all took it), so a batch
    // fits the strictest output; each output retries on its own backoff.
    this.#pipeline = new Pipeline({
      queue: this.#queue,
      outputs: this.#outputs,
      logger,
      bulkMaxSize: Math.min(...config.outputs.map((o) => o.bulk_max_size)),
      bulkMaxBytes: Math.min(...config.outputs.map((o) => o.bulk_max_bytes)),
      flushIntervalMs: logs.flush_interval,
      metrics: this.#metrics,
      release: (memory, count) => {
        if (!this.#workers?.release(memory, count)) this.#encoder.releaseFrom(memory.buffer, count);
      },
    });
    // The host fields of every event, on this thread and on line workers alike.
    const host = { hostName: os.hostname(), hostIps: hostIps(), agentVersion: options.version };
    this.#encoder = new EventEncoder(host);
    this.exceptions = logs.exceptions.enabled ? new ExceptionInspector({ config: logs.exceptions, counted: (app) => this.#metrics.exceptionSeen(app) }) : null;
    this.#exceptionStore = this.exceptions && new ExceptionStore({ stateDir: config.state_dir, summary: this.exceptions.summary, logger, ...(options.stateMetrics ? { metrics: options.stateMetrics } : {}) });
    const lines = {
      maxLineBytes: logs.max_line_bytes,
      multiline: {
        pattern: logs.multiline.pattern === '' ? null : logs.multiline.pattern,
        negate: logs.multiline.negate,
        match: logs.multiline.match,
        maxLines: logs.multiline.max_lines,
        timeoutMs: logs.multiline.timeout,
      },
    };
    const workers = lineWorkerCount(logs.workers);
    this.#workers = workers === 0 ? undefined : new LineWorkers({
      max: workers,
      setup: { lines, ...host, exceptions: logs.exceptions.enabled ? logs.exceptions : null },
      logger,
    });
    this.#collector = new LogCollector({
      roots: logs.roots,
      include: logs.include,
      exclude: logs.exclude,
      startAt: logs.start_at,
      closeInactiveMs: logs.close_inactive,
      maxOpenFiles: logs.max_open_files,
      rescanIntervalMs: logs.rescan_interval,
      releaseDeletedAfterMs: logs.release_deleted_after,
      envCodes: logs.env_codes,
      lines,
      queue: this.#queue,
      registry: this.#offsets,
      encoder: this.#encoder,
      inventory: options.inventory,
      logger,
      metrics: this.#metrics,
      ...(this.exceptions ? { exceptions: this.exceptions } : {}),
      ...(this.#workers ? { workers: { pool: this.#workers, backlog: logs.worker_backlog } } : {}),
    });
    if (config.container_logs.enabled && options.docker) {
      this.#containers = new ContainerLogCollector({
        config: config.container_logs,
        docker: options.docker,
        inventory: options.inventory,
        events: options.events,
        queue: this.#queue,
        encoder: this.#encoder,
        registry: this.#offsets,
        logger: logger.child({ input: 'container' }),
        metrics: this.#metrics,
        ...(this.exceptions ? { exceptions: this.exceptions } : {}),
      });
    }
  }

  async start(): Promise<void> {
    const loaded = await this.#offsets.load();
    this.#o.logger.info({ files: loaded.files, registry: this.#offsets.path }, 'log offsets loaded');
    const restored = await this.#exceptionStore?.load();
    if (restored) this.#o.logger.info({ fingerprints: restored }, 'exception summary loaded');
    for (const o of this.#outputs) o.start();
    this.#pipeline.start();
    this.#unsubscribe = this.#o.events.subscribe((e) => this.#onRecord(e));
    await this.#collector.start();
    this.#containers?.start();
    this.#stopTicks = repeat(1000, () => this.#tick());
  }

  /** Graceful stop within `timeoutMs`: stop intake, deliver what is queued, persist offsets, close outputs. */
  stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopTicks?.();
      this.#unsubscribe?.();
      await Promise.all([this.#collector.stop(), this.#containers?.stop()]);
      // Events already queued stay readable: they live in shared memory the queue still references.
      await this.#workers?.stop();
      // With no output connected there is nobody to deliver to: do not spend the stop bound
      // waiting (systemd's TimeoutStopSec is only a little above ours).
      const connected = this.#outputs.some((o) => o.stats().state === 'connected');
      const waiting = this.#queue.length + this.#pipeline.inFlightBatches;
      if (connected && waiting > 0) this.#o.logger.info({ queued: this.#queue.length, batchesInFlight: this.#pipeline.inFlightBatches, timeoutMs }, 'delivering what is queued before stopping');
      const drained = await this.#pipeline.drain(connected ? timeoutMs : 0);
      if (!drained) this.#o.logger.warn({ queued: this.#queue.length }, 'stopped before every event was acknowledged; they will be read again after the restart');
      await this.#offsets.flush();
      await this.#exceptionStore?.save(Date.now(), true);
      await Promise.all(this.#outputs.map((o) => o.close()));
    })();
    return this.#stopping;
  }

  /**
   * A configuration reload: new outputs take over from the old ones without losing or re-sending
   * an event (pipeline.ts), new roots and globs apply to the files, new warning bounds at once.
   * The other `logs.*` keys need a restart (the reload reports them). A bad output (a TLS file
   * that cannot be read) throws before anything changed.
   */
  async reconfigure(next: LogShippingOptions['config']): Promise<void> {
    const old = this.#o.config;
    const outputsChanged = JSON.stringify(old.outputs) !== JSON.stringify(next.outputs);
    const created = outputsChanged ? next.outputs.map((o, i) => createOutput(o, i, { logger: this.#o.logger, registry: this.#o.registry })) : null;
    this.#o = { ...this.#o, config: { ...old, logs: { ...old.logs, stall_warning: next.logs.stall_warning, lag_warning: next.logs.lag_warning }, outputs: next.outputs } };
    if (created) {
      const previous = this.#outputs;
      for (const o of created) o.start();
      this.#outputs = created;
      await this.#pipeline.replaceOutputs(created);
      await Promise.all(previous.map((o) => o.close()));
      this.#o.logger.info({ outputs: created.map((o) => o.name) }, 'outputs replaced (configuration reloaded)');
    }
    const files = (c: LogsConfig): string => JSON.stringify([c.roots, c.include, c.exclude]);
    if (files(old.logs) !== files(next.logs)) {
      await this.#collector.reconfigure({ roots: next.logs.roots, include: next.logs.include, exclude: next.logs.exclude });
      this.#o = { ...this.#o, config: { ...this.#o.config, logs: { ...this.#o.config.logs, roots: next.logs.roots, include: next.logs.include, exclude: next.logs.exclude } } };
    }
  }

  files(): LogFileView[] {
    return this.#collector.files();
  }

  /** The saved exception summary's write state; null when logs.exceptions is off. */
  get exceptionsStateFile(): (() => StateFileStatus) | null {
    const store = this.#exceptionStore;
    return store && (() => store.status());
  }

  /** Containers whose output is (or was) followed, and those that cannot be read. */
  containers(): ContainerStreamView[] {
    return this.#containers?.views() ?? [];
  }

  /** The offsets file's write state (a full disk shows here). */
  stateFile(): StateFileStatus {
    return this.#offsets.status();
  }

  /**
   * Readiness: every output connected — or, for an output that connects per request (http),
   * not yet failed.
   */
  readiness(): { name: string; ok: boolean; detail: string } {
    const stats = this.#outputs.map((o) => ({ name: o.name, s: o.stats() }));
    const states = stats.map(({ name, s }) => `${name}: ${s.state}`);
    const ok = stats.every(({ s }) => s.state === 'connected' || (s.state === 'connecting' && s.hosts.every((h) => h.lastError === null)));
    return { name: 'outputs', ok, detail: states.join(', ') };
  }

  status(): Record<string, unknown> {
    return {
      queuedEvents: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      batchesInFlight: this.#pipeline.inFlightBatches,
      eventsAcked: this.#pipeline.eventsAcked,
      lastAckAt: this.#pipeline.lastAckAt === null ? null : new Date(this.#pipeline.lastAckAt).toISOString(),
      stalledSince: this.#stalledSince === undefined ? null : new Date(this.#stalledSince).toISOString(),
      files: { tracked: this.#collector.trackedFiles, open: this.#collector.openFiles },
      roots: this.#collector.discovery.roots,
      outputs: this.#outputs.map((o) => ({ name: o.name, ...o.stats() })),
    };
  }

  #onRecord(e: RecordedEvent): void {
    if (this.#backlog.length === 0 && this.#pushRecord(e)) return;
    if (this.#backlog.length >= RECORD_BACKLOG) {
      this.#metrics.dropped(1, 'event_backlog_full');
      return;
    }
    this.#backlog.push(e);
  }

  #pushRecord(e: RecordedEvent): boolean {
    return this.#queue.push(this.#encoder.encodeRecord(e, Date.now()), null, 0);
  }

  #gaugeSnapshot(): LogGaugeSnapshot {
    return {
      queuedEvents: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      batchesInFlight: this.#pipeline.inFlightBatches,
      lastAckAt: this.#pipeline.lastAckAt,
      stalled: this.#stalledSince !== undefined,
      openFiles: this.#collector.openFiles,
      trackedFiles: this.#collector.trackedFiles,
      watchedDirectories: this.#collector.discovery.watchedDirectories,
      lags: this.#collector.lags(),
      containerStreams: this.#containers?.streams ?? 0,
      containerPending: this.#containers?.pendingMessages ?? 0,
      lineWorkers: this.#workers?.running ?? 0,
      filesOnLineWorkers: this.#workers?.files ?? 0,
    };
  }

  /** Once a second: move waiting Docker events into the queue, flush offsets, detect stalls and lag. */
  #tick(): void {
    while (this.#backlog.length > 0 && this.#pushRecord(this.#backlog[0] as RecordedEvent)) this.#backlog.shift();
    void this.#offsets.flush(); // a failure is counted and logged by the state file; the next tick retries
    const now = Date.now();
    void this.#exceptionStore?.save(now); // like the offsets: a failed write is counted and logged, the next tick retries
    const waiting = this.#queue.length > 0 || this.#pipeline.inFlightBatches > 0;
    if (!waiting) this.#waitingSince = undefined;
    else this.#waitingSince ??= now;
    const lastProgress = Math.max(this.#pipeline.lastAckAt ?? 0, this.#waitingSince ?? now);
    const stallMs = this.#o.config.logs.stall_warning;
    if (waiting && now - lastProgress >= stallMs) {
      if (this.#stalledSince === undefined) {
        this.#stalledSince = lastProgress;
        const message = `log shipping stalled: no acknowledgement from Logstash for ${Math.round((now - lastProgress) / 1000)} s with ${this.#queue.length} events waiting`;
        this.#o.logger.warn({ event: 'logs.shipping_stalled', queued: this.#queue.length, outputs: this.#outputs.map((o) => o.stats().state) }, message);
        this.#o.events.record({ kind: 'agent', time: now, action: 'logs.shipping_stalled', level: 'warn', message });
      }
    } else if (this.#stalledSince !== undefined) {
      const message = `log shipping resumed after ${Math.round((now - this.#stalledSince) / 1000)} s`;
      this.#stalledSince = undefined;
      this.#o.logger.info({ event: 'logs.shipping_resumed' }, message);
      this.#o.events.record({ kind: 'agent', time: now, action: 'logs.shipping_resumed', level: 'info', message });
    }
    this.#checkLag(now);
  }

  #checkLag(now: number): void {
    const bound = this.#o.config.logs.lag_warning;
    for (const [path, lagBytes] of this.#collector.lags()) {
      const lagging = lagBytes > bound;
      if (lagging && !this.#laggingFiles.has(path)) {
        this.#laggingFiles.add(path);
        const message = `log file ${path} is ${lagBytes} bytes behind (bound ${bound})`;
        this.#o.logger.warn({ event: 'logs.file_lagging', path, lagBytes }, message);
        this.#o.events.record({ kind: 'agent', time: now, action: 'logs.file_lagging', level: 'warn', message, details: { path, lagBytes } });
      } else if (!lagging && this.#laggingFiles.delete(path)) {
        this.#o.logger.info({ event: 'logs.file_caught_up', path }, `log file ${path} caught up`);
      }
    }
  }
}

function hostIps(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((n): n is os.NetworkInterfaceInfo => n !== undefined && !n.internal)
    .map((n) => n.address);
}
