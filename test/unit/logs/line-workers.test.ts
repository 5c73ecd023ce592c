// Line workers (src/logs/workers/) on a real worker thread: the events a worker makes are the
// bytes the main thread makes from the same chunks (cut anywhere, multiline, stack traces,
// truncation, bad UTF-8, CRLF), released slabs are reused, and a dead worker fails its steps
// instead of hanging them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { ExceptionInspector } from '../../../src/exceptions/inspector.ts';
import { EventEncoder } from '../../../src/logs/event-encoder.ts';
import type { FileFields } from '../../../src/logs/event-encoder.ts';
import { LineSplitter } from '../../../src/logs/line-splitter.ts';
import { JAVA_CONTINUATION } from '../../../src/logs/config.ts';
import { MultilineJoiner } from '../../../src/logs/multiline.ts';
import type { LineWorker } from '../../../src/logs/workers/line-workers.ts';
import { LineWorkers, lineWorkerCount } from '../../../src/logs/workers/line-workers.ts';
import type { LineWorkerSetup } from '../../../src/logs/workers/protocol.ts';
import type { ExceptionsConfig } from '../../../src/exceptions/config.ts';
import { loadConfig } from '../../../src/configuration.ts';
import { spring, V1 } from '../../helpers/exception-traces.ts';
import { endsOf, views } from '../../helpers/spans.ts';

const exceptions: ExceptionsConfig = loadConfig({ env: {} }).config.logs.exceptions;
const lines = { maxLineBytes: 1024, multiline: { pattern: JAVA_CONTINUATION, negate: false, match: 'after' as const, maxLines: 500, timeoutMs: 300 } };
const setup: LineWorkerSetup = { lines, hostName: 'h1', hostIps: ['10.0.0.1'], agentVersion: '9.9.9', exceptions };
const fields: FileFields = { path: '/logs/app_a_nor_1_h_20261122.log', dataset: 'app', labels: { app: 'a' }, container: null, tags: [] };
const NOW = Date.UTC(2026, 11, 2, 10, 0, 0);
const workers: LineWorkers[] = [];
after(async () => {
  for (const w of workers) await w.stop();
});

async function readyWorker(pool: LineWorkers): Promise<LineWorker> {
  for (let i = 0; i < 500; i++) {
    const w = pool.pick();
    if (w) return w;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no line worker came online');
}

/** What the main thread makes of the same chunks: the reference the worker must match byte for byte. */
function inline(chunks: { buf: Buffer; offset: number }[], flush: boolean): { events: string[]; ends: number[]; traces: number } {
  const encoder = new EventEncoder({ hostName: setup.hostName, hostIps: setup.hostIps, agentVersion: setup.agentVersion });
  const inspector = new ExceptionInspector({ config: exceptions });
  const splitter = new LineSplitter({ maxLineBytes: lines.maxLineBytes });
  const joiner = new MultilineJoiner({ ...lines.multiline, maxBytes: lines.maxLineBytes });
  const prefix = encoder.prefixFor(fields);
  const events: string[] = [];
  const ends: number[] = [];
  const emit = (ev: Parameters<Parameters<MultilineJoiner['flush']>[0]>[0]): void => {
    if (ev.to === ev.from) return;
    const extra = ev.lines > 1 ? inspector.inspect('a', fields.path, ev.buf, ev.from, ev.to, NOW) : null;
    events.push(encoder.encodeLine(prefix, ev.buf, ev.start, NOW, ev.flags, ev.from, ev.to, extra).toString('latin1'));
    ends.push(ev.end);
  };
  for (const c of chunks) splitter.push(c.buf, c.offset, (buf, from, to, start, end, cut) => joiner.pushLine(buf, from, to, start, end, cut, NOW, emit));
  if (flush) joiner.flush(emit);
  return { events, ends, traces: inspector.stats.traces };
}

test('lineWorkerCount: auto is one worker on two CPUs or more, none on one; a number is taken as it is', () => {
  assert.equal(lineWorkerCount('auto', 1), 0);
  assert.equal(lineWorkerCount('auto', 2), 1);
  assert.equal(lineWorkerCount('auto', 64), 1);
  assert.equal(lineWorkerCount(0, 8), 0);
  assert.equal(lineWorkerCount(3, 1), 3);
});

test('a worker makes the same events, byte for byte, as the main thread, whatever the chunk cuts', async () => {
  const pool = new LineWorkers({ max: 1, setup, logger: pino({ level: 'silent' }) });
  workers.push(pool);
  const worker = await readyWorker(pool);
  const text = Buffer.concat([
    Buffer.from('plain line one\r\n'),
    Buffer.from(`${spring(V1)}\n`),
    Buffer.from(`${'x'.repeat(3000)}\n`), // truncated at max_line_bytes
    Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x20, 0xe2, 0x82, 0x0a]), // bad UTF-8
    Buffer.from('"quotes" and \\ backslashes\tand tabs\n'),
    Buffer.from('\n'), // a blank line is no event
    Buffer.from('last line, held until the flush'),
    Buffer.from('\n'),
  ]);
  for (const cut of [1, 7, 100, 999, text.length]) {
    const chunks: { buf: Buffer; offset: number }[] = [];
    for (let at = 0; at < text.length; at += cut) chunks.push({ buf: text.subarray(at, Math.min(text.length, at + cut)), offset: at });
    const want = inline(chunks, true);
    const got: string[] = [];
    const ends: number[] = [];
    const file = pool.laneId();
    let traces = 0;
    for (const [i, c] of chunks.entries()) {
      const out = await pool.chunk(worker, { file, now: NOW, app: 'a', path: fields.path, offset: c.offset, ...(i === 0 ? { reset: 0, fields } : {}) }, c.buf);
      got.push(...views(out.events).map((e) => e.toString('latin1')));
      ends.push(...endsOf(out.events));
      traces += out.reply.traces.length;
      for (const m of out.events.memories) assert.ok(pool.release(m, 1), 'a worker event is released to its worker');
    }
    const flushed = await pool.flush(worker, { file, now: NOW, app: 'a', path: fields.path, onlyIfDue: false });
    got.push(...views(flushed.events).map((e) => e.toString('latin1')));
    ends.push(...endsOf(flushed.events));
    assert.equal(flushed.reply.resume, text.length, 'nothing held after the flush');
    assert.deepEqual(got, want.events, `cut every ${cut} bytes`);
    assert.deepEqual(ends, want.ends);
    assert.equal(traces, want.traces);
    assert.equal(traces, 1, 'the Spring trace was found on the worker and handed over');
    pool.forget(worker, file);
  }
});

