// Who ended a run, from Docker's event sequences (src/health/stop-attribution.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerEvent } from '../../../src/docker/types.ts';
import { StopAttribution } from '../../../src/health/stop-attribution.ts';

const ID = 'c'.repeat(64);
let seq = 0;
function ev(action: ContainerEvent['action'], time: number, extra: Partial<ContainerEvent> = {}): ContainerEvent {
  return { kind: 'container', seq: ++seq, time, action, containerId: ID, containerName: 'web', image: 'app:1', labels: {}, ...extra };
}
function play(a: StopAttribution, events: ContainerEvent[]) {
  return events.map((e) => a.onContainerEvent(e));
}

test('a bare die is a crash; an OOM kill too', () => {
  const a = new StopAttribution();
  assert.equal(play(a, [ev('start', 0), ev('die', 10, { exitCode: 3 })])[1]?.exitCause, 'crash');
  assert.equal(a.stoppedOnPurpose(ID), false);
  const [, , die] = play(a, [ev('start', 20), ev('oom', 30), ev('die', 31, { exitCode: 137 })]);
  assert.equal(die?.exitCause, 'crash');
  assert.equal(die?.oomKilled, true);
});

test('docker stop (kill 15 → die → stop) and docker kill are operator stops, however long the process took', () => {
  const a = new StopAttribution();
  assert.equal(play(a, [ev('start', 0), ev('kill', 100, { signal: '15' }), ev('die', 60_100, { exitCode: 0 }), ev('stop', 60_101)])[2]?.exitCause, 'operator');
  assert.equal(a.stoppedOnPurpose(ID), true);
  assert.equal(play(a, [ev('start', 70_000), ev('kill', 70_010, { signal: '9' }), ev('die', 70_011, { exitCode: 137 })])[2]?.exitCause, 'operator');
});

test('a reload signal long before a crash does not hide the crash; a non-terminating signal right before the die counts', () => {
  const a = new StopAttribution();
  assert.equal(play(a, [ev('start', 0), ev('kill', 1000, { signal: '1' }), ev('die', 600_000, { exitCode: 1 })])[2]?.exitCause, 'crash');
  assert.equal(play(a, [ev('start', 700_000), ev('kill', 700_100, { signal: '10' }), ev('die', 700_200, { exitCode: 138 })])[2]?.exitCause, 'operator');
});

test('a stop event settles a die that looked like a crash (custom StopSignal)', () => {
  const a = new StopAttribution();
  const out = play(a, [ev('start', 0), ev('kill', 1000, { signal: '28' }), ev('die', 20_000, { exitCode: 0 }), ev('stop', 20_001)]);
  assert.equal(out[2]?.exitCause, 'crash');
  assert.equal(out[3]?.exitCause, 'operator');
  assert.equal(a.stoppedOnPurpose(ID), true);
});

test('the agent\'s own restart (kill → die → stop → start → restart) is not an operator stop', () => {
  const a = new StopAttribution();
  play(a, [ev('start', 0)]);
  a.agentActionStarted(ID);
  const out = play(a, [ev('kill', 100, { signal: '15' }), ev('die', 200, { exitCode: 143 }), ev('stop', 201)]);
  a.agentActionFinished(ID, 300);
  const after = play(a, [ev('start', 301), ev('restart', 302)]);
  assert.ok(out.every((x) => x.byAgent));
  assert.equal(out[1]?.exitCause, undefined);
  assert.equal(after[0]?.byAgent, true);
  assert.equal(a.stoppedOnPurpose(ID), false);
  // after its start, a die is the container's own again
  assert.equal(play(a, [ev('die', 5000, { exitCode: 1 })])[0]?.exitCause, 'crash');
});

test('an agent action that never saw its start stops counting after a short tail', () => {
  const a = new StopAttribution();
  a.agentActionStarted(ID);
  a.agentActionFinished(ID, 1000);
  assert.equal(play(a, [ev('kill', 1500, { signal: '15' })])[0]?.byAgent, true);
  const [kill, die] = play(a, [ev('kill', 60_000, { signal: '15' }), ev('die', 60_001)]);
  assert.equal(kill?.byAgent, false);
  assert.equal(die?.exitCause, 'operator');
});

