import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetTracker } from '../../../src/pipeline/offset-tracker.ts';

test('commits only the longest acknowledged prefix, whatever the ACK order', () => {
  const commits: number[] = [];
  const t = new OffsetTracker(100, (o) => commits.push(o));
  const seqs = [110, 120, 130, 140].map((end) => t.register(end));
  t.ack(seqs[2] as number);
  t.ack(seqs[1] as number);
  assert.equal(t.committed, 100, 'nothing before the first ACK of seq 0');
  t.ack(seqs[0] as number);
  assert.equal(t.committed, 130);
  t.ack(seqs[3] as number);
  assert.deepEqual(commits, [130, 140]);
  assert.equal(t.pending, 0);
});

test('grows past its initial ring and keeps order across the wrap', () => {
  const t = new OffsetTracker(0, () => undefined);
  const seqs: number[] = [];
  for (let i = 1; i <= 1000; i++) seqs.push(t.register(i * 10));
  for (let i = 999; i >= 1; i--) t.ack(seqs[i] as number);
  assert.equal(t.committed, 0);
  t.ack(seqs[0] as number);
  assert.equal(t.committed, 10_000);
  for (let i = 1; i <= 100; i++) t.ack(t.register(10_000 + i));
  assert.equal(t.committed, 10_100);
});

test('duplicate and unknown ACKs are ignored; detached trackers stop reporting', () => {
  const commits: number[] = [];
  const t = new OffsetTracker(0, (o) => commits.push(o));
  const a = t.register(5);
  t.ack(a);
  t.ack(a);
  t.ack(42);
  assert.deepEqual(commits, [5]);
  const b = t.register(9);
  t.detach();
  t.ack(b);
  assert.equal(t.committed, 9, 'still tracks for /v1/logs');
  assert.deepEqual(commits, [5], 'but no longer moves the registry');
});

test('a run of ACKs commits once; a run that starts before the head or ends past the last event is clamped', () => {
  const commits: number[] = [];
  const t = new OffsetTracker(0, (o) => commits.push(o));
  const seqs = [10, 20, 30, 40, 50, 60].map((end) => t.register(end));
  t.ack(seqs[2] as number, 2); // 30, 40: not at the head yet
  assert.equal(t.committed, 0);
  t.ack(seqs[0] as number, 2); // 10, 20: the prefix now reaches 40
  assert.deepEqual(commits, [40], 'one commit for the run and what it joined');
  t.ack(seqs[0] as number, 6); // the first four again, and 50, 60
  assert.deepEqual(commits, [40, 60]);
  t.ack(seqs[5] as number, 100); // nothing new
  assert.deepEqual(commits, [40, 60]);
  assert.equal(t.pending, 0);
});
