/**
 * Inventory drift: noticing that the event-driven inventory may have parted from Docker, and
 * saying what a verifying re-list found. Pure logic (time is passed in): DriftMonitor
 * (drift-monitor.ts) owns the timers, the DockerWatcher the re-list.
 *
 * Events do get lost: moby's publisher skips a subscriber that has not taken an event within
 * 100 ms (daemon/events/events.go, PublishMessage), a broken stream loses what was in flight, and
 * the agent itself once dropped late-stamped events (see event-dedup.ts). A lost event leaves no
 * gap to see, only symptoms: an event about a container the agent does not know (its create was
 * lost), a transition that cannot follow the last one (start after start: the die was lost), or
 * none at all (a lost destroy). So: suspicious events and bursts of events (when loss is likely)
 * schedule a verification re-list shortly after the stream quiets down, debounced and bounded, and
 * what that re-list finds, minus what queued events, inspects in flight and events soon after
 * explain, is drift.
 */
import type { ContainerState } from './types.ts';

/** Why drift was counted: symptoms in the event stream, or what a verifying re-list found. */
export type DriftReason = 'unknown_container' | 'transition' | 'missing' | 'stale' | 'state';
export const DRIFT_REASONS: readonly DriftReason[] = ['unknown_container', 'transition', 'missing', 'stale', 'state'];
/** What makes the detector ask for a verification; `relist`: the last one found differences, so look again once quiet. */
export type DriftTrigger = 'unknown_container' | 'transition' | 'burst' | 'relist';

export interface DriftFinding {
  id: string;
  reason: DriftReason;
  /** Human-readable: what the agent had against what Docker says, or the event that gave it away. */
  detail: string;
}

export interface DriftDetectorOptions {
  /** Verify once no lifecycle event has arrived for this long after a suspicion. */
  quietMs: number;
  /** …but at the latest this long after the first suspicion: steady churn never goes quiet. */
  maxDelayMs: number;
  /** Lifecycle events in one burst (no pause of quietMs) that are worth a verification. */
  burstEvents: number;
  /** Containers whose last event-derived phase is remembered (oldest forgotten first). */
  trackLimit: number;
  /** A difference a re-list found counts as drift when no event for the container follows within this. */
  confirmMs: number;
}

export const DEFAULT_DRIFT: DriftDetectorOptions = { quietMs: 1000, maxDelayMs: 10_000, burstEvents: 32, trackLimit: 10_000, confirmMs: 2000 };

/** Where a container's own events put it; `listed`: known from a listing, no event since. */
type Phase = 'listed' | 'created' | 'running' | 'paused' | 'stopped' | 'removed';

const NEXT_PHASE: Readonly<Record<string, Phase>> = {
  create: 'created',
  start: 'running',
  restart: 'running',
  unpause: 'running',
  pause: 'paused',
  die: 'stopped',
  destroy: 'removed',
};

/**
 * Transitions a container's own event sequence rules out. moby logs start, die, pause and unpause
 * while holding the container's lock (daemon/start.go containerStart, daemon/monitor.go
 * handleContainerExit and ProcessEvent), so one container's events arrive in order even when
 * different containers' interleave. Only sure cases: `die` after `create` is allowed (an engine
 * may log die for a start that failed), and `listed` allows anything.
 */
function impossible(prev: Phase, action: string): boolean {
  if (prev === 'removed') return true; // nothing follows a destroy
  switch (action) {
    case 'start':
      return prev === 'running' || prev === 'paused'; // its die was lost
    case 'die':
      return prev === 'stopped'; // the start in between was lost
    case 'pause':
      return prev !== 'running' && prev !== 'listed';
    case 'unpause':
      return prev !== 'paused' && prev !== 'listed';
    default:
      return false;
  }
}

export class DriftDetector {
  readonly #o: DriftDetectorOptions;
  readonly #phases = new Map<string, Phase>();
  readonly #triggers = new Map<DriftTrigger, number>();
  readonly #held = new Map<string, { finding: DriftFinding; until: number }>();
  #suspectSince: number | undefined;
  #lastEventAt = Number.NEGATIVE_INFINITY;
  #burst = 0;

