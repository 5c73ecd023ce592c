// What happens to files and their saved offsets over their life, through the built agent: a
// deleted file that was already shipped is closed at once (its disk space freed); offsets of
// files deleted while the agent was down are forgotten after the next scan; a file whose name is
// not valid UTF-8, or that ends in `.LOG`, is shipped like any other; a file truncated and
// rewritten past the read offset before the agent looked (copytruncate) is read again from 0.
import assert from 'node:assert/strict';
import { appendFileSync, truncateSync } from 'node:fs';
import { readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { assertBuilt } from '../helpers/agent-process.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { lineId, lineText, writeLogFiles } from '../helpers/log-files.ts';
import { logMessages, logsSetup, startLogsAgent } from '../helpers/logs-agent.ts';
import type { AgentHandle, LogsSetup } from '../helpers/logs-agent.ts';
import { waitFor } from '../helpers/wait.ts';

let setup: LogsSetup;
let receiver: BeatsReceiver | undefined;
let agent: AgentHandle | undefined;
beforeEach(async () => {
  assertBuilt();
  setup = await logsSetup();
  receiver = await BeatsReceiver.start();
});
afterEach(async () => {
  await agent?.agent.dispose();
  agent = undefined;
  await receiver?.close();
  receiver = undefined;
  await setup.cleanup();
});

/** Paths of the files the process holds open (`/proc/<pid>/fd`), deleted ones marked " (deleted)". */
async function openFiles(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t.startsWith('/'));
}

interface RegistryDoc {
  files: { path: string }[];
}

void describe('log files over their life', () => {
  void it('a deleted file that was fully shipped is closed at once, not after close_inactive', { timeout: 60_000 }, async () => {
    const [path] = (await writeLogFiles(setup.logs, 1, 50)) as [string];
    agent = await startLogsAgent(setup, (receiver as BeatsReceiver).address, { closeInactive: '5m' });
    const pid = agent.agent.child.pid as number;
    await waitFor('50 lines shipped and acknowledged', async () => (await agent?.get<{ files: { ackedOffset: number; size: number }[] }>('/v1/logs'))?.files.every((f) => f.size > 0 && f.ackedOffset === f.size), 20_000);
    assert.ok((await openFiles(pid)).includes(path), 'held open while live');
    await rm(path);
    // close_inactive is 5 minutes: only the read-to-end-then-close path can release it this soon.
    await waitFor('the deleted file closed', async () => !(await openFiles(pid)).some((p) => p.startsWith(path)), 10_000);
    await waitFor('and forgotten', async () => (await agent?.get<{ files: unknown[] }>('/v1/logs'))?.files.length === 0, 5_000);
    assert.equal(await agent.stop(), 0);
  });

  void it('offsets of files deleted while the agent was down are forgotten after a scan; the rest are kept', { timeout: 60_000 }, async () => {
    const paths = await writeLogFiles(setup.logs, 30, 2);
    agent = await startLogsAgent(setup, (receiver as BeatsReceiver).address);
    await waitFor('60 lines shipped', () => logMessages(receiver?.events ?? []).length >= 60, 20_000);
    assert.equal(await agent.stop(), 0);
    const registry = join(setup.state, 'log-offsets.json');
    const saved = async (): Promise<string[]> => (JSON.parse(await readFile(registry, 'utf8')) as RegistryDoc).files.map((f) => f.path).sort();
    assert.equal((await saved()).length, 30);

    for (const p of paths.slice(0, 20)) await rm(p);
    agent = await startLogsAgent(setup, (receiver as BeatsReceiver).address);
    await waitFor('the 20 deleted files forgotten in the saved registry', async () => (await saved()).length === 10, 10_000);
    assert.deepEqual(await saved(), paths.slice(20).sort());
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    assert.match(metrics, /^dockhand_log_offsets_expired_total 20$/m);
    assert.equal(logMessages(receiver?.events ?? []).length, 60, 'the files that remain are not shipped again');
    assert.equal(await agent.stop(), 0);
  });

  void it('a file truncated and rewritten past the read offset between two reads is read again from 0 (no fragments, nothing missing)', { timeout: 60_000 }, async () => {
    const [path] = (await writeLogFiles(setup.logs, 1, 50, 100)) as [string];
    agent = await startLogsAgent(setup, (receiver as BeatsReceiver).address);
    await waitFor('50 lines shipped', () => logMessages(receiver?.events ?? []).length >= 50, 20_000);
    // One more line read over a second later: its read step compares the file's first bytes with
    // the fingerprint, so the next comparison would wait a second if they were rate-limited (as
    // they once were, at most once a second per file).
    await new Promise((res) => setTimeout(res, 1100));
    appendFileSync(path, `${lineText(0, 50, 100)}\n`);
    await waitFor('line 51 shipped', () => logMessages(receiver?.events ?? []).length >= 51, 20_000);
    // copytruncate and a fast writer: truncated and longer than before, in one go, then quiet.
    const content = Array.from({ length: 200 }, (_, l) => `${lineText(1, l, 100)}\n`).join('');
    truncateSync(path, 0);
    appendFileSync(path, content);
    const rewritten = (): string[] => logMessages(receiver?.events ?? []).slice(51);
    await waitFor('the 200 new lines', () => rewritten().filter((m) => lineId(m)?.file === 1).length >= 200, 20_000);
    assert.deepEqual(rewritten(), Array.from({ length: 200 }, (_, l) => lineText(1, l, 100)), 'exactly the new content, from its first line, nothing read from the old offset');
    assert.equal(await agent.stop(), 0);
  });

  void it('a name that is not valid UTF-8 is shipped tagged _filename_unparsed; a .LOG name is taken like .log', { timeout: 60_000 }, async () => {
    const bad = Buffer.concat([Buffer.from(`${setup.logs}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from('name.log')]);
    await writeFile(bad, 'f0-l0 from a file with a non-UTF-8 name\n');
    await writeFile(join(setup.logs, 'weberror_shop_nor_8_778283_20261122.LOG'), 'f1-l0 from an upper-case extension\n');
    agent = await startLogsAgent(setup, (receiver as BeatsReceiver).address);
    await waitFor('both files shipped', () => logMessages(receiver?.events ?? []).length >= 2, 20_000);
    const events = (receiver as BeatsReceiver).events.filter((e) => lineId(String(e.json.message)) !== undefined);
    const byFile = new Map(events.map((e) => [lineId(String(e.json.message))?.file, e.json]));
    const badEvent = byFile.get(0) as { tags?: string[]; log: { file: { path: string } } };
    assert.deepEqual(badEvent.tags, ['_filename_unparsed']);
    assert.equal(badEvent.log.file.path, `${setup.logs}/bad\uFFFD\uFFFDname.log`);
    const upper = byFile.get(1) as { labels?: Record<string, string> };
    assert.equal(upper.labels?.app, 'shop', 'the .LOG name is parsed too');
    assert.ok(agent.agent.lines.some((l) => l.msg.includes('does not follow the convention') && String(l.reason).includes('not valid UTF-8')), 'the unparsed name is logged');
    assert.equal(await agent.stop(), 0);
  });
});
