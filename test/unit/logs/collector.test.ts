// The collector on its own, on real files in a temp dir: a real EventQueue drained by a tiny
// "Logstash" that acknowledges (or holds back) what it takes, and a real offset registry. No
// outputs, no agent: what it reads, what it keeps open, what it closes and what it forgets.
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readdir, readlink, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { ContainerInventory } from '../../../src/docker/inventory.ts';
import { LogCollector } from '../../../src/logs/collector.ts';
import type { LogCollectorOptions } from '../../../src/logs/collector.ts';
import { EventEncoder } from '../../../src/logs/event-encoder.ts';
import { LogFileRegistry } from '../../../src/logs/registry.ts';
import { EventQueue } from '../../../src/pipeline/event-queue.ts';
import { waitFor } from '../../helpers/wait.ts';

const logger = pino({ level: 'silent' });

/** Takes every queued event, remembers its message, and acknowledges it unless told to hold. */
class Acknowledger {
  readonly messages: string[] = [];
  hold = false;
  readonly #queue: EventQueue;
  #timer: NodeJS.Timeout;
  constructor(queue: EventQueue) {
    this.#queue = queue;
    this.#timer = setInterval(() => this.#drain(), 5);
  }
  #drain(): void {
    if (this.hold) return;
    for (let batch = this.#queue.take(1000); batch; batch = this.#queue.take(1000)) {
      batch.events.toBuffers().forEach((e, i) => {
        this.messages.push((JSON.parse(e.toString('utf8')) as { message: string }).message);
        batch.trackers[i]?.ack(batch.seqs[i] as number, 1);
      });
    }
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

let dir = '';
let logs = '';
let collector: LogCollector | undefined;
let acks: Acknowledger | undefined;
let registry: LogFileRegistry;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dockhand-collector-'));
  logs = join(dir, 'logs');
  await mkdir(logs);
});
afterEach(async () => {
  await collector?.stop();
  collector = undefined;
  acks?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function startCollector(options: Partial<LogCollectorOptions> = {}): Promise<LogCollector> {
  const queue = new EventQueue({ maxEvents: 1000, maxBytes: 1 << 20 });
  acks = new Acknowledger(queue);
  registry = new LogFileRegistry({ dir: join(dir, 'state'), logger });
  await registry.load();
  collector = new LogCollector({
    roots: [logs],
    include: ['*.log'],
    exclude: [],
    startAt: 'beginning',
    closeInactiveMs: 60_000,
    maxOpenFiles: 100,
    rescanIntervalMs: 100,
    releaseDeletedAfterMs: 60_000,
    envCodes: ['nor'],
    lines: { maxLineBytes: 1 << 20, multiline: { pattern: null, negate: false, match: 'after', maxLines: 500, timeoutMs: 100 } },
    queue,
    registry,
    encoder: new EventEncoder({ hostName: 'test', hostIps: [], agentVersion: 'test' }),
    inventory: new ContainerInventory(),
    logger,
    ...options,
  });
  await collector.start();
  return collector;
}

const lines = (prefix: string, n: number): string => Array.from({ length: n }, (_, i) => `${prefix} ${i}\n`).join('');

async function openPaths(): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  return (await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))).filter((p) => p.startsWith(logs));
}

