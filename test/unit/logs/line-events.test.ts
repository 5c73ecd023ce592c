import assert from 'node:assert/strict';
import test from 'node:test';
import { EventEncoder } from '../../../src/logs/event-encoder.ts';
import { clearEncodedRun, eventSink, newEncodedRun, newLineState, pushChunk } from '../../../src/logs/line-events.ts';
import { views } from '../../helpers/spans.ts';

const encoder = new EventEncoder({ hostName: 'h', hostIps: [], agentVersion: '1' });
const prefix = encoder.prefixFor({ path: '/x.log', dataset: 'app', labels: {}, container: null, tags: [] });
const settings = { maxLineBytes: 1 << 20, multiline: { pattern: null, negate: false, match: 'after' as const, maxLines: 500, timeoutMs: 5000 } };
const sinkOptions = { encoder, prefix, exceptions: null, app: 'x', path: '/x.log', now: 0, truncated: () => undefined };
const messages = (run: ReturnType<typeof newEncodedRun>): string[] => views(run).map((e) => (JSON.parse(String(e)) as { message: string }).message);

test('a reused run of encoded events: each chunk fills it from index 0, and clearing drops the events it held', () => {
  const state = newLineState(settings, 0);
  const run = newEncodedRun();
  const first = eventSink(sinkOptions, run);
  pushChunk(state, Buffer.from('a\nbb\nccc\n'), 0, 0, first.emit);
  assert.equal(run.count, 3);
  assert.deepEqual(messages(run), ['a', 'bb', 'ccc']);
  assert.deepEqual(run.ends.slice(0, 3), [2, 5, 9], 'the offset each event ends at');
  const held = views(run);

  clearEncodedRun(run);
  assert.equal(run.count, 0);
  assert.ok(run.memories.every((m) => m.length === 0), 'no reference to the memory handed on');
  assert.ok(held.every((e) => e.length > 0), 'the events themselves are untouched');

  const second = eventSink(sinkOptions, run);
  pushChunk(state, Buffer.from('dddd\n'), 9, 0, second.emit);
  assert.equal(run.count, 1);
  assert.deepEqual(messages(run), ['dddd']);
  assert.equal(run.ends[0], 14);
});
