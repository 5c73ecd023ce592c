// Verdicts from consecutive probe results: thresholds, grace, flapping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProbeState } from '../../../src/health/probe-state.ts';
import type { ProbeResult } from '../../../src/health/probes.ts';

const OK: ProbeResult = { ok: true, latencyMs: 1, detail: 'HTTP 200' };
const BAD: ProbeResult = { ok: false, latencyMs: 1, detail: 'HTTP 503', failure: 'status' };
const START = 1_000_000;

function feed(state: ProbeState, results: ProbeResult[], from: number, step = 1000): (string | undefined)[] {
  return results.map((r, i) => state.observe(r, from + i * step)?.to);
}

test('unhealthy after exactly unhealthy_threshold consecutive failures, healthy after healthy_threshold successes', () => {
  const s = new ProbeState({ healthyThreshold: 2, unhealthyThreshold: 3, graceMs: 0 }, START);
  assert.deepEqual(feed(s, [OK, OK, BAD, BAD, BAD, BAD], START), [undefined, 'healthy', undefined, undefined, 'unhealthy', undefined]);
  assert.deepEqual(feed(s, [OK, OK], START + 10_000), [undefined, 'healthy']);
});

test('a success in between resets the failure count (flapping never reaches the threshold)', () => {
  const s = new ProbeState({ healthyThreshold: 1, unhealthyThreshold: 3, graceMs: 0 }, START);
  const flapping = [OK, BAD, BAD, OK, BAD, BAD, OK, BAD, BAD, OK];
  assert.deepEqual(feed(s, flapping, START).filter(Boolean), ['healthy']);
  assert.equal(s.status, 'healthy');
});

test('failures inside the grace period are recorded but not counted', () => {
  const s = new ProbeState({ healthyThreshold: 1, unhealthyThreshold: 2, graceMs: 5000 }, START);
  // four failures inside grace (t = 0..3 s), then two after it (5 s, 6 s)
  assert.deepEqual(feed(s, [BAD, BAD, BAD, BAD], START), [undefined, undefined, undefined, undefined]);
  assert.equal(s.status, 'starting');
  assert.equal(s.observe(BAD, START + 5000), undefined);
  assert.equal(s.observe(BAD, START + 6000)?.to, 'unhealthy');
  const snap = s.snapshot(START + 6000) as { ignoredInGrace: number; failures: number; consecutiveFailures: number; history: { counted: boolean }[] };
  assert.equal(snap.ignoredInGrace, 4);
  assert.equal(snap.failures, 6);
  assert.equal(snap.consecutiveFailures, 2);
  assert.deepEqual(snap.history.map((h) => h.counted), [false, false, false, false, true, true]);
});

test('a success ends the grace period early (Docker start-period rule)', () => {
  const s = new ProbeState({ healthyThreshold: 1, unhealthyThreshold: 1, graceMs: 60_000 }, START);
  assert.equal(s.observe(OK, START + 1000)?.to, 'healthy');
  assert.equal(s.inGrace(START + 2000), false);
  assert.equal(s.observe(BAD, START + 2000)?.to, 'unhealthy');
});

test('transitions carry the consecutive count and the last detail; history is bounded', () => {
  const s = new ProbeState({ healthyThreshold: 1, unhealthyThreshold: 4, graceMs: 0 }, START);
  let t;
  for (let i = 0; i < 4; i++) t = s.observe(BAD, START + i);
  assert.deepEqual(t, { from: 'starting', to: 'unhealthy', at: START + 3, consecutive: 4, detail: 'HTTP 503' });
  for (let i = 0; i < 30; i++) s.observe(BAD, START + 10 + i);
  assert.equal((s.snapshot(START) as { history: unknown[] }).history.length, 10);
  assert.equal(s.since, START + 3);
});
