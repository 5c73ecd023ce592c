// Line workers through the built agent: the same files shipped with logs.workers 0 and with a
// worker (every file busy: worker_backlog 0) arrive as the same events, byte for byte apart from
// the read time — plain lines, Java stack traces (joined, with the exception summary's fields),
// truncated lines, bad UTF-8 — and the metrics show the worker at work.
import assert from 'node:assert/strict';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { assertBuilt } from '../helpers/agent-process.ts';
import { spring, V1, V2 } from '../helpers/exception-traces.ts';
import { JsonLinesReceiver } from '../helpers/json-lines-receiver.ts';
import { lineText, logFileName } from '../helpers/log-files.ts';
import { allAcknowledged, logsSetup, startLogsAgent } from '../helpers/logs-agent.ts';
import type { AgentHandle, LogsSetup } from '../helpers/logs-agent.ts';
import { waitFor } from '../helpers/wait.ts';

let setup: LogsSetup;
let agent: AgentHandle | undefined;
let receiver: JsonLinesReceiver | undefined;
beforeEach(async () => {
  assertBuilt();
  setup = await logsSetup();
});
afterEach(async () => {
  await agent?.agent.dispose();
  agent = undefined;
  await receiver?.close();
  receiver = undefined;
  await setup.cleanup();
});

const PLAIN_LINES = 20_000;

async function writeFiles(): Promise<number> {
  const name = (app: string): string => join(setup.logs, logFileName({ logType: 'svc', app, env: 'nor', imageTag: '1', hostname: 'h', date: '20261202' }));
  let events = 0;
  for (const app of ['p1', 'p2']) {
    const lines: string[] = [];
    for (let i = 0; i < PLAIN_LINES; i++) lines.push(lineText(app === 'p1' ? 1 : 2, i, 150));
    await writeFile(name(app), `${lines.join('\n')}\n`);
    events += PLAIN_LINES;
  }
  const traces: string[] = [];
  for (let i = 0; i < 300; i++) traces.push(`info ${i}`, spring(i % 2 === 0 ? V1 : V2));
  await writeFile(name('java'), `${traces.join('\n')}\n`);
  // Three events per pair: the info line, the trace's header line (the log line before it), the trace joined.
  events += 900;
  await writeFile(name('odd'), Buffer.concat([Buffer.from(`${'z'.repeat(5000)}\n`), Buffer.from([0x61, 0xff, 0xc3, 0x0a]), Buffer.from('"q" \\ \t end\n')]));
  events += 3;
  // The last event of each file waits for the multiline timeout; a line after it on every file ends the wait sooner.
  for (const app of ['p1', 'p2', 'java', 'odd']) await appendFile(name(app), 'the end\n');
  return events + 4;
}

/** Every log event without what depends on when it was read, sorted (file order is checked separately). */
function comparable(lines: Record<string, unknown>[]): string[] {
  return lines
    .filter((l) => (l.log as { file?: unknown } | undefined)?.file !== undefined)
    .map((l) => JSON.stringify({ ...l, '@timestamp': null }))
    .sort();
}

async function ship(env: Record<string, string>, events: number): Promise<{ lines: Record<string, unknown>[]; workersSeen: number; filesOnWorkers: number }> {
  const r = await JsonLinesReceiver.start();
  receiver = r;
  const a = await startLogsAgent(setup, r.address, { outputType: 'tcp', env: { DOCKHAND_LOGS__MAX_LINE_BYTES: '4KiB', ...env } });
  agent = a;
  let workersSeen = 0;
  let filesOnWorkers = 0;
  await waitFor(`${events} events`, async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
    workersSeen = Math.max(workersSeen, Number(/^dockhand_log_line_workers (\S+)/m.exec(metrics)?.[1] ?? 0));
    filesOnWorkers = Math.max(filesOnWorkers, Number(/^dockhand_log_files_on_line_workers (\S+)/m.exec(metrics)?.[1] ?? 0));
    return r.lines.length >= events;
  }, 60_000, 20);
  await waitFor('all acknowledged', () => allAcknowledged(a), 30_000);
  assert.deepEqual(r.invalid, []);
  const lines = [...r.lines];
  assert.equal(await a.stop(), 0);
  agent = undefined;
  await r.close();
  receiver = undefined;
  return { lines, workersSeen, filesOnWorkers };
}

test('the same files give the same events with and without a line worker', { timeout: 180_000 }, async () => {
  const events = await writeFiles();
  const without = await ship({ DOCKHAND_LOGS__WORKERS: '0' }, events);
  assert.equal(without.workersSeen, 0);
  await rm(setup.state, { recursive: true, force: true }); // read everything again
  const withWorker = await ship({ DOCKHAND_LOGS__WORKERS: '1', DOCKHAND_LOGS__WORKER_BACKLOG: '0' }, events);
  assert.equal(withWorker.workersSeen, 1, 'a line worker ran');
  assert.ok(withWorker.filesOnWorkers >= 1, 'files were on its lane');
  assert.equal(withWorker.lines.length, events);
  const a = comparable(without.lines);
  const b = comparable(withWorker.lines);
  assert.equal(b.length, a.length);
  assert.deepEqual(b, a);
  assert.equal(b.filter((l) => l.includes('"error":{"type":"org.springframework.web.util.NestedServletException"')).length, 300, 'every trace parsed');
  assert.ok(b.some((l) => l.includes('"flags":["truncated"]')));
  // Per file, the offsets arrive in order.
  const byFile = new Map<string, number[]>();
  for (const l of withWorker.lines) {
    const log = l.log as { file?: { path: string }; offset: number } | undefined;
    if (log?.file) byFile.set(log.file.path, [...(byFile.get(log.file.path) ?? []), log.offset]);
  }
  for (const [path, offsets] of byFile) assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y), `${path} in order`);
});
