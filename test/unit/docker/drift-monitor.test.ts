import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { DriftMonitor } from '../../../src/docker/drift-monitor.ts';
import type { DriftSummary } from '../../../src/docker/drift.ts';

function monitor(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const calls = { verify: 0, warn: [] as DriftSummary[], counted: new Map<string, number>() };
  const m = new DriftMonitor({
    verify: () => calls.verify++,
    warn: (s) => calls.warn.push(s),
    count: (reason, n) => calls.counted.set(reason, (calls.counted.get(reason) ?? 0) + n),
    detector: { quietMs: 1000, maxDelayMs: 10_000, burstEvents: 32, trackLimit: 1000, confirmMs: 2000 },
    warnIntervalMs: 60_000,
    now: () => Date.now(),
  });
  t.after(() => m.stop());
  return { m, calls, tick: (ms: number) => t.mock.timers.tick(ms) };
}

test('a symptom is counted at once and verified after the stream has been quiet for a second', (t) => {
  const { m, calls, tick } = monitor(t);
  m.observe('lost', 'start', false, false);
  assert.deepEqual([...calls.counted], [['unknown_container', 1]]);
  tick(600);
  m.observe('other', 'create', false, false);
  tick(900);
  assert.equal(calls.verify, 0, 'the stream is not quiet yet');
  tick(100);
  assert.equal(calls.verify, 1);
  tick(60_000);
  assert.equal(calls.verify, 1, 'once');
});

test('under steady churn verifications are spaced by the maximum delay, and one follows the end of the churn', (t) => {
  const { m, calls, tick } = monitor(t);
  const at: number[] = [];
  // what the watcher does when asked: a re-list begins (covering the suspicion so far) and ends
  const step = (): void => {
    tick(10);
    if (calls.verify > at.length) {
      at.push(Date.now());
      m.begin();
      m.settle();
    }
  };
  for (let i = 0; i < 3000; i++) {
    // 100 lifecycle events a second for 30 s
    m.observe(`c${i % 300}`, ['create', 'start', 'die', 'destroy'][i % 4] as string, true, false);
    step();
  }
  const churnEnd = Date.now();
  assert.deepEqual(at.map((ms) => Math.round(ms / 1000)), [10, 20], 'during the churn: one every 10 s');
  for (let i = 0; i < 1000; i++) step();
  assert.equal(at.length, 3, 'one more after the churn, then none');
  assert.ok((at[2] as number) <= churnEnd + 1000, `after the churn at ${at[2]}, ended ${churnEnd}`);
});

test('drift found in re-lists is warned about once per interval, gathered in between', (t) => {
  const { m, calls, tick } = monitor(t);
  m.found([{ id: 'a', reason: 'stale', detail: 'agent removing, gone from docker' }]);
  m.settle();
  assert.equal(calls.warn.length, 1);
  m.found([{ id: 'b', reason: 'missing', detail: '…' }, { id: 'c', reason: 'missing', detail: '…' }]);
  m.settle();
  assert.equal(calls.warn.length, 1, 'rate-limited');
  assert.deepEqual([...calls.counted], [['stale', 1], ['missing', 2]], 'counted at once all the same');
  tick(60_000);
  assert.equal(calls.warn.length, 2, 'what was gathered is reported when the interval is over');
  assert.deepEqual(calls.warn[1]?.found, { missing: 2 });
});

test('a re-list\'s findings are counted and reported with the symptoms once late events had their chance', (t) => {
  const { m, calls, tick } = monitor(t);
  m.observe('lost-create', 'start', false, false); // a symptom: counted at once
  m.begin();
  m.relisted([
    { id: 'stale', reason: 'stale', detail: 'agent removing, gone from docker' },
    { id: 'ahead', reason: 'state', detail: 'agent created, docker running' }, // listed before its start was published
  ]);
  m.settle();
  assert.equal(calls.warn.length, 0, 'the warning waits for the re-list\'s findings');
  m.observe('ahead', 'start', true, false);
  tick(2000);
  assert.deepEqual([...calls.counted], [['unknown_container', 1], ['stale', 1]]);
  assert.equal(calls.warn.length, 1);
  assert.deepEqual(calls.warn[0]?.found, { unknown_container: 1, stale: 1 }, 'one line for both');
});

test('a re-list that found differences is followed by one more once quiet; one that found none is not', (t) => {
  const { m, calls, tick } = monitor(t);
  m.begin();
  m.relisted([{ id: 'stale', reason: 'stale', detail: '…' }]);
  m.settle();
  tick(999);
  assert.equal(calls.verify, 0, 'not at once');
  tick(1);
  assert.equal(calls.verify, 1, 'where events were lost more may be: a second later');
  m.begin();
  m.relisted([]);
  m.settle();
  tick(60_000);
  assert.equal(calls.verify, 1);
});
