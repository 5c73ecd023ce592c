/**
 * Container output collection: which containers are followed (selectors.ts, the opt-out label),
 * when a stream is opened (the container runs, or ran while nobody read it), when it is reopened
 * (the container started again, everything read so far acknowledged — the position resumes
 * exactly there, so a `docker restart` ships no line twice), and when a container is let go (its
 * stream read to the end, everything acknowledged, the container removed). Containers whose log
 * driver cannot be read are reported once each — a warning, an agent event, a counter — and not
 * retried. One sweep a second, and at once on a container event.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { ContainerInventory } from '../../docker/inventory.ts';
import type { RecentEvents } from '../../docker/recent-events.ts';
import type { ContainerRecord } from '../../docker/types.ts';
import type { ExceptionInspector } from '../../exceptions/inspector.ts';
import type { EventQueue } from '../../pipeline/event-queue.ts';
import { SyncReads } from '../chunk-reader.ts';
import type { EventEncoder } from '../event-encoder.ts';
import type { LogFileRegistry } from '../registry.ts';
import type { ContainerLogsConfig } from './config.ts';
import { ContainerStream, isRunning } from './container-stream.ts';
import type { ContainerLogMetrics, ContainerStreamView, FollowEnd } from './container-stream.ts';
import { ContainerSelection } from './selectors.ts';
import { repeat } from '../../core/timers.ts';

/** Saved positions of containers that no longer exist are forgotten after this long unchanged. */
const FORGET_AFTER_MS = 7 * 24 * 3600_000;
const RETRY_MAX_MS = 30_000;
/** A stream that ended while its container still shows as running is reopened after this long. */
const REOPEN_RUNNING_MS = 5_000;
/** A followed container silent this long is asked for its newest message (is the follow stuck?). */
const STALL_CHECK_MS = 5_000;
const STALL_CHECK_MAX_MS = 300_000;
const WAKE_AFTER_STOP_MS = 100;

export interface ContainerLogCollectorOptions {
  config: ContainerLogsConfig;
  docker: Docker;
  inventory: ContainerInventory;
  events: RecentEvents;
  queue: EventQueue;
  encoder: EventEncoder;
  registry: LogFileRegistry;
  logger: Logger;
  metrics?: ContainerLogMetrics;
  /** Stack traces in containers' joined events, counted for the container (logs.exceptions); absent = off. */
  exceptions?: ExceptionInspector;
}

export class ContainerLogCollector {
  readonly #o: ContainerLogCollectorOptions;
  readonly #selection: ContainerSelection;
  readonly #syncReads: SyncReads;
  readonly #streams = new Map<string, ContainerStream>();
  readonly #follows = new Set<Promise<void>>();
  readonly #startedAt = new Date().toISOString();
  #stopTimer: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;
  #sweeping = false;

  constructor(options: ContainerLogCollectorOptions) {
    this.#o = options;
    this.#syncReads = new SyncReads(options.logger);
    this.#selection = new ContainerSelection(options.config.include, options.config.exclude);
  }

  start(): void {
    this.#stopTimer = repeat(1000, () => void this.#sweep());
    this.#unsubscribe = this.#o.events.subscribe((e) => {
      if (e.kind !== 'container') return;
      if (e.action === 'start' || e.action === 'restart' || e.action === 'destroy') setImmediate(() => void this.#sweep());
      // After the inventory took the event in: a json-file follow then sees the container stopped.
      if (e.action === 'die' || e.action === 'destroy') setTimeout(() => this.#streams.get(e.containerId)?.wake(), WAKE_AFTER_STOP_MS);
    });
    void this.#sweep();
  }

