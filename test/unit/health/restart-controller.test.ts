// The restart controller with a fake Docker (runner + context) and mocked timers: the agent's own
// restarts, crash loops, outages (host reboot, daemon restart), failures, cancellations.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import type { ContainerEvent, ContainerRecord } from '../../../src/docker/types.ts';
import type { PersistedHealthState } from '../../../src/health/health-state-file.ts';
import type { ProbeStatus } from '../../../src/health/probe-state.ts';
import { RestartController } from '../../../src/health/restart-controller.ts';
import type { RestartOutcome } from '../../../src/health/restart-executor.ts';
import type { RestartSpec } from '../../../src/health/spec.ts';
import { StopAttribution } from '../../../src/health/stop-attribution.ts';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
async function advance(ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(step);
    await flush();
  }
}

const POLICY: RestartSpec = { policy: 'always', maxRestarts: 3, windowMs: 600_000, backoffBaseMs: 100, backoffMaxMs: 1000, resetAfterMs: 60_000, stopTimeoutMs: 1000 };
const idOf = (n: number): string => n.toString(16).padStart(64, '0');
/** A crash under POLICY (max_restarts 3): three restarts, then the crash-loop mark. */
const CRASH_LOOP = [
  'restart.scheduled:exit-nonzero', 'restart.done:exit-nonzero',
  'restart.scheduled:exit-nonzero', 'restart.done:exit-nonzero',
  'restart.scheduled:exit-nonzero', 'restart.done:exit-nonzero',
  'restart.crashloop:max-restarts',
];

function record(n: number, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: idOf(n), name: `c${n}`, image: 'app:1', imageTag: '1', imageId: 'sha256:1', labels: {}, state: 'running', health: 'none',
    restartCount: 0, restartPolicy: 'no', restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null,
    startedAt: new Date(0).toISOString(), finishedAt: null, pid: 10, hostname: 'h', networkMode: 'host', ips: {}, ports: [], cgroupPath: '', updatedAt: 0, ...over,
  };
}

interface Emitted { action: string; level: string; message: string; details: Record<string, unknown> }

class FakeDocker {
  readonly records = new Map<string, ContainerRecord>();
  readonly specs = new Map<string, RestartSpec>();
  readonly probe = new Map<string, ProbeStatus>();
  connected = true;
  inFlight = 0;
  maxInFlight = 0;
  calls: string[] = [];
  failNext = 0;
  restartMs = 50;
  /** The new run exits at once: its die comes before the restart call has returned (a loaded daemon answers late). */
  dieBeforeReturn = false;
  controller!: RestartController;
  #time = 0;

  event(id: string, action: ContainerEvent['action'], extra: Partial<ContainerEvent> = {}): void {
    const rec = this.records.get(id);
    this.#time = Math.max(this.#time + 1, Date.now());
    this.controller.onContainerEvent({ kind: 'container', seq: 0, time: this.#time, action, containerId: id, containerName: rec?.name ?? '', image: 'app:1', labels: {}, ...extra });
    if (rec && action === 'die') this.records.set(id, { ...rec, state: 'exited', exitCode: extra.exitCode ?? null });
    if (rec && action === 'start') this.records.set(id, { ...rec, state: 'running' });
  }

  /** The events of `docker stop` (or of a daemon shutting down: the same ones). */
  stopThroughApi(id: string, exitCode = 143): void {
    this.event(id, 'kill', { signal: '15' });
    this.event(id, 'die', { exitCode });
    this.event(id, 'stop');
  }

  /** What `docker restart` does, events included. */
  async restart(id: string): Promise<RestartOutcome> {
    this.calls.push(id);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, this.restartMs));
      if (this.failNext > 0) {
        this.failNext--;
        return { ok: false, method: 'kill+start', durationMs: this.restartMs, error: 'daemon said no' };
      }
      if (this.records.get(id)?.state === 'running') this.stopThroughApi(id);
      this.event(id, 'start');
      this.event(id, 'restart');
      if (this.dieBeforeReturn) this.event(id, 'die', { exitCode: 1 });
      return { ok: true, method: 'restart', durationMs: this.restartMs };
    } finally {
      this.inFlight--;
    }
  }
}