  constructor(options: DriftDetectorOptions = DEFAULT_DRIFT) {
    this.#o = options;
  }

  /**
   * One lifecycle event, in stream order, as it is applied. `known`: the inventory has the
   * container or an inspect of it is in flight. `replay`: the event waited out a reconcile, whose
   * listing may already be newer than it, so a container it does not know proves nothing.
   * Returns the symptom the event shows, if any.
   */
  observe(id: string, action: string, known: boolean, replay: boolean, now: number): DriftFinding | undefined {
    this.#held.delete(id); // a late event explains what a re-list found
    // a replayed event arrived during the re-list: its duration was no pause in the stream
    if (!replay && now - this.#lastEventAt >= this.#o.quietMs) this.#burst = 0;
    this.#lastEventAt = now;
    // Every event of a burst past the threshold keeps the suspicion alive, so after a
    // verification forced mid-burst by maxDelayMs one more follows once the burst ends.
    if (++this.#burst >= this.#o.burstEvents) this.suspect('burst', now);
    const prev = this.#phases.get(id);
    let finding: DriftFinding | undefined;
    if (prev === undefined) {
      // a destroy of an unknown container leaves the inventory right; a create is how one becomes known
      if (!known && !replay && action !== 'create' && action !== 'destroy') finding = { id, reason: 'unknown_container', detail: `${action} of a container the agent did not know` };
    } else if (impossible(prev, action)) {
      finding = { id, reason: 'transition', detail: `${action} after ${prev}` };
    }
    this.#track(id, NEXT_PHASE[action] ?? prev ?? 'listed');
    if (finding) this.suspect(finding.reason as DriftTrigger, now);
    return finding;
  }

  /** When a verification should run (ms, the clock of `now`): quietMs after the suspicion and the last event, at most maxDelayMs after the suspicion. */
  get deadline(): number | undefined {
    if (this.#suspectSince === undefined) return undefined;
    return Math.min(Math.max(this.#lastEventAt, this.#suspectSince) + this.#o.quietMs, this.#suspectSince + this.#o.maxDelayMs);
  }

  /** A re-list begins (any kind: it covers the suspicion so far). Returns what raised it, by count. */
  begin(): Map<DriftTrigger, number> {
    const triggers = new Map(this.#triggers);
    this.#triggers.clear();
    this.#suspectSince = undefined;
    return triggers;
  }

  /**
   * A re-list is in the inventory. Listed containers start over as `listed` and the others are
   * forgotten: the events queued during the listing are replayed next and may be older than it
   * (the kill, die and destroy of a container the listing no longer has).
   */
  reconciled(listedIds: Iterable<string>): void {
    const listed = new Set(listedIds);
    for (const id of [...this.#phases.keys()]) if (!listed.has(id)) this.#phases.delete(id);
    for (const id of listed) this.#track(id, 'listed');
  }

  /**
   * Differences a re-list found, held back for confirmMs: Docker updates what it lists before it
   * publishes the event (daemon/start.go checkpoints the running state, then logs start; create
   * and destroy likewise), so a listing can be ahead of the stream, and an event for the
   * container meanwhile explains the difference.
   */
  hold(findings: readonly DriftFinding[], now: number): void {
    for (const f of findings) this.#held.set(f.id, { finding: f, until: now + this.#o.confirmMs });
  }

  /** When held differences are due to be confirmed, or undefined when none are held. */
  get confirmAt(): number | undefined {
    let at: number | undefined;
    for (const { until } of this.#held.values()) if (at === undefined || until < at) at = until;
    return at;
  }

  /** Held differences no event explained in time: drift. */
  confirm(now: number): DriftFinding[] {
    const out: DriftFinding[] = [];
    for (const [id, { finding, until }] of this.#held) {
      if (until > now) continue;
      out.push(finding);
      this.#held.delete(id);
    }
    return out;
  }

  /** Makes a verification due (see deadline); also for suspicion from outside the stream (a re-list that found differences). */
  suspect(trigger: DriftTrigger, now: number): void {
    this.#triggers.set(trigger, trigger === 'burst' ? 1 : (this.#triggers.get(trigger) ?? 0) + 1);
    this.#suspectSince ??= now;
  }

  #track(id: string, phase: Phase): void {
    this.#phases.delete(id); // re-insert: the map's order is least recently seen first
    this.#phases.set(id, phase);
    if (this.#phases.size > this.#o.trackLimit) {
      const oldest = this.#phases.keys().next().value;
      if (oldest !== undefined) this.#phases.delete(oldest);
    }
  }
}

/** The inventory as the drift check reads it (ContainerInventory fits). */
export interface InventoryLookup {
  ids(): string[];
  byId(id: string): { state: ContainerState } | undefined;
}

/**
 * Differences between the inventory and a fresh listing, minus the containers `explained` says
 * are in motion (events queued during the listing, inspects in flight): those are about to change
 * anyway. States Docker enters without an event of their own are not drift: `removing` (a docker
 * rm under way, until its destroy), `dead` (a removal that failed) and `restarting` (a restart
 * policy between die and start).
 */
export function inventoryDrift(inventory: InventoryLookup, listed: readonly { id: string; state: string }[], explained: (id: string) => boolean): DriftFinding[] {
  const out: DriftFinding[] = [];
  const listedIds = new Set<string>();
  for (const c of listed) {
    listedIds.add(c.id);
    if (explained(c.id)) continue;
    const mine = inventory.byId(c.id);
    if (!mine) out.push({ id: c.id, reason: 'missing', detail: `docker has it ${c.state}, the agent did not know it` });
    else if (!compatible(mine.state, c.state)) out.push({ id: c.id, reason: 'state', detail: `agent ${mine.state}, docker ${c.state}` });
  }
  for (const id of inventory.ids()) {
    if (!listedIds.has(id) && !explained(id)) out.push({ id, reason: 'stale', detail: `agent ${inventory.byId(id)?.state ?? '?'}, gone from docker` });
  }
  return out;
}

function compatible(agent: string, docker: string): boolean {
  if (agent === docker) return true;
  if (docker === 'removing' || docker === 'dead') return true;
  return docker === 'restarting' && (agent === 'exited' || agent === 'running');
}

export interface DriftSummary {
  found: Partial<Record<DriftReason, number>>;
  /** A few findings, `<id12> <reason>: <detail>`. */
  examples: string[];
  message: string;
}

const EXAMPLES = 5;
const WORDS: Record<DriftReason, string> = {
  unknown_container: 'events about unknown containers',
  transition: 'impossible transitions',
  missing: 'containers missing',
  stale: 'removed containers still listed',
  state: 'containers in the wrong state',
};

/**
 * Rate-limits the drift warning: the first finding is reported at once, later ones are gathered
 * and reported together once `intervalMs` has passed since the last report (one line naming what
 * was found, never a line per container).
 */
export class DriftReport {
  readonly #intervalMs: number;
  #found = new Map<DriftReason, number>();
  #examples: string[] = [];
  #lastAt = Number.NEGATIVE_INFINITY;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  add(findings: readonly DriftFinding[]): void {
    for (const f of findings) {
      this.#found.set(f.reason, (this.#found.get(f.reason) ?? 0) + 1);
      if (this.#examples.length < EXAMPLES) this.#examples.push(`${f.id.slice(0, 12)} ${f.reason}: ${f.detail}`);
    }
  }

  /** When gathered findings may be reported (ms), or undefined when there are none. */
  get dueAt(): number | undefined {
    return this.#found.size === 0 ? undefined : this.#lastAt + this.#intervalMs;
  }

  /** The summary to report now, or undefined (nothing gathered, or the last report is too recent). */
  take(now: number): DriftSummary | undefined {
    const due = this.dueAt;
    if (due === undefined || now < due) return undefined;
    const found = Object.fromEntries(this.#found) as Partial<Record<DriftReason, number>>;
    const parts = DRIFT_REASONS.filter((r) => this.#found.has(r)).map((r) => `${this.#found.get(r)} ${WORDS[r]}`);
    const summary = { found, examples: this.#examples, message: `Docker inventory drift: ${parts.join(', ')}; Docker events were lost, the inventory was re-listed` };
    this.#found = new Map();
    this.#examples = [];
    this.#lastAt = now;
    return summary;
  }
}
