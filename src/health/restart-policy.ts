/**
 * The restart decision as pure functions: facts and history in, a decision and the next history
 * out. No clock, no randomness, no I/O of their own (`now` and `random` are inputs), so every rule
 * below is unit-tested on its own (test/unit/health/restart-policy.test.ts).
 *
 * The rules, in the order they are checked, and the anchors' failures each one answers:
 *  1. policy `no` → nothing.
 *  2. a stop or kill that came through the Docker API (an operator, a deploy tool) → never undone
 *     (docker-autoheal users see containers they stopped on purpose come back); an exit that
 *     happened while the agent was not running has an unknown cause → left alone too.
 *  3. the trigger must be one the policy covers: `on-unhealthy` = unhealthy; `on-failure` =
 *     non-zero exit, OOM kill, or taken down by a host reboot/daemon restart; `always` = all of
 *     those, clean exits too.
 *  4. Docker is busy with it (`restarting`, `removing`, `dead`) or it is paused → hands off.
 *  5. an unhealthy verdict on a container that is no longer running is stale.
 *  6. Docker's own restart policy already covers this exit → Docker restarts it; two restarters
 *     racing each other is how containers end up started twice. Docker never restarts an
 *     unhealthy container (its restart policies act on exits only; moby keeps an unhealthy container
 *     running), so unhealthy is ours.
 *  7. one restart at a time per container.
 *  8. healthy (or running, without a probe) for `reset_after` → backoff and crash-loop mark reset
 *     (Kubernetes resets CrashLoopBackOff after 10 min; Docker after 10 s up, which lets a
 *     container that dies at 11 s restart at full speed forever).
 *  9. marked crash-looping → left alone (and reported) until it recovers or an operator starts it.
 * 10. `max_restarts` already made within `window` → marked crash-looping, no restart: no storms.
 * 11. otherwise restart after `backoff_base · 2^attempt`, capped at `backoff_max`, jittered into
 *     the upper half (Docker: no jitter, 100 ms doubling to 1 min; Kubernetes: 10 s to 5 min);
 *     after a host reboot or daemon restart, no earlier than the container's stagger slot.
 */
import type { ContainerHealth, ContainerRecord, ContainerState } from '../docker/types.ts';
import type { RestartSpec } from './spec.ts';

/**
 * Who or what ended the container's last run: the container itself (`crash`, any exit code), a
 * stop/kill through the Docker API (`operator`), a host reboot or daemon restart (`outage`), or
 * unknown because the agent was not running when it happened (`unobserved`).
 */
export type ExitCause = 'crash' | 'operator' | 'outage' | 'unobserved';

export type RestartTrigger =
  | { kind: 'exit'; at: number; exitCode: number | null; oomKilled: boolean; cause: ExitCause }
  | { kind: 'unhealthy'; at: number; source: 'probe' | 'docker'; detail: string };

export interface ContainerFacts {
  state: ContainerState;
  /** Docker's own restart policy: `no`, `always`, `unless-stopped`, `on-failure`. */
  dockerRestartPolicy: string;
  dockerMaxRetries: number;
  dockerRestartCount: number;
}

/** A container's facts from its inventory record (`state` overrides the record's: an event's newer word). */
export function containerFacts(rec: ContainerRecord | undefined, state?: ContainerState): ContainerFacts {
  return {
    state: state ?? rec?.state ?? 'unknown',
    dockerRestartPolicy: rec?.restartPolicy ?? 'no',
    dockerMaxRetries: rec?.restartPolicyMaxRetries ?? 0,
    dockerRestartCount: rec?.restartCount ?? 0,
  };
}

export interface RestartHistory {
  /** Unix ms of the agent's restarts of this container, oldest first. */
  restarts: number[];
  /** Backoff step of the next restart (0 = backoff_base). */
  attempt: number;
  crashLooping: boolean;
  /** Running and not unhealthy since this time; null when not. */
  upSince: number | null;
  /** A restart is scheduled or in flight. */
  pending: boolean;
}

