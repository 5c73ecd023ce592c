/**
 * Lifecycle figures per container — start time, last seen, exit code, OOM kill, restart count,
 * health — kept for `metrics.keep_stopped` after the container stops, also when it is removed
 * (`docker run --rm`, a scheduler cleaning up). cAdvisor drops a container's series as soon as
 * its cgroup disappears, which is exactly when an operator wants to know how it ended: exit
 * code 137 and OOM state vanish with it.
 *
 * Sources: the inventory (Docker's own state, kept live by events), Docker's `oom` and
 * `destroy` events (a removed container is copied before the inventory forgets it), and the
 * sampler (last seen; the kernel's OOM-kill counter).
 */
import type { ContainerRecord, ContainerHealth, ContainerState, RecordedEvent } from '../docker/types.ts';
import type { ContainerSample } from './types.ts';

export interface ContainerLifecycle {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  cgroupPath: string;
  state: ContainerState | 'removed';
  /** Unix ms; null when never started. */
  startedAt: number | null;
  finishedAt: number | null;
  /** Unix ms of the last sample taken while it ran (cAdvisor's container_last_seen). */
  lastSeen: number | null;
  /** Exit code of the last run; null while it has never exited. */
  exitCode: number | null;
  oomKilled: boolean;
  restartCount: number;
  health: ContainerHealth;
  /** OOM kills seen: the larger of Docker `oom` events and the kernel's counter, summed over runs. */
  oomEvents: number;
  removedAt: number | null;
}

interface Entry {
  figures: ContainerLifecycle;
  pid: number;
  dockerOomEvents: number;
  /** Kernel OOM kills of earlier runs (the counter restarts with each new cgroup). */
  kernelOomBase: number;
  kernelOomRun: number;
}

const RUNNING: ReadonlySet<string> = new Set(['running', 'paused', 'restarting']);

/**
 * How much longer than keep_stopped a removed container's figures are kept (not exported): the
 * Zabbix per-container document still answers for it until Zabbix's next discovery (every 5
 * minutes in the template) has dropped the container's items (src/metrics/zabbix.ts).
 */
export const LINGER_MS = 15 * 60_000;

function ms(iso: string | null): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

export class ContainerLifecycleTracker {
  readonly #keepStoppedMs: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: { keepStoppedMs: number }) {
    this.#keepStoppedMs = options.keepStoppedMs;
  }

  /** Folds a recorded event in; `lookup` finds the record while the inventory still has it. */
  onEvent(event: RecordedEvent, lookup: (id: string) => ContainerRecord | undefined): void {
    if (event.kind !== 'container') return;
    const id = event.containerId;
    if (event.action === 'oom') {
      const e = this.#entry(id, lookup(id));
      if (e) {
        e.dockerOomEvents++;
        this.#refreshOom(e);
      }
    } else if (event.action === 'die') {
      const e = this.#entry(id, lookup(id));
      if (e && event.exitCode !== undefined) {
        e.figures.exitCode = event.exitCode;
        e.figures.finishedAt ??= event.time;
      }
    } else if (event.action === 'destroy') {
      const e = this.#entry(id, lookup(id));
      if (e) this.#markRemoved(e, event.time);
    }
  }

  /** Brings every entry up to date with the inventory and the latest samples; drops what aged out. */
  update(records: readonly ContainerRecord[], latest: (id: string) => ContainerSample | undefined, now: number): void {
    const present = new Set<string>();
    for (const r of records) {
      present.add(r.id);
      const e = this.#entry(r.id, r);
      if (!e) continue;
      this.#apply(e, r);
      const s = latest(r.id);
      if (s && RUNNING.has(r.state)) {
        e.figures.lastSeen = Math.max(e.figures.lastSeen ?? 0, s.at);
        if (s.memory.oomKills !== null) e.kernelOomRun = s.memory.oomKills;
        this.#refreshOom(e);
      }
    }
    for (const [id, e] of this.#entries) {
      if (!present.has(id) && e.figures.state !== 'removed') this.#markRemoved(e, now);
      if (!present.has(id) && !this.#visible(e.figures, now, LINGER_MS)) this.#entries.delete(id);
    }
  }

  /**
   * Containers whose figures are exported: running, or stopped less than keep_stopped ago — or
   * less than keep_stopped + `lingerMs` (at most LINGER_MS: older removed ones are forgotten).
   */
  list(now: number, lingerMs = 0): ContainerLifecycle[] {
    const out: ContainerLifecycle[] = [];
    for (const e of this.#entries.values()) if (this.#visible(e.figures, now, lingerMs)) out.push(e.figures);
    return out;
  }

  get(id: string): ContainerLifecycle | undefined {
    return this.#entries.get(id)?.figures;
  }

  /** Removed containers still within keep_stopped (the inventory no longer has them). */
  removed(now: number): ContainerLifecycle[] {
    return this.list(now).filter((f) => f.state === 'removed');
  }

  #visible(f: ContainerLifecycle, now: number, lingerMs = 0): boolean {
    if (RUNNING.has(f.state)) return true;
    const since = f.finishedAt ?? f.removedAt ?? f.lastSeen;
    return since !== null && now - since <= this.#keepStoppedMs + lingerMs;
  }

  #entry(id: string, record: ContainerRecord | undefined): Entry | undefined {
    let e = this.#entries.get(id);
    if (e === undefined && record !== undefined) {
      e = {
        figures: {
          id,
          name: record.name,
          image: record.image,
          labels: record.labels,
          cgroupPath: record.cgroupPath,
          state: record.state,
          startedAt: null,
          finishedAt: null,
          lastSeen: null,
          exitCode: null,
          oomKilled: false,
          restartCount: 0,
          health: 'none',
          oomEvents: 0,
          removedAt: null,
        },
        pid: record.pid,
        dockerOomEvents: 0,
        kernelOomBase: 0,
        kernelOomRun: 0,
      };
      this.#apply(e, record);
      this.#entries.set(id, e);
    }
    return e;
  }

  #apply(e: Entry, r: ContainerRecord): void {
    const f = e.figures;
    if (r.pid !== e.pid && r.pid > 0) {
      // a new run: the kernel's OOM counter starts again in the new cgroup
      e.kernelOomBase += e.kernelOomRun;
      e.kernelOomRun = 0;
      e.pid = r.pid;
    }
    f.name = r.name;
    f.image = r.image;
    f.labels = r.labels;
    f.cgroupPath = r.cgroupPath;
    f.state = r.state;
    f.startedAt = ms(r.startedAt);
    f.finishedAt = RUNNING.has(r.state) ? ms(r.finishedAt) : (ms(r.finishedAt) ?? f.finishedAt);
    if (r.exitCode !== null) f.exitCode = r.exitCode;
    f.oomKilled = r.oomKilled;
    f.restartCount = r.restartCount;
    f.health = r.health;
    f.removedAt = null;
    this.#refreshOom(e);
  }

  #markRemoved(e: Entry, at: number): void {
    e.figures.state = 'removed';
    e.figures.removedAt = at;
    e.figures.finishedAt ??= at;
  }

  /**
   * A running maximum, so the counter never goes down: Docker's events seen by this agent, the
   * kernel's counter over the runs sampled, and at least 1 when Docker says the last run was
   * OOM-killed (a kill before the agent started, or between two samples of a short-lived run).
   */
  #refreshOom(e: Entry): void {
    e.figures.oomEvents = Math.max(e.figures.oomEvents, e.dockerOomEvents, e.kernelOomBase + e.kernelOomRun, e.figures.oomKilled ? 1 : 0);
  }
}
