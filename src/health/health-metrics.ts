/**
 * Prometheus figures of probes and restarts, in the agent's registry. Per-container series
 * (`id`, `name`, as cAdvisor labels containers) are read from the live state at scrape time, or
 * removed with their container, so container churn does not grow the registry forever.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export interface ProbeRow {
  id: string;
  name: string;
  type: string;
  healthy: boolean;
}

export interface CrashloopRow {
  id: string;
  name: string;
  crashLooping: boolean;
}

export interface HealthMetricsSource {
  probes(): Iterable<ProbeRow>;
  restartable(): Iterable<CrashloopRow>;
  configErrors(): number;
}

export class HealthMetrics {
  readonly #duration: Histogram<'type'>;
  readonly #failures: Counter<'id' | 'name' | 'type' | 'reason'>;
  readonly #failureSeries = new Map<string, Map<string, Record<'id' | 'name' | 'type' | 'reason', string>>>();
  readonly #delay: Histogram;
  readonly #restarts: Counter<'reason'>;
  readonly #restartFailures: Counter;
  readonly #decisions: Counter<'action' | 'reason'>;

  constructor(registry: Registry, source: HealthMetricsSource) {
    const registers = [registry];
    new Gauge({
      name: 'dockhand_probe_up',
      help: '1 when the container\'s probe verdict is healthy (thresholds applied), 0 while starting or unhealthy.',
      labelNames: ['id', 'name', 'type'],
      registers,
      collect() {
        this.reset();
        for (const p of source.probes()) this.set({ id: p.id, name: p.name, type: p.type }, p.healthy ? 1 : 0);
      },
    });
    this.#duration = new Histogram({
      name: 'dockhand_probe_duration_seconds',
      help: 'Duration of probes, successful or not.',
      labelNames: ['type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#failures = new Counter({
      name: 'dockhand_probe_failures_total',
      help: 'Failed probes, by reason (refused, timeout, reset, tls, status, error); failures inside the grace period included.',
      labelNames: ['id', 'name', 'type', 'reason'],
      registers,
    });
    this.#delay = new Histogram({
      name: 'dockhand_probe_schedule_delay_seconds',
      help: 'Delay between a probe\'s due time and its start (scheduling skew).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    new Gauge({
      name: 'dockhand_probe_config_errors',
      help: 'Containers whose probe or restart labels/rules are invalid (their probe or policy is not applied).',
      registers,
      collect() {
        this.set(source.configErrors());
      },
    });
    this.#restarts = new Counter({
      name: 'dockhand_restarts_total',
      help: 'Container restarts made by the agent, by reason (unhealthy-probe, unhealthy-docker, exit-nonzero, oom, exit-zero, outage).',
      labelNames: ['reason'],
      registers,
    });
    this.#restartFailures = new Counter({ name: 'dockhand_restart_failures_total', help: 'Restarts the agent attempted that Docker did not carry out.', registers });
    this.#decisions = new Counter({
      name: 'dockhand_restart_decisions_total',
      help: 'Restart decisions, by action (restart, skip, crashloop, cancel) and reason.',
      labelNames: ['action', 'reason'],
      registers,
    });
    new Gauge({
      name: 'dockhand_crashloop',
      help: '1 when the agent has marked the container crash-looping and stopped restarting it; 0 for other containers with a restart policy.',
      labelNames: ['id', 'name'],
      registers,
      collect() {
        this.reset();
        for (const c of source.restartable()) this.set({ id: c.id, name: c.name }, c.crashLooping ? 1 : 0);
      },
    });
  }

  probe(type: string, seconds: number): void {
    this.#duration.observe({ type }, seconds);
  }

  probeFailure(id: string, name: string, type: string, reason: string): void {
    const labels = { id, name, type, reason };
    let series = this.#failureSeries.get(id);
    if (!series) {
      series = new Map<string, Record<'id' | 'name' | 'type' | 'reason', string>>();
      this.#failureSeries.set(id, series);
    }
    series.set(`${name}\0${type}\0${reason}`, labels);
    this.#failures.inc(labels);
  }

  /** Drops a removed container's per-container series. */
  forget(id: string): void {
    for (const labels of this.#failureSeries.get(id)?.values() ?? []) this.#failures.remove(labels);
    this.#failureSeries.delete(id);
  }

  scheduleDelay(ms: number): void {
    this.#delay.observe(ms / 1000);
  }

  decision(action: string, reason: string): void {
    this.#decisions.inc({ action, reason });
  }

  restarted(reason: string): void {
    this.#restarts.inc({ reason });
  }

  restartFailed(): void {
    this.#restartFailures.inc();
  }
}
