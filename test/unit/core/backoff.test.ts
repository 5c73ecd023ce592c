import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../../../src/core/backoff.ts';

test('backoff doubles from base to max; jitter stays in the upper half', () => {
  const top = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => top.next()), [100, 200, 400, 800, 1000, 1000]);
  const bottom = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => bottom.next()), [50, 100, 200, 400, 500]);
});

test('reset starts the sequence over and attempt counts calls', () => {
  const b = new Backoff({ baseMs: 10, maxMs: 10_000, random: () => 0.999999 });
  b.next();
  b.next();
  assert.equal(b.attempt, 2);
  b.reset();
  assert.equal(b.attempt, 0);
  assert.equal(b.next(), 10);
});

test('thousands of attempts never overflow past max', () => {
  const b = new Backoff({ baseMs: 1, maxMs: 30_000, random: () => 0.5 });
  let last = 0;
  for (let i = 0; i < 5000; i++) last = b.next();
  assert.equal(last, 22_500);
});

test('invalid bounds are refused', () => {
  assert.throws(() => new Backoff({ baseMs: 0, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ baseMs: 100, maxMs: 10 }), RangeError);
});
