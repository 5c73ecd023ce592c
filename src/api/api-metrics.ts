/**
 * The API's own figures. They live in a registry of the server's own, and the server appends them
 * to its /metrics answer itself: they exist wherever an ApiServer runs, without the agent wiring
 * the API into its registry (an ApiServer is also run alone, by tests and bench/api-abuse.ts).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { REJECT_REASONS } from './connection-gate.ts';
import type { ConnectionStats, RejectReason } from './connection-gate.ts';

export class ApiMetrics {
  readonly #registry = new Registry();
  readonly #rejected: Counter<'reason'>;

  constructor(stats: () => ConnectionStats) {
    const registers = [this.#registry];
    this.#rejected = new Counter({
      name: 'dockhand_api_connections_rejected_total',
      help: 'API connections or requests turned away: capacity = answered 503 (too many requests in flight), socket_limit = closed at accept (too many sockets held), idle_evicted = an idle connection closed to make room.',
      labelNames: ['reason'],
      registers,
    });
    // Every reason present from the start, so rate() and alerts see a 0 rather than no series.
    for (const reason of REJECT_REASONS) this.#rejected.inc({ reason }, 0);
    new Gauge({
      name: 'dockhand_api_connections',
      help: 'HTTP connections open to the API.',
      registers,
      collect() {
        this.set(stats().open);
      },
    });
  }

  rejected(reason: RejectReason): void {
    this.#rejected.inc({ reason });
  }

  /** Prometheus text format, to append to an exposition in the same format. */
  text(): Promise<string> {
    return this.#registry.metrics();
  }
}
