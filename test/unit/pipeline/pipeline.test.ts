// Pipeline logic with scripted outputs (the real outputs are tested against real receivers in
// test/integration/outputs-*.test.ts): retries of a batch's rest, out-of-order completion,
// several outputs, fatal rejections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { DockhandError } from '../../../src/core/errors.ts';
import { spansOf } from '../../../src/outputs/event-spans.ts';
import type { EventList } from '../../../src/outputs/event-spans.ts';
import type { EncodedEvent, Output, OutputStats, SendOutcome } from '../../../src/outputs/types.ts';
import { EventQueue } from '../../../src/pipeline/event-queue.ts';
import { OffsetTracker } from '../../../src/pipeline/offset-tracker.ts';
import { Pipeline } from '../../../src/pipeline/pipeline.ts';

type Script = (events: readonly EncodedEvent[], call: number) => Promise<SendOutcome> | SendOutcome;

class ScriptedOutput implements Output {
  readonly name: string;
  readonly maxInFlight: number;
  readonly backoff = { baseMs: 1, maxMs: 2 };
  readonly received: string[] = [];
  calls = 0;
  readonly #script: Script;
  constructor(name: string, script: Script, maxInFlight = 4) {
    this.name = name;
    this.#script = script;
    this.maxInFlight = maxInFlight;
  }
  start(): void {}
  async send(list: EventList): Promise<SendOutcome> {
    const events = spansOf(list).toBuffers();
    const outcome = await this.#script(events, this.calls++);
    const n = outcome.kind === 'acked' ? events.length : outcome.acked;
    for (const e of events.slice(0, n)) this.received.push(String(e));
    return outcome;
  }
  stats(): OutputStats {
    return { state: 'connected', hosts: [], eventsAcked: 0, batchesInFlight: 0, lastAckAt: null, reconnects: 0 };
  }
  async close(): Promise<void> {}
  destroy(): void {}
}

const logger = pino({ level: 'silent' });
const err = new DockhandError('UNAVAILABLE', 'x', { transient: true });

/** An output whose sends are `send` (which may record into `received`); one batch in flight. */
/** An output whose `send` gets the batch's events as Buffers. */
function outputSending(name: string, send: (events: EncodedEvent[], signal: AbortSignal) => Promise<SendOutcome>): Output & { received: string[] } {
  return {
    name, maxInFlight: 1, backoff: { baseMs: 1, maxMs: 2 }, received: [],
    start() {},
    send: (list, signal) => send(spansOf(list).toBuffers(), signal),
    stats: () => ({ state: 'connected', hosts: [], eventsAcked: 0, batchesInFlight: 0, lastAckAt: null, reconnects: 0 }),
    close: () => Promise.resolve(),
    destroy() {},
  };
}

