/**
 * Builds the components from the configuration and owns their lifecycle: start in dependency
 * order (state → Docker watcher → API), stop in reverse, each step registered on a disposer
 * stack so a failed start unwinds exactly what it started. Docker being down is not a start
 * failure (the watcher retries and reports); an API that cannot listen is.
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { openApiRoute } from './api/openapi.ts';
import { ApiServer } from './api/server.ts';
import type { RouteDefinition } from './api/routes.ts';
import type { AgentView, ContainerDetails, Readiness, ReadinessCheck } from './api/view.ts';
import type { Config, LoadedConfig } from './configuration.ts';
import { Auditor } from './audit/auditor.ts';
import { registerAuditMetrics } from './audit/audit-metrics.ts';
import { auditRoutes } from './audit/audit-routes.ts';
import { ownCertificates } from './audit/own-certificates.ts';
import { DisposerStack } from './core/disposer.ts';
import { DockhandError, errorMessage, systemCode } from './core/errors.ts';
import { releaseMemoryWhenIdle } from './core/idle-memory.ts';
import { mallocTrim } from './core/malloc-trim.ts';
import { RecentEvents } from './docker/recent-events.ts';
import { reloadConfig } from './reload.ts';
import type { ReloadReport, ReloadTarget } from './reload.ts';
import type { StateFileStatus } from './core/state-file.ts';
import { createDockerClient } from './docker/client.ts';
import { ContainerInventory } from './docker/inventory.ts';
import type { ContainerRecord } from './docker/types.ts';
import { ownContainerId } from './docker/self.ts';
import { DockerWatcher } from './docker/watcher.ts';
import { HealthMonitor } from './health/health-monitor.ts';
import { healthRoutes } from './health/health-routes.ts';
import { HostStatusReporter } from './host/host-status.ts';
import { LogShipping } from './logs/log-shipping.ts';
import { exceptionRoutes } from './exceptions/routes.ts';
import { AgentMetrics } from './metrics/agent-metrics.ts';
import { LogMetrics } from './metrics/log-metrics.ts';
import { MetricsCollector } from './metrics/metrics-collector.ts';
import { ZabbixEndpoints, logSnapshotFrom, probeSnapshotsFromDocument } from './metrics/zabbix.ts';

/** Part of the stop bound (cli.ts: 25 s) given to delivering queued log events. */
const LOG_DRAIN_MS = 10_000;

export interface AgentOptions {
  loaded: LoadedConfig;
  logger: Logger;
  version: string;
}

/**
 * What a capability (metrics sampler, health prober, log shipper) contributes to the API:
 * extra routes, an extra key in each container's details, a readiness check.
 */
interface Contributions {
  routes: RouteDefinition[];
  containerDetails: { key: string; get: (record: ContainerRecord) => unknown }[];
  readiness: (() => ReadinessCheck)[];
}

export class Agent {
  /** What the agent started with (keys a reload cannot apply keep these values until a restart). */
  readonly #startConfig: Config;
  /** What it runs with now. */
  #config: Config;
  #lastReload: ReloadReport | null = null;
  readonly #reloadTargets: ReloadTarget[] = [];
  readonly #configSource: string;
  readonly #logger: Logger;
  readonly #version: string;
  readonly #startedAt = Date.now();
  readonly #disposers = new DisposerStack();
  readonly inventory = new ContainerInventory();
  readonly events: RecentEvents;
  readonly metrics: AgentMetrics;
  /** Zabbix discovery and item endpoints; the log shipper registers its snapshot with setLogSource(). */
  zabbix: ZabbixEndpoints | undefined;
  #watcher: DockerWatcher | undefined;
  #host: HostStatusReporter | undefined;
  #shipping: LogShipping | undefined;
  #stopping: Promise<void> | undefined;
  readonly #contributions: Contributions = { routes: [], containerDetails: [], readiness: [] };
  /** Write state of each file under state_dir (log offsets, health state): /readyz and /v1/host show it. */
  readonly #stateFiles: (() => StateFileStatus)[] = [];

