import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DriftDetector, DriftReport, inventoryDrift } from '../../../src/docker/drift.ts';
import type { DriftDetectorOptions, DriftFinding } from '../../../src/docker/drift.ts';
import { ContainerInventory } from '../../../src/docker/inventory.ts';
import type { ContainerRecord } from '../../../src/docker/types.ts';

const OPTS: DriftDetectorOptions = { quietMs: 1000, maxDelayMs: 10_000, burstEvents: 32, trackLimit: 100, confirmMs: 2000 };

/** Feeds `actions` for one container, one ms apart; returns the findings. */
function feed(d: DriftDetector, id: string, actions: string[], opts: { known?: boolean; replay?: boolean; at?: number } = {}): DriftFinding[] {
  const out: DriftFinding[] = [];
  let now = opts.at ?? 0;
  for (const a of actions) {
    const f = d.observe(id, a, opts.known ?? false, opts.replay ?? false, now++);
    if (f) out.push(f);
  }
  return out;
}

test('the lifecycles Docker produces show no symptom', () => {
  const d = new DriftDetector(OPTS);
  assert.deepEqual(feed(d, 'run', ['create', 'start', 'kill', 'die', 'destroy']), [], 'docker run, docker rm -f');
  assert.deepEqual(feed(d, 'restart', ['create', 'start', 'kill', 'die', 'stop', 'start', 'restart']), [], 'docker restart');
  assert.deepEqual(feed(d, 'policy', ['create', 'start', 'die', 'start', 'die', 'start', 'oom', 'die']), [], 'a restart policy at work');
  assert.deepEqual(feed(d, 'pause', ['create', 'start', 'pause', 'unpause', 'health_status: healthy', 'rename', 'update']), []);
  assert.deepEqual(feed(d, 'failed', ['create', 'die', 'destroy']), [], 'an engine may log die for a start that failed');
  assert.equal(d.deadline, undefined, 'nothing to verify');
});

test('a transition that cannot follow the last one is a symptom of a lost event', () => {
  const d = new DriftDetector(OPTS);
  assert.deepEqual(feed(d, 'a', ['create', 'start', 'start']).map((f) => [f.reason, f.detail]), [['transition', 'start after running']], 'its die was lost');
  assert.deepEqual(feed(d, 'b', ['create', 'start', 'die', 'die']).map((f) => f.detail), ['die after stopped'], 'a start was lost');
  assert.deepEqual(feed(d, 'c', ['create', 'start', 'die', 'pause']).map((f) => f.detail), ['pause after stopped']);
  assert.deepEqual(feed(d, 'e', ['create', 'start', 'unpause']).map((f) => f.detail), ['unpause after running']);
  assert.deepEqual(feed(d, 'f', ['create', 'destroy', 'start']).map((f) => f.detail), ['start after removed'], 'nothing follows a destroy');
  assert.ok(d.deadline !== undefined, 'a verification is due');
});

test('an event about a container the agent does not know is a symptom, unless the inventory has it or it waited out a re-list', () => {
  const d = new DriftDetector(OPTS);
  assert.deepEqual(feed(d, 'lost-create', ['start']).map((f) => f.reason), ['unknown_container']);
  assert.deepEqual(feed(d, 'listed', ['kill', 'die'], { known: true }), [], 'in the inventory (listed before the agent saw an event)');
  assert.deepEqual(feed(d, 'queued', ['kill', 'die'], { replay: true }), [], 'queued during a listing that no longer has it');
  assert.deepEqual(feed(d, 'gone', ['destroy']), [], 'a destroy leaves the inventory right either way');
  assert.deepEqual(feed(d, 'new', ['create', 'start']), []);
});

test('after a re-list, listed containers start over and the others are forgotten', () => {
  const d = new DriftDetector(OPTS);
  feed(d, 'a', ['create', 'start']);
  feed(d, 'b', ['create', 'start']);
  d.reconciled(['a']);
  // queued during the listing: a's start again (older than the listing that saw it running) is no symptom
  assert.deepEqual(feed(d, 'a', ['start', 'die'], { replay: true }), []);
  assert.deepEqual(feed(d, 'b', ['kill', 'die', 'destroy'], { replay: true }), [], 'b was removed before the listing; its events were queued');
  assert.deepEqual(feed(d, 'a', ['die']).map((f) => f.detail), ['die after stopped'], 'tracked again from its events');
});

