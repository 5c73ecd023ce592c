import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventDedup } from '../../../src/docker/event-dedup.ts';
import type { EventIdentity } from '../../../src/docker/event-dedup.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

const T0 = 1_700_000_000_000_000_000n;
const ms = (n: number): bigint => BigInt(Math.round(n * 1_000_000));
const ev = (id: string, action: string, nano: bigint): EventIdentity => ({ Actor: { ID: id }, Action: action, nano });

test('events that arrive out of timestamp order all pass (moby stamps before it publishes)', () => {
  const d = new EventDedup();
  // the order the churn produced: a destroy stamped 2 ms before a start already delivered
  assert.equal(d.repeat(ev('a', 'start', T0 + ms(10))), false);
  assert.equal(d.repeat(ev('b', 'destroy', T0 + ms(8))), false);
  assert.equal(d.repeat(ev('c', 'create', T0 + ms(9))), false);
  assert.equal(d.repeat(ev('d', 'die', T0 + ms(10))), false, 'same time, another container');
  assert.equal(d.repeat(ev('a', 'die', T0 + ms(10))), false, 'same time and container, another action');
});

test('a shuffled stream: nothing is dropped, and every event seen again is', () => {
  const rand = seededRandom(7);
  const events = Array.from({ length: 2000 }, (_, i) => ev(`c${i % 97}`, ['create', 'start', 'kill', 'die', 'destroy'][i % 5] as string, T0 + ms(i) - ms(rand(15))));
  const d = new EventDedup();
  assert.equal(events.filter((e) => d.repeat(e)).length, 0);
  assert.equal(events.slice(-500).filter((e) => !d.repeat(e)).length, 0, 'the last 500 again are all repeats');
});

test('an event at the same time with the same action but another container, or another time, is new', () => {
  const d = new EventDedup();
  d.repeat(ev('a', 'health_status: healthy', T0));
  assert.equal(d.repeat(ev('a', 'health_status: healthy', T0 + 1n)), false);
  assert.equal(d.repeat(ev('b', 'health_status: healthy', T0)), false);
  assert.equal(d.repeat(ev('a', 'health_status: healthy', T0)), true);
});

test('resumeFrom is the newest event seen, and what a resume re-sends is recognised', () => {
  const d = new EventDedup();
  assert.equal(d.resumeFrom, undefined, 'no events yet: resume from now');
  const seen = Array.from({ length: 300 }, (_, i) => ev(`c${i}`, 'start', T0 + ms(i * 10) - ms((i % 3) * 4)));
  for (const e of seen) d.repeat(e);
  const newest = seen.reduce((max, e) => (e.nano > max ? e.nano : max), 0n);
  assert.equal(d.resumeFrom, newest);
  // the engine re-sends its buffered events from `since` on (daemon/events loadBufferedEvents), then new ones
  const resent = seen.filter((e) => e.nano >= (d.resumeFrom as bigint));
  assert.equal(resent.length, 1);
  assert.ok(resent.every((e) => d.repeat(e)), 'the events at exactly `since` again');
  assert.equal(d.repeat(ev('same-time', 'create', newest)), false, 'another event at that time is new');
});

test('memory is bounded by the time window and by maxKeys', () => {
  const d = new EventDedup({ windowNs: ms(100), maxKeys: 1000 });
  for (let i = 0; i < 10_000; i++) d.repeat(ev(`c${i}`, 'start', T0 + ms(i)));
  assert.ok(d.size <= 102, `${d.size} keys within a 100 ms window`);
  const capped = new EventDedup({ windowNs: ms(60_000), maxKeys: 50 });
  for (let i = 0; i < 10_000; i++) capped.repeat(ev(`c${i}`, 'start', T0 + ms(i)));
  assert.equal(capped.size, 50);
  // an event older than the window cannot be told from a new one: it is passed on, never dropped
  assert.equal(d.repeat(ev('c0', 'start', T0)), false);
});
