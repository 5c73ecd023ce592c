// Every rule of the restart decision (src/health/restart-policy.ts), and the backoff sequence,
// with an injected clock and jitter draw.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, decide, dockerCovers, newHistory, recheck, relax } from '../../../src/health/restart-policy.ts';
import type { ContainerFacts, DecideInput, RestartHistory, RestartTrigger } from '../../../src/health/restart-policy.ts';
import type { RestartSpec } from '../../../src/health/spec.ts';

const T0 = 1_800_000_000_000;
const POLICY: RestartSpec = { policy: 'always', maxRestarts: 5, windowMs: 600_000, backoffBaseMs: 1000, backoffMaxMs: 300_000, resetAfterMs: 600_000, stopTimeoutMs: 10_000 };
const EXITED: ContainerFacts = { state: 'exited', dockerRestartPolicy: 'no', dockerMaxRetries: 0, dockerRestartCount: 0 };
const RUNNING: ContainerFacts = { ...EXITED, state: 'running' };
const crash = (exitCode: number | null = 1, extra: Partial<Extract<RestartTrigger, { kind: 'exit' }>> = {}): RestartTrigger => ({ kind: 'exit', at: T0, exitCode, oomKilled: false, cause: 'crash', ...extra });
const unhealthy = (source: 'probe' | 'docker' = 'probe'): RestartTrigger => ({ kind: 'unhealthy', at: T0, source, detail: 'HTTP 500' });

function input(over: Partial<DecideInput> = {}): DecideInput {
  return { spec: POLICY, trigger: crash(), facts: EXITED, history: newHistory(), now: T0, random: 0.5, ...over };
}

function skipReason(over: Partial<DecideInput>): string {
  const { decision } = decide(input(over));
  assert.equal(decision.action, 'skip', decision.message);
  return decision.reason;
}

describe('backoff', () => {
  test('doubles from base to the cap, jitter in the upper half', () => {
    const top = [0, 1, 2, 3, 4, 5, 8, 9, 10].map((a) => backoffDelay(a, 1000, 300_000, 0.999999));
    assert.deepEqual(top, [1000, 2000, 4000, 8000, 16_000, 32_000, 256_000, 300_000, 300_000]);
    const bottom = [0, 1, 2, 9].map((a) => backoffDelay(a, 1000, 300_000, 0));
    assert.deepEqual(bottom, [500, 1000, 2000, 150_000]);
  });

  test('never overflows: attempt 5000 is the cap', () => {
    assert.equal(backoffDelay(5000, 1000, 300_000, 0.999999), 300_000);
  });

  test('successive decisions walk the sequence with an injected clock', () => {
    let history = newHistory();
    const delays: number[] = [];
    const attempts: number[] = [];
    let now = T0;
    for (let i = 0; i < 4; i++) {
      const r = decide(input({ history, now, random: 0.999999 }));
      assert.equal(r.decision.action, 'restart');
      if (r.decision.action !== 'restart') return;
      delays.push(r.decision.delayMs);
      attempts.push(r.decision.attempt);
      now += r.decision.delayMs;
      // the controller records the restart when it runs and clears `pending`
      history = { ...r.history, pending: false, restarts: [...r.history.restarts, now] };
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000]);
    assert.deepEqual(attempts, [1, 2, 3, 4]);
  });
});

