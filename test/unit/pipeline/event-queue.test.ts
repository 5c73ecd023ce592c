import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventQueue } from '../../../src/pipeline/event-queue.ts';

const ev = (s: string) => Buffer.from(s);

test('bounded by events: push refuses when full, take frees room and wakes writers', async () => {
  const q = new EventQueue({ maxEvents: 2, maxBytes: 1_000 });
  assert.equal(q.push(ev('a'), null, 0), true);
  assert.equal(q.push(ev('b'), null, 0), true);
  assert.equal(q.push(ev('c'), null, 0), false);
  let woke = false;
  const writable = q.whenWritable().then(() => (woke = true));
  await Promise.resolve();
  assert.equal(woke, false);
  const batch = q.take(10);
  assert.deepEqual(batch?.events.map(String), ['a', 'b']);
  await writable;
  assert.equal(woke, true);
  assert.equal(q.push(ev('c'), null, 0), true);
});

test('bounded by bytes; a single oversized event still fits an empty queue', () => {
  const q = new EventQueue({ maxEvents: 100, maxBytes: 10 });
  assert.equal(q.push(ev('x'.repeat(50)), null, 0), true, 'would otherwise never ship');
  assert.equal(q.push(ev('y'), null, 0), false);
  assert.equal(q.take(10)?.bytes, 50);
  assert.equal(q.bytes, 0);
});

test('take respects the byte bound but always returns at least one event', () => {
  const q = new EventQueue({ maxEvents: 100, maxBytes: 1_000 });
  for (const s of ['aaaa', 'bbbb', 'cccc']) q.push(ev(s), null, 0);
  assert.deepEqual(q.take(10, 9)?.events.map(String), ['aaaa', 'bbbb']);
  assert.deepEqual(q.take(10, 1)?.events.map(String), ['cccc']);
  assert.equal(q.take(10), undefined);
});

test('readers wait for data; close wakes everyone and refuses pushes', async () => {
  const q = new EventQueue({ maxEvents: 10, maxBytes: 100 });
  const readable = q.whenReadable();
  q.push(ev('z'), null, 7);
  await readable;
  const b = q.take(1);
  assert.deepEqual(b?.seqs, [7]);
  const waiting = q.whenReadable();
  q.close();
  await waiting;
  assert.equal(q.push(ev('late'), null, 0), false);
});

test('many pushes and takes keep FIFO order across internal compaction', () => {
  const q = new EventQueue({ maxEvents: 100_000, maxBytes: 10_000_000 });
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 300; i++) q.push(ev(String(next++)), null, 0);
    const b = q.take(250);
    for (const e of b?.events ?? []) assert.equal(String(e), String(expect++));
  }
  while (q.length > 0) for (const e of q.take(1000)?.events ?? []) assert.equal(String(e), String(expect++));
  assert.equal(expect, next);
});
