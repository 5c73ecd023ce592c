// The probe scheduler with mocked timers: spread, fixed phase, concurrency bound, overruns.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { ProbeScheduler, gridFor, nextDue } from '../../../src/health/scheduler.ts';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

async function advance(ms: number, step = 1): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(step);
    await flush();
  }
}

function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

test('first runs are spread over the interval, then keep their phase', async () => {
  const runs: [string, number][] = [];
  const s = new ProbeScheduler({ maxConcurrent: 10, now: () => Date.now(), random: draws(0.1, 0.25, 0.5, 0.75) });
  for (const key of ['a', 'b', 'c', 'd']) {
    s.add(key, 1000, () => {
      runs.push([key, Date.now()]);
      return Promise.resolve();
    });
  }
  await advance(2990);
  assert.deepEqual(runs, [['a', 100], ['b', 250], ['c', 500], ['d', 750], ['a', 1100], ['b', 1250], ['c', 1500], ['d', 1750], ['a', 2100], ['b', 2250], ['c', 2500], ['d', 2750]]);
  assert.equal(s.stats().maxDelayMs, 0);
  await s.stop();
});

test('slow probes do not shift the phase (due times advance by the interval, not after the run)', async () => {
  const starts: number[] = [];
  const s = new ProbeScheduler({ maxConcurrent: 10, now: () => Date.now(), random: () => 0.1 });
  s.add('slow', 1000, async () => {
    starts.push(Date.now());
    await new Promise((r) => setTimeout(r, 400));
  });
  await advance(3500);
  assert.deepEqual(starts, [100, 1100, 2100, 3100]);
  await s.stop();
});

test('at most maxConcurrent in flight; the rest wait in order and their delay is measured', async () => {
  const started: string[] = [];
  const release: (() => void)[] = [];
  const delays: number[] = [];
  // due at 500, 1000, 1500, 2000
  const s = new ProbeScheduler({ maxConcurrent: 2, now: () => Date.now(), random: draws(0.05, 0.1, 0.15, 0.2), onDelay: (ms) => delays.push(ms) });
  for (const key of ['a', 'b', 'c', 'd']) {
    s.add(key, 10_000, () => {
      started.push(key);
      return new Promise<void>((r) => release.push(r));
    });
  }
  await advance(2100);
  assert.deepEqual(started, ['a', 'b']);
  assert.equal(s.stats().inFlight, 2);
  assert.equal(s.stats().waiting, 2);
  release.shift()?.();
  await flush();
  assert.deepEqual(started, ['a', 'b', 'c']);
  release.shift()?.();
  await flush();
  assert.deepEqual(started, ['a', 'b', 'c', 'd']);
  assert.deepEqual(delays, [0, 0, 600, 100]);
  assert.equal(s.takeMaxDelay(), 600);
  assert.equal(s.stats().maxDelayMs, 0);
  for (const r of release) r();
  await s.stop();
});

test('a probe still running at its next due time skips that slot', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const s = new ProbeScheduler({ maxConcurrent: 10, now: () => Date.now(), random: () => 0 });
  s.add('stuck', 100, async () => {
    runs++;
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, 250));
    running--;
  });
  await advance(1000);
  assert.equal(maxRunning, 1);
  assert.equal(runs, 4); // at 0, 300, 600, 900: the slots at 100, 200, 400, 500, 700, 800, 1000 are skipped
  assert.equal(s.stats().overruns, 7);
  s.remove('stuck');
  await advance(300); // let the run in flight finish: its mocked sleep ignores stop()
  await s.stop();
});

test('remove stops a probe; add replaces one; stop aborts probes in flight', async () => {
  const runs: string[] = [];
  let aborted = false;
  const s = new ProbeScheduler({ maxConcurrent: 10, now: () => Date.now(), random: () => 0 });
  s.add('x', 100, () => {
    runs.push('x1');
    return Promise.resolve();
  });
  await advance(50);
  s.add('x', 100, () => {
    runs.push('x2');
    return Promise.resolve();
  });
  s.add('y', 100, (signal) => new Promise<void>((r) => signal.addEventListener('abort', () => { aborted = true; r(); })));
  await advance(250);
  s.remove('x');
  const before = runs.length;
  await advance(300);
  assert.equal(runs.length, before);
  assert.deepEqual([...new Set(runs)], ['x1', 'x2']);
  assert.equal(s.has('x'), false);
  assert.equal(s.size, 1);
  await s.stop();
  assert.equal(aborted, true);
  assert.equal(s.size, 0);
});

test('a throwing task does not stop the schedule', async () => {
  let runs = 0;
  const s = new ProbeScheduler({ maxConcurrent: 1, now: () => Date.now(), random: () => 0 });
  s.add('boom', 100, () => {
    runs++;
    return Promise.reject(new Error('boom'));
  });
  await advance(450);
  assert.equal(runs, 5);
  await s.stop();
});

test('nextDue keeps the phase across skipped slots', () => {
  assert.equal(nextDue(1000, 100, 1050), 1100);
  assert.equal(nextDue(1000, 100, 1100), 1200);
  assert.equal(nextDue(1000, 100, 1350), 1400);
});

test('first due times sit on a grid of the interval, so probes of one slot share a wake-up', async () => {
  assert.deepEqual([10_000, 5000, 1000, 300, 100, 10_001].map(gridFor), [500, 250, 50, 10, 5, 1]);
  const runs: [string, number][] = [];
  // 10 s interval, grid 500 ms: draws at 1.01 s, 1.2 s and 1.6 s land on 1.5 s, 1.5 s and 2 s
  const s = new ProbeScheduler({ maxConcurrent: 10, now: () => Date.now(), random: draws(0.101, 0.12, 0.16) });
  for (const key of ['a', 'b', 'c']) {
    s.add(key, 10_000, () => {
      runs.push([key, Date.now()]);
      return Promise.resolve();
    });
  }
  await advance(12_100, 50);
  runs.sort(([ka, ta], [kb, tb]) => ta - tb || (ka < kb ? -1 : 1)); // one wake-up starts a slot in heap order
  assert.deepEqual(runs, [['a', 1500], ['b', 1500], ['c', 2000], ['a', 11_500], ['b', 11_500], ['c', 12_000]]);
  assert.equal(s.stats().maxDelayMs, 0);
  await s.stop();
});
