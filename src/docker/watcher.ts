/**
 * Keeps the ContainerInventory live: open the event stream first, then list and reconcile, so no
 * event between the two is missed (Vector's docker_logs does the same); on a broken stream,
 * reconnect with backoff and resume with `since=<last event time>`, then re-list. Events lost on
 * a live stream are noticed by the DriftDetector (drift.ts), which asks for a verifying re-list.
 * Docker being unreachable is a state (reported, retried), never a crash.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { Backoff } from '../core/backoff.ts';
import { errorMessage } from '../core/errors.ts';
import type { RecentEvents } from './recent-events.ts';
import { deadline, every, sleep } from '../core/timers.ts';
import { cgroupPathFromProc, derivedCgroupPath } from './cgroup-path.ts';
import { dockerInfo, dockerVersion, isNotFound } from './client.ts';
import { openEventStream } from './event-stream.ts';
import type { EventSubscription, RawDockerEvent } from './event-stream.ts';
import { inventoryDrift } from './drift.ts';
import type { DriftReason } from './drift.ts';
import { DriftMonitor } from './drift-monitor.ts';
import { EventDedup } from './event-dedup.ts';
import type { ContainerInventory } from './inventory.ts';
import { containerEventFrom, eventTime, recordFromInspect, toHealth, toState } from './records.ts';
import type { ContainerAction, ContainerRecord } from './types.ts';

export type DockerConnectionState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/** What the agent learns about the engine on each connect. */
export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  kernel: string;
  cgroupDriver: string;
  cgroupVersion: string;
  rootDir: string;
  storageDriver: string;
}

/** Hooks the metrics layer implements; the watcher only counts. */
export interface DockerWatcherMetrics {
  connectionState(state: DockerConnectionState): void;
  reconnect(): void;
  event(action: string): void;
  badEventLine(): void;
  reconcile(durationMs: number, inventorySize: number): void;
  /** Inventory drift found: symptoms in the event stream, or differences a re-list repaired. */
  drift(reason: DriftReason, count: number): void;
}

export interface DockerWatcherOptions {
  docker: Docker;
  inventory: ContainerInventory;
  events: RecentEvents;
  logger: Logger;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Periodic full re-list as a safety net; 0 = only on (re)connect. */
  resyncIntervalMs: number;
  /** Per-call timeout for list/inspect/info. */
  callTimeoutMs: number;
  metrics?: DockerWatcherMetrics;
  /** Inspect calls in flight during a reconcile. */
  inspectConcurrency?: number;
  procRoot?: string;
}

/** Actions recorded as lifecycle events. exec_*, attach, resize, top, … are noise (HEALTHCHECK runs an exec every interval). */
const LIFECYCLE = new Set<ContainerAction>(['create', 'start', 'restart', 'die', 'oom', 'kill', 'stop', 'pause', 'unpause', 'health_status', 'destroy', 'rename', 'update']);
/** A (re)connect lists everything afresh; a periodic resync or a drift verification re-lists to check. */
type ReconcileKind = 'connect' | 'periodic' | 'verify';

export class DockerWatcher {
  readonly #o: DockerWatcherOptions;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  #state: DockerConnectionState = 'disconnected';
  #lastError = '';
  #engine: EngineInfo | undefined;
  #loop: Promise<void> | undefined;
  #subscription: EventSubscription | undefined;
  /** Recently seen events: the resume point, and the repeats a resume re-sends. */
  readonly #dedup = new EventDedup();
  readonly #drift: DriftMonitor;
  /** While reconciling, event-driven changes wait here so a stale listing cannot overwrite them. */
  #pending: RawDockerEvent[] | undefined;
  readonly #refreshing = new Map<string, boolean>();
  /** Re-lists applied so far: an inspect that raced one may be older than it, and is asked again. */
  #relists = 0;
  #reconnects = 0;

