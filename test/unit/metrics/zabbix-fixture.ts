/**
 * Shared by the Zabbix endpoint and template tests: endpoints over fixed containers, logs and
 * probes — a busy agent (endpoints()) and one that has just started (freshEndpoints()).
 */
import { ContainerInventory } from '../../../src/docker/inventory.ts';
import type { ExportedContainer } from '../../../src/metrics/container-exposition.ts';
import type { ContainerLifecycle } from '../../../src/metrics/lifecycle.ts';
import type { ContainerRates, ContainerSample } from '../../../src/metrics/types.ts';
import { ZabbixEndpoints, probeSnapshotsFromDocument } from '../../../src/metrics/zabbix.ts';

export const NOW = Date.parse('2026-11-22T04:00:00Z');
export const WEB = 'abcd'.repeat(16);
export const OOM = 'dead'.repeat(16);

function lifecycle(over: Partial<ContainerLifecycle>): ContainerLifecycle {
  return {
    id: WEB, name: 'web', image: 'repo/web:8', labels: { 'com.example.team': 'core' }, cgroupPath: `/docker/${WEB}`, state: 'running',
    startedAt: NOW - 60_000, finishedAt: null, lastSeen: NOW - 1000, exitCode: null, oomKilled: false, restartCount: 0, health: 'healthy',
    oomEvents: 0, removedAt: null, ...over,
  };
}

export const SAMPLE: ContainerSample = {
  id: WEB, at: NOW - 1000, source: 'cgroup',
  cpu: { usageSeconds: 30, userSeconds: 20, systemSeconds: 10, periods: 100, throttledPeriods: 5, throttledSeconds: 0.5 },
  memory: { usageBytes: 300, workingSetBytes: 256, rssBytes: 200, cacheBytes: 100, mappedFileBytes: 0, limitBytes: 1024, failcnt: 0, oomKills: 0 },
  network: [
    { name: 'eth0', rxBytes: 1000, rxPackets: 10, rxErrors: 1, rxDropped: 2, txBytes: 2000, txPackets: 20, txErrors: 3, txDropped: 4 },
    { name: 'eth1', rxBytes: 1, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 1, txPackets: 1, txErrors: 0, txDropped: 0 },
  ],
  blockIo: [{ major: 8, minor: 0, device: '/dev/sda', readBytes: 10, writeBytes: 20, reads: 1, writes: 2 }],
  pids: 4,
};
const RATES: ContainerRates = { windowSeconds: 10, cpuPercent: 97.5, cpuThrottledPercent: 5, networkRxBytesPerSecond: 100, networkTxBytesPerSecond: 200, blockReadBytesPerSecond: 1, blockWriteBytesPerSecond: 2 };

export function endpoints(): ZabbixEndpoints {
  const exported: ExportedContainer[] = [
    { lifecycle: lifecycle({}), sample: SAMPLE },
    { lifecycle: lifecycle({ id: OOM, name: 'batch', cgroupPath: `/docker/${OOM}`, state: 'removed', exitCode: 137, oomKilled: true, oomEvents: 1, health: 'none', finishedAt: NOW - 5000, removedAt: NOW - 4000, labels: {} }), sample: undefined },
  ];
  const z = new ZabbixEndpoints(
    {
      exported: () => exported,
      rates: (id) => (id === WEB ? RATES : undefined),
      lifecycle: (id) => exported.find((e) => e.lifecycle.id === id)?.lifecycle,
      inventory: new ContainerInventory(),
      docker: () => ({ state: 'connected', reconnects: 2 }),
      lastSweepAt: () => NOW - 3000,
      version: '0.1.0',
      startedAt: NOW - 100_000,
      now: () => NOW,
    },
    ['com.example.team'],
  );
  z.setLogSource(() => ({
    stalledSince: NOW - 90_000,
    lastAckAt: NOW - 120_000,
    queuedEvents: 42,
    files: [
      // the metadata as the log collector reports it (src/logs/filename.ts LogFileMeta)
      { path: '/data/application/logs/weberror_aether_nor_8_778283_20150819.log', dataset: 'app', metadata: { dataset: 'app', logType: 'weberror', app: 'aether', env: 'nor', imageTag: '8', hostname: '778283', date: '20150819' }, state: 'open', lagBytes: 2048, container: { name: 'web' } },
      { path: '/data/application/logs/odd.log', dataset: 'app', metadata: null, state: 'closed', lagBytes: 0, container: null },
    ],
    // container output streams as /v1/logs lists them: one followed, one whose log driver keeps nothing
    containers: [
      { id: WEB, name: 'web', state: 'streaming', pendingMessages: 12 },
      { id: OOM, name: 'batch', state: 'unreadable', pendingMessages: 0 },
    ],
  }));
  z.setProbeSource(() => [{ containerId: WEB, containerName: 'web', type: 'http', target: '127.0.0.1:8080/health', ok: false, state: 'unhealthy', consecutiveFailures: 3, latencyMs: null }]);
  return z;
}

/**
 * An agent 30 s after its start: no sweep has finished, Logstash has acknowledged nothing, a
 * container was OOM-killed before the first sweep (never sampled), and a probed container is
 * stopped, so its probe has no resolved address (the health monitor's document says target null).
 */
export function freshEndpoints(): ZabbixEndpoints {
  const oomAtStart = lifecycle({ id: OOM, name: 'batch', cgroupPath: `/docker/${OOM}`, state: 'exited', exitCode: 137, oomKilled: true, oomEvents: 1, health: 'none', startedAt: NOW - 40_000, finishedAt: NOW - 39_000, lastSeen: null, labels: {} });
  const exported: ExportedContainer[] = [{ lifecycle: oomAtStart, sample: undefined }];
  const z = new ZabbixEndpoints(
    {
      exported: () => exported,
      rates: () => undefined,
      lifecycle: (id) => exported.find((e) => e.lifecycle.id === id)?.lifecycle,
      inventory: new ContainerInventory(),
      docker: () => ({ state: 'connected', reconnects: 0 }),
      lastSweepAt: () => null,
      version: '0.1.0',
      startedAt: NOW - 30_000,
      now: () => NOW,
    },
    [],
  );
  z.setLogSource(() => ({
    stalledSince: null,
    lastAckAt: null,
    queuedEvents: 0,
    files: [{ path: '/data/application/logs/odd.log', dataset: 'app', metadata: null, state: 'open', lagBytes: 10, container: null }],
    // not opened yet: the first sweep has not run
    containers: [{ id: OOM, name: 'batch', state: 'waiting', pendingMessages: 0 }],
  }));
  z.setProbeSource(() => probeSnapshotsFromDocument({
    probes: [{ containerId: WEB, containerName: 'web', type: 'tcp', target: null, via: null, status: 'stopped', spec: { port: 8080 }, last: null }],
  }));
  return z;
}
