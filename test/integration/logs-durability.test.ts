// At least once, end to end, at volume: 20 files x 50k lines exactly once; kill -9 in mid-stream
// loses nothing and duplicates only what was not yet acknowledged-and-persisted; a receiver
// down for 30 s loses nothing, keeps memory bounded and raises the stall warning; 1,000 new
// files at once; a container's hostname in a file name resolves to that container.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { assertBuilt } from '../helpers/agent-process.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, requireDocker } from '../helpers/docker-engine.ts';
import { appendLines, lineText, logFileName, writeLogFiles } from '../helpers/log-files.ts';
import { allAcknowledged, logMessages, logsSetup, startLogsAgent } from '../helpers/logs-agent.ts';
import type { AgentHandle, LogsSetup } from '../helpers/logs-agent.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Counts every `f<file>-l<line>` message by file and line without keeping the events, and checks
 * each one whole: its message is exactly the line written and `log.offset` is where it starts
 * (event buffers are reused once acknowledged; a reuse too early would show here).
 */
class LineCounter {
  readonly counts: Uint8Array[];
  readonly corrupt: string[] = [];
  received = 0;
  other = 0;
  readonly #lineBytes: number;
  constructor(files: number, lines: number, lineBytes = LINE) {
    this.counts = Array.from({ length: files }, () => new Uint8Array(lines));
    this.#lineBytes = lineBytes;
  }
  onEvent = (payload: Buffer): void => {
    let doc: { message?: string; log?: { offset?: number } };
    try {
      doc = JSON.parse(payload.toString('utf8')) as typeof doc;
    } catch (err) {
      if (this.corrupt.length < 5) this.corrupt.push(`not JSON (${(err as Error).message}): ${payload.toString('utf8', 0, 200)}`);
      return;
    }
    const m = doc.log !== undefined ? /^f(\d+)-l(\d+) /.exec(doc.message ?? '') : null;
    if (!m) {
      this.other++;
      return;
    }
    const file = Number(m[1]);
    const line = Number(m[2]);
    if (doc.message !== lineText(file, line, this.#lineBytes) || doc.log?.offset !== line * (this.#lineBytes + 1)) {
      if (this.corrupt.length < 5) this.corrupt.push(`f${file}-l${line} at offset ${doc.log?.offset}: ${JSON.stringify(doc.message)}`);
    }
    const row = this.counts[file];
    if (!row) throw new Error(`unexpected file in ${doc.message}`);
    row[line] = Math.min(255, (row[line] ?? 0) + 1);
    this.received++;
  };
  missing(): string[] {
    const out: string[] = [];
    this.counts.forEach((row, f) => row.forEach((c, l) => c === 0 && out.length < 10 && out.push(`f${f}-l${l}`)));
    return out;
  }
  duplicates(): { file: number; line: number }[] {
    const out: { file: number; line: number }[] = [];
    this.counts.forEach((row, f) => row.forEach((c, l) => c > 1 && out.push({ file: f, line: l })));
    return out;
  }
}

let setup: LogsSetup;
let receiver: BeatsReceiver | undefined;
let agent: AgentHandle | undefined;
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

const LINE = 200; // bytes per line, plus its newline
/**
 * Run again by logs-durability-workers.test.ts with line workers on: that run takes the tests whose
 * outcome depends on where lines are encoded, with a shorter outage (the same paths: a full queue,
 * backpressure, reconnects), to keep the suite's time in bounds.
 */
const WORKERS_RUN = process.env.DOCKHAND_TEST_LINE_WORKERS === 'all';
const OUTAGE_S = WORKERS_RUN ? 10 : 30;

void describe('log shipping durability', () => {
  void it('20 files x 50k lines arrive exactly once', { timeout: 300_000 }, async () => {
    const counter = new LineCounter(20, 50_000);
    receiver = await BeatsReceiver.start({ record: false, onEvent: counter.onEvent });
    await writeLogFiles(setup.logs, 20, 50_000, LINE);
    agent = await startLogsAgent(setup, receiver.address);
    await waitFor('1M lines', () => counter.received >= 1_000_000, 240_000, 200);
    await waitFor('nothing left to send', () => allAcknowledged(agent as AgentHandle), 30_000); // a duplicate would have been sent by then
    assert.deepEqual(counter.missing(), []);
    assert.deepEqual(counter.duplicates().slice(0, 5), []);
    assert.deepEqual(counter.corrupt, []);
    assert.equal(counter.received, 1_000_000);
    assert.deepEqual(receiver.errors, []);
    assert.equal(await agent.stop(), 0);
  });

  void it('kill -9 in mid-stream: after a restart every line arrives; duplicates only past the persisted offsets', { timeout: 300_000 }, async () => {
    const files = 4;
    const lines = 100_000;
    const counter = new LineCounter(files, lines);
    // A slow receiver keeps the agent mid-stream when it is killed.
    receiver = await BeatsReceiver.start({ record: false, onEvent: counter.onEvent, plan: () => ({ kind: 'ack', delayMs: 20 }) });
    const paths = await writeLogFiles(setup.logs, files, lines, LINE);
    agent = await startLogsAgent(setup, receiver.address);
    const registry = join(setup.state, 'log-offsets.json');
    await waitFor('acknowledged progress persisted', async () => {
      const doc = JSON.parse(await readFile(registry, 'utf8')) as { files: { offset: number }[] };
      return doc.files.some((f) => f.offset > 0) && counter.received > 50_000;
    }, 120_000, 50);
    agent.agent.child.kill('SIGKILL');
    await agent.agent.exited;
    const persisted = JSON.parse(await readFile(registry, 'utf8')) as { files: { path: string; offset: number }[] };
    const before = counter.received;
    assert.ok(before < files * lines, 'killed before the end');

    receiver.plan = () => ({ kind: 'ack' });
    agent = await startLogsAgent(setup, receiver.address);
    await waitFor('every line', () => counter.missing().length === 0, 240_000, 200);
    await waitFor('nothing left to send', () => allAcknowledged(agent as AgentHandle), 30_000);
    const offsetOf = new Map(persisted.files.map((f) => [f.path, f.offset]));
    const dups = counter.duplicates();
    for (const d of dups) {
      const lineStart = d.line * (LINE + 1);
      assert.ok(lineStart >= (offsetOf.get(paths[d.file] as string) ?? 0), `f${d.file}-l${d.line} was persisted as acknowledged yet arrived twice`);
    }
    assert.ok(dups.length <= before, 'duplicates bounded by what was in flight');
    assert.deepEqual(counter.corrupt, []);
    assert.equal(await agent.stop(), 0);
  });

  void it(`a receiver down for ${OUTAGE_S} s: nothing lost, memory bounded, stall warning raised and cleared`, { timeout: 240_000 }, async () => {
    const counter = new LineCounter(2, 200_000);
    receiver = await BeatsReceiver.start({ record: false, onEvent: counter.onEvent });
    const port = receiver.port;
    const paths = await writeLogFiles(setup.logs, 2, 1000, LINE);
    agent = await startLogsAgent(setup, receiver.address, { logsYaml: '  queue_max_bytes: 8MiB\n  queue_max_events: 20000' });
    await waitFor('first lines', () => counter.received >= 2000, 60_000);
    await receiver.close();
    receiver = undefined;
    // ~80 MB more while Logstash is away: far more than the queue may hold.
    await Promise.all(paths.map((p, i) => appendLines(p, i, 1000, 200_000, LINE)));
    const rss: number[] = [];
    const downUntil = Date.now() + OUTAGE_S * 1000;
    while (Date.now() < downUntil) {
      rss.push(Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${agent.agent.child.pid}/status`, 'utf8'))?.[1]) / 1024);
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(agent.agent.lines.some((l) => l.event === 'logs.shipping_stalled' && l.level === 'warn'), 'stall warning logged');
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    assert.match(metrics, /^dockhand_log_shipping_stalled 1$/m);
    const events = await agent.get<{ events: { action: string }[] }>('/v1/events?since=0');
    assert.ok(events.events.some((e) => e.action === 'logs.shipping_stalled'));
    const peak = Math.max(...rss);
    assert.ok(peak < 250, `agent RSS stayed bounded while 80 MB waited on disk (peak ${peak.toFixed(0)} MB)`);

    receiver = await BeatsReceiver.start({ record: false, onEvent: counter.onEvent }, port);
    await waitFor('everything after the outage', () => counter.missing().length === 0, 180_000, 200);
    assert.deepEqual(counter.corrupt, []);
    await waitFor('stall cleared', () => agent!.agent.lines.some((l) => l.event === 'logs.shipping_resumed'), 10_000);
    assert.equal(await agent.stop(), 0);
  });

  if (WORKERS_RUN) return;

  void it('1,000 new files at once are all followed', { timeout: 180_000 }, async () => {
    const counter = new LineCounter(1000, 20, 120);
    receiver = await BeatsReceiver.start({ record: false, onEvent: counter.onEvent });
    agent = await startLogsAgent(setup, receiver.address, { logsYaml: '  max_open_files: 200' });
    await writeLogFiles(setup.logs, 1000, 20, 120);
    await waitFor('20k lines from 1000 files', () => counter.missing().length === 0, 120_000, 200);
    assert.deepEqual(counter.duplicates(), []);
    assert.deepEqual(counter.corrupt, []);
    const logs = await agent.get<{ files: unknown[] }>('/v1/logs');
    assert.equal(logs.files.length, 1000);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    const open = Number(/^dockhand_log_files_open (\d+)/m.exec(metrics)?.[1]);
    assert.ok(open <= 200, `open files bounded by max_open_files (${open})`);
  });

  void it("a container's hostname in the file name adds that container's metadata", { timeout: 120_000 }, async (t) => {
    const host = await requireDocker(t);
    if (!host) return;
    const image = await ensureTestImage(host);
    t.after(() => removeAllContainers(host));
    const id = (await docker(host, ['run', '-d', '--init', '--name', `dh-logs-${process.pid}`, '--hostname', 'web778283', '--label', TEST_LABEL, '--label', 'team=payments', '--network', 'none', image, 'sleep', '300'])).stdout.trim();
    receiver = await BeatsReceiver.start();
    const path = join(setup.logs, logFileName({ logType: 'weberror', app: 'aether', env: 'nor', imageTag: '1', hostname: 'web778283', date: '20261122' }));
    agent = await startLogsAgent(setup, receiver.address, { dockerHost: host });
    await waitFor('docker connected', async () => (await agent!.get<{ ready: boolean }>('/readyz')).ready, 30_000);
    await writeFile(path, 'hello from the container\n');
    await waitFor('line', () => logMessages(receiver!.events).includes('hello from the container'), 20_000);
    const doc = receiver.events.find((e) => e.json.message === 'hello from the container')?.json as { container?: { id: string; name: string; image: { name: string; tag: string }; labels: Record<string, string> } };
    assert.equal(doc.container?.id, id);
    assert.equal(doc.container?.name, `dh-logs-${process.pid}`);
    assert.equal(doc.container?.image.name, image);
    assert.equal(doc.container?.labels.team, 'payments');
    // Lifecycle events go through the same pipeline.
    await docker(host, ['rm', '-f', id]);
    await waitFor('docker.event shipped', () => receiver!.events.some((e) => (e.json.event as { dataset?: string; action?: string })?.dataset === 'docker.event' && (e.json.event as { action?: string }).action === 'destroy'), 20_000);
  });

  void it('a stop waiting for acknowledgements: a second SIGTERM exits at once, with status 1', { timeout: 60_000 }, async () => {
    // An output that never acknowledges: the graceful stop would wait for it (bounded at 10 s).
    receiver = await BeatsReceiver.start({ plan: () => ({ kind: 'silent' }) });
    await writeLogFiles(setup.logs, 1, 10, LINE);
    agent = await startLogsAgent(setup, receiver.address);
    await waitFor('lines sent, unacknowledged', () => receiver!.events.length >= 10, 30_000);
    const proc = agent.agent;
    proc.child.kill('SIGTERM');
    // Draining to the silent output holds the stop for up to 10 s: the second signal lands in it.
    await waitFor('draining', () => proc.find('delivering what is queued before stopping') !== undefined, 10_000);
    assert.equal(proc.child.exitCode, null, 'still draining to the silent output');
    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    assert.equal(code, 1);
    assert.ok(proc.find('second signal: exiting without waiting'), proc.lines.map((l) => l.msg).join('\n'));
    // nothing was acknowledged, so no offset may have been persisted past 0
    const doc = JSON.parse(await readFile(join(setup.state, 'log-offsets.json'), 'utf8').catch(() => '{"files":[]}')) as { files: { offset: number }[] };
    assert.deepEqual(doc.files.map((f) => f.offset).filter((o) => o > 0), []);
  });
});
