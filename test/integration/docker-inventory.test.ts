// The DockerWatcher against a real dockerd: the inventory follows containers through their
// lifecycle, lifecycle events are recorded with exit codes, an event-stream break (daemon
// restart) is survived, and an unreachable daemon is a state, not a crash.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { RecentEvents } from '../../src/docker/recent-events.ts';
import { createDockerClient } from '../../src/docker/client.ts';
import { ContainerInventory } from '../../src/docker/inventory.ts';
import { DockerWatcher } from '../../src/docker/watcher.ts';
import type { DockerWatcherOptions } from '../../src/docker/watcher.ts';
import type { ContainerEvent } from '../../src/docker/types.ts';
import { TEST_LABEL, docker, ensureTestImage, removeAllContainers, requireDocker, startPrivateDockerd } from '../helpers/docker-engine.ts';
import { waitFor } from '../helpers/wait.ts';

const logger = pino({ level: process.env.DOCKHAND_TEST_LOG ?? 'silent' });

function makeWatcher(host: string, overrides: Partial<DockerWatcherOptions> = {}) {
  const inventory = new ContainerInventory();
  const events = new RecentEvents(1000);
  const watcher = new DockerWatcher({
    docker: createDockerClient({ host, tls: null, allow_insecure: false, timeout: 10_000, reconnect_base: 200, reconnect_max: 2000, resync_interval: 0, events_buffer: 1000 }),
    inventory,
    events,
    logger,
    reconnectBaseMs: 200,
    reconnectMaxMs: 2000,
    resyncIntervalMs: 0,
    callTimeoutMs: 10_000,
    ...overrides,
  });
  return { inventory, events, watcher };
}

function containerEvents(events: RecentEvents, id: string): ContainerEvent[] {
  return events.since(0, 10_000).filter((e): e is ContainerEvent => e.kind === 'container' && e.containerId === id);
}

void describe('Docker inventory on a real engine', () => {
  let host = '';
  let image = '';
  let w: ReturnType<typeof makeWatcher>;

  before(async () => {
    host = await requireDocker(undefined);
    if (!host) return;
    image = await ensureTestImage(host);
    w = makeWatcher(host);
    w.watcher.start();
    await waitFor('watcher connected', () => w.watcher.state === 'connected');
  });

  after(async () => {
    if (!host) return;
    await w.watcher.stop();
    await removeAllContainers(host);
  });

  void it('follows create, start, kill (exit code), remove', async (t) => {
    if (!host) return t.skip('no docker');
    const name = `dh-inv-${process.pid}`;
    const id = (await docker(host, ['create', '--name', name, '--label', TEST_LABEL, '--label', 'team=core', '--network', 'none', '--hostname', 'h778283', image, 'sleep', '300'])).stdout.trim();
    const created = await waitFor('created container in inventory', () => w.inventory.byId(id));
    assert.equal(created.name, name);
    assert.equal(created.state, 'created');
    assert.equal(created.image, image);
    assert.equal(created.imageTag, '1');
    assert.equal(created.hostname, 'h778283');
    assert.equal(created.labels.team, 'core');
    assert.equal(created.networkMode, 'none');
    assert.equal(created.exitCode, null);

    await docker(host, ['start', id]);
    const running = await waitFor('running with a pid', () => {
      const r = w.inventory.byId(id);
      return r?.state === 'running' && r.pid > 0 ? r : undefined;
    });
    assert.ok(running.startedAt, 'startedAt recorded');
    assert.match(running.cgroupPath, new RegExp(id), 'cgroup path names the container');
    assert.equal(w.inventory.find(name)?.id, id);
    assert.equal(w.inventory.find(id.slice(0, 12))?.id, id);

    await docker(host, ['kill', id]);
    const exited = await waitFor('exited with 137', () => {
      const r = w.inventory.byId(id);
      return r?.state === 'exited' && r.exitCode === 137 ? r : undefined;
    });
    assert.equal(exited.pid, 0);
    assert.ok(exited.finishedAt);

    await docker(host, ['rm', id]);
    await waitFor('removed from inventory', () => !w.inventory.byId(id));

    const actions = containerEvents(w.events, id).map((e) => e.action);
    for (const a of ['create', 'start', 'kill', 'die', 'destroy']) assert.ok(actions.includes(a as ContainerEvent['action']), `${a} in ${actions.join(',')}`);
    const die = containerEvents(w.events, id).find((e) => e.action === 'die');
    assert.equal(die?.exitCode, 137);
    assert.equal(die?.containerName, name);
    assert.equal(die?.labels.team, 'core');
    const kill = containerEvents(w.events, id).find((e) => e.action === 'kill');
    assert.equal(kill?.signal, '9');
  });

  void it('records a non-zero exit code of a process that exits by itself', async (t) => {
    if (!host) return t.skip('no docker');
    const id = (await docker(host, ['run', '-d', '--label', TEST_LABEL, '--network', 'none', image, 'sh', '-c', 'exit 3'])).stdout.trim();
    const r = await waitFor('exited with 3', () => {
      const c = w.inventory.byId(id);
      return c?.state === 'exited' && c.exitCode === 3 ? c : undefined;
    });
    assert.equal(r.oomKilled, false);
    assert.equal(containerEvents(w.events, id).find((e) => e.action === 'die')?.exitCode, 3);
  });

  void it('does not record exec events (HEALTHCHECK noise)', async (t) => {
    if (!host) return t.skip('no docker');
    const id = (await docker(host, ['run', '-d', '--label', TEST_LABEL, '--network', 'none', image, 'sleep', '300'])).stdout.trim();
    await docker(host, ['exec', id, 'true']);
    await docker(host, ['rm', '-f', id]);
    await waitFor('destroy recorded', () => containerEvents(w.events, id).some((e) => e.action === 'destroy'));
    assert.ok(containerEvents(w.events, id).every((e) => !e.action.startsWith('exec')));
  });

  void it('a fresh watcher lists what already exists (reconcile)', async (t) => {
    if (!host) return t.skip('no docker');
    const id = (await docker(host, ['run', '-d', '--label', TEST_LABEL, '--network', 'none', image, 'sleep', '300'])).stdout.trim();
    const fresh = makeWatcher(host);
    fresh.watcher.start();
    try {
      await waitFor('connected', () => fresh.watcher.state === 'connected');
      assert.equal(fresh.inventory.byId(id)?.state, 'running');
      assert.equal(fresh.watcher.engine?.cgroupDriver !== undefined, true);
      assert.ok(fresh.watcher.engine?.version);
    } finally {
      await fresh.watcher.stop();
    }
  });
});

