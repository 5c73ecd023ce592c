/**
 * Stack traces end to end (issue: exception summary at the edge): a real log file with 1,000
 * interleaved Java traces of five kinds — each occurrence with other line numbers, lambda, proxy
 * and accessor numbers, hashes and ids, as builds and JVM runs differ — tailed by the built agent
 * and shipped over Beats. Every trace arrives as one event with the right ECS error.* fields and
 * one fingerprint per kind; ordinary lines arrive without them; /v1/exceptions shows exactly five
 * fingerprints with the counts written; the metric and the Zabbix discovery agree.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { assertBuilt } from '../helpers/agent-process.ts';
import { BeatsReceiver } from '../helpers/beats-receiver.ts';
import { logFileName } from '../helpers/log-files.ts';
import { allAcknowledged, logsSetup, startLogsAgent } from '../helpers/logs-agent.ts';
import type { AgentHandle, LogsSetup } from '../helpers/logs-agent.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { waitFor } from '../helpers/wait.ts';
import { go, hibernate, kotlin, lambdaNpe, python, spring, suppressed } from '../helpers/exception-traces.ts';
import type { Variant } from '../helpers/exception-traces.ts';

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

interface Kind {
  make(v: Variant): string;
  /** The trace follows a log line of its own (which the default pattern ships as an event before it). */
  logLine: boolean;
  count: number;
  type: string;
  rootType: string;
}

// Hibernate's PostgreSQL message has a `  Detail:` line, which the default continuation pattern
// does not join (docs/exceptions.md): written here without it.
const KINDS: Kind[] = [
  { make: spring, count: 320, logLine: true, type: 'org.springframework.web.util.NestedServletException', rootType: 'java.lang.IllegalStateException' },
  { make: (v) => hibernate(v).replace(/\n {2}Detail:.*$/m, ''), count: 250, logLine: true, type: 'org.springframework.dao.DataIntegrityViolationException', rootType: 'org.postgresql.util.PSQLException' },
  { make: suppressed, count: 200, logLine: false, type: 'java.io.UncheckedIOException', rootType: 'java.io.IOException' },
  { make: kotlin, count: 140, logLine: false, type: 'java.lang.IllegalArgumentException', rootType: 'java.lang.IllegalArgumentException' },
  { make: lambdaNpe, count: 90, logLine: true, type: 'java.lang.NullPointerException', rootType: 'java.lang.NullPointerException' },
];

interface Doc {
  message: string;
  log: { file: { path: string }; flags?: string[] };
  error?: { type: string; message: string; stack_trace: string; fingerprint: string };
  dockhand?: { exception: { language: string; root_cause: { type: string; message: string } } };
}

interface Fingerprint { fingerprint: string; type: string; rootCause: { type: string }; count: number; countError: number; countInWindow: number; sources: string[]; sample: string; language: string }
interface Summary { enabled: boolean; apps: { app: string; total: number; newFingerprints: number; fingerprints: Fingerprint[] }[] }