  /** Stops reading; what was read and not acknowledged is read again after a restart. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopTimer?.();
    this.#unsubscribe?.();
    for (const s of this.#streams.values()) s.abort();
    await Promise.allSettled([...this.#follows]);
  }

  get streams(): number {
    let n = 0;
    for (const s of this.#streams.values()) if (s.following) n++;
    return n;
  }

  get pendingMessages(): number {
    let n = 0;
    for (const s of this.#streams.values()) n += s.pending;
    return n;
  }

  views(): ContainerStreamView[] {
    return [...this.#streams.values()].map((s) => s.view()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async #sweep(): Promise<void> {
    if (this.#stopped || this.#sweeping) return;
    this.#sweeping = true;
    try {
      const now = Date.now();
      const inventory = this.#o.inventory;
      for (const record of inventory.list()) {
        if (record.id === inventory.selfId || this.#selection.skipReason(record) !== null) continue;
        let stream = this.#streams.get(record.id);
        if (stream === undefined) {
          const known = this.#o.registry.getContainer(record.id) !== undefined;
          // A stopped container is read when the agent saw it run, or followed it before a restart.
          if (!isRunning(record) && !known && !(record.startedAt !== null && record.startedAt >= this.#startedAt)) continue;
          stream = new ContainerStream(record, { ...this.#o, readFrom: this.#o.config.read_from, syncReads: this.#syncReads, settings: this.#settings() });
          this.#streams.set(record.id, stream);
        } else stream.updateRecord(record);
        if (this.#shouldFollow(stream, record, now)) this.#follow(stream);
        else {
          await stream.flushDue(now);
          const silent = now - stream.lastDataAt;
          // Checked 5 s into a quiet spell, then ever more rarely (half the silence, at most every 5 min):
          // a follow gets stuck while its container logs (a rotation), and each check is a request to the daemon.
          if (stream.following && silent > STALL_CHECK_MS && now - stream.stallCheckedAt > Math.min(STALL_CHECK_MAX_MS, Math.max(STALL_CHECK_MS, silent / 2))) {
            stream.stallCheckedAt = now;
            void stream.checkStalled().catch(() => false);
          }
        }
      }
      for (const stream of [...this.#streams.values()]) {
        if (inventory.byId(stream.id) !== undefined || stream.following || stream.pending > 0) continue;
        // Removed, read to the end, everything acknowledged: let go.
        this.#streams.delete(stream.id);
        this.#o.registry.removeContainer(stream.id);
      }
      for (const saved of [...this.#o.registry.containers()]) {
        if (!this.#streams.has(saved.id) && inventory.byId(saved.id) === undefined && now - saved.updatedAt > FORGET_AFTER_MS) this.#o.registry.removeContainer(saved.id);
      }
    } finally {
      this.#sweeping = false;
    }
  }

  #shouldFollow(stream: ContainerStream, record: ContainerRecord, now: number): boolean {
    if (stream.following || stream.state === 'unreadable' || stream.pending > 0 || now < stream.retryAt) return false;
    // Read to its end for this run: wait until the container starts again — unless it still
    // runs a while after the stream ended (the daemon closed it): then reopen from the position.
    if (stream.drainedRun === undefined || stream.drainedRun !== record.startedAt) return true;
    return isRunning(record) && now - stream.endedAt > REOPEN_RUNNING_MS;
  }

  #follow(stream: ContainerStream): void {
    const run = stream.record.startedAt;
    const follow = stream.follow().then((end) => this.#ended(stream, end, run));
    this.#follows.add(follow);
    void follow.finally(() => this.#follows.delete(follow));
  }

  #ended(stream: ContainerStream, end: FollowEnd, run: string | null): void {
    const log = this.#o.logger;
    const name = stream.record.name;
    switch (end.kind) {
      case 'eof':
        stream.state = 'ended';
        stream.endedAt = Date.now();
        stream.failures = 0;
        // The stream ends when the container stops: if it is running again (restarted quickly), reopen.
        stream.drainedRun = isRunning(this.#o.inventory.byId(stream.id)) && this.#o.inventory.byId(stream.id)?.startedAt !== run ? undefined : run;
        log.debug({ container: name, id: stream.id }, 'container output read to its end');
        return;
      case 'gone':
        stream.state = 'ended';
        stream.drainedRun = run;
        return;
      case 'unreadable': {
        stream.state = 'unreadable';
        stream.reason = end.reason;
        const driver = stream.driver ?? 'unknown';
        this.#o.metrics?.containerUnreadable(driver);
        const message = `output of container ${name} cannot be collected: ${end.reason}`;
        log.warn({ event: 'logs.container_unreadable', container: name, id: stream.id, driver, reason: end.reason }, message);
        this.#o.events.record({ kind: 'agent', time: Date.now(), action: 'logs.container_unreadable', level: 'warn', message, details: { container: name, id: stream.id, driver, reason: end.reason } });
        return;
      }
      case 'error':
        stream.failures++;
        stream.retryAt = Date.now() + Math.min(RETRY_MAX_MS, 500 * 2 ** stream.failures);
        stream.state = 'waiting';
        stream.reason = end.reason;
        log.warn({ container: name, id: stream.id, err: end.reason, retryInMs: stream.retryAt - Date.now() }, 'cannot follow container output; retrying');
        return;
      case 'stalled':
        stream.state = 'waiting';
        stream.reason = 'Docker held output its log stream did not deliver; reopened from the acknowledged position';
        log.warn({ event: 'logs.container_stream_stalled', container: name, id: stream.id }, `Docker holds output of container ${name} that its log stream did not deliver (a stalled or early-ended follow, or one that skipped part of a rotated file); reopening from the acknowledged position`);
        return;
      case 'stopped':
        return;
    }
  }

  #settings(): ConstructorParameters<typeof ContainerStream>[1]['settings'] {
    const c = this.#o.config;
    return {
      maxLineBytes: c.max_line_bytes,
      multiline: { pattern: c.multiline.pattern === '' ? null : c.multiline.pattern, negate: c.multiline.negate, match: c.multiline.match, maxLines: c.multiline.max_lines, timeoutMs: c.multiline.timeout },
    };
  }
}
