import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventSpans, memoryOf, spansOf } from '../../../src/outputs/event-spans.ts';
import { EventQueue } from '../../../src/pipeline/event-queue.ts';

test('spans of Buffers: views of one ArrayBuffer share one memory, each at its offset there; slices share the arrays', () => {
  const slab = Buffer.alloc(64);
  slab.write('one\ntwo\nthree\n');
  const events = [slab.subarray(0, 3), slab.subarray(4, 7), slab.subarray(8, 13), Buffer.alloc(2, 0x61)];
  const spans = EventSpans.of(events);
  assert.equal(spans.length, 4);
  assert.equal(spans.memory(0), spans.memory(1), 'one memory for one slab');
  assert.equal(spans.memory(0).buffer, slab.buffer);
  assert.deepEqual([spans.start(0), spans.start(1), spans.start(2)], [0, 4, 8]);
  assert.equal(spans.memory(3), events[3], 'an event that is its whole buffer is its own memory');
  assert.deepEqual(spans.toBuffers().map(String), ['one', 'two', 'three', 'aa']);
  assert.equal(spans.bytes, 13);
  const rest = spans.slice(1);
  assert.equal(rest.memories, spans.memories, 'no copy');
  assert.deepEqual(rest.toBuffers().map(String), ['two', 'three', 'aa']);
  assert.deepEqual(rest.slice(1, 2).toBuffers().map(String), ['three']);
  assert.equal(rest.slice(1, 2).bytes, 5);
  assert.equal(spans.slice(0), spans);
  assert.equal(spansOf(spans), spans);
  assert.deepEqual(spansOf([Buffer.from('x')]).toBuffers().map(String), ['x']);
});

test('memoryOf: a view of a subarray at an offset maps to the whole buffer, the offset kept by the caller', () => {
  const big = Buffer.alloc(100);
  const view = big.subarray(10, 20);
  const memory = memoryOf(view);
  assert.equal(memory.buffer, big.buffer);
  assert.equal(memory.byteOffset, 0);
  assert.equal(memory.length, big.buffer.byteLength);
  assert.equal(memoryOf(big.subarray(30, 40)), memory, 'the next view of the same buffer: the same memory, no new Buffer');
});

test('the queue keeps spans: events pushed as spans come out in their memory, pushed Buffers as spans of theirs', () => {
  const q = new EventQueue({ maxEvents: 10, maxBytes: 1000 });
  const slab = Buffer.alloc(32);
  slab.write('{"a":1}\n{"b":2}\n');
  assert.ok(q.pushSpan(slab, 0, 7, null, 0));
  assert.ok(q.pushSpan(slab, 8, 7, null, 1));
  assert.ok(q.push(Buffer.from('{"c":3}'), null, 2));
  const batch = q.take(10);
  assert.ok(batch);
  assert.equal(batch.bytes, 21);
  assert.equal(batch.events.memory(0), slab);
  assert.equal(batch.events.memory(1), slab);
  assert.deepEqual([batch.events.start(0), batch.events.start(1)], [0, 8]);
  assert.deepEqual(batch.events.toBuffers().map(String), ['{"a":1}', '{"b":2}', '{"c":3}']);
  assert.deepEqual(Array.from(batch.seqs), [0, 1, 2]);
});