void describe('stack traces: typed, fingerprinted and counted at the edge', () => {
  void it('1,000 interleaved traces of 5 kinds: error.* on each, 5 fingerprints with the right counts in /v1/exceptions', { timeout: 120_000 }, async () => {
    const rand = seededRandom(15);
    const order = KINDS.flatMap((k, i) => Array.from({ length: k.count }, () => i));
    for (let i = order.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const lines: string[] = [];
    order.forEach((kind, i) => {
      lines.push(`2026-11-22 10:00:00.000 INFO  [main] c.e.Shop - request ${i} served`);
      lines.push((KINDS[kind] as Kind).make({ line: (i % 7) * 3, n: i + 1 }));
    });
    lines.push('2026-11-22 10:00:01.000 INFO  [main] c.e.Shop - done');
    const path = join(setup.logs, logFileName({ logType: 'weberror', app: 'shop', env: 'pro', imageTag: '1.0', hostname: 'h1', date: '20261122' }));
    await writeFile(path, `${lines.join('\n')}\n`);

    agent = await startLogsAgent(setup, receiver.address);
    const docs = (): Doc[] => receiver.events.map((e) => e.json as unknown as Doc).filter((d) => d.log?.file !== undefined);
    // an ordinary line before each trace and one at the end, the trace, and the log line a trace may follow
    const expected = 2 * order.length + 1 + KINDS.reduce((n, k) => n + (k.logLine ? k.count : 0), 0);
    await waitFor('every event acknowledged', async () => docs().length >= expected && (await allAcknowledged(agent!)), 60_000, 100);
    assert.deepEqual(receiver.errors, [], 'no protocol violations');

    const all = docs();
    assert.equal(all.length, expected, 'each trace is one event, each ordinary line one');
    const traces = all.filter((d) => d.error !== undefined);
    const plain = all.filter((d) => d.error === undefined);
    assert.equal(traces.length, 1000);
    assert.equal(plain.length, expected - 1000);
    for (const d of plain) assert.ok(/ (served|done|exception|could not execute statement|report failed)$/.test(d.message) && d.dockhand === undefined, `ordinary lines carry no error fields: ${d.message}`);

    // each event typed as its kind; one fingerprint per kind, five in all
    const byKind = new Map<number, Set<string>>();
    for (const d of traces) {
      const e = d.error!;
      const kind = KINDS.findIndex((k) => k.type === e.type);
      assert.ok(kind >= 0, `unexpected error.type ${e.type}`);
      const k = KINDS[kind] as Kind;
      assert.equal(d.dockhand?.exception.root_cause.type, k.rootType);
      assert.equal(d.dockhand?.exception.language, 'java');
      assert.match(e.fingerprint, /^[0-9a-f]{16}$/);
      assert.ok(d.message.endsWith(e.stack_trace), 'error.stack_trace is the trace part of the message');
      assert.ok(e.stack_trace.startsWith(e.type) || e.stack_trace.startsWith('Exception in thread'), e.stack_trace.slice(0, 80));
      assert.deepEqual(d.log.flags, ['multiline']);
      if (!byKind.has(kind)) byKind.set(kind, new Set());
      byKind.get(kind)!.add(e.fingerprint);
    }
    assert.deepEqual([...byKind.values()].map((s) => s.size), [1, 1, 1, 1, 1], 'the same bug in other builds keeps its fingerprint');
    const prints = new Map([...byKind].map(([kind, s]) => [[...s][0] as string, KINDS[kind] as Kind]));
    assert.equal(prints.size, 5, 'five kinds, five fingerprints');
    const spring = traces.find((d) => d.error?.type === KINDS[0]?.type);
    assert.match(spring?.error?.message ?? '', /^Request processing failed; nested exception is java\.lang\.IllegalStateException: order \d+ has no lines$/);

    // the summary: exactly five fingerprints, counts as written, no estimate (nothing evicted)
    const summary = await agent.get<Summary>('/v1/exceptions');
    assert.equal(summary.enabled, true);
    assert.deepEqual(summary.apps.map((a) => [a.app, a.total, a.newFingerprints]), [['shop', 1000, 5]]);
    const fps = summary.apps[0]!.fingerprints;
    assert.equal(fps.length, 5);
    for (const f of fps) {
      const k = prints.get(f.fingerprint);
      assert.ok(k, `fingerprint ${f.fingerprint} was not shipped`);
      assert.deepEqual([f.type, f.rootCause.type, f.count, f.countError, f.countInWindow, f.language], [k.type, k.rootType, k.count, 0, k.count, 'java']);
      assert.deepEqual(f.sources, [path]);
      assert.ok(f.sample.length > 0 && f.sample.length <= 4096);
    }
    assert.deepEqual(fps.map((f) => f.count), [320, 250, 200, 140, 90], 'most frequent first');
    const one = await agent.get<Summary>('/v1/exceptions?app=shop&since=1h&limit=2');
    assert.deepEqual(one.apps[0]?.fingerprints.map((f) => f.count), [320, 250]);
    assert.deepEqual((await agent.get<Summary>('/v1/exceptions?app=nobody')).apps, []);

    // the metric and the Zabbix discovery agree
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    assert.match(metrics, /^dockhand_log_exceptions_total\{app="shop"\} 1000$/m);
    const zabbix = await agent.get<{ data: Record<string, string>[]; apps: { app: string; total: number; fingerprints: number; lastNewAt: number }[] }>('/v1/zabbix/exceptions');
    assert.deepEqual(zabbix.data, [{ '{#APP}': 'shop' }]);
    assert.equal(zabbix.apps[0]?.total, 1000);
    assert.equal(zabbix.apps[0]?.fingerprints, 5);
    assert.ok((zabbix.apps[0]?.lastNewAt ?? 0) > 1_700_000_000);
    assert.equal(await agent.stop(), 0);

    // a restart keeps the summary (state_dir/exceptions.json): same counts, nothing new — and
    // they are not the file read again (the offsets were saved: nothing more arrives)
    await agent.agent.dispose();
    const shipped = docs().length;
    assert.ok(JSON.parse(await readFile(join(setup.state, 'exceptions.json'), 'utf8')));
    agent = await startLogsAgent(setup, receiver.address);
    await waitFor('the file followed again, at its end', async () => (await agent!.get<{ files: unknown[] }>('/v1/logs')).files.length === 1 && (await allAcknowledged(agent!)), 30_000, 100);
    assert.equal(docs().length, shipped, 'nothing read twice');
    const host = await agent.get<{ stateFiles: { file: string; ok: boolean }[] }>('/v1/host');
    assert.ok(host.stateFiles.some((f) => f.file === 'exceptions.json' && f.ok), JSON.stringify(host.stateFiles));
    const after = await agent.get<Summary>('/v1/exceptions');
    assert.deepEqual(after.apps.map((a) => [a.app, a.total, a.newFingerprints, a.fingerprints.map((f) => f.count)]), [['shop', 1000, 5, [320, 250, 200, 140, 90]]]);
    assert.equal(await agent.stop(), 0);
  });

  void it('logs.exceptions.enabled: false ships the same events without error fields, and the summary says it is off', { timeout: 60_000 }, async () => {
    const path = join(setup.logs, logFileName({ logType: 'weberror', app: 'shop', env: 'pro', imageTag: '1.0', hostname: 'h1', date: '20261122' }));
    await writeFile(path, `${spring({ line: 0, n: 1 })}\nafter\n`);
    agent = await startLogsAgent(setup, receiver.address, { logsYaml: '  exceptions:\n    enabled: false' });
    await waitFor('all three events', () => receiver.events.filter((e) => (e.json.log as { file?: unknown } | undefined)?.file !== undefined).length >= 3, 30_000);
    const docs = receiver.events.map((e) => e.json as unknown as Doc).filter((d) => d.log?.file !== undefined);
    assert.deepEqual(docs.map((d) => [d.message.split('\n').length, d.error === undefined]), [[1, true], [17, true], [1, true]]);
    const summary = await agent.get<Summary>('/v1/exceptions');
    assert.deepEqual([summary.enabled, summary.apps], [false, []]);
  });

  void it('Python tracebacks and Go panics, joined by a timestamp pattern (negate): typed and fingerprinted too', { timeout: 60_000 }, async () => {
    const path = join(setup.logs, logFileName({ logType: 'app', app: 'mixed', env: 'pro', imageTag: '1.0', hostname: 'h1', date: '20261122' }));
    const records = [python({ line: 0, n: 1 }), '2026-11-22 10:18:01,000 INFO app.worker: next', python({ line: 5, n: 2 }), `2026-11-22 10:18:02,000 INFO server: last request\n${go({ line: 0, n: 1 })}`, '2026-11-22 10:18:03,000 INFO supervisor: restarted'];
    await writeFile(path, `${records.join('\n')}\n`);
    agent = await startLogsAgent(setup, receiver.address, { logsYaml: "    pattern: '^\\d{4}-\\d{2}-\\d{2} '\n    negate: true" });
    const docs = (): Doc[] => receiver.events.map((e) => e.json as unknown as Doc).filter((d) => d.log?.file !== undefined);
    await waitFor('five records', () => docs().length >= 5, 30_000);
    const typed = docs().map((d) => [d.error?.type ?? null, d.dockhand?.exception.language ?? null, d.dockhand?.exception.root_cause.type ?? null]);
    assert.deepEqual(typed, [
      ['app.errors.JobFailed', 'python', 'psycopg.errors.UndefinedTable'],
      [null, null, null],
      ['app.errors.JobFailed', 'python', 'psycopg.errors.UndefinedTable'],
      ['runtime.Error', 'go', 'runtime.Error'],
      [null, null, null],
    ]);
    const prints = docs().filter((d) => d.error).map((d) => d.error!.fingerprint);
    assert.equal(prints[0], prints[1], 'the same Python bug at other lines and paths');
    assert.notEqual(prints[0], prints[2]);
    const summary = await agent.get<Summary>('/v1/exceptions?app=mixed');
    assert.deepEqual(summary.apps[0]?.fingerprints.map((f) => [f.language, f.count]), [['python', 2], ['go', 1]]);
  });
});
