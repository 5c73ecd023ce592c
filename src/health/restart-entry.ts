/**
 * One container's restart bookkeeping, as the controller keeps it: its history (restarts in the
 * window, backoff attempt, crash-loop mark, up since), a restart pending or in flight, and the
 * last decision and outcome — plus how that is shown (`/v1/containers/:id` `restart`) and saved
 * (health-state-file.ts).
 */
import type { ContainerRecord } from '../docker/types.ts';
import type { PersistedContainer } from './health-state-file.ts';
import { newHistory, relax } from './restart-policy.ts';
import type { ContainerFacts, RestartHistory, RestartReason, RestartTrigger, recheck } from './restart-policy.ts';
import type { RestartSpec } from './spec.ts';

export interface Pending {
  trigger: RestartTrigger;
  reason: RestartReason;
  dueAt: number;
  timer: NodeJS.Timeout | undefined;
}

export interface RestartEntry {
  id: string;
  name: string;
  /** The spec the entry was created with, for a container not in the inventory yet. */
  spec: RestartSpec;
  history: RestartHistory;
  pending: Pending | null;
  inFlight: boolean;
  /**
   * The new run's exit, when it came while the agent's restart call was still in flight (a run
   * that dies at once, on a daemon slow to answer): decided on once the call has returned.
   */
  exitInFlight: { trigger: RestartTrigger; facts: ContainerFacts } | null;
  running: boolean;
  total: number;
  lastDecision: { at: number; action: string; reason: string; message: string } | null;
  lastOutcome: { at: number; ok: boolean; method: string; durationMs: number; error?: string } | null;
}

/**
 * A new entry: history carried over from the previous agent run (`previous`), and "up since" its
 * start when the container runs and nothing judges its health (`judged`: a probe or a
 * HEALTHCHECK decides when it is up).
 */
export function newRestartEntry(o: { id: string; spec: RestartSpec; rec: ContainerRecord | undefined; previous: PersistedContainer | undefined; judged: boolean; name: string | undefined }): RestartEntry {
  const history = newHistory();
  if (o.previous) {
    history.restarts = [...o.previous.restarts];
    history.attempt = o.previous.attempt;
    history.crashLooping = o.previous.crashLooping;
  }
  if (o.rec?.state === 'running' && o.rec.startedAt && !o.judged) history.upSince = Date.parse(o.rec.startedAt);
  return {
    id: o.id,
    spec: o.spec,
    name: o.rec?.name ?? o.name ?? o.previous?.name ?? o.id.slice(0, 12),
    history,
    pending: null,
    inFlight: false,
    exitInFlight: null,
    running: o.rec?.state === 'running',
    total: 0,
    lastDecision: null,
    lastOutcome: null,
  };
}

/** The `restart` key of /v1/containers/:id. */
export function restartSnapshot(entry: RestartEntry | undefined, spec: RestartSpec, now: number, stoppedOnPurpose: boolean): Record<string, unknown> {
  const h = entry ? relax(entry.history, spec, now) : newHistory();
  return {
    policy: spec.policy,
    maxRestarts: spec.maxRestarts,
    windowMs: spec.windowMs,
    backoffBaseMs: spec.backoffBaseMs,
    backoffMaxMs: spec.backoffMaxMs,
    resetAfterMs: spec.resetAfterMs,
    stopTimeoutMs: spec.stopTimeoutMs,
    crashLooping: h.crashLooping,
    restartsInWindow: h.restarts.length,
    restartsTotal: entry?.total ?? 0,
    backoffAttempt: h.attempt,
    upSince: h.upSince === null ? null : new Date(h.upSince).toISOString(),
    stoppedOnPurpose,
    pending: entry?.pending ? { reason: entry.pending.reason, dueAt: new Date(entry.pending.dueAt).toISOString() } : null,
    inFlight: entry?.inFlight ?? false,
    lastDecision: entry?.lastDecision ? { ...entry.lastDecision, at: new Date(entry.lastDecision.at).toISOString() } : null,
    lastOutcome: entry?.lastOutcome ? { ...entry.lastOutcome, at: new Date(entry.lastOutcome.at).toISOString() } : null,
  };
}

/** What of an entry survives an agent restart. */
export function persistedEntry(e: RestartEntry, stoppedOnPurpose: boolean): PersistedContainer {
  return { name: e.name, running: e.running, stoppedOnPurpose, crashLooping: e.history.crashLooping, restarts: e.history.restarts, attempt: e.history.attempt };
}

/** Why a due restart was called off, in words (the `restart.cancelled` event). */
export function describeRecheck(why: NonNullable<ReturnType<typeof recheck>>): string {
  switch (why) {
    case 'gone':
      return 'the container no longer exists';
    case 'recovered':
      return 'the container recovered (running and not unhealthy) before the restart was due';
    case 'stopped-on-purpose':
      return 'the container was stopped through the Docker API meanwhile';
    case 'docker-busy':
      return 'Docker is restarting or removing it';
    case 'docker-policy':
      return 'Docker\'s own restart policy restarts it';
    case 'paused':
      return 'the container was paused';
    case 'not-running':
      return 'the container is no longer running';
  }
}
