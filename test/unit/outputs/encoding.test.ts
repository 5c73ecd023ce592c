import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeJsonArray } from '../../../src/outputs/http/output.ts';
import { parseRetryAfter, verdictFor } from '../../../src/outputs/http/retry-after.ts';
import { EventEncoder } from '../../../src/logs/event-encoder.ts';
import { encodeJsonLines, jsonLinesChunks } from '../../../src/outputs/tcp/connection.ts';

const ev = (s: string): Buffer => Buffer.from(s);

test('json_lines: one line per event, raw newlines inside an event become spaces', () => {
  assert.equal(encodeJsonLines([ev('{"a":1}'), ev('{"b":\n2}'), ev('{}')]).toString(), '{"a":1}\n{"b": 2}\n{}\n');
  assert.equal(encodeJsonLines([]).length, 0);
});

test('json_lines pieces: runs of the encoder\'s slab events as they lie, everything else copied and scanned', () => {
  const enc = new EventEncoder({ hostName: 'h', hostIps: [], agentVersion: '0' });
  const prefix = enc.prefixFor({ path: '/l/a.log', dataset: 'app', labels: {}, container: null, tags: [] });
  const slab = ['one', 'two\nlines', 'three'].map((m, i) => enc.encodeLine(prefix, Buffer.from(m), i, 0, []));
  const hand = [ev('{"x":\n1}'), ev('{"y":2}')];
  const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString();
  const expected = (events: Buffer[]): string => events.map((e) => `${e.toString().replace(/\n/g, ' ')}\n`).join('');

  const run = jsonLinesChunks(slab);
  assert.equal(run.length, 1, 'three consecutive slab events: one piece');
  assert.equal(run[0]?.buffer, slab[0]?.buffer, 'in place, not copied');
  assert.equal(text(run), expected(slab));

  const mixed = [slab[0], hand[0], hand[1], slab[1], slab[2]] as Buffer[];
  const pieces = jsonLinesChunks(mixed);
  assert.equal(pieces.length, 3, 'slab run, the two hand-made events copied together, slab run');
  assert.equal(text(pieces), expected(mixed));
  assert.equal((JSON.parse(text(pieces).split("\n")[1] as string) as { x: number }).x, 1, 'a raw newline in a hand-made event became a space');

  const gap = [slab[0], slab[2]] as Buffer[];
  assert.equal(jsonLinesChunks(gap).length, 2, 'not adjacent (the middle one was acknowledged): two pieces');
  assert.equal(text(jsonLinesChunks(gap)), expected(gap));
  assert.deepEqual(jsonLinesChunks([]), []);
});

test('http body: the events as one JSON array', () => {
  assert.deepEqual(JSON.parse(encodeJsonArray([ev('{"a":1}'), ev('{"b":"x,y"}')]).toString()), [{ a: 1 }, { b: 'x,y' }]);
  assert.equal(encodeJsonArray([ev('{"a":1}')]).toString(), '[{"a":1}]');
});

test('http status → outcome: 2xx acked, 408/425/429/5xx retry, other 4xx fatal', () => {
  assert.deepEqual([200, 201, 204].map(verdictFor), ['acked', 'acked', 'acked']);
  assert.deepEqual([408, 425, 429, 500, 502, 503, 504].map(verdictFor), Array(7).fill('retry'));
  assert.deepEqual([400, 401, 403, 404, 413, 415].map(verdictFor), Array(6).fill('fatal'));
});

test('Retry-After: seconds or an HTTP date; junk is ignored', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a past date means now');
  assert.equal(parseRetryAfter(['3', '9'], now), 3000);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter('-5', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
});
