// The collector with a line worker (src/logs/workers/), on real files and a real worker thread:
// busy files' lines are encoded on the worker and arrive once, in order; when the worker goes
// away mid-stream, its files are read again on the main thread from their resume point (a
// pending multiline event included), and still every event arrives once, in order.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { pino } from 'pino';
import { ContainerInventory } from '../../../src/docker/inventory.ts';
import { LogCollector } from '../../../src/logs/collector.ts';
import { JAVA_CONTINUATION } from '../../../src/logs/config.ts';
import { EventEncoder } from '../../../src/logs/event-encoder.ts';
import { LogFileRegistry } from '../../../src/logs/registry.ts';
import { LineWorkers } from '../../../src/logs/workers/line-workers.ts';
import { EventQueue } from '../../../src/pipeline/event-queue.ts';
import { waitFor } from '../../helpers/wait.ts';

const logger = pino({ level: 'silent' });
const LINES = { maxLineBytes: 1 << 16, multiline: { pattern: JAVA_CONTINUATION, negate: false, match: 'after' as const, maxLines: 500, timeoutMs: 100 } };
let dir = '';
let collector: LogCollector | undefined;
let pool: LineWorkers | undefined;
let drain: NodeJS.Timeout | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dockhand-collector-workers-'));
  await mkdir(join(dir, 'logs'));
});
afterEach(async () => {
  clearInterval(drain);
  await collector?.stop();
  await pool?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Events of 3 lines each (a line and two continuation lines), numbered. */
function content(file: number, events: number): string {
  let out = '';
  for (let i = 0; i < events; i++) out += `f${file} e${i} ${'x'.repeat(60)}\n\tat a.B.c(B.java:${i})\n\tat d.E.f(E.java:1)\n`;
  return out;
}

/** Starts the collector with a line worker that is already up (a file written after is busy at once). */
async function start(): Promise<{ messages: string[] }> {
  const queue = new EventQueue({ maxEvents: 2000, maxBytes: 4 << 20 });
  const messages: string[] = [];
  drain = setInterval(() => {
    for (let batch = queue.take(500); batch; batch = queue.take(500)) {
      batch.events.toBuffers().forEach((e, i) => {
        messages.push((JSON.parse(e.toString('utf8')) as { message: string }).message.split(' ')[1] ?? '');
        batch.trackers[i]?.ack(batch.seqs[i] as number, 1);
        pool?.release(batch.events.memory(i), 1);
      });
    }
  }, 2);
  const registry = new LogFileRegistry({ dir: join(dir, 'state'), logger });
  await registry.load();
  pool = new LineWorkers({ max: 1, setup: { lines: LINES, hostName: 'h', hostIps: [], agentVersion: 't', exceptions: null }, logger });
  await waitFor('the worker online', () => pool?.available(), 10_000, 5);
  collector = new LogCollector({
    roots: [join(dir, 'logs')], include: ['*.log'], exclude: [], startAt: 'beginning', closeInactiveMs: 60_000, maxOpenFiles: 100,
    rescanIntervalMs: 100, releaseDeletedAfterMs: 60_000, envCodes: ['nor'], lines: LINES, queue, registry,
    encoder: new EventEncoder({ hostName: 'h', hostIps: [], agentVersion: 't' }), inventory: new ContainerInventory(), logger,
    workers: { pool, backlog: 0 },
  });
  await collector.start();
  return { messages };
}

function assertOnceInOrder(messages: string[], events: number): void {
  assert.equal(messages.length, events, 'every event once');
  messages.forEach((m, i) => assert.equal(m, `e${i}`, `event ${i} in order`));
}

test('a busy file is encoded on the worker: every event once, in order', async () => {
  const events = 20_000;
  const { messages } = await start();
  await writeFile(join(dir, 'logs', 'a.log'), content(0, events));
  let onWorker = 0;
  await waitFor('every event', () => {
    onWorker = Math.max(onWorker, pool?.files ?? 0);
    return messages.length >= events;
  }, 30_000, 2);
  assert.equal(onWorker, 1, 'the file was on the worker');
  await new Promise((r) => setTimeout(r, 300)); // nothing more comes (a duplicate would)
  assertOnceInOrder(messages, events);
});

test('the worker goes away mid-stream: the file is read again on the main thread from its resume point, every event once, in order', async () => {
  const events = 60_000;
  const { messages } = await start();
  await writeFile(join(dir, 'logs', 'a.log'), content(0, events));
  await waitFor('the worker at work', () => messages.length > 2000 && (pool?.files ?? 0) > 0, 30_000, 1);
  await pool?.stop();
  assert.ok(messages.length < events, `stopped mid-stream (${messages.length} of ${events})`);
  await waitFor('every event', () => messages.length >= events, 30_000, 5);
  await new Promise((r) => setTimeout(r, 300));
  assertOnceInOrder(messages, events);
  assert.equal(collector?.files()[0]?.readOffset, collector?.files()[0]?.size);
});
