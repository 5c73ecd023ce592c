import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DisposerStack } from '../../../src/core/disposer.ts';

test('disposers run in reverse order, all of them, and failures are returned', async () => {
  const stack = new DisposerStack();
  const order: string[] = [];
  stack.push('a', () => void order.push('a'));
  stack.push('b', () => {
    order.push('b');
    throw new Error('b failed');
  });
  stack.push('c', () => Promise.resolve().then(() => void order.push('c')));
  const failures = await stack.disposeAll();
  assert.deepEqual(order, ['c', 'b', 'a']);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]?.name, 'b');
  assert.deepEqual(await stack.disposeAll(), [], 'a second call has nothing left to run');
});
