/**
 * Who stopped the containers found down after a Docker outage or an agent restart: the daemon's
 * shutdown (restart them), an operator (leave them alone), or their own exit (judged by the
 * crash rules as it was replayed). stop-attribution.ts judges each event as it comes; this
 * module judges what an event stream that broke (or an agent that was not running) could not
 * show, in three steps:
 *
 * 1. When the stream is lost it notes what was running and which stops came in the last burst
 *    (a shutdown kills every container at once).
 * 2. After the reconnect (or at the agent's first connect) it names the suspects — stopped
 *    containers that were running at the loss (or when the previous agent run saved its state)
 *    — and reads the daemon's own record of how each run ended (docker/stop-record.ts:
 *    HasBeenManuallyStopped), where it is readable. The verdict is an event,
 *    `restart.stops_judged`, saying what was judged and from what.
 * 3. It hands the controller the victims to restart, each with its cause: `outage` (staggered),
 *    `unobserved` (down since the previous agent run, no reboot), or `operator`.
 *
 * Survivors settle the hard case: a daemon shutdown stops every container before the stream
 * ends (unless live-restore is on), so one container that ran through the loss means no
 * shutdown stopped anything — the loss was a dropped connection, or live-restore kept them.
 */
import type { ContainerRecord } from '../docker/types.ts';
import type { StopRecord } from '../docker/stop-record.ts';
import { errorMessage } from '../core/errors.ts';
import type { PersistedContainer, PersistedHealthState } from './health-state-file.ts';
import type { ExitCause } from './restart-policy.ts';
import type { HealthEventSink } from './health-events.ts';
import type { StopAttribution } from './stop-attribution.ts';

export interface OutageFacts {
  records(): Iterable<ContainerRecord>;
  record(id: string): ContainerRecord | undefined;
  /** Has a restart policy and no restart pending or in flight. */
  idle(id: string): boolean;
  /** Containers with a restart policy the agent saw running. */
  running(): Iterable<string>;
}

export interface Victim {
  rec: ContainerRecord;
  cause: ExitCause;
}

export class OutageJudge {
  readonly #attribution: StopAttribution;
  readonly #facts: OutageFacts;
  readonly #hostBootTime: number;
  #persisted: PersistedHealthState | null;
  #runningAtLoss = new Set<string>();
  #stoppedNearLoss = new Set<string>();
  #burstAtLoss: string[] = [];
  /** Running containers when the stream was lost, with the start of their run. */
  #liveAtLoss = new Map<string, string | null>();