  constructor(options: DockerWatcherOptions) {
    this.#o = options;
    this.#backoff = new Backoff({ baseMs: options.reconnectBaseMs, maxMs: options.reconnectMaxMs });
    this.#drift = new DriftMonitor({
      verify: () => void this.#resync('verify'),
      warn: (s) => this.#agentEvent('docker.drift', 'warn', s.message, { found: s.found, examples: s.examples }),
      count: (reason, n) => options.metrics?.drift(reason, n),
    });
  }

  get state(): DockerConnectionState {
    return this.#state;
  }

  get lastError(): string {
    return this.#lastError;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  get engine(): EngineInfo | undefined {
    return this.#engine;
  }

  /** Starts the connect loop in the background; never throws for an unreachable Docker. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#subscription?.close();
    this.#drift.stop();
    await this.#loop;
    this.#setState('stopped');
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let everConnected = false;
    let resync: NodeJS.Timeout | undefined;
    while (!signal.aborted) {
      this.#setState('connecting');
      try {
        const sub = await this.#connect(signal);
        this.#setState('connected');
        this.#backoff.reset();
        if (everConnected) {
          this.#reconnects++;
          this.#o.metrics?.reconnect();
          this.#agentEvent('docker.reconnected', 'info', `Docker event stream resumed; inventory has ${this.#o.inventory.size} containers`);
        }
        everConnected = true;
        if (this.#o.resyncIntervalMs > 0) resync = every(this.#o.resyncIntervalMs, () => void this.#resync('periodic'));
        const err = await sub.done;
        clearInterval(resync);
        if (signal.aborted) break;
        this.#lastError = err ? errorMessage(err) : 'event stream ended';
        this.#setState('disconnected');
        this.#agentEvent('docker.disconnected', 'warn', `Docker event stream lost: ${this.#lastError}`);
      } catch (err) {
        clearInterval(resync);
        if (signal.aborted) break;
        const message = errorMessage(err);
        const first = this.#lastError !== message || this.#backoff.attempt === 0;
        this.#lastError = message;
        this.#setState('disconnected');
        if (first) this.#agentEvent('docker.unreachable', 'error', `cannot reach Docker: ${message}`);
        else this.#o.logger.debug({ attempt: this.#backoff.attempt, err: message }, 'Docker still unreachable');
      }
      await sleep(this.#backoff.next(), signal);
    }
  }

  /** Stream first, then list: events during the listing are queued and replayed after it. */
  async #connect(signal: AbortSignal): Promise<EventSubscription> {
    this.#pending = [];
    const sub = await openEventStream(this.#o.docker, {
      sinceNano: this.#dedup.resumeFrom,
      signal,
      onEvent: (e) => this.#onRawEvent(e),
      onBadLine: (line) => {
        this.#o.metrics?.badEventLine();
        this.#o.logger.warn({ line: line.slice(0, 200) }, 'unparseable line on the Docker event stream');
      },
    });
    this.#subscription = sub;
    try {
      this.#engine = await this.#fetchEngine();
      await this.#reconcile('connect');
    } catch (err) {
      sub.close();
      throw err;
    }
    return sub;
  }

  async #fetchEngine(): Promise<EngineInfo> {
    const signal = deadline(this.#o.callTimeoutMs);
    const [version, info] = await Promise.all([dockerVersion(this.#o.docker, signal), dockerInfo(this.#o.docker, signal)]);
    return {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: text(info.OperatingSystem, ''),
      kernel: text(info.KernelVersion, version.KernelVersion ?? ''),
      cgroupDriver: text(info.CgroupDriver, 'cgroupfs'),
      cgroupVersion: text(info.CgroupVersion, '1'),
      rootDir: text(info.DockerRootDir, ''),
      storageDriver: text(info.Driver, ''),
    };
  }

  /** Live `docker info` for the host endpoint (counts change); undefined when unreachable. */
  async info(): Promise<Record<string, unknown> | undefined> {
    try {
      return await dockerInfo(this.#o.docker, deadline(this.#o.callTimeoutMs));
    } catch {
      return undefined;
    }
  }

  async #resync(kind: 'periodic' | 'verify'): Promise<void> {
    if (this.#state !== 'connected' || this.#pending) return; // a re-list under way re-arms the verification when it ends
    this.#pending = [];
    try {
      await this.#reconcile(kind);
    } catch (err) {
      const pending = this.#pending ?? [];
      this.#pending = undefined;
      for (const e of pending) this.#applyToInventory(e, true);
      this.#o.logger.warn({ err: errorMessage(err) }, `${kind} Docker resync failed`);
      this.#drift.settle();
    }
  }

  /**
   * Lists every container and inspects those that are new or changed (all of them after a
   * (re)connect, since pids and states may all have moved), then replays queued events. Outside
   * a (re)connect, what the listing contradicts is drift: counted, and reported rate-limited.
   */
  async #reconcile(kind: ReconcileKind): Promise<void> {
    const started = performance.now();
    const inventory = this.#o.inventory;
    const triggers = this.#drift.begin();
    const inFlight = new Set(this.#refreshing.keys());
    const listed = await this.#o.docker.listContainers({ all: true, abortSignal: deadline(this.#o.callTimeoutMs) });
    // Events queued during the listing and inspects in flight explain a difference: it is about to
    // be applied. After a (re)connect differences are the outage's, reported as such.
    const queued = new Set((this.#pending ?? []).map((e) => e.Actor.ID));
    const explained = (id: string): boolean => queued.has(id) || inFlight.has(id) || this.#refreshing.has(id);
    const drift = kind === 'connect' ? [] : inventoryDrift(inventory, listed.map((c) => ({ id: c.Id, state: toState(c.State) })), explained);
    const toInspect = listed.filter((c) => kind === 'connect' || inventory.byId(c.Id)?.state !== c.State).map((c) => c.Id);
    const fresh = new Map<string, ContainerRecord>();
    await mapLimit(toInspect, this.#o.inspectConcurrency ?? 8, async (id) => {
      const r = await this.#inspect(id);
      if (r) fresh.set(id, r);
    });
    const records: ContainerRecord[] = [];
    for (const c of listed) {
      const r = fresh.get(c.Id) ?? inventory.byId(c.Id);
      if (r) records.push(r);
    }
    const result = inventory.replaceAll(records);
    this.#relists++;
    this.#drift.reconciled(listed.map((c) => c.Id));
    // held before the queued events replay: one that arrived after the listing explains a difference too
    this.#drift.relisted(drift);
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    for (const e of pending) this.#applyToInventory(e, true);
    const ms = performance.now() - started;
    this.#o.metrics?.reconcile(ms, inventory.size);
    this.#drift.settle();
    const quiet = kind === 'verify' && drift.length === 0;
    this.#o.logger[quiet ? 'debug' : 'info'](
      { kind, containers: inventory.size, inspected: toInspect.length, added: result.added.length, removed: result.removed.length, differences: drift.length, triggers: Object.fromEntries(triggers), ms: Math.round(ms) },
      'Docker inventory reconciled',
    );
  }

  /** Inspect → record; undefined when the container vanished meanwhile (not an error). */
  async #inspect(id: string): Promise<ContainerRecord | undefined> {
    try {
      const info = await this.#o.docker.getContainer(id).inspect({ abortSignal: deadline(this.#o.callTimeoutMs) });
      const pid = info.State?.Pid ?? 0;
      const cgroup =
        (await cgroupPathFromProc(pid, this.#o.procRoot)) ??
        derivedCgroupPath(info.Id, this.#engine?.cgroupDriver ?? 'cgroupfs', info.HostConfig?.CgroupParent ?? '');
      return recordFromInspect(info, cgroup, Date.now());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  #onRawEvent(e: RawDockerEvent): void {
    // A resume re-sends events from the `since` time on; live events may come slightly out of
    // timestamp order, so only exact repeats are dropped (event-dedup.ts).
    if (this.#dedup.repeat(e)) return;

    const [verb, detail] = splitAction(e.Action);
    this.#o.metrics?.event(verb);
    if (!LIFECYCLE.has(verb as ContainerAction)) return;
    this.#o.events.record(containerEventFrom(e, verb as ContainerAction, detail, this.#o.inventory.byId(e.Actor.ID)));
    if (this.#pending) this.#pending.push(e);
    else this.#applyToInventory(e, false);
  }

  /** Fast state change from the event itself, then an inspect for the full truth. `replay`: it waited out a re-list. */
  #applyToInventory(e: RawDockerEvent, replay: boolean): void {
    const id = e.Actor.ID;
    const [verb, detail] = splitAction(e.Action);
    const inv = this.#o.inventory;
    const attrs = e.Actor.Attributes ?? {};
    this.#drift.observe(id, verb, inv.byId(id) !== undefined || this.#refreshing.has(id), replay);
    switch (verb) {
      case 'destroy':
        inv.remove(id);
        this.#refreshing.delete(id);
        return;
      case 'start':
      case 'unpause':
        inv.patch(id, { state: 'running' });
        break;
      case 'die':
        inv.patch(id, { state: 'exited', exitCode: attrs.exitCode === undefined ? null : Number(attrs.exitCode), pid: 0, finishedAt: eventTime(e.nano) });
        break;
      case 'pause':
        inv.patch(id, { state: 'paused' });
        break;
      case 'oom':
        inv.patch(id, { oomKilled: true });
        break;
      case 'health_status':
        inv.patch(id, { health: toHealth(detail) });
        break;
      case 'rename':
        if (attrs.name) inv.patch(id, { name: attrs.name });
        break;
    }
    this.#refresh(id);
  }

  /**
   * Re-inspects a container, coalescing bursts: while an inspect is in flight, further requests
   * only mark it dirty, and one more inspect runs after it (so the last answer is never stale).
   */
  #refresh(id: string): void {
    if (this.#refreshing.has(id)) {
      this.#refreshing.set(id, true);
      return;
    }
    this.#refreshing.set(id, false);
    void (async () => {
      try {
        do {
          this.#refreshing.set(id, false);
          const relists = this.#relists;
          const r = await this.#inspect(id);
          if (!this.#refreshing.has(id)) return; // destroyed meanwhile
          // a re-list applied meanwhile may be newer than this answer (and no event may follow, if lost)
          if (relists !== this.#relists) this.#refreshing.set(id, true);
          else if (r) this.#o.inventory.upsert(r);
          else this.#o.inventory.remove(id);
        } while (this.#refreshing.get(id) === true && !this.#abort.signal.aborted);
      } catch (err) {
        this.#o.logger.warn({ container: id, err: errorMessage(err) }, 'inspect after event failed; the next reconcile will catch up');
      } finally {
        this.#refreshing.delete(id);
      }
    })();
  }

  #setState(state: DockerConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#o.metrics?.connectionState(state);
  }

  #agentEvent(action: string, level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>): void {
    this.#o.logger[level]({ event: action, docker: this.#state, ...details }, message);
    this.#o.events.record({ kind: 'agent', time: Date.now(), action, level, message, ...(details && { details }) });
  }
}

function text(v: unknown, fallback: string): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : fallback;
}

/** `health_status: healthy` → ['health_status', 'healthy']; `exec_start: sh -c …` → ['exec_start', …]. */
export function splitAction(action: string): [string, string] {
  const i = action.indexOf(':');
  return i < 0 ? [action, ''] : [action.slice(0, i), action.slice(i + 1).trim()];
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
