// A full disk under state_dir, for real: a small tmpfs mounted there and filled. While it is full
// the agent keeps shipping, counts and shows the failed offset writes (/metrics, /readyz,
// /v1/host); once space returns it writes the offsets again on its own, so a restart afterwards
// ships nothing twice. (A failed write used to stop every later write for the life of the
// process: the promise chain stayed rejected.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { assertBuilt } from '../helpers/agent-process.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { appendLines, lineId, writeLogFiles } from '../helpers/log-files.ts';
import { logMessages, logsSetup, startLogsAgent } from '../helpers/logs-agent.ts';
import type { AgentHandle, LogsSetup } from '../helpers/logs-agent.ts';
import { waitFor } from '../helpers/wait.ts';
import { missing } from '../helpers/requirements.ts';

const LINE = 100;

let setup: LogsSetup;
let receiver: BeatsReceiver | undefined;
let agent: AgentHandle | undefined;
let mounted = false;
beforeEach(async () => {
  assertBuilt();
  setup = await logsSetup();
});
afterEach(async () => {
  await agent?.agent.dispose();
  agent = undefined;
  await receiver?.close();
  receiver = undefined;
  if (mounted) spawnSync('umount', ['-l', setup.state]);
  mounted = false;
  await setup.cleanup();
});

/** Mounts a 256 KiB tmpfs on `dir`; false (skipped) where mounting is not allowed, except in CI. */
async function mountSmallTmpfs(t: TestContext, dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0750', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status === 0) return (mounted = true);
  missing(t, `cannot mount a tmpfs here (${(r.stderr || r.error?.message || '').trim()})`);
  return false;
}

/** Fills the file system holding `dir` with one file until ENOSPC. */
async function fillDisk(path: string): Promise<void> {
  const handle = await open(path, 'w');
  const block = Buffer.alloc(4096, 0x61);
  try {
    for (;;) await handle.write(block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await handle.close();
  }
}

interface RegistryDoc {
  files: { path: string; offset: number }[];
}

async function savedOffset(registry: string, path: string): Promise<number> {
  const doc = JSON.parse(await readFile(registry, 'utf8')) as RegistryDoc;
  return doc.files.find((f) => f.path === path)?.offset ?? -1;
}

interface Readiness {
  ready: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

void describe('state_dir on a full disk', () => {
  void it('offsets are written again once space returns; a restart then ships nothing twice', { timeout: 120_000 }, async (t) => {
    if (!(await mountSmallTmpfs(t, setup.state))) return;
    receiver = await BeatsReceiver.start();
    const [path] = (await writeLogFiles(setup.logs, 1, 100, LINE)) as [string];
    agent = await startLogsAgent(setup, receiver.address);
    const registry = join(setup.state, 'log-offsets.json');
    const size = async (): Promise<number> => (await stat(path)).size;
    await waitFor('the first 100 lines acknowledged and persisted', async () => (await savedOffset(registry, path)) === (await size()), 20_000);

    const fill = join(setup.state, 'fill');
    await fillDisk(fill);
    await appendLines(path, 0, 100, 200, LINE);
    await waitFor('200 lines shipped while the disk is full', () => logMessages(receiver?.events ?? []).length >= 200, 20_000);
    const failing = await waitFor('readiness to show the failing offsets file', async () => {
      const r = await agent?.get<Readiness>('/readyz');
      return r?.checks.find((c) => c.name === 'state' && !c.ok);
    }, 10_000);
    assert.match(failing.detail, /log-offsets\.json: writes failing since .* \(\d+ failures, last: ENOSPC\)/);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    const failures = /^dockhand_state_write_failures_total\{file="log-offsets\.json"\} (\d+)$/m.exec(metrics);
    assert.ok(failures && Number(failures[1]) >= 1, 'failed writes are counted');
    const host = await agent.get<{ stateFiles: { file: string; ok: boolean; lastError: string | null }[] }>('/v1/host');
    assert.deepEqual(host.stateFiles.find((f) => f.file === 'log-offsets.json')?.ok, false);
    assert.equal(await savedOffset(registry, path), 100 * (LINE + 1), 'the file on disk still has the offsets from before the disk filled up');

    await rm(fill);
    const freed = Date.now();
    await waitFor('the new offsets written without a restart', async () => (await savedOffset(registry, path)) === (await size()), 10_000);
    t.diagnostic(`offsets re-saved ${Date.now() - freed} ms after space returned`);
    await waitFor('readiness recovered', async () => (await agent?.get<Readiness>('/readyz'))?.checks.find((c) => c.name === 'state')?.ok === true, 5_000);
    assert.ok(agent.agent.lines.some((l) => l.msg === 'state file written again'), 'the recovery is logged');
    const failureLines = agent.agent.lines.filter((l) => l.msg.includes('cannot write a state file'));
    assert.ok(failureLines.length >= 1 && failureLines.length <= 3, `failures are logged, rate-limited: ${failureLines.length} lines`);
    assert.equal(await agent.stop(), 0);

    // After a restart, only what is new arrives.
    agent = await startLogsAgent(setup, receiver.address);
    await appendLines(path, 0, 200, 201, LINE);
    await waitFor('the line written after the restart', () => logMessages(receiver?.events ?? []).some((m) => lineId(m)?.line === 200), 20_000);
    const lines = logMessages(receiver.events).map((m) => lineId(m)?.line);
    assert.equal(lines.length, 201, `each line once; duplicates: ${lines.length - new Set(lines).size}`);
    assert.equal(new Set(lines).size, 201);
    assert.equal(await agent.stop(), 0);
  });
});
