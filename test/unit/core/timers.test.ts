import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIMER_MS, after, deadline, every, sleep, timerDelay } from '../../../src/core/timers.ts';

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
