import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventQueue } from '../../../src/pipeline/event-queue.ts';
import type { AckTarget, Batch } from '../../../src/pipeline/event-queue.ts';

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
  assert.deepEqual(batch?.events.toBuffers().map(String), ['a', 'b']);
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
  assert.deepEqual(q.take(10, 9)?.events.toBuffers().map(String), ['aaaa', 'bbbb']);
  assert.deepEqual(q.take(10, 1)?.events.toBuffers().map(String), ['cccc']);
  assert.equal(q.take(10), undefined);
});

test('readers wait for data; close wakes everyone and refuses pushes', async () => {
  const q = new EventQueue({ maxEvents: 10, maxBytes: 100 });
  const readable = q.whenReadable();
  q.push(ev('z'), null, 7);
  await readable;
  const b = q.take(1);
  assert.deepEqual(Array.from(b?.seqs ?? []), [7]);
  const waiting = q.whenReadable();
  q.close();
  await waiting;
  assert.equal(q.push(ev('late'), null, 0), false);
});

test('many pushes and takes keep FIFO order as the ring wraps and grows; trackers and sequence numbers stay with their events', () => {
  const q = new EventQueue({ maxEvents: 100_000, maxBytes: 10_000_000 });
  const trackers: AckTarget[] = [{ ack: () => undefined }, { ack: () => undefined }, { ack: () => undefined }];
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 50; round++) {
    // a take of 250 after pushes of 300 (then, every 7th round, of 37): the ring wraps at
    // varying places, and grows while wrapped
    for (let i = 0; i < (round % 7 === 6 ? 37 : 300); i++, next++) q.push(ev(String(next)), trackers[next % 3] as AckTarget, next * 10);
    const b = q.take(250);
    check(b);
  }
  while (q.length > 0) check(q.take(1000));
  assert.equal(expect, next);
  assert.equal(q.bytes, 0);
  function check(b: Batch | undefined): void {
    assert.ok(b);
    for (const [i, e] of b.events.toBuffers().entries()) {
      assert.equal(String(e), String(expect));
      assert.equal(b.trackers[i], trackers[expect % 3]);
      assert.equal(b.seqs[i], expect * 10);
      expect++;
    }
  }
});
