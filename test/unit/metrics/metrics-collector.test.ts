// The collector over the recorded v1 tree with a controlled clock: scrapes within
// metrics.scrape_cache share one sweep, concurrent scrapes join the running one, and the
// API's per-container views carry figures and rates.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../../../src/configuration.ts';
import { RecentEvents } from '../../../src/docker/recent-events.ts';
import { ContainerInventory } from '../../../src/docker/inventory.ts';
import type { ContainerRecord } from '../../../src/docker/types.ts';
import { layoutFromRoot } from '../../../src/metrics/cgroup/layout.ts';
import { MetricsCollector } from '../../../src/metrics/metrics-collector.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/cgroup/${name}`, import.meta.url));
const REC = '79384f07c6f2954dc5b1d22abf37ac2ce85d2875b59d1d71f7311112680e29ac';

function record(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: REC, name: 'rec', image: 'dockhand-test/busybox:1', imageTag: '1', imageId: 'sha256:1', labels: { team: 'core' }, state: 'running', health: 'none',
    restartCount: 0, restartPolicy: 'no', restartPolicyMaxRetries: 0, exitCode: null, oomKilled: false, createdAt: null,
    startedAt: '2026-11-22T03:50:00Z', finishedAt: null, pid: 32052, hostname: 'rec', networkMode: 'none', ips: {}, ports: [],
    cgroupPath: `/docker/${REC}`, updatedAt: 0, ...over,
  };
}

function setup(scrapeCache = '1s'): { collector: MetricsCollector; registry: Registry; clock: { now: number }; inventory: ContainerInventory } {
  const { config } = loadConfig({
    env: { DOCKHAND_METRICS__SCRAPE_CACHE: scrapeCache, DOCKHAND_METRICS__PROC_ROOT: fixture('v1-cgroupfs/proc'), DOCKHAND_METRICS__CONTAINER_LABELS: '[team]' },
    checkFiles: false,
  });
  const inventory = new ContainerInventory();
  inventory.upsert(record());
  const registry = new Registry();
  const clock = { now: Date.parse('2026-11-22T04:00:00Z') };
  const collector = new MetricsCollector({
    config: config.metrics,
    inventory,
    events: new RecentEvents(10),
    docker: null,
    dockerTimeoutMs: 1000,
    engine: () => undefined,
    host: undefined,
    registry,
    logger: pino({ level: 'silent' }),
    now: () => clock.now,
    layout: layoutFromRoot(fixture('v1-cgroupfs')),
  });
  return { collector, registry, clock, inventory };
}

async function value(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value ?? NaN;
}

test('two scrapes within scrape_cache share one sample; a later one sweeps again', async () => {
  const { collector, registry, clock } = setup('1s');
  const first = await collector.exposition();
  const second = await collector.exposition();
  assert.equal(await value(registry, 'dockhand_metrics_sweeps_total'), 1);
  assert.equal(await value(registry, 'dockhand_metrics_samples_shared_total'), 1);
  assert.equal(first, second);
  assert.match(first, new RegExp(`^container_cpu_usage_seconds_total\\{cpu="total",id="/docker/${REC}",image="dockhand-test/busybox:1",name="rec",container_label_team="core"\\} 7.166078597$`, 'm'));
  clock.now += 1000;
  await collector.exposition();
  assert.equal(await value(registry, 'dockhand_metrics_sweeps_total'), 2);
  await collector.stop();
});

test('concurrent scrapes join the sweep in progress', async () => {
  const { collector, registry } = setup('0s');
  const [a, b, c] = await Promise.all([collector.exposition(), collector.exposition(), collector.exposition()]);
  assert.equal(await value(registry, 'dockhand_metrics_sweeps_total'), 1);
  assert.equal(await value(registry, 'dockhand_metrics_samples_shared_total'), 2);
  assert.equal(a, b);
  assert.equal(b, c);
  await collector.stop();
});

test('the API views: stats with rates after two sweeps, lifecycle, readiness', async () => {
  const { collector, clock, inventory } = setup('1s');
  assert.equal(collector.readiness().ok, false, 'not ready before the first sweep');
  await collector.fresh(0);
  clock.now += 2000;
  await collector.fresh(0);
  const stats = collector.statsView(record());
  assert.equal(stats?.source, 'cgroup');
  assert.equal(stats?.memory.limitPercent, Math.round((20598784 / 67108864) * 10_000) / 100);
  assert.equal(stats?.cpu.percent, 0, 'the recorded files do not change: 0 % CPU over the window');
  assert.equal(stats?.rateWindowSeconds, 2);
  assert.equal(stats?.blockIo?.writeBytes, 8388608);
  assert.equal(collector.lifecycleView(record())?.lastSeen, new Date(clock.now).toISOString());
  assert.equal(collector.readiness().ok, true);
  // a stopped container has no stats
  inventory.upsert(record({ state: 'exited', pid: 0, exitCode: 0, finishedAt: new Date(clock.now).toISOString() }));
  await collector.fresh(0);
  assert.equal(collector.statsView(inventory.byId(REC) as ContainerRecord), null);
  assert.equal(collector.exported()[0]?.lifecycle.state, 'exited');
  await collector.stop();
});
