// The Beats output against the strict test receiver on 127.0.0.1: exactly-once in order on a
// clean run, slow start, compression, partial ACKs, keep-alives vs. silence, dropped
// connections, failover and load balancing, metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { createOutput } from '../../src/outputs/index.ts';
import type { Output } from '../../src/outputs/types.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { deadPort, deliver, describeOutcome, makeEvents, outputConfig, recordingLogger, silentLogger } from '../helpers/outputs.ts';
import { waitFor } from '../helpers/wait.ts';
import { missing } from '../helpers/requirements.ts';

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function receiver(options: Parameters<typeof BeatsReceiver.start>[0] = {}): Promise<BeatsReceiver> {
  const r = await BeatsReceiver.start(options);
  cleanup.push(() => r.close());
  return r;
}

function beats(hosts: string[], overrides: Parameters<typeof outputConfig>[0] = {}, registry?: Registry): Output {
  const output = createOutput(outputConfig({ type: 'beats', hosts, timeout: 5000, ...overrides }), 0, { logger: silentLogger, registry, random: () => 0.5 });
  cleanup.push(() => output.destroy());
  output.start();
  return output;
}

const ns = (r: BeatsReceiver): number[] => r.events.map((e) => e.json.n as number);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test('a clean run delivers many batches exactly once, in order, with slow-start windows', async () => {
  const r = await receiver();
  const registry = new Registry();
  const out = beats([r.address], { bulk_max_size: 512, pipelining: 1 }, registry);
  const all = makeEvents(20 * 300, 0, 'clean', 200);
  for (let b = 0; b < 20; b++) {
    const outcome = await out.send(all.slice(b * 300, (b + 1) * 300), AbortSignal.timeout(30_000));
    assert.equal(outcome.kind, 'acked', describeOutcome(outcome));
  }
  assert.deepEqual(r.errors, []);
  assert.deepEqual(ns(r), range(0, 6000));
  assert.ok(r.events.every((e, i) => e.raw.equals(all[i] as Buffer)), 'payload bytes unchanged');
  // Filebeat's slow start: 10, then ×1.5 per ACKed window, capped by the batch size (300).
  assert.deepEqual(r.windows.slice(0, 6).map((w) => w.count), [10, 15, 23, 35, 53, 80]);
  assert.ok(r.windows.slice(-5).every((w) => w.count === 300), `later windows are whole batches: ${r.windows.slice(-5).map((w) => w.count).join(',')}`);
  assert.equal(r.connections, 1);
  const stats = out.stats();
  assert.equal(stats.state, 'connected');
  assert.equal(stats.eventsAcked, 6000);
  assert.equal(stats.reconnects, 0);
  assert.ok(stats.lastAckAt !== null);
  const text = await registry.metrics();
  assert.match(text, /dockhand_output_events_acked_total\{output="beats\[0\]"\} 6000/);
  assert.match(text, /dockhand_output_batches_total\{output="beats\[0\]",outcome="acked"\} 20/);
  assert.match(text, new RegExp(`dockhand_output_connection_state\\{output="beats\\[0\\]",host="${r.address}",state="connected"\\} 1`));
});

