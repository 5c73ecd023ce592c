// The HealthMonitor against a hand-fed inventory and a real TCP listener on 127.0.0.1 (no
// Docker): it follows records as the watcher changes them, keeps a verdict across re-inspects,
// starts over on a new run, stops probing stopped containers and forgets removed ones.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { configSchema } from '../../src/configuration.ts';
import { RecentEvents } from '../../src/docker/recent-events.ts';
import { ContainerInventory } from '../../src/docker/inventory.ts';
import type { AgentEvent, ContainerRecord } from '../../src/docker/types.ts';
import { HealthMonitor } from '../../src/health/health-monitor.ts';
import { waitFor } from '../helpers/wait.ts';

let server: net.Server;
let port = 0;
let dir = '';
let accepted = 0;

before(async () => {
  server = net.createServer((s) => {
    accepted++;
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  dir = await mkdtemp(join(tmpdir(), 'dockhand-health-monitor-'));
});
after(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

const ID = '7'.repeat(64);
const STARTED = new Date(Date.now() - 60_000).toISOString();
function record(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: ID, name: 'web', image: 'app:1', imageTag: '1', imageId: 'sha256:1', labels: { 'dockhand.probe.type': 'tcp', 'dockhand.probe.port': String(port) },
    state: 'running', health: 'none', restartCount: 0, restartPolicy: 'no', restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false,
    createdAt: null, startedAt: STARTED, finishedAt: null, pid: 42, hostname: 'h', networkMode: 'host',
    ips: {}, ports: [], cgroupPath: '', updatedAt: 1, ...over,
  };
}

test('follows a container through re-inspects, a new run, a stop and its removal', async () => {
  const config = configSchema.decode({ health: { defaults: { interval: '200ms', timeout: '150ms', grace: '0s' } } }, '', { problems: [], envSources: new Map(), files: [] });
  const inventory = new ContainerInventory();
  const events = new RecentEvents(1000);
  let connected = true;
  const monitor = new HealthMonitor({
    config: config.health, stateDir: dir, inventory, events, docker: {} as never, dockerState: () => (connected ? 'connected' : 'disconnected'),
    callTimeoutMs: 1000, logger: pino({ level: 'silent' }), registry: new Registry(), syncIntervalMs: 50,
  });
  const probe = (): Record<string, unknown> | null => monitor.probeDetails(inventory.byId(ID) as ContainerRecord);
  inventory.upsert(record());
  await monitor.start();
  try {
    await waitFor('healthy', () => probe()?.status === 'healthy');
    await waitFor('a few checks', () => (probe()?.checks as number) >= 3);

    // the watcher re-inspects (say after a reconnect): a new record, equal labels — the verdict stays
    inventory.upsert(record({ labels: { ...record().labels }, updatedAt: 2 }));
    const checksBefore = probe()?.checks as number;
    await waitFor('more checks on the same state', () => (probe()?.checks as number) > checksBefore + 1);
    assert.equal(probe()?.status, 'healthy');
    assert.equal((await transitions(events)).filter((a) => a === 'probe.healthy').length, 1);

    // a new run (restart): the verdict starts over
    inventory.upsert(record({ startedAt: new Date().toISOString(), updatedAt: 3 }));
    await waitFor('healthy again after the new run', async () => (await transitions(events)).filter((a) => a === 'probe.healthy').length === 2);

    // stopped: not probed, shown as stopped
    inventory.upsert(record({ state: 'exited', pid: 0, updatedAt: 4 }));
    await waitFor('stopped', () => probe()?.status === 'stopped');
    const acceptedWhenStopped = accepted;
    // Unscheduled and nothing in flight: no probe can start any more.
    await waitFor('unscheduled', () => monitor.schedulerStats().targets === 0 && monitor.schedulerStats().inFlight === 0);
    assert.ok(accepted <= acceptedWhenStopped + 1, 'no probes of a stopped container (one may have been in flight)');

    // a disconnected Docker does not make the monitor forget what the inventory still holds
    connected = false;
    inventory.upsert(record({ updatedAt: 5 }));
    await waitFor('probing again', () => monitor.schedulerStats().targets === 1);

    // removed: forgotten
    connected = true;
    inventory.remove(ID);
    await waitFor('no longer probed', () => monitor.schedulerStats().targets === 0);
    assert.deepEqual(monitor.probesDocument(null).probes, []);
  } finally {
    await monitor.stop();
  }
});

async function transitions(events: RecentEvents): Promise<string[]> {
  await Promise.resolve();
  return events.since(0, 1000).filter((e): e is AgentEvent => e.kind === 'agent' && e.action.startsWith('probe.')).map((e) => e.action);
}