  constructor(options: AgentOptions) {
    this.#config = options.loaded.config;
    this.#startConfig = options.loaded.config;
    this.#configSource = options.loaded.source;
    this.#logger = options.logger;
    this.#version = options.version;
    this.events = new RecentEvents(this.#config.docker.events_buffer);
    this.metrics = new AgentMetrics({ version: this.#version, inventory: this.inventory });
  }

  /** Starts everything; on failure stops what was started and rethrows. Returns the API's URL. */
  async start(): Promise<{ apiUrl: string }> {
    const config = this.#config;
    try {
      await this.#prepareStateDir(config.state_dir);
      this.inventory.selfId = await ownContainerId();

      const docker = createDockerClient(config.docker);
      const watcher = new DockerWatcher({
        docker,
        inventory: this.inventory,
        events: this.events,
        logger: this.#logger.child({ component: 'docker' }),
        reconnectBaseMs: config.docker.reconnect_base,
        reconnectMaxMs: config.docker.reconnect_max,
        resyncIntervalMs: config.docker.resync_interval,
        callTimeoutMs: config.docker.timeout,
        metrics: this.metrics,
        procRoot: config.metrics.proc_root,
      });
      this.#watcher = watcher;
      watcher.start();
      this.#disposers.push('docker watcher', () => watcher.stop());

      this.#host = new HostStatusReporter({
        watcher,
        inventory: this.inventory,
        version: this.#version,
        startedAt: this.#startedAt,
        configSource: this.#configSource,
        lastReload: () => this.#lastReload,
        importantPaths: () => [watcher.engine?.rootDir ?? '', ...config.logs.roots, config.state_dir].filter((p) => p),
        pipeline: () => this.#shipping?.status() ?? null,
        stateFiles: () => this.#stateFiles.map((status) => status()),
        procRoot: config.metrics.proc_root,
        excludeInterfaces: config.metrics.host_exclude_interfaces,
      });
      const host = this.#host;
      host.warm();

      // Capabilities start here, between the Docker watcher and the API, each registering its
      // disposer and its contributions (routes, container details, readiness checks).

      // Log shipping: files and Docker events → pipeline → Logstash, offsets on ACK.
      const shipping = new LogShipping({
        config,
        inventory: this.inventory,
        docker,
        events: this.events,
        logger: this.#logger.child({ component: 'logs' }),
        registry: this.metrics.registry,
        version: this.#version,
        stateMetrics: this.metrics,
        instrument: (snapshot) => new LogMetrics(this.metrics.registry, snapshot),
      });
      await shipping.start();
      this.#disposers.push('log shipping', () => shipping.stop(LOG_DRAIN_MS));
      this.#shipping = shipping;
      this.#contributions.routes.push({ method: 'GET', pattern: '/v1/logs', handler: () => ({ json: { ...shipping.status(), files: shipping.files(), containers: shipping.containers() } }) });
      this.#contributions.routes.push(...exceptionRoutes(() => shipping.exceptions?.summary ?? null));
      this.#contributions.readiness.push(() => shipping.readiness());
      this.#reloadTargets.push({ name: 'log shipping', sections: ['outputs', 'logs'], apply: (next) => shipping.reconfigure(next) });
      this.#stateFiles.push(() => shipping.stateFile());
      if (shipping.exceptionsStateFile) this.#stateFiles.push(shipping.exceptionsStateFile);

      // Container and host metrics: /metrics series, per-container stats, Zabbix endpoints.
      const containerMetrics = new MetricsCollector({
        config: config.metrics,
        inventory: this.inventory,
        events: this.events,
        docker,
        dockerTimeoutMs: config.docker.timeout,
        engine: () => watcher.engine,
        host: () => host.sample(),
        registry: this.metrics.registry,
        logger: this.#logger.child({ component: 'metrics' }),
        inventoryReconciled: () => watcher.state === 'connected',
      });
      containerMetrics.start();
      this.#disposers.push('metrics', () => containerMetrics.stop());
      this.metrics.addTextSource(() => containerMetrics.exposition());
      this.zabbix = new ZabbixEndpoints(
        {
          exported: (lingerMs) => containerMetrics.exported(lingerMs),
          complete: () => containerMetrics.complete,
          completeNow: async () => {
            if (!containerMetrics.complete && watcher.state === 'connected') await containerMetrics.fresh(0, false);
          },
          rates: (id) => containerMetrics.rates(id),
          lifecycle: (id) => containerMetrics.lifecycle(id),
          inventory: this.inventory,
          docker: () => ({ state: watcher.state, reconnects: watcher.reconnects }),
          lastSweepAt: () => containerMetrics.lastSweep?.at ?? null,
          version: this.#version,
          startedAt: this.#startedAt,
        },
        config.metrics.container_labels,
      );
      this.zabbix.setLogSource(() => logSnapshotFrom(shipping.status(), shipping.files(), shipping.containers()));
      this.#contributions.routes.push(...this.zabbix.routes());
      this.#contributions.containerDetails.push(
        { key: 'stats', get: (r) => containerMetrics.statsView(r) },
        { key: 'lifecycle', get: (r) => containerMetrics.lifecycleView(r) },
      );
      this.#contributions.readiness.push(() => containerMetrics.readiness());
      this.#reloadTargets.push({
        name: 'metrics',
        sections: ['metrics'],
        apply: (next) => {
          containerMetrics.reconfigure(next.metrics);
          this.zabbix?.setContainerLabels(next.metrics.container_labels);
        },
      });

