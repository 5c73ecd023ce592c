import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerRecord, RecordedEvent } from '../../../src/docker/types.ts';
import { ContainerLifecycleTracker, LINGER_MS } from '../../../src/metrics/lifecycle.ts';
import type { ContainerSample } from '../../../src/metrics/types.ts';
import { emptyCpu, emptyMemory } from '../../../src/metrics/types.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;

function record(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: 'a'.repeat(64), name: 'web', image: 'repo/web:1', imageTag: '1', imageId: 'sha256:1', labels: { team: 'core' }, state: 'running', health: 'healthy',
    restartCount: 0, restartPolicy: 'no', restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null,
    startedAt: new Date(T0).toISOString(), finishedAt: null, pid: 100, hostname: 'aaaa', networkMode: 'bridge', ips: {}, ports: [],
    cgroupPath: `/docker/${'a'.repeat(64)}`, updatedAt: 0, ...over,
  };
}

function sample(at: number, oomKills: number | null = 0): ContainerSample {
  return { id: 'a'.repeat(64), at, source: 'cgroup', cpu: emptyCpu(), memory: { ...emptyMemory(), oomKills }, network: null, blockIo: null, pids: 1 };
}

function event(action: 'oom' | 'die' | 'destroy', time: number, exitCode?: number): RecordedEvent {
  return { kind: 'container', seq: 1, time, action, containerId: 'a'.repeat(64), containerName: 'web', image: 'repo/web:1', labels: {}, ...(exitCode === undefined ? {} : { exitCode }) };
}

test('a running container: start time, last seen from the latest sample, health, restart count', () => {
  const t = new ContainerLifecycleTracker({ keepStoppedMs: HOUR });
  t.update([record({ restartCount: 2 })], () => sample(T0 + 5000), T0 + 6000);
  const [l] = t.list(T0 + 6000);
  assert.equal(l?.state, 'running');
  assert.equal(l?.startedAt, T0);
  assert.equal(l?.lastSeen, T0 + 5000);
  assert.equal(l?.restartCount, 2);
  assert.equal(l?.health, 'healthy');
  assert.equal(l?.exitCode, null);
});

test('OOM kill: Docker\'s oom event, then die 137; kept after removal for keep_stopped, then dropped', () => {
  const t = new ContainerLifecycleTracker({ keepStoppedMs: HOUR });
  const running = record();
  t.update([running], () => sample(T0 + 1000), T0 + 1000);
  t.onEvent(event('oom', T0 + 2000), () => running);
  t.onEvent(event('die', T0 + 2001, 137), () => running);
  const exited = record({ state: 'exited', exitCode: 137, oomKilled: true, pid: 0, finishedAt: new Date(T0 + 2001).toISOString() });
  t.update([exited], () => undefined, T0 + 3000);
  let l = t.get('a'.repeat(64));
  assert.equal(l?.state, 'exited');
  assert.equal(l?.exitCode, 137);
  assert.equal(l?.oomKilled, true);
  assert.equal(l?.oomEvents, 1);
  assert.equal(l?.lastSeen, T0 + 1000, 'last seen stays at the last sample while running');
  assert.equal(l?.finishedAt, T0 + 2001);

  // docker rm: the destroy event arrives while the inventory still has the record
  t.onEvent(event('destroy', T0 + 4000), () => exited);
  t.update([], () => undefined, T0 + 5000);
  l = t.list(T0 + 5000)[0];
  assert.equal(l?.state, 'removed');
  assert.equal(l?.exitCode, 137, 'a removed container keeps its exit code');
  assert.equal(t.removed(T0 + 5000).length, 1);

  assert.equal(t.list(T0 + 2001 + HOUR).length, 1, 'visible up to keep_stopped after it stopped');
  t.update([], () => undefined, T0 + 2002 + HOUR);
  assert.equal(t.list(T0 + 2002 + HOUR).length, 0);
  // the Zabbix per-container document still finds it until Zabbix's next discovery drops it
  assert.equal(t.list(T0 + 2002 + HOUR, LINGER_MS)[0]?.exitCode, 137, 'kept LINGER_MS longer, not exported');
  t.update([], () => undefined, T0 + 2002 + HOUR + LINGER_MS);
  assert.equal(t.get('a'.repeat(64)), undefined, 'forgotten once past keep_stopped + LINGER_MS and gone from Docker');
});

test('an exited container still in Docker leaves the export after keep_stopped but returns when restarted', () => {
  const t = new ContainerLifecycleTracker({ keepStoppedMs: HOUR });
  const exited = record({ state: 'exited', exitCode: 0, pid: 0, finishedAt: new Date(T0).toISOString() });
  t.update([exited], () => undefined, T0 + 2 * HOUR);
  assert.equal(t.list(T0 + 2 * HOUR).length, 0);
  t.update([record({ pid: 200, startedAt: new Date(T0 + 2 * HOUR).toISOString() })], () => sample(T0 + 2 * HOUR), T0 + 2 * HOUR);
  assert.equal(t.list(T0 + 2 * HOUR)[0]?.state, 'running');
});

test('a container removed while the agent was not watching (gone from a re-list) is kept too', () => {
  const t = new ContainerLifecycleTracker({ keepStoppedMs: HOUR });
  t.update([record()], () => sample(T0), T0);
  t.update([], () => undefined, T0 + 1000);
  const l = t.list(T0 + 1000)[0];
  assert.equal(l?.state, 'removed');
  assert.equal(l?.removedAt, T0 + 1000);
});

test('the OOM count never goes down: kernel counters summed over runs, at least 1 when Docker says OOM-killed', () => {
  const t = new ContainerLifecycleTracker({ keepStoppedMs: HOUR });
  t.update([record({ pid: 100 })], () => sample(T0, 2), T0);
  assert.equal(t.get('a'.repeat(64))?.oomEvents, 2);
  // restarted: a new cgroup whose counter starts at 0, then one more kill
  t.update([record({ pid: 101 })], () => sample(T0 + 1000, 0), T0 + 1000);
  assert.equal(t.get('a'.repeat(64))?.oomEvents, 2);
  t.update([record({ pid: 101 })], () => sample(T0 + 2000, 1), T0 + 2000);
  assert.equal(t.get('a'.repeat(64))?.oomEvents, 3);

  const before = new ContainerLifecycleTracker({ keepStoppedMs: HOUR });
  before.update([record({ state: 'exited', pid: 0, oomKilled: true, exitCode: 137, finishedAt: new Date(T0).toISOString() })], () => undefined, T0 + 1);
  assert.equal(before.get('a'.repeat(64))?.oomEvents, 1, 'killed before the agent started: Docker\'s OOMKilled flag counts once');
});

test('events for containers never seen are ignored', () => {
  const t = new ContainerLifecycleTracker({ keepStoppedMs: HOUR });
  t.onEvent(event('oom', T0), () => undefined);
  t.onEvent({ kind: 'agent', seq: 1, time: T0, action: 'docker.reconnected', level: 'info', message: '' }, () => undefined);
  assert.equal(t.list(T0).length, 0);
});