test('released slabs are reused; without releases the worker keeps allocating', async () => {
  const pool = new LineWorkers({ max: 1, setup: { ...setup, lines: { ...lines, multiline: { ...lines.multiline, pattern: null } } }, logger: pino({ level: 'silent' }) });
  workers.push(pool);
  const worker = await readyWorker(pool);
  const line = Buffer.from(`${'y'.repeat(199)}\n`);
  const chunk = Buffer.concat(Array.from({ length: 5000 }, () => line)); // ~1 MiB, ~3 MiB of events
  const file = pool.laneId();
  let offset = 0;
  for (let i = 0; i < 30; i++) {
    const out = await pool.chunk(worker, { file, now: NOW, app: 'a', path: fields.path, offset, ...(i === 0 ? { reset: 0, fields } : {}) }, chunk);
    offset += chunk.length;
    assert.equal(out.events.count, 5000);
    for (const m of out.events.memories) pool.release(m, 1);
    await new Promise((r) => setImmediate(r)); // the batched release goes out
  }
  const reusing = worker.slabs.size;
  assert.ok(reusing <= 8, `slabs in use stay few when events are released (${reusing})`);
  const held: Buffer[] = [];
  for (let i = 0; i < 10; i++) {
    const out = await pool.chunk(worker, { file, now: NOW, app: 'a', path: fields.path, offset }, chunk);
    offset += chunk.length;
    held.push(...views(out.events));
  }
  assert.ok(worker.slabs.size >= reusing + 20, `unreleased events keep their slabs (${worker.slabs.size})`);
  assert.match(held[0]?.toString('latin1') ?? '', /"message":"y{199}"/, 'events still readable while held');
});

test('a worker that dies fails its steps (the collector then reads the file on the main thread)', async () => {
  const pool = new LineWorkers({ max: 1, setup, logger: pino({ level: 'silent' }) });
  workers.push(pool);
  const worker = await readyWorker(pool);
  assert.equal(pool.running, 1);
  await worker.thread.terminate();
  await assert.rejects(pool.chunk(worker, { file: pool.laneId(), now: NOW, app: 'a', path: fields.path, offset: 0, reset: 0, fields }, Buffer.from('a\n')), /not running|stopped/);
  assert.equal(pool.running, 0);
  assert.equal(pool.pick(), undefined, 'no worker to give a busy file to');
});