describe('rules', () => {
  test('1: policy no does nothing', () => {
    assert.equal(skipReason({ spec: { ...POLICY, policy: 'no' } }), 'policy-no');
    assert.equal(skipReason({ spec: { ...POLICY, policy: 'no' }, trigger: unhealthy(), facts: RUNNING }), 'policy-no');
  });

  test('2: a stop or kill through the API is never undone, whatever the policy', () => {
    for (const policy of ['always', 'on-failure'] as const) {
      assert.equal(skipReason({ spec: { ...POLICY, policy }, trigger: crash(137, { cause: 'operator' }) }), 'stopped-on-purpose');
    }
  });

  test('2: an exit the agent did not see (it was not running) is left alone', () => {
    assert.equal(skipReason({ trigger: crash(1, { cause: 'unobserved' }) }), 'unobserved');
  });

  test('3: on-unhealthy covers unhealthy only', () => {
    const spec: RestartSpec = { ...POLICY, policy: 'on-unhealthy' };
    assert.equal(decide(input({ spec, trigger: unhealthy(), facts: RUNNING })).decision.action, 'restart');
    assert.equal(decide(input({ spec, trigger: unhealthy('docker'), facts: RUNNING })).decision.action, 'restart');
    assert.equal(skipReason({ spec, trigger: crash(1) }), 'not-covered');
    assert.equal(skipReason({ spec, trigger: crash(1, { cause: 'outage' }) }), 'not-covered');
  });

  test('3: on-failure covers non-zero exits, OOM kills and outages, not clean exits or unhealthy', () => {
    const spec: RestartSpec = { ...POLICY, policy: 'on-failure' };
    assert.equal(decide(input({ spec, trigger: crash(2) })).decision.action, 'restart');
    assert.equal(decide(input({ spec, trigger: crash(0, { oomKilled: true }) })).decision.action, 'restart');
    assert.equal(decide(input({ spec, trigger: crash(0, { cause: 'outage' }) })).decision.action, 'restart');
    assert.equal(skipReason({ spec, trigger: crash(0) }), 'not-covered');
    assert.equal(skipReason({ spec, trigger: crash(null) }), 'not-covered');
    assert.equal(skipReason({ spec, trigger: unhealthy(), facts: RUNNING }), 'not-covered');
  });

  test('3: always covers clean exits and unhealthy too', () => {
    const r = decide(input({ trigger: crash(0) })).decision;
    assert.equal(r.action === 'restart' && r.reason, 'exit-zero');
    assert.equal(decide(input({ trigger: unhealthy(), facts: RUNNING })).decision.action, 'restart');
  });

  test('4: hands off while Docker is restarting, removing, or the container is dead or paused', () => {
    for (const state of ['restarting', 'removing', 'dead'] as const) assert.equal(skipReason({ facts: { ...EXITED, state } }), 'docker-busy');
    assert.equal(skipReason({ trigger: unhealthy(), facts: { ...RUNNING, state: 'paused' } }), 'paused');
  });

  test('5: an unhealthy verdict on a container that is not running is stale; an exit of a running one too', () => {
    assert.equal(skipReason({ trigger: unhealthy(), facts: EXITED }), 'not-running');
    assert.equal(skipReason({ trigger: crash(1), facts: RUNNING }), 'not-running');
  });

  test('6: Docker\'s own restart policy covers exits, never unhealthy', () => {
    assert.equal(skipReason({ facts: { ...EXITED, dockerRestartPolicy: 'always' } }), 'docker-policy');
    assert.equal(skipReason({ facts: { ...EXITED, dockerRestartPolicy: 'unless-stopped' } }), 'docker-policy');
    assert.equal(skipReason({ trigger: crash(3), facts: { ...EXITED, dockerRestartPolicy: 'on-failure' } }), 'docker-policy');
    assert.equal(decide(input({ trigger: unhealthy(), facts: { ...RUNNING, dockerRestartPolicy: 'always' } })).decision.action, 'restart');
  });

  test('6: Docker on-failure does not cover clean exits, nor failures past its retry limit', () => {
    assert.equal(decide(input({ trigger: crash(0), facts: { ...EXITED, dockerRestartPolicy: 'on-failure' } })).decision.action, 'restart');
    const exhausted: ContainerFacts = { ...EXITED, dockerRestartPolicy: 'on-failure', dockerMaxRetries: 3, dockerRestartCount: 3 };
    assert.equal(dockerCovers(exhausted, crash(1)), false);
    assert.equal(dockerCovers({ ...exhausted, dockerRestartCount: 2 }, crash(1)), true);
  });

  test('7: one restart at a time', () => {
    assert.equal(skipReason({ history: { ...newHistory(), pending: true } }), 'pending');
  });

  test('8: healthy for reset_after resets backoff and the crash-loop mark', () => {
    const history: RestartHistory = { restarts: [], attempt: 6, crashLooping: true, upSince: T0 - POLICY.resetAfterMs, pending: false };
    const r = decide(input({ history }));
    assert.equal(r.decision.action, 'restart');
    assert.equal(r.decision.action === 'restart' && r.decision.attempt, 1);
    assert.equal(r.history.crashLooping, false);
    const notYet = decide(input({ history: { ...history, upSince: T0 - POLICY.resetAfterMs + 1 } }));
    assert.equal(notYet.decision.reason, 'crash-looping');
  });

  test('9: a crash-looping container is left alone', () => {
    assert.equal(skipReason({ history: { ...newHistory(), crashLooping: true } }), 'crash-looping');
  });

  test('10: max_restarts within the window marks it crash-looping; older restarts fall out of the window', () => {
    const restarts = [T0 - 500_000, T0 - 400_000, T0 - 300_000, T0 - 200_000, T0 - 100_000];
    const r = decide(input({ history: { ...newHistory(), restarts, attempt: 5 } }));
    assert.equal(r.decision.action, 'crashloop');
    assert.equal(r.decision.action === 'crashloop' && r.decision.restartsInWindow, 5);
    assert.equal(r.history.crashLooping, true);
    const older = [T0 - POLICY.windowMs, ...restarts.slice(1)];
    const r2 = decide(input({ history: { ...newHistory(), restarts: older, attempt: 5 } }));
    assert.equal(r2.decision.action, 'restart');
    assert.equal(r2.decision.action === 'restart' && r2.decision.restartsInWindow, 4);
  });

  test('11: after an outage the stagger slot is the earliest delay', () => {
    const r = decide(input({ trigger: crash(143, { cause: 'outage' }), staggerMs: 7000 })).decision;
    assert.equal(r.action === 'restart' && r.delayMs, 7000);
    assert.equal(r.action === 'restart' && r.reason, 'outage');
    const short = decide(input({ trigger: crash(143, { cause: 'outage' }), staggerMs: 10, history: { ...newHistory(), attempt: 3 }, random: 0.999999 })).decision;
    assert.equal(short.action === 'restart' && short.delayMs, 8000);
  });

  test('reasons name the trigger', () => {
    const reason = (t: RestartTrigger, facts = EXITED): string => decide(input({ trigger: t, facts })).decision.reason;
    assert.equal(reason(unhealthy('probe'), RUNNING), 'unhealthy-probe');
    assert.equal(reason(unhealthy('docker'), RUNNING), 'unhealthy-docker');
    assert.equal(reason(crash(1)), 'exit-nonzero');
    assert.equal(reason(crash(137, { oomKilled: true })), 'oom');
    assert.equal(reason(crash(0, { cause: 'outage' })), 'outage');
  });

  test('decide does not mutate its input', () => {
    const history: RestartHistory = { restarts: [T0 - 1000], attempt: 1, crashLooping: false, upSince: null, pending: false };
    const frozen = structuredClone(history);
    decide(input({ history }));
    assert.deepEqual(history, frozen);
  });
});

