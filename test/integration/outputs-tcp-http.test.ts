// The tcp json_lines and http outputs against real listeners on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createOutput } from '../../src/outputs/index.ts';
import type { Output } from '../../src/outputs/types.ts';
import { HttpReceiver } from '../helpers/http-receiver.ts';
import { JsonLinesReceiver } from '../helpers/json-lines-receiver.ts';
import { deadPort, deliver, describeOutcome, makeEvents, outputConfig, silentLogger } from '../helpers/outputs.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

function output(overrides: Parameters<typeof outputConfig>[0]): Output {
  const o = createOutput(outputConfig({ timeout: 5000, ...overrides }), 0, { logger: silentLogger, random: () => 0.5 });
  cleanup.push(() => o.destroy());
  o.start();
  return o;
}

async function linesReceiver(options: Parameters<typeof JsonLinesReceiver.start>[0] = {}): Promise<JsonLinesReceiver> {
  const r = await JsonLinesReceiver.start(options);
  cleanup.push(() => r.close());
  return r;
}

async function httpReceiver(): Promise<HttpReceiver> {
  const r = await HttpReceiver.start();
  cleanup.push(() => r.close());
  return r;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test('tcp: json_lines, one event per line, in order, over one connection', async () => {
  const r = await linesReceiver();
  const out = output({ type: 'tcp', hosts: [r.address] });
  for (let b = 0; b < 10; b++) assert.equal((await out.send(makeEvents(200, b * 200, 'tcp', 150), AbortSignal.timeout(20_000))).kind, 'acked');
  await waitFor('2000 lines', () => r.lineCount === 2000);
  assert.deepEqual(r.lines.map((l) => l.n), range(0, 2000));
  assert.deepEqual(r.invalid, []);
  assert.equal(r.connections, 1);
  assert.equal(out.stats().eventsAcked, 2000);
  assert.equal(out.stats().state, 'connected');
});

test('tcp: a raw newline inside an event cannot split it', async () => {
  const r = await linesReceiver();
  const out = output({ type: 'tcp', hosts: [r.address] });
  const events = [Buffer.from('{"a":1,\n"b":2}'), Buffer.from('{"c":3}')];
  assert.equal((await out.send(events, AbortSignal.timeout(20_000))).kind, 'acked');
  await waitFor('2 lines', () => r.lineCount === 2);
  assert.deepEqual(r.lines, [{ a: 1, b: 2 }, { c: 3 }]);
});

test('tcp: a Logstash that stops reading times the write out; after it recovers everything arrives', async () => {
  const r = await linesReceiver({ paused: true });
  const out = output({ type: 'tcp', hosts: [r.address], timeout: 500 });
  // Far more than the loopback socket buffers hold, so the write cannot complete.
  const big = makeEvents(40_000, 0, 'stuck', 1000);
  const outcome = await out.send(big, AbortSignal.timeout(20_000));
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' ? outcome.acked : -1, 0);
  assert.match(outcome.kind === 'retry' ? outcome.error.message : '', /did not complete within 500 ms/);
  r.resume();
  const small = makeEvents(100, 100_000, 'after');
  await deliver(out, small);
  await waitFor('the later batch', () => r.lines.filter((l) => l.tag === 'after').length === 100);
  assert.ok(r.connections >= 2);
});

test('tcp: a connection closed by Logstash is replaced, and later batches arrive', async () => {
  const r = await linesReceiver();
  const out = output({ type: 'tcp', hosts: [r.address] });
  await deliver(out, makeEvents(10, 0));
  await waitFor('10 lines', () => r.lineCount === 10);
  r.dropConnections();
  await waitFor('the output noticed', () => out.stats().reconnects === 1);
  await deliver(out, makeEvents(10, 10));
  await waitFor('20 lines', () => r.lineCount === 20);
  assert.deepEqual(r.lines.map((l) => l.n), range(0, 20));
  assert.equal(r.connections, 2);
});

test('http: batches are POSTed as JSON arrays over kept-alive connections', async () => {
  const r = await httpReceiver();
  const out = output({ type: 'http', hosts: [r.url('/logs')] });
  for (let b = 0; b < 10; b++) assert.equal((await out.send(makeEvents(100, b * 100, 'http'), AbortSignal.timeout(20_000))).kind, 'acked');
  assert.deepEqual(r.events.map((e) => e.n), range(0, 1000));
  assert.deepEqual(r.invalid, []);
  assert.equal(r.requestCount, 10);
  // Kept alive: at most the pool's `pipelining` (2) connections, not one per request.
  assert.ok(r.connections <= 2, `${r.connections} connections for 10 requests`);
  const req = r.requests[0];
  assert.equal(req?.method, 'POST');
  assert.equal(req?.path, '/logs');
  assert.equal(req?.headers['content-type'], 'application/json');
  assert.equal(out.stats().state, 'connected');
});

test('http: 503 twice, then success — retry outcomes, then every event accepted once', async () => {
  const r = await httpReceiver();
  r.script.push({ status: 503 }, { status: 503 });
  const out = output({ type: 'http', hosts: [r.address] });
  const events = makeEvents(20, 0, 'busy');
  const report = await deliver(out, events, { retryDelayMs: 5 });
  assert.deepEqual(report.outcomes.map((o) => o.kind), ['retry', 'retry', 'acked']);
  assert.match(describeOutcome(report.outcomes[0] as never), /HTTP 503/);
  assert.deepEqual(r.events.map((e) => e.n), range(0, 20));
  assert.equal(r.requestCount, 3);
});

test('http: Retry-After on 429 keeps the host aside; failover sends the next batch to the other host', async () => {
  const a = await httpReceiver();
  const b = await httpReceiver();
  a.script.push({ status: 429, headers: { 'retry-after': '120' } });
  const out = output({ type: 'http', hosts: [a.address, b.address], backoff_max: 300_000 });
  const first = await out.send(makeEvents(5, 0), AbortSignal.timeout(20_000));
  assert.equal(first.kind, 'retry');
  assert.equal(out.stats().hosts[0]?.state, 'disconnected');
  assert.match(out.stats().hosts[0]?.lastError ?? '', /HTTP 429/);
  assert.equal((await out.send(makeEvents(5, 0), AbortSignal.timeout(20_000))).kind, 'acked');
  assert.equal(a.requestCount, 1, 'the host that asked for time got no further request');
  assert.equal(b.events.length, 5);
});

test('http: other 4xx is fatal for the batch; an unreachable host is a retry', async () => {
  const r = await httpReceiver();
  r.script.push({ status: 400 });
  const out = output({ type: 'http', hosts: [r.address] });
  const outcome = await out.send(makeEvents(3), AbortSignal.timeout(20_000));
  assert.equal(outcome.kind, 'fatal');
  assert.equal(outcome.kind === 'fatal' ? outcome.acked : -1, 0);
  assert.match(outcome.kind === 'fatal' ? outcome.error.message : '', /HTTP 400/);

  const down = output({ type: 'http', hosts: [`127.0.0.1:${await deadPort()}`] });
  const lost = await down.send(makeEvents(3), AbortSignal.timeout(20_000));
  assert.equal(lost.kind, 'retry');
  assert.equal(down.stats().hosts[0]?.state, 'disconnected');
  assert.match(down.stats().hosts[0]?.lastError ?? '', /ECONNREFUSED/);
});

test('http: loadbalance spreads batches over the hosts', async () => {
  const a = await httpReceiver();
  const b = await httpReceiver();
  const out = output({ type: 'http', hosts: [a.address, b.address], loadbalance: true });
  for (let i = 0; i < 10; i++) await deliver(out, makeEvents(10, i * 10));
  assert.ok(a.events.length > 0 && b.events.length > 0, `spread ${a.events.length}/${b.events.length}`);
  assert.deepEqual([...a.events, ...b.events].map((e) => e.n as number).sort((x, y) => x - y), range(0, 100));
});

test('close(): tcp flushes and ends cleanly (every line whole); http waits for the request in flight', async () => {
  const r = await linesReceiver();
  const out = output({ type: 'tcp', hosts: [r.address] });
  assert.equal((await out.send(makeEvents(5000, 0, 'bye', 300), AbortSignal.timeout(20_000))).kind, 'acked');
  await out.close();
  assert.equal(out.stats().state, 'closed');
  await waitFor('all lines', () => r.lineCount === 5000);
  assert.deepEqual(r.invalid, []);

  const h = await httpReceiver();
  h.script.push({ status: 200, delayMs: 300 });
  const hout = output({ type: 'http', hosts: [h.address] });
  const inflight = hout.send(makeEvents(3), AbortSignal.timeout(20_000));
  await waitFor('request arrived', () => h.requestCount === 1);
  await hout.close();
  assert.equal((await inflight).kind, 'acked');
  assert.equal((await hout.send(makeEvents(1), AbortSignal.timeout(1000))).kind, 'retry', 'closed');
});