test('a start clears the stopped-on-purpose mark; destroy forgets the container', () => {
  const a = new StopAttribution();
  play(a, [ev('start', 0), ev('kill', 1, { signal: '15' }), ev('die', 2), ev('stop', 3)]);
  assert.equal(a.stoppedOnPurpose(ID), true);
  play(a, [ev('start', 4)]);
  assert.equal(a.stoppedOnPurpose(ID), false);
  a.markStoppedOnPurpose(ID);
  play(a, [ev('destroy', 5)]);
  assert.equal(a.stoppedOnPurpose(ID), false);
  assert.equal(a.lastExit(ID), null);
});

test('the daemon\'s shutdown burst just before the stream is lost is re-attributed to the outage; an earlier operator stop is not', () => {
  const a = new StopAttribution();
  const [x, y, z, old] = ['1', '2', '3', '4'].map((c) => c.repeat(64)) as [string, string, string, string];
  // an operator stop 5 s before the shutdown, another long before the window
  play(a, [ev('start', 0, { containerId: z }), ev('kill', 95_000, { containerId: z, signal: '15' }), ev('die', 95_001, { containerId: z }), ev('stop', 95_002, { containerId: z })]);
  play(a, [ev('start', 0, { containerId: old }), ev('kill', 10_000, { containerId: old, signal: '15' }), ev('die', 10_001, { containerId: old })]);
  // the shutdown: all kills at once — on a loaded host logged up to a few seconds apart; y
  // ignores SIGTERM and gets SIGKILL 10 s later
  play(a, [ev('start', 0, { containerId: x }), ev('start', 0, { containerId: y })]);
  play(a, [ev('kill', 100_000, { containerId: x, signal: '15' }), ev('kill', 102_500, { containerId: y, signal: '15' }), ev('die', 102_550, { containerId: x }), ev('stop', 102_551, { containerId: x })]);
  play(a, [ev('kill', 112_503, { containerId: y, signal: '9' }), ev('die', 112_504, { containerId: y }), ev('stop', 112_505, { containerId: y })]);
  assert.deepEqual(a.onStreamLost(113_500).sort(), [x, y].sort());
  assert.equal(a.lastExit(x)?.cause, 'outage');
  assert.equal(a.stoppedOnPurpose(y), false);
  assert.equal(a.stoppedOnPurpose(z), true);
  assert.equal(a.lastExit(z)?.cause, 'operator');
  assert.equal(a.stoppedOnPurpose(old), true);
});

test('a stream lost with no stops before it re-attributes nothing', () => {
  const a = new StopAttribution();
  play(a, [ev('start', 0), ev('die', 5, { exitCode: 1 })]);
  assert.deepEqual(a.onStreamLost(10), []);
});

test('a burst of stops that ended well before the loss is an operator\'s (stop everything, then restart dockerd by hand)', () => {
  const a = new StopAttribution();
  const [x, y] = ['5', '6'].map((c) => c.repeat(64)) as [string, string];
  for (const [id, t] of [[x, 50_000], [y, 50_010]] as const) {
    play(a, [ev('start', 0, { containerId: id }), ev('kill', t, { containerId: id, signal: '15' }), ev('die', t + 40, { containerId: id }), ev('stop', t + 41, { containerId: id })]);
  }
  // the daemon had nothing left to stop: the stream ends 10 s after the last stop
  assert.deepEqual(a.onStreamLost(60_100), []);
  assert.equal(a.stoppedOnPurpose(x), true);
  assert.equal(a.stoppedOnPurpose(y), true);
  // the same burst 1 s before the loss is the shutdown's
  const b = new StopAttribution();
  for (const [id, t] of [[x, 50_000], [y, 50_010]] as const) {
    play(b, [ev('start', 0, { containerId: id }), ev('kill', t, { containerId: id, signal: '15' }), ev('die', t + 40, { containerId: id }), ev('stop', t + 41, { containerId: id })]);
  }
  assert.deepEqual(b.onStreamLost(51_100).sort(), [x, y].sort());
});