void describe('Docker event-stream breaks', () => {
  void it('survives a daemon restart and finds containers created while the stream was down', { timeout: 180_000 }, async (t) => {
    if (!(await requireDocker(t))) return;
    const daemon = await startPrivateDockerd({ name: 'restart' });
    t.after(() => daemon.cleanup());
    const image = await ensureTestImage(daemon.host);
    const before = (await docker(daemon.host, ['run', '-d', '--restart', 'always', '--label', TEST_LABEL, '--network', 'none', image, 'sleep', '300'])).stdout.trim();

    // A long first reconnect delay leaves room to create a container before the watcher is back.
    const w = makeWatcher(daemon.host, { reconnectBaseMs: 4000, reconnectMaxMs: 4000 });
    w.watcher.start();
    t.after(() => w.watcher.stop());
    await waitFor('connected', () => w.watcher.state === 'connected');
    assert.equal(w.inventory.byId(before)?.state, 'running');

    await daemon.restart();
    await waitFor('disconnect noticed', () => w.watcher.state !== 'connected' || w.watcher.reconnects > 0, 30_000);
    const during = (await docker(daemon.host, ['run', '-d', '--label', TEST_LABEL, '--network', 'none', image, 'sleep', '300'])).stdout.trim();

    await waitFor('reconnected', () => w.watcher.state === 'connected' && w.watcher.reconnects === 1, 60_000);
    const found = await waitFor('container created during the outage', () => w.inventory.byId(during));
    assert.equal(found.state, 'running');
    assert.ok(w.inventory.byId(before), 'the older container is still known');
    const agentActions = w.events.since(0, 1000).filter((e) => e.kind === 'agent').map((e) => e.action);
    assert.ok(agentActions.includes('docker.disconnected'), agentActions.join(','));
    assert.ok(agentActions.includes('docker.reconnected'), agentActions.join(','));
    // `since` resume must not replay the create/start of `before` as new events.
    const starts = containerEvents(w.events, during).filter((e) => e.action === 'start');
    assert.ok(starts.length <= 1, `start of the new container recorded ${starts.length} times`);
  });

  void it('an unreachable daemon is reported, retried, and picked up when it appears', { timeout: 120_000 }, async (t) => {
    if (!(await requireDocker(t))) return;
    const daemon = await startPrivateDockerd({ name: 'late' });
    t.after(() => daemon.cleanup());
    await daemon.stop();

    const w = makeWatcher(daemon.host, { reconnectBaseMs: 100, reconnectMaxMs: 500 });
    w.watcher.start();
    t.after(() => w.watcher.stop());
    await waitFor('reported disconnected with a reason', () => w.watcher.state === 'disconnected' && w.watcher.lastError);
    assert.match(w.watcher.lastError, /ENOENT|ECONNREFUSED|connect/);
    const unreachable = w.events.since(0, 100).filter((e) => e.kind === 'agent' && e.action === 'docker.unreachable');
    assert.equal(unreachable.length, 1, 'logged once, not once per retry');

    await daemon.restart();
    await waitFor('connected once the daemon is up', () => w.watcher.state === 'connected', 60_000);
  });
});