function setup(opts: { persisted?: PersistedHealthState | null; hostBootTime?: number; maxConcurrent?: number; staggerMs?: number } = {}) {
  const docker = new FakeDocker();
  const emitted: Emitted[] = [];
  const controller = new RestartController({
    runner: { restart: (id) => docker.restart(id) },
    attribution: new StopAttribution(),
    context: {
      record: (id) => docker.records.get(id),
      records: () => docker.records.values(),
      restartSpec: (id) => (docker.records.has(id) ? (docker.specs.get(id) ?? POLICY) : undefined),
      probeStatus: (id) => docker.probe.get(id) ?? null,
      dockerConnected: () => docker.connected,
    },
    maxConcurrent: opts.maxConcurrent ?? 2,
    staggerMs: opts.staggerMs ?? 1000,
    emit: (action, level, message, details) => emitted.push({ action, level, message, details }),
    hostBootTime: opts.hostBootTime ?? 0,
    now: () => Date.now(),
    random: () => 0.999999,
    persisted: opts.persisted ?? null,
  });
  docker.controller = controller;
  const actions = (id?: string): string[] => emitted.filter((e) => id === undefined || e.details.containerId === id).map((e) => (typeof e.details.reason === 'string' ? `${e.action}:${e.details.reason}` : e.action));
  return { docker, controller, emitted, actions };
}

/**
 * c41 stopped 20 s before the stream loss, then c40 and c42 at once right before it: by timing, a
 * shutdown's burst (40, 42) after an operator's stop (41).
 */