/** Events e1…en, each in memory of its own (Buffer.alloc, not Node's shared pool): a release names its event. */
function fill(queue: EventQueue, tracker: OffsetTracker, n: number, prefix = 'e'): void {
  for (let i = 1; i <= n; i++) {
    const text = `${prefix}${i}`;
    const event = Buffer.alloc(text.length);
    event.write(text);
    assert.ok(queue.push(event, tracker, tracker.register(i * 10)));
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
}

test('a partial ACK resends only the rest; the offset ends at the last event', async () => {
  const queue = new EventQueue({ maxEvents: 100, maxBytes: 10_000 });
  const commits: number[] = [];
  const tracker = new OffsetTracker(0, (o) => commits.push(o));
  fill(queue, tracker, 10);
  const out = new ScriptedOutput('o', (events, call) => (call === 0 ? { kind: 'retry', acked: 4, error: err } : { kind: 'acked' }));
  const p = new Pipeline({ queue, outputs: [out], logger, bulkMaxSize: 10, bulkMaxBytes: 1 << 20 });
  p.start();
  await until(() => tracker.committed === 100);
  await p.stop();
  assert.deepEqual(out.received, ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e10'], 'exactly once, in order');
  // the 4 acknowledged events commit as one run, the rest as another
  assert.deepEqual(commits, [40, 100], 'one commit per acknowledged run, in order');
});

test('batches finishing out of order never move the offset past an unacknowledged one', async () => {
  const queue = new EventQueue({ maxEvents: 100, maxBytes: 10_000 });
  const tracker = new OffsetTracker(0, () => undefined);
  fill(queue, tracker, 6);
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((r) => (releaseFirst = r));
  const out = new ScriptedOutput('o', async (_events, call) => {
    if (call === 0) await firstHeld;
    return { kind: 'acked' };
  });
  const p = new Pipeline({ queue, outputs: [out], logger, bulkMaxSize: 3, bulkMaxBytes: 1 << 20 });
  p.start();
  await until(() => out.calls === 2 && out.received.length === 3);
  assert.equal(tracker.committed, 0, 'second batch acked, first still in flight');
  releaseFirst();
  await until(() => tracker.committed === 60);
  await p.stop();
});

test('with two outputs an event counts once both acknowledged it', async () => {
  const queue = new EventQueue({ maxEvents: 100, maxBytes: 10_000 });
  const tracker = new OffsetTracker(0, () => undefined);
  fill(queue, tracker, 4);
  let down = true;
  const a = new ScriptedOutput('a', () => ({ kind: 'acked' }));
  const b = new ScriptedOutput('b', () => (down ? { kind: 'retry', acked: 0, error: err } : { kind: 'acked' }));
  const p = new Pipeline({ queue, outputs: [a, b], logger, bulkMaxSize: 10, bulkMaxBytes: 1 << 20 });
  p.start();
  await until(() => a.received.length === 4 && b.calls > 3);
  assert.equal(tracker.committed, 0);
  down = false;
  await until(() => tracker.committed === 40);
  await p.stop();
  assert.equal(b.received.length, 4);
});

test('a fatal rejection is counted as dropped and does not block the file', async () => {
  const queue = new EventQueue({ maxEvents: 100, maxBytes: 10_000 });
  const tracker = new OffsetTracker(0, () => undefined);
  fill(queue, tracker, 5);
  const dropped: [number, string][] = [];
  const out = new ScriptedOutput('o', (_e, call) => (call === 0 ? { kind: 'fatal', acked: 2, error: new DockhandError('BAD_REQUEST', '400') } : { kind: 'acked' }));
  const p = new Pipeline({
    queue, outputs: [out], logger, bulkMaxSize: 10, bulkMaxBytes: 1 << 20,
    metrics: { acked: () => undefined, retried: () => undefined, dropped: (n, reason) => dropped.push([n, reason]) },
  });
  p.start();
  await until(() => tracker.committed === 50);
  await p.stop();
  assert.deepEqual(dropped, [[3, 'rejected']]);
});

test('drain delivers what is queued, then stops', async () => {
  const queue = new EventQueue({ maxEvents: 1000, maxBytes: 100_000 });
  const tracker = new OffsetTracker(0, () => undefined);
  fill(queue, tracker, 300);
  const out = new ScriptedOutput('o', async () => {
    await new Promise((r) => setTimeout(r, 2));
    return { kind: 'acked' };
  }, 2);
  const p = new Pipeline({ queue, outputs: [out], logger, bulkMaxSize: 50, bulkMaxBytes: 1 << 20 });
  p.start();
  assert.equal(await p.drain(5000), true);
  assert.equal(tracker.committed, 3000);
  assert.equal(p.eventsAcked, 300);
});

test('each event is released exactly once, only after every output is done with it; none at a stop', async () => {
  const queue = new EventQueue({ maxEvents: 100, maxBytes: 10_000 });
  const tracker = new OffsetTracker(0, () => undefined);
  fill(queue, tracker, 6);
  const released: string[] = [];
  let bDown = true;
  // a: acknowledges 2, then rejects the rest for good; b: down, then acknowledges all but the last
  const a = new ScriptedOutput('a', (_e, call) => (call === 0 ? { kind: 'retry', acked: 2, error: err } : { kind: 'fatal', acked: 0, error: new DockhandError('BAD_REQUEST', '400') }));
  const b = new ScriptedOutput('b', (events) => (bDown ? { kind: 'retry', acked: 0, error: err } : { kind: 'retry', acked: events.length - 1, error: err }));
  // a release covers `count` consecutive events in one memory; here each event has its own
  const release = (memory: Buffer, count: number): void => {
    assert.equal(count, 1);
    released.push(String(memory));
  };
  const p = new Pipeline({ queue, outputs: [a, b], logger, bulkMaxSize: 10, bulkMaxBytes: 1 << 20, release });
  p.start();
  await until(() => a.calls >= 2 && b.calls > 3);
  assert.deepEqual(released, [], 'b has acknowledged nothing');
  bDown = false;
  await until(() => released.length === 5);
  await new Promise((r) => setTimeout(r, 30));
  await p.stop();
  // e6 never got b's acknowledgement: it is not released (it is read again after a restart)
  assert.deepEqual(released, ['e1', 'e2', 'e3', 'e4', 'e5']);
});

test('replaced outputs: batches in flight are called back, the new output gets exactly the unacknowledged rest, in order, before newer events', async () => {
  const queue = new EventQueue({ maxEvents: 100, maxBytes: 10_000 });
  const tracker = new OffsetTracker(0, () => undefined);
  fill(queue, tracker, 12);
  // old: acknowledges the first 3 events of what it is given, then hangs until called back
  const old = outputSending('old', (events, signal) => {
    old.received.push(...events.slice(0, 3).map(String));
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ kind: 'retry', acked: 3, error: err }), { once: true }));
  });
  const next = new ScriptedOutput('new', () => ({ kind: 'acked' }));
  const p = new Pipeline({ queue, outputs: [old], logger, bulkMaxSize: 8, bulkMaxBytes: 1 << 20 });
  p.start();
  await until(() => old.received.length === 3);
  await p.replaceOutputs([next]);
  assert.equal(p.outputs[0], next);
  await until(() => tracker.committed === 120);
  await p.stop();
  assert.deepEqual(old.received, ['e1', 'e2', 'e3']);
  assert.deepEqual(next.received, ['e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e10', 'e11', 'e12'], 'the rest once, in order, then the newer events');
});

