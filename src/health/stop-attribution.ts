/**
 * Who ended a container's run, from the Docker event stream: the rule "never undo a stop made on
 * purpose" depends on it. Docker emits, in order:
 *   docker stop     kill(signal=15) → die → stop
 *   docker kill     kill(signal) → die
 *   docker rm -f    kill(9) → die → destroy
 *   docker restart  kill(15) → die → stop → start → restart
 *   crash / exit    die                       (an OOM kill: oom → die)
 * so a `die` preceded by an API `kill` is an operator's doing, a bare `die` is the container's
 * own. A kill with a terminating signal (TERM, KILL, INT, QUIT) since the last start counts
 * however long the process took to go; any other signal (HUP to reload, USR1…) only when the
 * die follows within 10 s, so a reload signal days before a crash does not hide the crash. A
 * `stop` event (which follows its `die`) settles any doubt, e.g. a custom StopSignal.
 *
 * The agent's own restarts produce the same kill/die/stop sequence: while one is in flight,
 * events of that container are the agent's, up to the `start` that completes it.
 *
 * When the daemon shuts down it stops every running container through the same code path as
 * `docker stop` (moby daemon.shutdownContainer → containerStop), and dockerd 20.10 delivers those
 * kill/die/stop events before the stream ends (measured: the stream closes ~1 s after the last
 * stop). What tells them apart from an operator's stop: the daemon kills all containers at once.
 * So when the stream is lost, the latest burst of first kills (each within 3 s of the next, all
 * within 30 s of the loss, the last of them down within 5 s of it) is re-attributed to the
 * outage; an operator's stop before the burst stays an operator's stop. That is a judgement from timing: where the daemon's own record is
 * readable (docker/stop-record.ts) it settles the question after the reconnect (`settle`).
 */
import type { ContainerEvent } from '../docker/types.ts';
import type { ExitCause } from './restart-policy.ts';

const TERMINATING = new Set(['15', '9', '2', '3', 'SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT', 'TERM', 'KILL', 'INT', 'QUIT']);
const OTHER_SIGNAL_WINDOW_MS = 10_000;
/** moby's default shutdown timeout is 15 s: a shutdown's kills all lie this close to the loss. */
export const SHUTDOWN_WINDOW_MS = 30_000;
/**
 * The daemon kills every container in parallel (moby ApplyAll): its kill events are milliseconds
 * apart on an idle host, but each is logged after a containerd RPC, which a loaded host can delay
 * by a second or more; 3 s between successive kills still counts as one burst.
 */
const BURST_GAP_MS = 3000;
/**
 * The stream is lost ~1 s after the shutdown's last container went down (dockerd 20.10, idle
 * host); allow for a loaded host. Erring here leaves the daemon's victims down (reported), never
 * brings back what an operator stopped.
 */
const BURST_END_TO_LOSS_MS = 5000;
/** How long after a finished agent action its container's events are still the agent's, at most. */
const AGENT_ACTION_TAIL_MS = 10_000;

interface RunState {
  /** Last API kill since the start: time and whether its signal terminates. */
  kill: { at: number; terminating: boolean } | null;
  /** First API kill since the start (a shutdown's SIGKILL follow-ups come 10 s after it). */
  firstKill: number | null;
  oom: boolean;
  /** The agent is restarting it: until the `start` event, or `agentUntil` if that never comes. */
  agent: boolean;
  agentUntil: number;
  lastExit: { at: number; cause: ExitCause } | null;
  onPurpose: boolean;
}

export interface Attribution {
  action: ContainerEvent['action'];
  /** The event came from the agent's own restart. */
  byAgent: boolean;
  /** On `die` (and on a `stop` that re-attributes the die): who ended the run. */
  exitCause?: ExitCause;
  /** On `die`: an `oom` event came first. */
  oomKilled?: boolean;
}

export class StopAttribution {
  readonly #runs = new Map<string, RunState>();

