import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIMER_MS, after, deadline, every, repeat, sleep, timerDelay } from '../../../src/core/timers.ts';

void describe('timer delays safe for any value', () => {
  void it('clamps into [0, 2^31-1]; NaN and Infinity mean the longest delay, not 1 ms', () => {
    assert.equal(timerDelay(1500), 1500);
    assert.equal(timerDelay(0.2), 1);
    assert.equal(timerDelay(-5), 0);
    assert.equal(timerDelay(720 * 3_600_000), MAX_TIMER_MS);
    assert.equal(timerDelay(Infinity), MAX_TIMER_MS);
    assert.equal(timerDelay(Number.NaN), MAX_TIMER_MS);
  });

  void it('a month-long timeout or interval does not fire at once (Node alone would fire it after 1 ms)', async () => {
    let fired = 0;
    const t = after(720 * 3_600_000, () => fired++);
    const i = every(1000 * 3_600_000, () => fired++);
    const signal = deadline(1000 * 3_600_000);
    await sleep(30);
    clearTimeout(t);
    clearInterval(i);
    assert.equal(fired, 0);
    assert.equal(signal.aborted, false);
  });

  void it('sleep resolves true when due and false at once when aborted', async () => {
    assert.equal(await sleep(1), true);
    const controller = new AbortController();
    const pending = sleep(720 * 3_600_000, controller.signal);
    controller.abort();
    assert.equal(await pending, false);
  });
});

void describe('periodic work on a shared timer', () => {
  void it('tasks of one period started at different times run in one wake-up', async () => {
    const rounds: boolean[] = [];
    let bRan = 0;
    const stopA = repeat(40, () => {
      const before = bRan;
      // With a timer each, Node runs microtasks between timers: B, 15 ms later, would not have run yet.
      queueMicrotask(() => rounds.push(bRan > before));
    });
    await sleep(15);
    const stopB = repeat(40, () => bRan++);
    await sleep(200);
    stopA();
    stopB();
    const both = rounds.slice(1);
    assert.ok(both.length >= 2, `rounds: ${rounds.length}`);
    assert.ok(both.every(Boolean), `B ran in the same turn as A: ${JSON.stringify(rounds)}`);
  });

  void it('stopping one task keeps the others; the interval ends with the last one', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const idle = timers();
    let a = 0;
    let b = 0;
    const stopA = repeat(20, () => a++);
    const stopB = repeat(20, () => b++);
    assert.equal(timers(), idle + 1, 'one timer for both');
    await sleep(70);
    stopA();
    stopA(); // twice is harmless
    const aStopped = a;
    const bBefore = b;
    await sleep(70);
    assert.equal(a, aStopped);
    assert.ok(b > bBefore);
    stopB();
    assert.equal(timers(), idle);
  });
});