export type SkipReason =
  | 'policy-no'
  | 'stopped-on-purpose'
  | 'unobserved'
  | 'not-covered'
  | 'docker-busy'
  | 'paused'
  | 'not-running'
  | 'docker-policy'
  | 'pending'
  | 'crash-looping';

/** Why a restart is made (the `reason` label of dockhand_restarts_total). */
export type RestartReason = 'unhealthy-probe' | 'unhealthy-docker' | 'exit-nonzero' | 'oom' | 'exit-zero' | 'outage';

export type RestartDecision =
  | { action: 'restart'; reason: RestartReason; delayMs: number; attempt: number; restartsInWindow: number; message: string }
  | { action: 'skip'; reason: SkipReason; message: string }
  | { action: 'crashloop'; reason: 'max-restarts'; restartsInWindow: number; message: string };

export interface DecideInput {
  spec: RestartSpec;
  trigger: RestartTrigger;
  facts: ContainerFacts;
  history: RestartHistory;
  now: number;
  /** Jitter draw in [0, 1). */
  random: number;
  /** Earliest delay after a host reboot or daemon restart (this container's stagger slot). */
  staggerMs?: number;
}

export function newHistory(): RestartHistory {
  return { restarts: [], attempt: 0, crashLooping: false, upSince: null, pending: false };
}

/** Delay of backoff step `attempt`: uniform in [d/2, d], d = min(max, base · 2^attempt). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

export function restartReason(trigger: RestartTrigger): RestartReason {
  if (trigger.kind === 'unhealthy') return trigger.source === 'probe' ? 'unhealthy-probe' : 'unhealthy-docker';
  if (trigger.cause === 'outage') return 'outage';
  if (trigger.oomKilled) return 'oom';
  return trigger.exitCode === 0 ? 'exit-zero' : 'exit-nonzero';
}

/** Rule 8 and window pruning: the history as it stands at `now`. */
export function relax(history: RestartHistory, spec: RestartSpec, now: number): RestartHistory {
  const restarts = history.restarts.filter((t) => t > now - spec.windowMs);
  const reset = history.upSince !== null && now - history.upSince >= spec.resetAfterMs && (history.attempt !== 0 || history.crashLooping);
  if (!reset && restarts.length === history.restarts.length) return history;
  return { ...history, restarts, ...(reset ? { attempt: 0, crashLooping: false } : {}) };
}

function covers(policy: RestartSpec['policy'], trigger: RestartTrigger): boolean {
  if (policy === 'no') return false;
  if (trigger.kind === 'unhealthy') return policy === 'on-unhealthy' || policy === 'always';
  if (policy === 'on-unhealthy') return false;
  if (policy === 'always') return true;
  // on-failure
  return trigger.cause === 'outage' || trigger.oomKilled || (trigger.exitCode !== null && trigger.exitCode !== 0);
}

/** Does Docker's own restart policy restart this exit? (It never acts on unhealthy.) */
export function dockerCovers(facts: ContainerFacts, trigger: RestartTrigger): boolean {
  if (trigger.kind !== 'exit') return false;
  const p = facts.dockerRestartPolicy;
  if (p === 'always' || p === 'unless-stopped') return true;
  if (p === 'on-failure') {
    const failed = trigger.oomKilled || (trigger.exitCode !== null && trigger.exitCode !== 0) || trigger.cause === 'outage';
    return failed && (facts.dockerMaxRetries === 0 || facts.dockerRestartCount < facts.dockerMaxRetries);
  }
  return false;
}

function describeTrigger(t: RestartTrigger): string {
  if (t.kind === 'unhealthy') return `unhealthy (${t.source === 'probe' ? 'dockhand probe' : 'Docker HEALTHCHECK'}: ${t.detail})`;
  if (t.cause === 'outage') return `taken down by a host reboot or Docker daemon restart (exit code ${t.exitCode ?? 'unknown'})`;
  if (t.oomKilled) return 'killed by the OOM killer';
  return `exited with code ${t.exitCode ?? 'unknown'}`;
}