  #state(id: string): RunState {
    let s = this.#runs.get(id);
    if (!s) {
      s = { kill: null, firstKill: null, oom: false, agent: false, agentUntil: Infinity, lastExit: null, onPurpose: false };
      this.#runs.set(id, s);
    }
    return s;
  }

  /** Feed every container event in stream order. */
  onContainerEvent(e: ContainerEvent): Attribution {
    const s = this.#state(e.containerId);
    const byAgent = s.agent && e.time <= s.agentUntil;
    if (s.agent && !byAgent) s.agent = false; // the agent's action ended long ago without a start
    const out: Attribution = { action: e.action, byAgent };
    switch (e.action) {
      case 'kill':
        if (!byAgent) {
          s.kill = { at: e.time, terminating: TERMINATING.has(e.signal ?? '') };
          s.firstKill ??= e.time;
        }
        break;
      case 'oom':
        s.oom = true;
        break;
      case 'die': {
        let cause: ExitCause = 'crash';
        if (!byAgent && !s.oom && s.kill && (s.kill.terminating || e.time - s.kill.at <= OTHER_SIGNAL_WINDOW_MS)) cause = 'operator';
        if (!byAgent) {
          s.lastExit = { at: e.time, cause };
          s.onPurpose = cause === 'operator';
          out.exitCause = cause;
          out.oomKilled = s.oom;
        }
        break;
      }
      case 'stop':
        if (!byAgent) {
          s.onPurpose = true;
          if (s.lastExit && s.lastExit.cause !== 'operator') {
            s.lastExit = { at: s.lastExit.at, cause: 'operator' };
            out.exitCause = 'operator';
          }
        }
        break;
      case 'start':
        s.kill = null;
        s.firstKill = null;
        s.oom = false;
        s.onPurpose = false;
        s.agent = false;
        s.agentUntil = Infinity;
        break;
      case 'destroy':
        this.#runs.delete(e.containerId);
        break;
      default:
        break;
    }
    return out;
  }

  /** Call before the agent's own restart of `id`. */
  agentActionStarted(id: string): void {
    const s = this.#state(id);
    s.agent = true;
    s.agentUntil = Infinity;
  }

  /** Call when the agent's restart call returned; events up to the `start` (or a short tail) stay the agent's. */
  agentActionFinished(id: string, now: number): void {
    const s = this.#runs.get(id);
    if (s?.agent) s.agentUntil = now + AGENT_ACTION_TAIL_MS;
  }

  /** True while the last run was ended through the API by someone other than the agent. */
  stoppedOnPurpose(id: string): boolean {
    return this.#runs.get(id)?.onPurpose ?? false;
  }

  /** Restores a persisted "stopped on purpose" mark (agent restart). */
  markStoppedOnPurpose(id: string): void {
    this.#state(id).onPurpose = true;
  }

  /**
   * The event stream was lost at `at`: the last burst of operator-looking stops before it was the
   * daemon shutting down. Returns the containers re-attributed to the outage.
   */
  onStreamLost(at: number): string[] {
    const stops = [...this.#runs]
      .filter(([, s]) => s.lastExit?.cause === 'operator' && s.firstKill !== null && s.firstKill >= at - SHUTDOWN_WINDOW_MS)
      .sort(([, a], [, b]) => (b.firstKill as number) - (a.firstKill as number));
    const burst: RunState[] = [];
    const ids: string[] = [];
    let previous = Infinity;
    for (const [id, s] of stops) {
      const kill = s.firstKill as number;
      if (previous - kill > BURST_GAP_MS && ids.length > 0) break;
      previous = kill;
      burst.push(s);
      ids.push(id);
    }
    // The daemon closes the stream right after its last container is down (measured: ~1 s). A
    // burst that ended well before the loss was someone's `docker stop` of several containers
    // (say, before restarting dockerd by hand), not the shutdown.
    const lastDown = Math.max(...burst.map((s) => (s.lastExit as { at: number }).at));
    if (burst.length === 0 || at - lastDown > BURST_END_TO_LOSS_MS) return [];
    for (const s of burst) {
      s.lastExit = { at: (s.lastExit as { at: number }).at, cause: 'outage' };
      s.onPurpose = false;
    }
    return ids;
  }

  /**
   * Containers whose last run ended through the API (or the outage) at most SHUTDOWN_WINDOW_MS
   * before `at`: the ones the burst rule may have judged wrongly either way.
   */
  stoppedNear(at: number): string[] {
    const ids: string[] = [];
    for (const [id, s] of this.#runs) {
      const exit = s.lastExit;
      if (exit && (exit.cause === 'operator' || exit.cause === 'outage') && exit.at >= at - SHUTDOWN_WINDOW_MS) ids.push(id);
    }
    return ids;
  }

  /**
   * The daemon's own record (docker/stop-record.ts) settled who ended the last run: it overrides
   * what the events suggested.
   */
  settle(id: string, onPurpose: boolean): void {
    const s = this.#state(id);
    s.onPurpose = onPurpose;
    if (s.lastExit) s.lastExit = { at: s.lastExit.at, cause: onPurpose ? 'operator' : 'outage' };
  }

  lastExit(id: string): { at: number; cause: ExitCause } | null {
    return this.#runs.get(id)?.lastExit ?? null;
  }

  forget(id: string): void {
    this.#runs.delete(id);
  }
}