test('replaced outputs: a batch in flight that the old output acknowledges within the grace is not sent again to the new one (its receiver had it); newer batches wait for it', async () => {
  const queue = new EventQueue({ maxEvents: 100, maxBytes: 10_000 });
  const tracker = new OffsetTracker(0, () => undefined);
  fill(queue, tracker, 6);
  // old: receives a batch at once, its acknowledgement takes 100 ms (Logstash answering)
  const old = outputSending('old', (events, signal) => {
    old.received.push(...events.map(String));
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'acked' }), 100);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve({ kind: 'retry', acked: 0, error: err });
      }, { once: true });
    });
  });
  const next = new ScriptedOutput('new', () => ({ kind: 'acked' }));
  const p = new Pipeline({ queue, outputs: [old], logger, bulkMaxSize: 4, bulkMaxBytes: 1 << 20, replaceGraceMs: 2000 });
  p.start();
  await until(() => old.received.length === 4);
  const replaced = p.replaceOutputs([next]);
  for (const i of [7, 8]) assert.ok(queue.push(Buffer.from(`e${i}`), tracker, tracker.register(i * 10)));
  await replaced;
  await until(() => tracker.committed === 80);
  await p.stop();
  assert.deepEqual(old.received, ['e1', 'e2', 'e3', 'e4']);
  assert.deepEqual(next.received, ['e5', 'e6', 'e7', 'e8'], 'nothing twice; the newer events after the old batch was acknowledged');
});

test('flush_interval: a batch that is not full waits for more events (one batch, not one per event); a full one goes at once', async () => {
  const queue = new EventQueue({ maxEvents: 1000, maxBytes: 100_000 });
  const tracker = new OffsetTracker(0, () => undefined);
  const sizes: number[] = [];
  const out = new ScriptedOutput('o', (events) => {
    sizes.push(events.length);
    return { kind: 'acked' };
  });
  const p = new Pipeline({ queue, outputs: [out], logger, bulkMaxSize: 10, bulkMaxBytes: 1 << 20, flushIntervalMs: 60_000 });
  p.start();
  // ten events arriving one by one: the batch fills up and goes at once, not after the interval
  for (let i = 1; i <= 10; i++) {
    assert.ok(queue.push(Buffer.from(`e${i}`), tracker, tracker.register(i * 10)));
    await new Promise((r) => setImmediate(r));
  }
  await until(() => tracker.committed === 100);
  assert.deepEqual(sizes, [10], 'one full batch, sent as soon as it was full');
  // a stop does not wait for the interval either
  assert.ok(queue.push(Buffer.from('e11'), tracker, tracker.register(110)));
  assert.equal(await p.drain(5000), true);
  assert.equal(tracker.committed, 110);
});

test('acknowledgements and releases go out per run: one tracker call per file run, one release per shared memory', async () => {
  const queue = new EventQueue({ maxEvents: 100, maxBytes: 1 << 20 });
  const acks: string[] = [];
  const tracker = (name: string): OffsetTracker & { name: string } => Object.assign(new OffsetTracker(0, () => undefined), { name });
  const a = tracker('a');
  const b = tracker('b');
  const spy = (t: OffsetTracker & { name: string }): OffsetTracker => {
    const ack = t.ack.bind(t);
    t.ack = (seq: number, count = 1) => {
      acks.push(`${t.name}${seq}+${count}`);
      ack(seq, count);
    };
    return t;
  };
  spy(a);
  spy(b);
  const slab = Buffer.alloc(16, 's'); // alloc: not from Node's shared pool, as Buffer.from would be
  const own = Buffer.alloc(1, 'x');
  // a0 a1 a2 from one slab, then b0 b1 from the same slab, then a3 in its own memory, then a4 (slab)
  const events = [slab.subarray(0, 2), slab.subarray(2, 4), slab.subarray(4, 6), slab.subarray(6, 8), slab.subarray(8, 10), own, slab.subarray(10, 12)];
  const owners = [a, a, a, b, b, a, a];
  for (const [i, e] of events.entries()) assert.ok(queue.push(e, owners[i] as OffsetTracker, (owners[i] as OffsetTracker).register(i + 1)));
  const releases: number[] = [];
  const out = new ScriptedOutput('o', () => ({ kind: 'acked' }));
  const p = new Pipeline({ queue, outputs: [out], logger, bulkMaxSize: 100, bulkMaxBytes: 1 << 20, release: (_e, count) => releases.push(count) });
  p.start();
  await until(() => p.eventsAcked === 7);
  await p.stop();
  assert.deepEqual(acks, ['a0+3', 'b0+2', 'a3+2']);
  assert.deepEqual(releases, [5, 1, 1], 'the slab run, the event in its own memory, the slab again');
  assert.equal(a.committed, 7);
  assert.equal(b.committed, 5);
});