export function decide(input: DecideInput): { decision: RestartDecision; history: RestartHistory } {
  const { spec, trigger, facts, now } = input;
  const skip = (reason: SkipReason, message: string, history = input.history): { decision: RestartDecision; history: RestartHistory } => ({
    decision: { action: 'skip', reason, message },
    history,
  });
  const what = describeTrigger(trigger);

  if (spec.policy === 'no') return skip('policy-no', `${what}; restart policy is no`);
  if (trigger.kind === 'exit' && trigger.cause === 'operator') return skip('stopped-on-purpose', `${what} after a stop/kill through the Docker API: left alone`);
  if (trigger.kind === 'exit' && trigger.cause === 'unobserved') return skip('unobserved', `${what} while the agent was not running; the cause is unknown, so it is left alone`);
  if (!covers(spec.policy, trigger)) return skip('not-covered', `${what}; restart policy ${spec.policy} does not cover it`);
  if (facts.state === 'restarting' || facts.state === 'removing' || facts.state === 'dead') return skip('docker-busy', `${what}; Docker has it in state ${facts.state}`);
  if (facts.state === 'paused') return skip('paused', `${what}; the container is paused`);
  if (trigger.kind === 'unhealthy' && facts.state !== 'running') return skip('not-running', `${what}; the container is ${facts.state}, not running`);
  if (trigger.kind === 'exit' && facts.state === 'running') return skip('not-running', `${what}; the container is running again`);
  if (dockerCovers(facts, trigger)) return skip('docker-policy', `${what}; Docker's restart policy ${facts.dockerRestartPolicy} restarts it`);
  if (input.history.pending) return skip('pending', `${what}; a restart is already scheduled`);

  const history = relax(input.history, spec, now);
  if (history.crashLooping) return skip('crash-looping', `${what}; marked crash-looping, left alone until it recovers or is started by hand`, history);
  if (history.restarts.length >= spec.maxRestarts) {
    const restartsInWindow = history.restarts.length;
    return {
      decision: {
        action: 'crashloop',
        reason: 'max-restarts',
        restartsInWindow,
        message: `${what}; ${restartsInWindow} restarts within ${Math.round(spec.windowMs / 1000)} s (max_restarts ${spec.maxRestarts}): marked crash-looping and left alone`,
      },
      history: { ...history, crashLooping: true },
    };
  }
  const backoff = backoffDelay(history.attempt, spec.backoffBaseMs, spec.backoffMaxMs, input.random);
  const delayMs = Math.max(backoff, input.staggerMs ?? 0);
  return {
    decision: {
      action: 'restart',
      reason: restartReason(trigger),
      delayMs,
      attempt: history.attempt + 1,
      restartsInWindow: history.restarts.length,
      message: `${what}: restart #${history.attempt + 1} in ${delayMs} ms`,
    },
    history: { ...history, attempt: history.attempt + 1, pending: true },
  };
}

/** Why a scheduled restart should no longer run (checked just before it does); null = go ahead. */
export type RecheckOutcome = 'gone' | 'recovered' | 'stopped-on-purpose' | 'docker-busy' | 'docker-policy' | 'paused' | 'not-running' | null;

export function recheck(
  trigger: RestartTrigger,
  facts: ContainerFacts | undefined,
  health: { probe: 'starting' | 'healthy' | 'unhealthy' | null; docker: ContainerHealth },
  stoppedOnPurpose: boolean,
): RecheckOutcome {
  if (!facts) return 'gone';
  if (facts.state === 'restarting' || facts.state === 'removing' || facts.state === 'dead') return 'docker-busy';
  if (facts.state === 'paused') return 'paused';
  if (stoppedOnPurpose && facts.state !== 'running') return 'stopped-on-purpose';
  if (trigger.kind === 'exit') {
    if (facts.state === 'running') return 'recovered';
    return dockerCovers(facts, trigger) ? 'docker-policy' : null;
  }
  if (facts.state !== 'running') return 'not-running';
  const stillBad = trigger.source === 'probe' ? health.probe === 'unhealthy' : health.docker === 'unhealthy';
  return stillBad ? null : 'recovered';
}
