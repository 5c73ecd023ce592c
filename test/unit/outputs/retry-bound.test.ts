import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { DockhandError } from '../../../src/core/errors.ts';
import { EventSpans } from '../../../src/outputs/event-spans.ts';
import { RetryBoundOutput } from '../../../src/outputs/retry-bound.ts';
import type { EncodedEvent, Output, SendOutcome } from '../../../src/outputs/types.ts';
import { makeEvents, silentLogger } from '../../helpers/outputs.ts';

/** An Output that answers from a script (acked counts of each call). */
function scripted(outcomes: SendOutcome[]): Output & { calls: number } {
  const fake = {
    name: 'fake[0]',
    maxInFlight: 1,
    backoff: { baseMs: 1, maxMs: 2 },
    calls: 0,
    start() {},
    send(_events: readonly EncodedEvent[]): Promise<SendOutcome> {
      fake.calls++;
      return Promise.resolve(outcomes.shift() ?? { kind: 'acked' });
    },
    stats: () => ({ state: 'connected' as const, hosts: [], eventsAcked: 0, batchesInFlight: 0, lastAckAt: null, reconnects: 0 }),
    close: () => Promise.resolve(),
    destroy() {},
  };
  return fake;
}

const fail = (acked: number): SendOutcome => ({ kind: 'retry', acked, error: new DockhandError('UNAVAILABLE', 'down', { transient: true }) });
const signal = new AbortController().signal;

test('the (max_retries + 1)-th failure without progress turns into fatal, and the loss is counted', async () => {
  const registry = new Registry();
  const out = new RetryBoundOutput(scripted([fail(0), fail(0), fail(0)]), 2, { logger: silentLogger, registry });
  const events = makeEvents(10);
  assert.equal((await out.send(events, signal)).kind, 'retry');
  assert.equal((await out.send(events, signal)).kind, 'retry');
  const third = await out.send(events, signal);
  assert.equal(third.kind, 'fatal');
  assert.match(third.kind === 'fatal' ? third.error.message : '', /gave up after 3 failed attempts \(max_retries 2\)/);
  assert.match(await registry.metrics(), /dockhand_output_events_dropped_total\{output="fake\[0\]"\} 10/);
});

test('only attempts without progress count; progress starts the count over for the rest', async () => {
  const out = new RetryBoundOutput(scripted([fail(0), fail(4), fail(0), fail(0)]), 1, { logger: silentLogger });
  const events = makeEvents(10);
  assert.equal((await out.send(events, signal)).kind, 'retry'); // head 0: 1 failure (allowed)
  assert.equal((await out.send(events, signal)).kind, 'retry'); // 4 acked: progress, not a failure
  assert.equal((await out.send(events.slice(4), signal)).kind, 'retry'); // head 4: 1 failure (allowed)
  const last = await out.send(events.slice(4), signal); // head 4: 2 failures > max_retries 1
  assert.equal(last.kind, 'fatal');
  assert.equal(last.kind === 'fatal' ? last.acked : -1, 0);
});

test('max_retries 0: the first failure without progress is fatal; one with progress is not', async () => {
  const out = new RetryBoundOutput(scripted([fail(3), fail(0)]), 0, { logger: silentLogger });
  const events = makeEvents(10);
  assert.equal((await out.send(events, signal)).kind, 'retry');
  const r = await out.send(events.slice(3), signal);
  assert.deepEqual([r.kind, r.kind === 'fatal' ? r.acked : -1], ['fatal', 0]);
});

test('aborted sends (shutdown) and other batches never count against a batch', async () => {
  const ac = new AbortController();
  ac.abort();
  const out = new RetryBoundOutput(scripted([fail(0), fail(0), fail(0)]), 1, { logger: silentLogger });
  const a = makeEvents(5);
  assert.equal((await out.send(a, ac.signal)).kind, 'retry');
  assert.equal((await out.send(makeEvents(5), signal)).kind, 'retry'); // another batch
  assert.equal((await out.send(a, signal)).kind, 'retry', 'first counted failure of batch a');
});

test('a slab reused for newer events: a head that succeeded or progressed starts again from zero at the same place', async () => {
  // max_retries 1: one failure of a head is allowed, the second gives up
  const out = new RetryBoundOutput(scripted([fail(0), { kind: 'acked' }, fail(0), fail(2), fail(0), fail(0)]), 1, { logger: silentLogger });
  const slab = Buffer.alloc(64, 0x61);
  const batch = (): EventSpans => new EventSpans([slab, slab, slab], [0, 10, 20], [9, 9, 9]);
  assert.equal((await out.send(batch(), signal)).kind, 'retry', 'first failure at offset 0');
  assert.equal((await out.send(batch(), signal)).kind, 'acked');
  // the slab's events were acknowledged and it was reused: new events at the same offsets
  assert.equal((await out.send(batch(), signal)).kind, 'retry', 'a first failure again, not a second');
  assert.equal((await out.send(batch(), signal)).kind, 'retry', 'progress: 2 acknowledged');
  assert.equal((await out.send(batch(), signal)).kind, 'retry', 'offset 0 starts from zero after progress');
  assert.equal((await out.send(batch(), signal)).kind, 'fatal', 'its second failure without progress');
});