test('a suspicion is verified once the stream has been quiet for quietMs', () => {
  const d = new DriftDetector(OPTS);
  d.observe('x', 'start', false, false, 5000);
  assert.equal(d.deadline, 6000);
  d.observe('y', 'create', false, false, 5400);
  assert.equal(d.deadline, 6400, 'each event pushes it back');
  const triggers = d.begin();
  assert.deepEqual([...triggers], [['unknown_container', 1]]);
  assert.equal(d.deadline, undefined, 'covered by the re-list');
});

test('a burst is worth a verification; fewer events, or events with pauses between them, are not', () => {
  const d = new DriftDetector(OPTS);
  for (let i = 0; i < 31; i++) d.observe(`c${i}`, 'create', false, false, i * 10);
  assert.equal(d.deadline, undefined, '31 events');
  d.observe('c31', 'create', false, false, 310);
  assert.equal(d.deadline, 1310, 'the 32nd: verify a second after the burst');
  assert.deepEqual([...d.begin()], [['burst', 1]]);

  const slow = new DriftDetector(OPTS);
  for (let i = 0; i < 100; i++) slow.observe(`c${i}`, 'create', false, false, i * 1000);
  assert.equal(slow.deadline, undefined, 'one event a second is no burst');
});

test('events replayed after a re-list continue the burst: the re-list took time, the stream did not pause', () => {
  const d = new DriftDetector(OPTS);
  for (let i = 0; i < 40; i++) d.observe(`c${i}`, 'create', false, false, i * 10);
  d.begin(); // a verification starts at 400 ms and takes 2 s; events queue meanwhile
  d.observe('late', 'destroy', true, true, 2400);
  assert.equal(d.deadline, 3400, 'still a burst: verify again after it');
});

test('steady churn never goes quiet: verifications come every maxDelayMs, and one more after the churn', () => {
  const d = new DriftDetector(OPTS);
  const verifications: number[] = [];
  let t = 0;
  // 50 lifecycle events a second for a minute
  for (; t < 60_000; t += 20) {
    d.observe(`c${t % 4000}`, ['create', 'start', 'die', 'destroy'][(t / 20) % 4] as string, true, false, t);
    const due = d.deadline;
    if (due !== undefined && t >= due) {
      verifications.push(t);
      d.begin();
    }
  }
  assert.ok(verifications.length >= 5 && verifications.length <= 6, `${verifications.length} verifications during a minute of churn: ${verifications.join(', ')}`);
  for (let i = 1; i < verifications.length; i++) assert.ok((verifications[i] as number) - (verifications[i - 1] as number) >= 10_000, 'never closer than maxDelayMs');
  const last = t - 20;
  assert.ok((d.deadline ?? Infinity) <= last + 1000, 'the burst is still suspect: verified at most a second after its last event');
});

test('the phase table is bounded; a forgotten container is judged by the inventory again', () => {
  const d = new DriftDetector({ ...OPTS, trackLimit: 2 });
  feed(d, 'a', ['create', 'start']);
  feed(d, 'b', ['create']);
  feed(d, 'c', ['create']);
  assert.deepEqual(feed(d, 'a', ['start'], { known: true }), [], 'a was forgotten: start after running goes unnoticed');
  assert.deepEqual(feed(d, 'c', ['start', 'start']).map((f) => f.reason), ['transition']);
});

test('what a re-list found is drift only when no event for the container follows within confirmMs', () => {
  const d = new DriftDetector(OPTS);
  assert.equal(d.confirmAt, undefined);
  d.hold([
    { id: 'late', reason: 'missing', detail: 'docker has it created, the agent did not know it' }, // listed before its create was published
    { id: 'lost', reason: 'stale', detail: 'agent exited, gone from docker' },
  ], 10_000);
  assert.equal(d.confirmAt, 12_000);
  d.observe('late', 'create', false, false, 10_050);
  assert.deepEqual(d.confirm(11_999), [], 'not yet');
  assert.deepEqual(d.confirm(12_000).map((f) => f.id), ['lost'], 'the create explained the other one');
  assert.equal(d.confirmAt, undefined);
});