describe('relax and recheck', () => {
  test('relax prunes restarts out of the window and keeps the object when nothing changes', () => {
    const h: RestartHistory = { restarts: [T0 - 700_000, T0 - 10], attempt: 2, crashLooping: false, upSince: null, pending: false };
    assert.deepEqual(relax(h, POLICY, T0).restarts, [T0 - 10]);
    const fresh = { ...h, restarts: [T0 - 10] };
    assert.equal(relax(fresh, POLICY, T0), fresh);
    // up for long, already reset: nothing to change, so the same object (no needless state writes)
    const settled: RestartHistory = { restarts: [], attempt: 0, crashLooping: false, upSince: T0 - 10 * POLICY.resetAfterMs, pending: false };
    assert.equal(relax(settled, POLICY, T0), settled);
  });

  test('recheck cancels a restart that is no longer needed', () => {
    const health = { probe: 'unhealthy' as const, docker: 'none' as const };
    assert.equal(recheck(crash(1), undefined, health, false), 'gone');
    assert.equal(recheck(crash(1), RUNNING, health, false), 'recovered');
    assert.equal(recheck(crash(1), EXITED, health, true), 'stopped-on-purpose');
    assert.equal(recheck(crash(1), { ...EXITED, dockerRestartPolicy: 'always' }, health, false), 'docker-policy');
    assert.equal(recheck(crash(1), { ...EXITED, state: 'restarting' }, health, false), 'docker-busy');
    assert.equal(recheck(crash(1), EXITED, health, false), null);
    assert.equal(recheck(unhealthy(), RUNNING, health, false), null);
    assert.equal(recheck(unhealthy(), RUNNING, { ...health, probe: 'healthy' }, false), 'recovered');
    assert.equal(recheck(unhealthy(), EXITED, health, false), 'not-running');
    assert.equal(recheck(unhealthy('docker'), RUNNING, { probe: null, docker: 'unhealthy' }, false), null);
    assert.equal(recheck(unhealthy('docker'), RUNNING, { probe: null, docker: 'healthy' }, false), 'recovered');
  });
});