      const health = new HealthMonitor({
        config: config.health,
        stateDir: config.state_dir,
        inventory: this.inventory,
        events: this.events,
        docker,
        dockerState: () => watcher.state,
        callTimeoutMs: config.docker.timeout,
        logger: this.#logger.child({ component: 'health' }),
        registry: this.metrics.registry,
        dockerRootDir: () => watcher.engine?.rootDir,
        stateMetrics: this.metrics,
      });
      await health.start();
      this.#disposers.push('health', () => health.stop());
      this.#reloadTargets.push({ name: 'health', sections: ['health'], apply: (next) => health.reconfigure(next.health) });
      this.#stateFiles.push(() => health.stateFileStatus());
      this.#contributions.routes.push(...healthRoutes(health));
      this.#contributions.containerDetails.push({ key: 'probe', get: (r) => health.probeDetails(r) }, { key: 'restart', get: (r) => health.restartDetails(r) });
      this.zabbix.setProbeSource(() => probeSnapshotsFromDocument(health.probesDocument(null)));

      // Host security audit: daemon, container, certificate and registry checks (docs/audit.md).
      const auditor = new Auditor({
        config: config.audit,
        docker,
        inventory: this.inventory,
        events: this.events,
        logger: this.#logger.child({ component: 'audit' }),
        callTimeoutMs: config.docker.timeout,
        socketPath: config.docker.host.startsWith('unix://') ? config.docker.host.slice('unix://'.length) : '',
        procRoot: config.metrics.proc_root,
        dockerConnected: () => watcher.state === 'connected',
        dockerRootDir: () => watcher.engine?.rootDir,
        probed: (r) => health.probeDetails(r) !== null,
        ownCertificates: () => ownCertificates(this.#config),
      });
      auditor.start();
      this.#disposers.push('audit', () => auditor.stop());
      registerAuditMetrics(this.metrics.registry, auditor);
      this.#reloadTargets.push({ name: 'audit', sections: ['audit'], apply: (next) => auditor.reconfigure(next.audit) });
      this.#contributions.routes.push(...auditRoutes(auditor));
      this.#contributions.containerDetails.push({ key: 'audit', get: (r) => auditor.containerFindings(r.id) });

      this.metrics.readiness(() => this.#readiness());
      this.#contributions.routes.push(openApiRoute(this.#version));
      const api = new ApiServer({
        options: config.api,
        view: this.view(),
        logger: this.#logger.child({ component: 'api' }),
        routes: this.#contributions.routes,
      });
      const { url } = await api.start();
      this.#disposers.push('api', () => api.close());
      this.#reloadTargets.push(
        { name: 'log level', sections: ['log_level'], apply: (next) => void (this.#logger.level = next.log_level) },
        // always: the token file's content may have changed under the same path (rotation)
        { name: 'api', sections: ['api'], always: true, apply: (next) => api.reloadToken(next.api.token_file, next.api.metrics_auth) },
      );

      const memoryLogger = this.#logger.child({ component: 'memory' });
      const trimLoad = mallocTrim();
      if (!trimLoad.ok) memoryLogger.info({ event: 'memory.no_malloc_trim', reason: trimLoad.reason }, 'malloc_trim addon not loaded: an idle agent keeps ~1-2 MB more');
      const stopReleasing = releaseMemoryWhenIdle({
        released: (f) => memoryLogger.debug({ event: 'memory.released', rssBefore: f.rssBefore, rssAfter: f.rssAfter, pauseMs: Math.round(f.pauseMs), mallocTrimmed: f.trimmed }, 'quiet: memory given back'),
      });
      this.#disposers.push('idle memory release', stopReleasing);

      this.#logger.info({ api: url, config: this.#configSource, docker: config.docker.host }, 'dockhand started');
      return { apiUrl: url };
    } catch (err) {
      await this.#disposeAll();
      throw err;
    }
  }

  /** Graceful stop, in reverse start order; idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info('stopping');
      await this.#disposeAll();
      this.#logger.info('stopped');
    })();
    return this.#stopping;
  }

  /** SIGHUP: applies what can change while running (src/reload.ts); says what needs a restart. */
  async reload(next: LoadedConfig): Promise<ReloadReport> {
    const { running, report } = await reloadConfig({ start: this.#startConfig, running: this.#config, next: next.config, source: next.source, targets: this.#reloadTargets });
    this.#config = running;
    this.#lastReload = report;
    const fields = { event: 'config.reloaded', applied: report.applied, pendingRestart: report.pendingRestart, failed: report.failed };
    if (report.failed.length > 0) this.#logger.error(fields, 'configuration reloaded in part: some changes could not be applied and the previous settings stay');
    else if (report.pendingRestart.length > 0) this.#logger.warn(fields, 'configuration reloaded; some changes take effect at the next restart');
    else this.#logger.info(fields, 'configuration reloaded');
    return report;
  }

  view(): AgentView {
    return {
      readiness: () => this.#readiness(),
      host: () => this.#hostStatus(),
      containers: () => this.inventory.list().map((r) => this.#details(r)),
      container: (ref) => {
        const r = this.inventory.find(ref);
        return r && this.#details(r);
      },
      events: (since, limit) => this.events.since(since, limit),
      metrics: () => this.metrics.exposition(),
    };
  }

  #details(record: ContainerRecord): ContainerDetails {
    const details: ContainerDetails = { ...record };
    for (const { key, get } of this.#contributions.containerDetails) details[key] = get(record);
    return details;
  }

  #readiness(): Readiness {
    const w = this.#watcher;
    const dockerOk = w?.state === 'connected';
    const checks: ReadinessCheck[] = [
      { name: 'docker', ok: dockerOk, detail: dockerOk ? `connected, ${this.inventory.size} containers` : `${w?.state ?? 'not started'}: ${w?.lastError || 'no connection yet'}` },
      ...this.#contributions.readiness.map((check) => check()),
      this.#stateFilesCheck(),
    ];
    return { ready: checks.every((c) => c.ok), checks };
  }

  /**
   * Not ready while a state file cannot be written (a full disk): shipping goes on, but what is
   * acknowledged from now on would be shipped again after a restart.
   */
  #stateFilesCheck(): ReadinessCheck {
    const statuses = this.#stateFiles.map((status) => status());
    const failing = statuses.filter((s) => !s.ok);
    const detail = failing.length === 0
      ? `${statuses.length} state files writable`
      : failing.map((s) => `${s.file}: writes failing since ${s.failingSince ?? '?'} (${s.failures} failures, last: ${s.lastError ?? '?'})`).join('; ');
    return { name: 'state', ok: failing.length === 0, detail };
  }

  #hostStatus(): Promise<Record<string, unknown>> {
    if (!this.#host) throw new DockhandError('UNAVAILABLE', 'agent is not started');
    return this.#host.status();
  }

  async #prepareStateDir(dir: string): Promise<void> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o750 });
    } catch (err) {
      throw new DockhandError('CONFIG_INVALID', `state_dir: cannot create ${dir}: ${systemCode(err) ?? errorMessage(err)}`, { cause: err });
    }
  }

  async #disposeAll(): Promise<void> {
    for (const f of await this.#disposers.disposeAll()) {
      this.#logger.error({ component: f.name, err: errorMessage(f.error) }, 'error while stopping');
    }
  }
}