async function stopsAroundShutdown(docker: FakeDocker): Promise<void> {
  docker.stopThroughApi(idOf(41));
  await advance(20_000, 1000);
  docker.stopThroughApi(idOf(40));
  docker.stopThroughApi(idOf(42));
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

test('unhealthy → restart; the agent\'s own kill/die/stop/start is not taken for an operator stop', async () => {
  const { docker, controller, actions } = setup();
  const id = idOf(1);
  docker.records.set(id, record(1));
  docker.probe.set(id, 'unhealthy');
  controller.sync(true);
  controller.onProbeTransition(id, { from: 'healthy', to: 'unhealthy', at: Date.now(), consecutive: 3, detail: 'HTTP 500' });
  await advance(500);
  assert.deepEqual(actions(id), ['restart.scheduled:unhealthy-probe', 'restart.done:unhealthy-probe']);
  assert.deepEqual(docker.calls, [id]);
  const snap = controller.snapshot(id) as { restartsTotal: number; stoppedOnPurpose: boolean; lastOutcome: { ok: boolean } };
  assert.equal(snap.restartsTotal, 1);
  assert.equal(snap.stoppedOnPurpose, false);
  assert.equal(snap.lastOutcome.ok, true);
  await controller.stop();
});

test('crashes restart with growing delays until max_restarts, then crash-looping; an operator start clears it', async () => {
  const { docker, controller, emitted, actions } = setup();
  const id = idOf(2);
  docker.records.set(id, record(2));
  controller.sync(true);
  for (let i = 0; i < 4; i++) {
    docker.event(id, 'die', { exitCode: 1 });
    await advance(2000);
  }
  assert.deepEqual(actions(id), CRASH_LOOP);
  assert.deepEqual(emitted.filter((e) => e.action === 'restart.scheduled').map((e) => e.details.delayMs), [100, 200, 400]);
  docker.event(id, 'start');
  docker.event(id, 'die', { exitCode: 1 });
  assert.equal(actions(id).at(-2), 'restart.crashloop_cleared');
  assert.equal(actions(id).at(-1), 'restart.crashloop:max-restarts'); // still 3 restarts in the window
  assert.equal(docker.calls.length, 3);
  await controller.stop();
});

test('a run that dies before the restart call returns is still a crash: restarts go on to the crash loop', async () => {
  // CI, on a loaded host: `sh -c 'exit 1'` died before dockerd answered the restart call, the exit
  // was taken for a duplicate of the restart in flight and dropped, and the container stayed down
  // with neither another restart nor a crash-loop report.
  const { docker, controller, actions } = setup();
  const id = idOf(3);
  docker.records.set(id, record(3));
  docker.dieBeforeReturn = true;
  controller.sync(true);
  docker.event(id, 'die', { exitCode: 1 });
  await advance(5000);
  assert.deepEqual(actions(id), CRASH_LOOP);
  assert.equal(docker.calls.length, 3);
  await controller.stop();
});

test('docker stop is left alone; a die whose stop event follows cancels the restart it scheduled', async () => {
  const { docker, controller, actions } = setup({ staggerMs: 0 });
  const a = idOf(3);
  const b = idOf(4);
  docker.records.set(a, record(3));
  docker.records.set(b, record(4));
  controller.sync(true);
  docker.stopThroughApi(a, 0);
  // custom StopSignal: the kill looks like a reload, the die like a crash, until the stop event
  docker.event(b, 'kill', { signal: '28' });
  await advance(20_000);
  docker.event(b, 'die', { exitCode: 0 });
  docker.event(b, 'stop');
  await advance(2000);
  assert.deepEqual(actions(a), ['restart.skipped:stopped-on-purpose']);
  assert.deepEqual(actions(b), ['restart.scheduled:exit-zero', 'restart.cancelled:stopped-on-purpose']);
  assert.deepEqual(docker.calls, []);
  await controller.stop();
});

test('a pending restart is cancelled when the container recovers before it is due', async () => {
  const { docker, controller, actions } = setup();
  const id = idOf(5);
  docker.records.set(id, record(5));
  docker.specs.set(id, { ...POLICY, backoffBaseMs: 5000, backoffMaxMs: 5000 });
  docker.probe.set(id, 'unhealthy');
  controller.sync(true);
  controller.onProbeTransition(id, { from: 'healthy', to: 'unhealthy', at: Date.now(), consecutive: 3, detail: 'timeout' });
  docker.probe.set(id, 'healthy');
  controller.onProbeTransition(id, { from: 'unhealthy', to: 'healthy', at: Date.now(), consecutive: 1, detail: 'HTTP 200' });
  await advance(6000, 100);
  assert.deepEqual(actions(id), ['restart.scheduled:unhealthy-probe', 'restart.cancelled:recovered']);
  assert.deepEqual(docker.calls, []);
  await controller.stop();
});

test('a failed restart is reported and retried with backoff; restarts wait while Docker is unreachable', async () => {
  const { docker, controller, actions } = setup();
  const id = idOf(6);
  docker.records.set(id, record(6));
  controller.sync(true);
  docker.failNext = 1;
  docker.connected = false;
  docker.event(id, 'die', { exitCode: 2 });
  await advance(3000);
  assert.deepEqual(docker.calls, []);
  docker.connected = true;
  await advance(3000);
  assert.deepEqual(actions(id), ['restart.scheduled:exit-nonzero', 'restart.failed:exit-nonzero', 'restart.scheduled:exit-nonzero', 'restart.done:exit-nonzero']);
  assert.equal(docker.calls.length, 2);
  await controller.stop();
});

test('after a host reboot, containers that were running are restarted one stagger apart, max_concurrent at once', async () => {
  const persisted: PersistedHealthState = { version: 1, savedAt: 500_000, containers: {} };
  const { docker, controller, emitted, actions } = setup({ persisted, hostBootTime: 900_000, maxConcurrent: 2, staggerMs: 1000 });
  for (let n = 10; n < 16; n++) {
    docker.records.set(idOf(n), record(n, { state: 'exited', exitCode: 0 }));
    persisted.containers[idOf(n)] = { name: `c${n}`, running: n !== 15, stoppedOnPurpose: n === 14, crashLooping: false, restarts: [], attempt: 0 };
  }
  docker.records.set(idOf(13), record(13, { state: 'exited', restartPolicy: 'always' }));
  docker.restartMs = 3000;
  controller.onConnected(true);
  controller.sync(true);
  const scheduled = emitted.filter((e) => e.action === 'restart.scheduled');
  assert.deepEqual(scheduled.map((e) => [e.details.containerName, e.details.delayMs]), [['c10', 100], ['c11', 1000], ['c12', 2000]]);
  assert.deepEqual(actions(idOf(13)), ['restart.skipped:docker-policy']);
  assert.deepEqual(actions(idOf(14)), []);
  assert.deepEqual(actions(idOf(15)), []);
  await advance(12_000, 50);
  assert.equal(docker.calls.length, 3);
  assert.equal(docker.maxInFlight, 2);
  await controller.stop();
});

test('after an agent restart on a live host, exits it did not see are left alone', async () => {
  const persisted: PersistedHealthState = { version: 1, savedAt: 950_000, containers: { [idOf(20)]: { name: 'c20', running: true, stoppedOnPurpose: false, crashLooping: false, restarts: [], attempt: 0 } } };
  const { docker, controller, actions } = setup({ persisted, hostBootTime: 900_000 });
  docker.records.set(idOf(20), record(20, { state: 'exited', exitCode: 1 }));
  controller.onConnected(true);
  await advance(2000);
  assert.deepEqual(actions(idOf(20)), ['restart.skipped:unobserved']);
  assert.deepEqual(docker.calls, []);
  await controller.stop();
});

test('a daemon restart: stops just before the stream loss are the daemon\'s, and those containers come back staggered', async () => {
  const { docker, controller, emitted, actions } = setup({ staggerMs: 500 });
  for (const n of [30, 31]) docker.records.set(idOf(n), record(n));
  docker.records.set(idOf(32), record(32, { state: 'exited' }));
  controller.sync(true);
  // dockerd shutting down: the same events as `docker stop`
  for (const n of [30, 31]) docker.stopThroughApi(idOf(n));
  controller.onStreamLost(Date.now());
  docker.connected = false;
  await advance(5000, 100);
  docker.connected = true;
  controller.onConnected(false);
  await advance(3000);
  assert.deepEqual(actions(idOf(30)), ['restart.skipped:stopped-on-purpose', 'restart.scheduled:outage', 'restart.done:outage']);
  assert.deepEqual(actions(idOf(31)), ['restart.skipped:stopped-on-purpose', 'restart.scheduled:outage', 'restart.done:outage']);
  assert.deepEqual(actions(idOf(32)), []);
  assert.deepEqual(emitted.filter((e) => e.action === 'restart.scheduled').map((e) => e.details.delayMs), [100, 500]);
  await controller.stop();
});

test('a daemon restart with the daemon\'s record: it settles who stopped what, whatever the timing suggested', async () => {
  const { docker, controller, emitted, actions } = setup({ staggerMs: 500 });
  for (const n of [40, 41, 42]) docker.records.set(idOf(n), record(n));
  controller.sync(true);
  // 40: an operator's stop in the middle of the shutdown (the timing says: the daemon's)
  // 41: a shutdown stop 20 s before the loss (the timing says: an operator's), 42: a plain shutdown stop
  await stopsAroundShutdown(docker);
  controller.onStreamLost(Date.now());
  docker.connected = false;
  await advance(2000, 100);
  docker.connected = true;
  const suspects = controller.stopSuspects(false);
  assert.deepEqual(suspects.sort(), [idOf(40), idOf(41), idOf(42)]);
  controller.onConnected(false, new Map([[idOf(40), true], [idOf(41), false], [idOf(42), false]]));
  await advance(3000);
  assert.deepEqual(actions(idOf(40)), ['restart.skipped:stopped-on-purpose']);
  assert.deepEqual(actions(idOf(41)), ['restart.skipped:stopped-on-purpose', 'restart.scheduled:outage', 'restart.done:outage']);
  assert.deepEqual(actions(idOf(42)), ['restart.skipped:stopped-on-purpose', 'restart.scheduled:outage', 'restart.done:outage']);
  assert.deepEqual(emitted.filter((e) => e.action === 'restart.scheduled').map((e) => [e.details.containerName, e.details.delayMs]), [['c41', 100], ['c42', 500]]);
  assert.deepEqual(docker.calls.sort(), [idOf(41), idOf(42)]);
  assert.equal(controller.persistable()[idOf(40)]?.stoppedOnPurpose, true);
  await controller.stop();
});

test('a daemon restart without the record: the same stops judged by timing', async () => {
  const { docker, controller, actions } = setup({ staggerMs: 500 });
  for (const n of [40, 41, 42]) docker.records.set(idOf(n), record(n));
  controller.sync(true);
  await stopsAroundShutdown(docker);
  controller.onStreamLost(Date.now());
  await advance(2000, 100);
  controller.onConnected(false);
  await advance(3000);
  // the burst (40, 42) is the daemon's; 41, stopped 20 s earlier, stays an operator's stop
  assert.deepEqual(docker.calls.sort(), [idOf(40), idOf(42)]);
  assert.deepEqual(actions(idOf(41)), ['restart.skipped:stopped-on-purpose']);
  await controller.stop();
});

test('a lost stream that the running containers lived through was no shutdown: a burst of stops before it stays an operator\'s', async () => {
  const { docker, controller, actions } = setup({ staggerMs: 500 });
  for (const n of [60, 61, 62]) docker.records.set(idOf(n), record(n));
  controller.sync(true);
  // `docker stop c60 c61` (a burst), and the connection to dockerd drops a moment later; c62 runs on
  for (const n of [60, 61]) docker.stopThroughApi(idOf(n));
  controller.onStreamLost(Date.now());
  await advance(2000, 100);
  assert.deepEqual(controller.survivorsOfLoss(), [idOf(62)]);
  // c62 restarted by the daemon (a new run) would not have been a survivor
  const live = docker.records.get(idOf(62)) as ContainerRecord;
  docker.records.set(idOf(62), { ...live, startedAt: new Date(5).toISOString() });
  assert.deepEqual(controller.survivorsOfLoss(), []);
  docker.records.set(idOf(62), live);
  controller.onConnected(false);
  await advance(3000);
  assert.deepEqual(docker.calls, []);
  for (const n of [60, 61]) assert.deepEqual(actions(idOf(n)), ['restart.skipped:stopped-on-purpose']);
  assert.equal(controller.persistable()[idOf(60)]?.stoppedOnPurpose, true);
  await controller.stop();
});

test('with survivors even the daemon\'s "not stopped on purpose" is no outage: that exit was the container\'s own', async () => {
  const { docker, controller, actions } = setup({ staggerMs: 500 });
  docker.specs.set(idOf(63), { ...POLICY, policy: 'on-unhealthy' });
  for (const n of [63, 64]) docker.records.set(idOf(n), record(n));
  controller.sync(true);
  controller.onStreamLost(Date.now());
  await advance(500, 100);
  // replayed at the reconnect: c63 crashed while the connection was down; c64 ran through
  docker.event(idOf(63), 'die', { exitCode: 1 });
  assert.deepEqual(controller.stopSuspects(false), [idOf(63)]);
  controller.onConnected(false, new Map([[idOf(63), false]]));
  await advance(2000);
  assert.deepEqual(actions(idOf(63)), ['restart.skipped:not-covered']);
  assert.deepEqual(docker.calls, []);
  await controller.stop();
});

test('a daemon restart before the agent\'s first look is still judged at the reconnect', async () => {
  const { docker, controller, actions } = setup({ staggerMs: 500 });
  for (const n of [70, 71]) docker.records.set(idOf(n), record(n));
  for (const n of [70, 71]) docker.stopThroughApi(idOf(n));
  controller.onStreamLost(Date.now());
  await advance(500, 100);
  // the first connect is seen only now, right before the reconnect is handled
  controller.onConnected(true);
  assert.deepEqual(controller.stopSuspects(false).sort(), [idOf(70), idOf(71)]);
  controller.onConnected(false);
  await advance(3000);
  assert.deepEqual(docker.calls.sort(), [idOf(70), idOf(71)]);
  assert.deepEqual(actions(idOf(70)), ['restart.skipped:stopped-on-purpose', 'restart.scheduled:outage', 'restart.done:outage']);
  await controller.stop();
});

test('after a host reboot, the daemon\'s record keeps down a container stopped through the API after the last save', async () => {
  const persisted: PersistedHealthState = { version: 1, savedAt: 500_000, containers: {} };
  const { docker, controller, actions } = setup({ persisted, hostBootTime: 900_000 });
  for (const n of [50, 51]) {
    docker.records.set(idOf(n), record(n, { state: 'exited', exitCode: 0 }));
    persisted.containers[idOf(n)] = { name: `c${n}`, running: true, stoppedOnPurpose: false, crashLooping: false, restarts: [], attempt: 0 };
  }
  assert.deepEqual(controller.stopSuspects(true).sort(), [idOf(50), idOf(51)]);
  controller.onConnected(true, new Map([[idOf(50), true], [idOf(51), false]]));
  controller.sync(true);
  await advance(2000);
  assert.deepEqual(actions(idOf(50)), ['restart.skipped:stopped-on-purpose']);
  assert.deepEqual(actions(idOf(51)), ['restart.scheduled:outage', 'restart.done:outage']);
  await controller.stop();
});

test('persistable state carries what an agent restart needs', async () => {
  const { docker, controller } = setup();
  const id = idOf(40);
  docker.records.set(id, record(40));
  docker.records.set(idOf(41), record(41));
  docker.specs.set(idOf(41), { ...POLICY, policy: 'no' });
  controller.sync(true);
  docker.event(id, 'kill', { signal: '9' });
  docker.event(id, 'die', { exitCode: 137 });
  const p = controller.persistable();
  assert.deepEqual(Object.keys(p), [id]);
  assert.deepEqual(p[id], { name: 'c40', running: false, stoppedOnPurpose: true, crashLooping: false, restarts: [], attempt: 0 });
  docker.event(id, 'destroy');
  assert.deepEqual(controller.persistable(), {});
  await controller.stop();
});
