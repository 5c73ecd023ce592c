/**
 * The agent's own Prometheus registry: Node process metrics (prom-client defaults, prefixed
 * `dockhand_`) plus `dockhand_*` figures for the Docker connection and inventory. One registry
 * per agent instance (not prom-client's global) so tests can run several agents in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StateFileMetrics } from '../core/state-file.ts';
import { DRIFT_REASONS } from '../docker/drift.ts';
import type { DriftReason } from '../docker/drift.ts';
import type { ContainerInventory } from '../docker/inventory.ts';
import type { DockerConnectionState, DockerWatcherMetrics } from '../docker/watcher.ts';

const CONNECTION_STATES: DockerConnectionState[] = ['connecting', 'connected', 'disconnected', 'stopped'];

export class AgentMetrics implements DockerWatcherMetrics, StateFileMetrics {
  readonly registry = new Registry();
  readonly #dockerUp: Gauge;
  readonly #dockerState: Gauge<'state'>;
  readonly #reconnects: Counter;
  readonly #events: Counter<'action'>;
  readonly #badLines: Counter;
  readonly #reconcileSeconds: Histogram;
  readonly #stateWriteFailures: Counter<'file'>;
  readonly #drift: Counter<'reason'>;
  readonly #textSources: (() => Promise<string>)[] = [];

  constructor(options: { version: string; inventory: ContainerInventory }) {
    const registers = [this.registry];
    // Event-loop delay sampled once a second, not prom-client's every 10 ms: the sampling timer is
    // a wake-up of its own, and on an idle agent that was the largest cost (bare Node 24 with a
    // 1 s interval: 1.00 ms of CPU per second alone, 2.22 with a 100 ms sampler, 1.22 with a
    // 1 s one; at 10 ms ~0.6 % of a core, bench/inventory). A scrape every 15 s still gets 15
    // samples; a stall shorter than a second shows in them in proportion to its length.
    collectDefaultMetrics({ register: this.registry, prefix: 'dockhand_', eventLoopMonitoringPrecision: 1000 });
    // prom-client names three gauges `*_total`, which `promtool check metrics` rejects (the suffix
    // is for counters); their per-type siblings without the suffix carry the same figures.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
      this.registry.removeSingleMetric(`dockhand_nodejs_${name}`);
    }
    new Gauge({
      name: 'dockhand_build_info',
      help: 'Agent version and Node.js runtime; always 1.',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: options.version, node: process.version }, 1);
    this.#dockerUp = new Gauge({ name: 'dockhand_docker_up', help: '1 when the Docker event stream is connected and the inventory reconciled.', registers });
    this.#dockerState = new Gauge({
      name: 'dockhand_docker_connection_state',
      help: 'Docker connection state: 1 for the current state, 0 for the others.',
      labelNames: ['state'],
      registers,
    });
    this.#reconnects = new Counter({ name: 'dockhand_docker_event_stream_reconnects_total', help: 'Times the Docker event stream was re-established after a loss.', registers });
    this.#events = new Counter({ name: 'dockhand_docker_events_total', help: 'Docker container events received, by action.', labelNames: ['action'], registers });
    this.#badLines = new Counter({ name: 'dockhand_docker_event_parse_errors_total', help: 'Lines on the Docker event stream that were not valid events.', registers });
    this.#reconcileSeconds = new Histogram({
      name: 'dockhand_docker_reconcile_duration_seconds',
      help: 'Time to list and reconcile the container inventory.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#stateWriteFailures = new Counter({
      name: 'dockhand_state_write_failures_total',
      help: 'Failed writes of a state file (log offsets, health state) under state_dir, by file: a full or read-only disk. Retried every second.',
      labelNames: ['file'],
      registers,
    });
    this.#drift = new Counter({
      name: 'dockhand_inventory_drift_total',
      help: 'Inventory drift found (Docker events lost): events about unknown containers, impossible transitions, and containers a verifying re-list found missing, stale or in another state.',
      labelNames: ['reason'],
      registers,
    });
    // every reason from the start: a rate() or an alert needs the series before the first drift
    for (const reason of DRIFT_REASONS) this.#drift.inc({ reason }, 0);
    const inventory = options.inventory;
    new Gauge({
      name: 'dockhand_inventory_containers',
      help: 'Containers in the agent\'s inventory, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of inventory.countByState()) this.set({ state }, n);
      },
    });
    this.connectionState('disconnected');
  }

  connectionState(state: DockerConnectionState): void {
    for (const s of CONNECTION_STATES) this.#dockerState.set({ state: s }, s === state ? 1 : 0);
    this.#dockerUp.set(state === 'connected' ? 1 : 0);
  }

  reconnect(): void {
    this.#reconnects.inc();
  }

  event(action: string): void {
    this.#events.inc({ action });
  }

  badEventLine(): void {
    this.#badLines.inc();
  }

  stateWriteFailed(file: string): void {
    this.#stateWriteFailures.inc({ file });
  }

  reconcile(durationMs: number): void {
    this.#reconcileSeconds.observe(durationMs / 1000);
  }

  drift(reason: DriftReason, count: number): void {
    this.#drift.inc({ reason }, count);
  }

  /**
   * `dockhand_ready` and `dockhand_ready_check{check}` from the readiness /readyz answers with, read
   * at scrape time: Prometheus cannot see /readyz's status, and "up but not ready" (Docker
   * unreachable, a state file not writable, outputs down) is what an alert wants.
   */
  readiness(source: () => { ready: boolean; checks: readonly { name: string; ok: boolean }[] }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'dockhand_ready',
      help: '1 when /readyz answers 200 (every readiness check passes).',
      registers,
      collect() {
        this.set(source().ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'dockhand_ready_check',
      help: 'Readiness checks of /readyz (docker, outputs, metrics, state): 1 passing, 0 failing.',
      labelNames: ['check'],
      registers,
      collect() {
        this.reset();
        for (const c of source().checks) this.set({ check: c.name }, c.ok ? 1 : 0);
      },
    });
  }

  /**
   * Adds families rendered outside prom-client (per-container and host series, rebuilt from
   * fresh samples on every scrape: see src/metrics/exposition.ts), appended after the registry's.
   */
  addTextSource(source: () => Promise<string>): void {
    this.#textSources.push(source);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    const [own, ...extra] = await Promise.all([this.registry.metrics(), ...this.#textSources.map((source) => source())]);
    return { contentType: this.registry.contentType, body: [own, ...extra].join('') };
  }
}