  constructor(options: { attribution: StopAttribution; facts: OutageFacts; persisted: PersistedHealthState | null; hostBootTime: number }) {
    this.#attribution = options.attribution;
    this.#facts = options.facts;
    this.#hostBootTime = options.hostBootTime;
    this.#persisted = options.persisted;
    for (const [id, p] of Object.entries(this.#persisted?.containers ?? {})) {
      if (p.stoppedOnPurpose) options.attribution.markStoppedOnPurpose(id);
    }
  }

  /** What the previous agent run saved of the container (until the first connect applied it). */
  previousRun(id: string): PersistedContainer | undefined {
    return this.#persisted?.containers[id];
  }

  /** The Docker event stream was lost at `at` (the daemon may be restarting). */
  onStreamLost(at: number): void {
    this.#runningAtLoss = new Set(this.#facts.running());
    this.#burstAtLoss = this.#attribution.onStreamLost(at);
    for (const id of this.#burstAtLoss) this.#runningAtLoss.add(id);
    // the burst rule may have judged these either way; the daemon's record can settle them
    this.#stoppedNearLoss = new Set(this.#attribution.stoppedNear(at));
    this.#liveAtLoss = new Map();
    for (const rec of this.#facts.records()) if (rec.state === 'running') this.#liveAtLoss.set(rec.id, rec.startedAt);
  }

  /** After a reconnect: containers running when the stream was lost that still run the same run. */
  survivorsOfLoss(): string[] {
    const ids: string[] = [];
    for (const [id, startedAt] of this.#liveAtLoss) {
      const rec = this.#facts.record(id);
      if (rec?.state === 'running' && rec.startedAt === startedAt) ids.push(id);
    }
    return ids;
  }

  /**
   * The stopped containers `victims(first)` will weigh: after an outage those running when the
   * stream was lost or stopped shortly before; on the first connect those running when the
   * previous agent run ended.
   */
  stopSuspects(first: boolean): string[] {
    const ids: string[] = [];
    for (const rec of this.#facts.records()) {
      if (rec.state !== 'exited' || !this.#facts.idle(rec.id)) continue;
      if (first) {
        const p = this.#persisted?.containers[rec.id];
        if (p?.running && !p.stoppedOnPurpose) ids.push(rec.id);
      } else if (this.#runningAtLoss.has(rec.id) || this.#stoppedNearLoss.has(rec.id)) {
        ids.push(rec.id);
      }
    }
    return ids;
  }

  /**
   * Docker is connected and the inventory reconciled: which stopped containers to restart, and
   * why. `manuallyStopped` is the daemon's own record for the containers it could be read for:
   * it wins over what the event timing suggested. Clears what the loss noted.
   */
  victims(first: boolean, manuallyStopped: ReadonlyMap<string, boolean>): Victim[] {
    const victims: Victim[] = [];
    const rebooted = this.#persisted !== null && this.#persisted.savedAt < this.#hostBootTime;
    const survived = !first && this.survivorsOfLoss().length > 0;
    for (const rec of this.#facts.records()) {
      if (rec.state !== 'exited' || !this.#facts.idle(rec.id)) continue;
      const onRecord = manuallyStopped.get(rec.id);
      if (first) {
        const p = this.#persisted?.containers[rec.id];
        if (!p?.running || p.stoppedOnPurpose) continue;
        // stopped through the API after the previous agent run saved its state: left alone
        if (onRecord === true) this.#attribution.markStoppedOnPurpose(rec.id);
        victims.push({ rec, cause: onRecord === true ? 'operator' : rebooted ? 'outage' : 'unobserved' });
      } else if (this.#runningAtLoss.has(rec.id) || this.#stoppedNearLoss.has(rec.id)) {
        if (onRecord !== undefined) this.#attribution.settle(rec.id, onRecord);
        else if (survived && this.#burstAtLoss.includes(rec.id)) this.#attribution.settle(rec.id, true);
        // With survivors there was no shutdown, so no outage: the exits replayed since the loss
        // were judged as they came (a crash by the crash rules).
        const onPurpose = onRecord ?? (!this.#runningAtLoss.has(rec.id) || this.#attribution.stoppedOnPurpose(rec.id));
        if (!onPurpose && !survived) victims.push({ rec, cause: 'outage' });
      }
    }
    if (first) {
      this.#persisted = null; // applied; no longer needed
    } else {
      // (not on the first connect: a loss before the agent's first look is judged by the reconnect that follows)
      this.#runningAtLoss.clear();
      this.#stoppedNearLoss.clear();
      this.#liveAtLoss.clear();
      this.#burstAtLoss = [];
    }
    return victims.sort((a, b) => (a.rec.name < b.rec.name ? -1 : a.rec.name > b.rec.name ? 1 : 0));
  }
}

export interface JudgeStopsOptions {
  first: boolean;
  judge: Pick<OutageJudge, 'stopSuspects' | 'survivorsOfLoss'>;
  /** Off: health.restart.daemon_record is false. */
  useDaemonRecord: boolean;
  readStopRecord(id: string): Promise<StopRecord>;
  name(id: string): string;
  emit: HealthEventSink;
  /** The health monitor stopped meanwhile: nothing is reported or decided. */
  stopped(): boolean;
}

/**
 * Step 2 above: asks the daemon's record about each suspect and reports the verdict. Returns the
 * record's answers (container id → stopped through the API) for `victims()`, or null when the
 * monitor stopped meanwhile. Never throws.
 */
export async function judgeStops(o: JudgeStopsOptions): Promise<Map<string, boolean> | null> {
  const suspects = o.judge.stopSuspects(o.first);
  const manuallyStopped = new Map<string, boolean>();
  let unavailable = o.useDaemonRecord ? '' : 'turned off (health.restart.daemon_record: false)';
  try {
    for (const id of unavailable ? [] : suspects) {
      const r = await o.readStopRecord(id);
      if ('manuallyStopped' in r) manuallyStopped.set(id, r.manuallyStopped);
      else unavailable ||= r.unavailable;
    }
  } catch (err) {
    unavailable ||= errorMessage(err);
  }
  if (o.stopped()) return null;
  if (suspects.length === 0) return manuallyStopped;
  const onPurpose = [...manuallyStopped].filter(([, v]) => v).map(([id]) => o.name(id)).sort();
  const notOnPurpose = [...manuallyStopped].filter(([, v]) => !v).map(([id]) => o.name(id)).sort();
  const survivors = o.first ? [] : o.judge.survivorsOfLoss().map((id) => o.name(id)).sort();
  const source = !unavailable ? 'daemon-record' : manuallyStopped.size === 0 ? 'event-timing' : 'mixed';
  const when = o.first ? 'agent start' : 'Docker reconnect';
  let message = !unavailable
    ? `${when}: the daemon's record says ${onPurpose.length} of ${suspects.length} stopped container(s) were stopped through its API`
    : `${when}: ${suspects.length - manuallyStopped.size} of ${suspects.length} stopped container(s) judged by event timing; the daemon's record of manual stops is not readable (${unavailable})`;
  if (survivors.length > 0) message += `; ${survivors.length} container(s) ran through the loss, so no daemon shutdown stopped anything (a dropped connection, or live-restore)`;
  o.emit('restart.stops_judged', 'info', message, {
    first: o.first,
    source,
    stoppedOnPurpose: onPurpose,
    notStoppedOnPurpose: notOnPurpose,
    ...(survivors.length > 0 ? { survivedTheLoss: survivors } : {}),
    ...(unavailable ? { unavailable } : {}),
  });
  return manuallyStopped;
}