void describe('LogCollector', () => {
  void it('reads every file whole with fewer handles than files (max_open_files), closing idle ones to make room', async () => {
    for (let i = 0; i < 6; i++) await writeFile(join(logs, `f${i}.log`), lines(`f${i}`, 50));
    const c = await startCollector({ maxOpenFiles: 2 });
    await waitFor('300 events', () => (acks?.messages.length ?? 0) >= 300);
    assert.equal(new Set(acks?.messages).size, 300);
    assert.ok(c.openFiles <= 2, `open ${c.openFiles}`);
    assert.ok((await openPaths()).length <= 2);
    await waitFor('offsets acknowledged', () => c.files().every((f) => f.ackedOffset === f.size));
  });

  void it('a truncated file is read again from its start', async () => {
    const path = join(logs, 'app.log');
    await writeFile(path, lines('old', 20));
    const c = await startCollector();
    await waitFor('20 events', () => acks?.messages.length === 20);
    await truncate(path, 0);
    await appendFile(path, lines('new', 3));
    await waitFor('the new content', () => acks?.messages.includes('new 2'));
    assert.deepEqual(acks?.messages.slice(20), ['new 0', 'new 1', 'new 2']);
    assert.equal(c.files()[0]?.readOffset, 18);
  });

  void it('a renamed file is followed under its new name; the lines written before and after arrive once', async () => {
    const path = join(logs, 'app.log');
    await writeFile(path, lines('a', 5));
    const c = await startCollector();
    await waitFor('5 events', () => acks?.messages.length === 5);
    await rename(path, join(logs, 'app.log.1'));
    await appendFile(join(logs, 'app.log.1'), lines('b', 2));
    await waitFor('the lines appended after the rename', () => acks?.messages.length === 7);
    assert.equal(c.files()[0]?.currentPath, join(logs, 'app.log.1'));
  });

  void it('a deleted file is closed and forgotten once its events are acknowledged, not before', async () => {
    const path = join(logs, 'gone.log');
    await writeFile(path, lines('x', 10));
    const c = await startCollector();
    await waitFor('10 acknowledged', () => c.files()[0]?.ackedOffset === c.files()[0]?.size && c.files()[0]?.size !== 0);
    (acks as Acknowledger).hold = true;
    await appendFile(path, lines('y', 5));
    await waitFor('the new lines read', () => c.files()[0]?.readOffset === c.files()[0]?.size && (c.files()[0]?.readOffset ?? 0) > 0 && c.files()[0]?.ackedOffset !== c.files()[0]?.readOffset);
    await rm(path);
    await waitFor('closed', async () => (await openPaths()).length === 0);
    assert.equal(c.files().length, 1, 'kept while events are unacknowledged');
    assert.ok(registry.get(c.files()[0]?.identity.dev ?? 0, c.files()[0]?.identity.ino ?? 0), 'its offset is kept too');
    (acks as Acknowledger).hold = false;
    await waitFor('forgotten once acknowledged', () => c.files().length === 0);
    assert.equal(registry.size, 0);
  });

  void it('saved offsets of files that are gone are expired after a scan; present ones are kept', async () => {
    await writeFile(join(logs, 'stays.log'), lines('s', 2));
    registry = new LogFileRegistry({ dir: join(dir, 'state'), logger });
    await registry.load();
    for (let ino = 1; ino <= 5; ino++) registry.put({ dev: 1, ino, fpLen: 0, fp: '', path: join(logs, `old${ino}.log`), offset: 10, updatedAt: 1 });
    registry.put({ dev: 1, ino: 99, fpLen: 0, fp: '', path: join(dir, 'not-configured', 'x.log'), offset: 10, updatedAt: 1 });
    await registry.flush();
    const c = await startCollector();
    await waitFor('stays.log followed', () => c.files().length === 1);
    await waitFor('the gone files expired', () => registry.size === 1);
    assert.equal([...registry.entries()][0]?.path, join(logs, 'stays.log'));
  });

  void it('an unreadable root keeps its saved offsets (an unmounted disk must not wipe them)', async () => {
    const missing = join(dir, 'not-mounted');
    registry = new LogFileRegistry({ dir: join(dir, 'state'), logger });
    await registry.load();
    registry.put({ dev: 1, ino: 7, fpLen: 0, fp: '', path: join(missing, 'a.log'), offset: 10, updatedAt: 1 });
    registry.put({ dev: 1, ino: 8, fpLen: 0, fp: '', path: join(logs, 'gone.log'), offset: 10, updatedAt: 1 });
    await registry.flush();
    await startCollector({ roots: [logs, missing] });
    // The gone file of the readable root expiring shows a scan has judged both entries.
    await waitFor('the readable root\'s gone file expired', () => registry.get(1, 8) === undefined);
    assert.equal(registry.get(1, 7)?.offset, 10);
  });
});
