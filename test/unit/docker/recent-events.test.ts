import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentEvents } from '../../../src/docker/recent-events.ts';

const agentEvent = (n: number) => ({ kind: 'agent' as const, time: n, action: 'x', level: 'info' as const, message: `m${n}` });

test('sequence numbers are monotonic and since() pages after a seq', () => {
  const ring = new RecentEvents(10);
  for (let i = 1; i <= 5; i++) ring.record(agentEvent(i));
  assert.deepEqual(ring.since(0, 100).map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(ring.since(3, 100).map((e) => e.seq), [4, 5]);
  assert.deepEqual(ring.since(1, 2).map((e) => e.seq), [2, 3]);
  assert.deepEqual(ring.since(5, 100), []);
  assert.equal(ring.lastSeq, 5);
});

test('old events fall off a full ring; seq shows the gap', () => {
  const ring = new RecentEvents(3);
  for (let i = 1; i <= 7; i++) ring.record(agentEvent(i));
  assert.deepEqual(ring.since(0, 100).map((e) => e.seq), [5, 6, 7]);
  assert.deepEqual(ring.since(6, 100).map((e) => e.seq), [7]);
});

test('subscribers see every event; unsubscribe stops delivery', () => {
  const ring = new RecentEvents(2);
  const seen: number[] = [];
  const off = ring.subscribe((e) => seen.push(e.seq));
  ring.record(agentEvent(1));
  ring.record(agentEvent(2));
  ring.record(agentEvent(3));
  off();
  ring.record(agentEvent(4));
  assert.deepEqual(seen, [1, 2, 3]);
});
