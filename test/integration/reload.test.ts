// A configuration reload (SIGHUP) through the built agent: a new output takes over without a log
// line lost or sent twice — also the batches in flight to the old one when it stops answering;
// new include globs apply to the files; a key that needs a restart is reported in the log and
// in /v1/host; an output that cannot be built leaves the running one in place, reported.
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AgentProcess, assertBuilt, cleanEnv } from '../helpers/agent-process.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { lineId, lineText, logFileName } from '../helpers/log-files.ts';
import { logMessages, logsSetup } from '../helpers/logs-agent.ts';
import type { LogsSetup } from '../helpers/logs-agent.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

let setup: LogsSetup;
const receivers: BeatsReceiver[] = [];
let agent: AgentProcess | undefined;
beforeEach(async () => {
  assertBuilt();
  setup = await logsSetup();
});
afterEach(async () => {
  await agent?.dispose();
  agent = undefined;
  for (const r of receivers.splice(0)) await r.close();
  await setup.cleanup();
});

function configYaml(port: number, output: string, extra = ''): string {
  return `state_dir: ${setup.state}
docker: { host: "unix://${setup.dir}/no-docker.sock", reconnect_max: 2s }
api: { listen: "127.0.0.1:${port}", metrics_auth: false }
logs:
  roots: [${setup.logs}]
  include: ["*.log"]
  rescan_interval: 300ms
${extra}
outputs:
  - type: beats
    hosts: [${output}]
    backoff_base: 100ms
    backoff_max: 1s
    timeout: 5s
`;
}

async function lines(path: string, from: number, to: number): Promise<void> {
  let text = '';
  for (let l = from; l < to; l++) text += `${lineText(0, l, 80)}\n`;
  await appendFile(path, text);
}

interface Reload {
  applied: string[];
  pendingRestart: string[];
  failed: { target: string; error: string }[];
}

async function reloadWith(file: string, yaml: string, count: number): Promise<Reload> {
  await writeFile(file, yaml);
  agent?.child.kill('SIGHUP');
  const line = await waitFor(`reload ${count}`, () => agent?.lines.filter((l) => l.event === 'config.reloaded')[count - 1], 10_000);
  return { applied: line.applied as string[], pendingRestart: line.pendingRestart as string[], failed: line.failed as Reload['failed'] };
}

void describe('configuration reload (SIGHUP)', () => {
  void it('moves to a new output without losing or re-sending a line; reports what waits for a restart and what failed', { timeout: 90_000 }, async () => {
    const a = await BeatsReceiver.start();
    const b = await BeatsReceiver.start();
    receivers.push(a, b);
    const port = await freePort();
    const config = join(setup.dir, 'dockhand.yaml');
    await writeFile(config, configYaml(port, a.address));
    const path = join(setup.logs, logFileName({ logType: 'weberror', app: 'shop', env: 'nor', imageTag: '8', hostname: 'h1', date: '20261201' }));
    await lines(path, 0, 100);
    agent = new AgentProcess(['run', '--config', config], cleanEnv());
    await waitFor('agent started', () => agent?.find('dockhand started') ?? agent?.child.exitCode !== null, 30_000);
    const got = (r: BeatsReceiver): number[] => logMessages(r.events).map((m) => lineId(m)?.line ?? -1);
    await waitFor('lines 0-99 acknowledged by A', () => got(a).length === 100 && a.ackedEvents >= 100, 20_000);

    // A stops acknowledging: what it was sent of lines 100-149 is in flight to it when the reload moves to B.
    a.plan = () => ({ kind: 'silent' });
    await lines(path, 100, 150);
    await waitFor('some of lines 100-149 sent to A, unacknowledged', () => got(a).length > 100, 20_000);
    const first = await reloadWith(config, configYaml(port, b.address), 1);
    assert.deepEqual(first, { applied: ['outputs'], pendingRestart: [], failed: [] });
    await lines(path, 150, 200);
    await waitFor('lines 100-199 at B', () => got(b).length >= 100, 20_000);
    const logs = await waitFor('every offset acknowledged', async () => {
      const s = (await (await fetch(`http://127.0.0.1:${port}/v1/logs`)).json()) as { files: { size: number; ackedOffset: number }[]; outputs: { name: string; hosts: { host: string }[] }[] };
      return s.files[0]?.ackedOffset === s.files[0]?.size ? s : undefined;
    }, 20_000);
    assert.deepEqual(logs.outputs.map((o) => o.hosts.map((h) => h.host)), [[b.address]]);
    assert.deepEqual(got(b), Array.from({ length: 100 }, (_, i) => 100 + i), 'B: the called-back lines and the new ones, each once, in order');

    // A key that needs a restart: reported, not applied (the API still answers where it did).
    const listenMoved = await reloadWith(config, configYaml(await freePort(), b.address, '  stall_warning: 2m'), 2);
    assert.deepEqual(listenMoved.applied, ['logs.stall_warning']);
    assert.deepEqual(listenMoved.pendingRestart, ['api.listen.port']);
    const host = (await (await fetch(`http://127.0.0.1:${port}/v1/host`)).json()) as { agent: { lastReload: Reload } };
    assert.deepEqual(host.agent.lastReload.pendingRestart, ['api.listen.port']);

    // An output that cannot be built (its CA is not a certificate): B stays, the failure is reported.
    const ca = join(setup.dir, 'not-a-ca.pem');
    await writeFile(ca, 'not a certificate\n');
    const bad = await reloadWith(config, `${configYaml(port, b.address)}    tls: { ca: ${ca} }\n`, 3);
    assert.equal(bad.failed[0]?.target, 'log shipping', JSON.stringify(bad));
    await lines(path, 200, 210);
    await waitFor('new lines still go to B', () => got(b).length === 110, 20_000);
    assert.equal(new Set(got(b)).size, got(b).length, 'none twice at B');
  });

  void it('new include globs: files they take are collected, files they drop are let go', { timeout: 60_000 }, async () => {
    const r = await BeatsReceiver.start();
    receivers.push(r);
    const port = await freePort();
    const config = join(setup.dir, 'dockhand.yaml');
    await writeFile(config, configYaml(port, r.address));
    const kept = join(setup.logs, 'kept.log');
    const added = join(setup.logs, 'added.txt');
    await writeFile(kept, 'kept 1\n');
    await writeFile(added, 'added 1\n');
    agent = new AgentProcess(['run', '--config', config], cleanEnv());
    await waitFor('agent started', () => agent?.find('dockhand started') ?? agent?.child.exitCode !== null, 30_000);
    await waitFor('kept.log shipped', () => logMessages(r.events).includes('kept 1'), 20_000);
    const reloaded = await reloadWith(config, configYaml(port, r.address).replace('include: ["*.log"]', 'include: ["*.txt"]'), 1);
    assert.deepEqual(reloaded.applied, ['logs.include']);
    await waitFor('added.txt shipped', () => logMessages(r.events).includes('added 1'), 20_000);
    await waitFor('kept.log let go', async () => {
      const s = (await (await fetch(`http://127.0.0.1:${port}/v1/logs`)).json()) as { files: { path: string }[] };
      return s.files.length === 1 && s.files[0]?.path === added;
    }, 10_000);
  });
});