test('concurrent batches on one connection are pipelined and all acknowledged', async () => {
  const r = await receiver();
  const out = beats([r.address], { bulk_max_size: 200, pipelining: 4 });
  const batches = Array.from({ length: 8 }, (_, b) => makeEvents(200, b * 200, 'pipe'));
  const outcomes = await Promise.all(batches.map((events) => out.send(events, AbortSignal.timeout(30_000))));
  assert.deepEqual(outcomes.map((o) => o.kind), Array(8).fill('acked'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(ns(r).sort((a, b) => a - b), range(0, 1600));
});

test('compressed windows (2C) arrive intact', async () => {
  const r = await receiver();
  const out = beats([r.address], { compression_level: 3, bulk_max_size: 1000 });
  const events = makeEvents(3000, 0, 'zip', 300);
  for (let b = 0; b < 3; b++) {
    const outcome = await out.send(events.slice(b * 1000, (b + 1) * 1000), AbortSignal.timeout(30_000));
    assert.equal(outcome.kind, 'acked', describeOutcome(outcome));
  }
  assert.deepEqual(r.errors, []);
  assert.ok(r.windows.length > 3 && r.windows.every((w) => w.compressed));
  assert.deepEqual(ns(r), range(0, 3000));
  assert.ok(r.events.every((e, i) => e.raw.equals(events[i] as Buffer)));
});

test('a partial ACK then a dropped connection: retry with exactly the acknowledged count', async () => {
  const r = await receiver();
  r.plan = (w) => (w.connection === 1 && w.window === 2 ? { kind: 'partial', first: 6, then: 'drop' } : { kind: 'ack' });
  const out = beats([r.address], { bulk_max_size: 100 });
  const events = makeEvents(100, 0, 'partial');
  const first = await out.send(events, AbortSignal.timeout(30_000));
  // Window 1 (10 events) ACKed in full, window 2 (15 events) ACKed up to 6: 16 acknowledged.
  assert.equal(first.kind, 'retry', describeOutcome(first));
  assert.equal(first.kind === 'retry' ? first.acked : -1, 16);
  const rest = await deliver(out, events.slice(16));
  assert.equal(rest.outcomes.at(-1)?.kind, 'acked');
  assert.deepEqual(r.errors, []);
  assert.equal(r.connections, 2);
  // Every event arrived; those after the acknowledged prefix may have arrived twice, none before it.
  const seen = ns(r);
  for (let n = 0; n < 100; n++) assert.ok(seen.includes(n), `event ${n} delivered`);
  for (let n = 0; n < 16; n++) assert.equal(seen.filter((x) => x === n).length, 1, `event ${n} sent once`);
});

test('a partial ACK then silence: the connection times out and the acknowledged prefix counts', async () => {
  const r = await receiver();
  r.plan = (w) => (w.connection === 1 ? { kind: 'partial', first: 3, then: 'stall' } : { kind: 'ack' });
  const out = beats([r.address], { timeout: 300 });
  const events = makeEvents(10, 0, 'stall');
  const outcome = await out.send(events, AbortSignal.timeout(30_000));
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' ? outcome.acked : -1, 3);
  assert.match(outcome.kind === 'retry' ? outcome.error.message : '', /no ACK or keep-alive/);
  await deliver(out, events.slice(3));
  assert.equal(r.connections, 2);
  assert.ok(out.stats().reconnects >= 1);
});

test('keep-alive ACKs (seq 0) keep a slow window alive well past the timeout', async () => {
  const r = await receiver();
  r.plan = () => ({ kind: 'ack', delayMs: 1500, keepAlive: { everyMs: 100 } });
  const registry = new Registry();
  const out = beats([r.address], { timeout: 400 }, registry);
  const outcome = await out.send(makeEvents(5, 0, 'slow'), AbortSignal.timeout(30_000));
  assert.equal(outcome.kind, 'acked', describeOutcome(outcome));
  assert.equal(r.connections, 1);
  assert.equal(out.stats().reconnects, 0);
  assert.match(await registry.metrics(), /dockhand_output_keepalives_total\{output="beats\[0\]",host="[^"]+"\} [1-9]/);
});

test('keep-alives repeating the last seq after a partial ACK are liveness, not progress', async () => {
  const r = await receiver();
  r.plan = () => ({ kind: 'partial', first: 4, then: { restAfterMs: 1500 }, keepAlive: { everyMs: 100, seq: 'last' } });
  const out = beats([r.address], { timeout: 400 });
  const outcome = await out.send(makeEvents(10, 0, 'last'), AbortSignal.timeout(30_000));
  assert.equal(outcome.kind, 'acked', describeOutcome(outcome));
  assert.equal(r.connections, 1);
});

test('silence beyond the timeout kills the connection, yields retry, and the output reconnects', async () => {
  const r = await receiver();
  r.plan = (w) => (w.connection === 1 ? { kind: 'silent' } : { kind: 'ack' });
  const out = beats([r.address], { timeout: 300 });
  const events = makeEvents(10, 0, 'silent');
  const outcome = await out.send(events, AbortSignal.timeout(30_000));
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' ? outcome.acked : -1, 0);
  const again = await out.send(events, AbortSignal.timeout(30_000));
  assert.equal(again.kind, 'acked', describeOutcome(again));
  assert.equal(r.connections, 2);
  // The failed window halved the slow-start window: 10 → 5.
  assert.equal(r.windows.find((w) => w.connection === 2)?.count, 5);
});

test('a connection dropped mid-window: retry, reconnect with backoff, then delivery', async () => {
  const r = await receiver();
  r.plan = (w) => (w.connection === 1 && w.window === 1 ? { kind: 'drop', afterEvents: 4 } : { kind: 'ack' });
  const { logger, lines } = recordingLogger();
  const output = createOutput(outputConfig({ type: 'beats', hosts: [r.address], timeout: 5000 }), 0, { logger, random: () => 0.5 });
  cleanup.push(() => output.destroy());
  output.start();
  const events = makeEvents(10, 0, 'drop');
  const report = await deliver(output, events);
  assert.equal(report.outcomes[0]?.kind, 'retry');
  assert.equal(report.outcomes.at(-1)?.kind, 'acked');
  assert.equal(r.connections, 2);
  assert.ok(output.stats().reconnects >= 1);
  assert.deepEqual(r.errors, []);
  assert.ok(lines.some((l) => l.msg === 'connection to Logstash ended' && l.level === 40), 'the loss is logged as a warning');
  const seen = new Set(ns(r));
  assert.equal(seen.size, 10);
});

test('failover: a down first host is skipped, and losing the active host moves batches to the other', async () => {
  const down = await deadPort();
  const b = await receiver();
  const out1 = beats([`127.0.0.1:${down}`, b.address]);
  assert.equal((await out1.send(makeEvents(20, 0, 'fo1'), AbortSignal.timeout(30_000))).kind, 'acked');
  assert.equal(b.eventCount, 20);
  const hosts = out1.stats().hosts;
  assert.equal(hosts[0]?.state, 'disconnected');
  assert.match(hosts[0]?.lastError ?? '', /ECONNREFUSED/);
  assert.equal(hosts[1]?.state, 'connected');

  const a = await receiver();
  const c = await receiver();
  const out2 = beats([a.address, c.address]);
  await deliver(out2, makeEvents(20, 0, 'fo2'));
  assert.equal(a.eventCount, 20, 'the first host takes everything while it is up');
  assert.equal(c.eventCount, 0);
  await a.close();
  await deliver(out2, makeEvents(20, 20, 'fo2'), { retryDelayMs: 20 });
  assert.deepEqual(ns(c), range(20, 40));
});

test('loadbalance spreads batches over all hosts, each event delivered once', async () => {
  const a = await receiver();
  const b = await receiver();
  const out = beats([a.address, b.address], { loadbalance: true });
  await waitFor('both hosts connected', () => out.stats().hosts.every((h) => h.state === 'connected'));
  for (let i = 0; i < 20; i++) await deliver(out, makeEvents(50, i * 50, 'lb'));
  assert.ok(a.eventCount >= 200 && b.eventCount >= 200, `spread: ${a.eventCount} / ${b.eventCount}`);
  assert.deepEqual([...ns(a), ...ns(b)].sort((x, y) => x - y), range(0, 1000));
  assert.equal(out.maxInFlight, 4, 'pipelining 2 × 2 hosts');
});

test('an aborted send while no host is reachable resolves retry at once', async () => {
  const out = beats([`127.0.0.1:${await deadPort()}`]);
  const ac = new AbortController();
  const pending = out.send(makeEvents(3), ac.signal);
  await waitFor('a failed connect', () => out.stats().hosts[0]?.lastError);
  ac.abort();
  const outcome = await pending;
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' ? outcome.acked : -1, 0);
  assert.equal(out.stats().batchesInFlight, 0);
});

test('close() lets an in-flight window finish; destroy() fails pending sends with retry', async () => {
  const r = await receiver();
  r.plan = () => ({ kind: 'ack', delayMs: 300 });
  const out = beats([r.address]);
  const inflight = out.send(makeEvents(5), AbortSignal.timeout(30_000));
  await waitFor('window received', () => r.windows.length === 1);
  await out.close();
  assert.equal((await inflight).kind, 'acked');
  assert.equal(out.stats().state, 'closed');
  assert.equal((await out.send(makeEvents(1), AbortSignal.timeout(1000))).kind, 'retry', 'a closed output takes nothing');

  const r2 = await receiver();
  r2.plan = () => ({ kind: 'silent' });
  const out2 = beats([r2.address]);
  const stuck = out2.send(makeEvents(5), AbortSignal.timeout(30_000));
  await waitFor('window received', () => r2.windows.length === 1);
  out2.destroy();
  const outcome = await stuck;
  assert.equal(outcome.kind, 'retry');
});

test('a server that breaks the protocol (bad frame, ACK beyond the window) is dropped, not believed', async () => {
  const { createServer } = await import('node:net');
  const replies = [Buffer.from('2X\0\0\0\x01'), Buffer.from([0x32, 0x41, 0, 0, 0, 99])];
  let connection = 0;
  const srv = createServer((s) => {
    const reply = replies[connection++] ?? Buffer.alloc(0);
    s.once('data', () => s.write(reply));
    s.on('error', () => {});
  });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  cleanup.push(() => new Promise<void>((res) => srv.close(() => res())));
  const out = beats([`127.0.0.1:${(srv.address() as { port: number }).port}`]);
  const first = await out.send(makeEvents(5), AbortSignal.timeout(20_000));
  assert.equal(first.kind, 'retry');
  assert.match(first.kind === 'retry' ? first.error.message : '', /protocol error.*frame type 0x58/);
  const second = await out.send(makeEvents(5), AbortSignal.timeout(20_000));
  assert.equal(second.kind, 'retry');
  assert.equal(second.kind === 'retry' ? second.acked : -1, 0);
  assert.match(second.kind === 'retry' ? second.error.message : '', /ACK 99 beyond the window of 5/);
});

test('the dockhand_output_* exposition of several outputs passes promtool', async (t) => {
  const r = await receiver();
  const registry = new Registry();
  const a = beats([r.address, `127.0.0.1:${await deadPort()}`], { loadbalance: true }, registry);
  const h = createOutput(outputConfig({ type: 'http', hosts: [`127.0.0.1:${await deadPort()}`], max_retries: 0 }), 1, { logger: silentLogger, registry });
  cleanup.push(() => h.destroy());
  await deliver(a, makeEvents(100));
  assert.equal((await h.send(makeEvents(2), AbortSignal.timeout(5000))).kind, 'fatal', 'max_retries 0: the first failure gives up');
  const text = await registry.metrics();
  assert.match(text, /dockhand_output_events_dropped_total\{output="http\[1\]"\} 2/);
  assert.match(text, /dockhand_output_reconnects_total\{output="beats\[0\]",host="127\.0\.0\.1:\d+"\} [1-9]/);
  assert.match(text, /dockhand_output_window_size\{output="beats\[0\]",host="[^"]+"\} \d+/);
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error) {
    missing(t, `promtool is not installed: ${result.error.message}`);
    return;
  }
  assert.equal(result.status, 0, `promtool check metrics:\n${result.stdout}${result.stderr}`);
});
