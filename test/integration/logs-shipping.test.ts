// Log shipping end to end: the built agent tails real files and ships them to the strict Beats
// receiver (which checks framing, windows and sequence numbers and records every event).
import assert from 'node:assert/strict';
import { appendFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { appendLines, lineId, logFileName, writeLogFiles } from '../helpers/log-files.ts';
import { logMessages, logsSetup, startLogsAgent } from '../helpers/logs-agent.ts';
import type { AgentHandle, LogsSetup } from '../helpers/logs-agent.ts';
import { assertBuilt } from '../helpers/agent-process.ts';
import { waitFor } from '../helpers/wait.ts';

let setup: LogsSetup;
let receiver: BeatsReceiver;
let agent: AgentHandle | undefined;

beforeEach(async () => {
  assertBuilt();
  setup = await logsSetup();
  receiver = await BeatsReceiver.start();
});
afterEach(async () => {
  await agent?.agent.dispose();
  agent = undefined;
  await receiver.close();
  await setup.cleanup();
});

type Doc = Record<string, unknown> & { message: string; log: { file: { path: string }; offset: number; flags?: string[] }; labels?: Record<string, string>; tags?: string[]; event: { dataset: string } };
const docs = (): Doc[] => receiver.events.map((e) => e.json as Doc).filter((d) => d.log?.file !== undefined);

/** Per file, the line numbers received: checks each 0..n-1 arrived exactly once. */
function assertExactlyOnce(files: number, lines: number): void {
  const seen = Array.from({ length: files }, () => new Uint8Array(lines));
  for (const m of logMessages(receiver.events)) {
    const id = lineId(m);
    if (!id) continue;
    assert.equal(seen[id.file]![id.line], 0, `f${id.file}-l${id.line} arrived twice`);
    seen[id.file]![id.line] = 1;
  }
  for (let f = 0; f < files; f++) {
    const missing = seen[f]!.indexOf(0);
    assert.equal(missing, -1, `f${f}-l${missing} never arrived`);
  }
}

void describe('log shipping, end to end', () => {
  void it('ships every line of several files exactly once, with metadata from the file name', { timeout: 120_000 }, async () => {
    await writeLogFiles(setup.logs, 5, 2000);
    await writeFile(join(setup.tracing, logFileName({ logType: 'tracing', app: 'aether', env: 'NOR', imageTag: '8', hostname: '778283', date: '2026112203' })), 'trace one\ntrace two\n');
    agent = await startLogsAgent(setup, receiver.address);
    await waitFor('all lines', () => logMessages(receiver.events).length >= 5 * 2000 + 2, 60_000);
    assertExactlyOnce(5, 2000);
    const sample = docs().find((d) => d.message.startsWith('f3-l10 '));
    assert.ok(sample);
    assert.equal(sample.event.dataset, 'app');
    assert.deepEqual(sample.labels, { log_type: 'weberror', app: 'app3', env: 'nor', image_tag: '8', container_hostname: '778283', log_date: '20261122' });
    assert.equal(sample.log.file.path, join(setup.logs, logFileName({ logType: 'weberror', app: 'app3', env: 'nor', imageTag: '8', hostname: '778283', date: '20261122' })));
    assert.equal(sample.log.offset, 10 * 201, 'offset of the line in its file');
    assert.equal((sample.host as { name: string }).name.length > 0, true);
    assert.equal((sample['@metadata'] as { beat: string }).beat, 'dockhand');
    const trace = docs().find((d) => d.message === 'trace two');
    assert.equal(trace?.event.dataset, 'tracing');
    assert.equal(trace?.labels?.env, 'nor', 'env codes are case-insensitive');
    assert.deepEqual(receiver.errors, [], 'no protocol violations');

    const logs = await agent.get<{ files: { path: string; ackedOffset: number; size: number; lagBytes: number; metadata: unknown }[] }>('/v1/logs');
    await waitFor('offsets acknowledged', async () => (await agent!.get<{ files: { lagBytes: number }[] }>('/v1/logs')).files.every((f) => f.lagBytes === 0), 10_000);
    assert.equal(logs.files.length, 6);
    assert.equal(await agent.stop(), 0);
  });

  void it('joins Java stack traces, waits for partial lines, and ships unparsed names tagged', { timeout: 60_000 }, async () => {
    const app = join(setup.logs, logFileName({ logType: 'weberror', app: 'my_app_core', env: 'pro', imageTag: '2.1', hostname: 'h1', date: '20261122' }));
    await writeFile(app, [
      'ERROR request failed',
      'java.lang.IllegalStateException: boom',
      '\tat com.example.A.run(A.java:10)',
      '\tat com.example.B.call(B.java:20)',
      'Caused by: java.io.IOException: disk',
      '\t... 12 more',
      'INFO next event',
      'partial line without newline',
    ].join('\n'));
    const odd = join(setup.logs, 'nonconforming-name.log');
    await writeFile(odd, 'hello from an odd file\n');
    agent = await startLogsAgent(setup, receiver.address);
    await waitFor('events', () => docs().some((d) => d.message === 'INFO next event') && docs().some((d) => d.message.includes('odd file')), 30_000);
    // The default pattern joins continuation lines (`at …`, `Caused by:`, `... N more`) to the
    // line before them: the exception line, not the logger's ERROR line.
    assert.ok(docs().some((d) => d.message === 'ERROR request failed'));
    const trace = docs().find((d) => d.message.startsWith('java.lang.IllegalStateException: boom'));
    assert.ok(trace);
    assert.equal(trace.message.split('\n').length, 5, trace.message);
    assert.equal(trace.message.split('\n')[1], '\tat com.example.A.run(A.java:10)');
    assert.deepEqual(trace.log.flags, ['multiline']);
    assert.equal(trace.labels?.app, 'my_app_core', 'app names may contain _');
    assert.equal(trace.labels?.env, 'pro');
    assert.ok(!docs().some((d) => d.message.startsWith('partial line')), 'a partial line waits');
    await appendFile(app, ' completed later\n');
    await waitFor('completed line', () => docs().some((d) => d.message === 'partial line without newline completed later'), 10_000);
    const oddDoc = docs().find((d) => d.message.includes('odd file'));
    assert.deepEqual(oddDoc?.tags, ['_filename_unparsed']);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    assert.match(metrics, /^dockhand_log_filename_unparsed_total 1$/m);
  });

  void it('survives a 10 MB line, binary garbage and invalid UTF-8', { timeout: 60_000 }, async () => {
    const path = join(setup.logs, logFileName({ logType: 'x', app: 'big', env: 'dev', imageTag: '1', hostname: 'h', date: '20261122' }));
    const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41, 0xc3, 0x28, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x7f]);
    await writeFile(path, Buffer.concat([Buffer.from('before\n'), Buffer.alloc(10 * 1024 * 1024, 0x61), Buffer.from('\n'), garbage, Buffer.from('\nafter\n')]));
    agent = await startLogsAgent(setup, receiver.address);
    await waitFor('after', () => docs().some((d) => d.message === 'after'), 30_000);
    const messages = docs().map((d) => d.message);
    assert.deepEqual(messages.map((m) => (m.length > 100 ? `a×${m.length}` : m)), ['before', `a×${1024 * 1024}`, new TextDecoder().decode(garbage), 'after']);
    assert.deepEqual(docs()[1]?.log.flags, ['truncated']);
    assert.equal(agent.agent.child.exitCode, null, 'still running');
  });

  void it('follows rename rotation, copytruncate, deletion while reading and inode reuse', { timeout: 90_000 }, async () => {
    const a = join(setup.logs, logFileName({ logType: 'rot', app: 'a', env: 'nor', imageTag: '1', hostname: 'h', date: '20261122' }));
    await appendLines(a, 0, 0, 100, 100);
    agent = await startLogsAgent(setup, receiver.address);
    await waitFor('first 100', () => logMessages(receiver.events).length >= 100, 20_000);

    // Rename rotation: the old file (new name) is read to its end; the new file from 0.
    await appendLines(a, 0, 100, 150, 100);
    await rename(a, `${a}.1`);
    await appendLines(`${a}.1`, 0, 150, 160, 100);
    await appendLines(a, 1, 0, 20, 100);
    await waitFor('rotation', () => logMessages(receiver.events).length >= 180, 20_000);

    // copytruncate: truncate in place, write new content.
    await truncate(a, 0);
    await appendLines(a, 2, 0, 30, 100);
    await waitFor('after truncation', () => logMessages(receiver.events).filter((m) => m.startsWith('f2-')).length >= 30, 20_000);

    // Deleted while being written: what was written before the delete arrives.
    const d = join(setup.logs, logFileName({ logType: 'del', app: 'd', env: 'nor', imageTag: '1', hostname: 'h', date: '20261122' }));
    await appendLines(d, 3, 0, 30_000, 100);
    await waitFor('reading the file', () => logMessages(receiver.events).some((m) => m.startsWith('f3-')), 20_000, 1);
    await unlink(d);
    await waitFor('deleted file read to its end', () => logMessages(receiver.events).filter((m) => m.startsWith('f3-')).length >= 30_000, 20_000);

    // Inode reuse: a new file may get a freed inode; its fingerprint differs, so it starts at 0.
    for (let i = 0; i < 5; i++) {
      const p = join(setup.logs, logFileName({ logType: 'reuse', app: `r${i}`, env: 'nor', imageTag: '1', hostname: 'h', date: '20261122' }));
      await appendLines(p, 10 + i, 0, 10, 100);
      await waitFor('reuse file shipped', () => logMessages(receiver.events).filter((m) => m.startsWith(`f${10 + i}-`)).length >= 10, 20_000);
      await unlink(p);
    }
    const ids = logMessages(receiver.events).map((m) => m.split(' ')[0]);
    const dups = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(dups, [], 'no line twice');
    assert.equal(ids.length, 180 + 30 + 30_000 + 50);
  });
});