function rec(id: string, state: ContainerRecord['state']): ContainerRecord {
  return {
    id, name: id, image: 'x', imageTag: 'latest', imageId: '', labels: {}, state, health: 'none', restartCount: 0, restartPolicy: 'no',
    restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null, startedAt: null, finishedAt: null, pid: 0,
    hostname: '', networkMode: 'none', ips: {}, ports: [], cgroupPath: '', updatedAt: 0,
  };
}

test('inventoryDrift: missing, stale and wrong-state containers, minus what is in motion', () => {
  const inv = new ContainerInventory();
  for (const r of [rec('same', 'running'), rec('created', 'created'), rec('removing', 'removing'), rec('moving', 'created'), rec('gone-queued', 'exited')]) inv.upsert(r);
  const listed = [
    { id: 'same', state: 'running' },
    { id: 'created', state: 'running' }, // its start was lost
    { id: 'new', state: 'running' }, // its create was lost
    { id: 'moving', state: 'running' }, // a start is queued for it
    { id: 'queued-new', state: 'created' }, // its create is queued
  ];
  const inMotion = new Set(['moving', 'queued-new', 'gone-queued']);
  const found = inventoryDrift(inv, listed, (id) => inMotion.has(id));
  assert.deepEqual(found.map((f) => [f.id, f.reason, f.detail]), [
    ['created', 'state', 'agent created, docker running'],
    ['new', 'missing', 'docker has it running, the agent did not know it'],
    ['removing', 'stale', 'agent removing, gone from docker'],
  ]);
});

test('inventoryDrift: states Docker enters without an event are not drift', () => {
  const inv = new ContainerInventory();
  for (const r of [rec('rm', 'exited'), rec('rm2', 'running'), rec('failed-rm', 'exited'), rec('policy', 'exited'), rec('policy2', 'running'), rec('odd', 'created')]) inv.upsert(r);
  const listed = [
    { id: 'rm', state: 'removing' },
    { id: 'rm2', state: 'removing' },
    { id: 'failed-rm', state: 'dead' },
    { id: 'policy', state: 'restarting' },
    { id: 'policy2', state: 'restarting' },
    { id: 'odd', state: 'restarting' },
  ];
  assert.deepEqual(inventoryDrift(inv, listed, () => false).map((f) => f.id), ['odd'], 'created → restarting skips a start');
});

test('DriftReport: the first finding at once, later ones gathered into one line per interval', () => {
  const r = new DriftReport(60_000);
  assert.equal(r.take(0), undefined, 'nothing found');
  r.add([{ id: 'a'.repeat(64), reason: 'unknown_container', detail: 'start of a container the agent did not know' }]);
  const first = r.take(1000);
  assert.deepEqual(first?.found, { unknown_container: 1 });
  assert.deepEqual(first?.examples, [`${'a'.repeat(12)} unknown_container: start of a container the agent did not know`]);
  assert.match(first?.message ?? '', /^Docker inventory drift: 1 events about unknown containers; /);

  const many: DriftFinding[] = Array.from({ length: 40 }, (_, i) => ({ id: `c${i}`, reason: i % 2 ? 'stale' : 'state', detail: '…' }));
  r.add(many);
  assert.equal(r.take(30_000), undefined, 'within the interval: gathered');
  assert.equal(r.dueAt, 61_000);
  r.add([{ id: 'z', reason: 'missing', detail: '…' }]);
  const second = r.take(61_000);
  assert.deepEqual(second?.found, { state: 20, stale: 20, missing: 1 });
  assert.equal(second?.examples.length, 5, 'a few examples, not one per container');
  assert.match(second?.message ?? '', /1 containers missing, 20 removed containers still listed, 20 containers in the wrong state/);
  assert.equal(r.dueAt, undefined);
});
