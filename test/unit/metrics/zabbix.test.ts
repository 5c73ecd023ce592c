import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DockhandError } from '../../../src/core/errors.ts';
import { ContainerInventory } from '../../../src/docker/inventory.ts';
import { ZabbixEndpoints, labelMacro, logSnapshotFrom, probeSnapshotsFromDocument } from '../../../src/metrics/zabbix.ts';
import type { ExportedContainer } from '../../../src/metrics/container-exposition.ts';
import { LINGER_MS } from '../../../src/metrics/lifecycle.ts';
import type { ZabbixSources } from '../../../src/metrics/zabbix.ts';
import { NOW, OOM, WEB, endpoints, freshEndpoints } from './zabbix-fixture.ts';

test('container discovery: classic LLD rows with id, name, image, health check flag, allow-listed labels', () => {
  const d = endpoints().containerDiscovery();
  assert.deepEqual(d.data[0], {
    '{#CONTAINER.ID}': WEB,
    '{#CONTAINER.SHORTID}': WEB.slice(0, 12),
    '{#CONTAINER.NAME}': 'web',
    '{#CONTAINER.IMAGE}': 'repo/web:8',
    '{#CONTAINER.HEALTHCHECK}': '1',
    '{#CONTAINER.LABEL.COM.EXAMPLE.TEAM}': 'core',
  });
  assert.equal(d.data[1]?.['{#CONTAINER.LABEL.COM.EXAMPLE.TEAM}'], '', 'removed containers stay discoverable within keep_stopped');
  assert.equal(labelMacro('app-tier/x'), '{#CONTAINER.LABEL.APP_TIER_X}');
});

test('container document: numbers everywhere (rates, sums over interfaces), lifecycle in unix seconds', () => {
  const doc = endpoints().containerDocument('web');
  assert.equal(doc.running, 1);
  assert.equal(doc.startedAt, (NOW - 60_000) / 1000);
  assert.deepEqual(doc.cpu, { percent: 97.5, usageSeconds: 30, throttledPercent: 5, throttledPeriods: 5 });
  assert.deepEqual(doc.memory, { usageBytes: 300, workingSetBytes: 256, rssBytes: 200, cacheBytes: 100, limitBytes: 1024, limitPercent: 25, failcnt: 0 });
  assert.deepEqual(doc.network, { rxBytes: 1001, txBytes: 2001, rxBytesPerSecond: 100, txBytesPerSecond: 200, rxErrors: 1, txErrors: 3, rxDropped: 2, txDropped: 4 });
  assert.equal(doc.pids, 4);
  assert.equal(endpoints().containerDocument(WEB.slice(0, 8)).name, 'web', 'by id prefix');
});

test('a removed container answers with its end: not running, exit 137, OOM; figures are 0', () => {
  const doc = endpoints().containerDocument('batch');
  assert.equal(doc.state, 'removed');
  assert.equal(doc.running, 0);
  assert.equal(doc.exitCode, 137);
  assert.equal(doc.oomKilled, 1);
  assert.equal(doc.oomEvents, 1);
  assert.deepEqual(doc.cpu, { percent: 0, usageSeconds: 0, throttledPercent: 0, throttledPeriods: 0 });
});

test('unknown and ambiguous references are 404 and 400', () => {
  const z = endpoints();
  assert.throws(() => z.containerDocument('nope'), (e: unknown) => e instanceof DockhandError && e.code === 'NOT_FOUND');
  assert.throws(() => z.containerDocument('abc'), (e: unknown) => e instanceof DockhandError && e.code === 'NOT_FOUND', 'prefixes need 4 characters');
});

test('log and probe discovery, and the agent document with stall, lag and probe figures', () => {
  const z = endpoints();
  assert.deepEqual(z.logDiscovery().data[0], {
    '{#LOG.PATH}': '/data/application/logs/weberror_aether_nor_8_778283_20150819.log',
    '{#LOG.NAME}': 'weberror_aether_nor_8_778283_20150819.log',
    '{#LOG.DATASET}': 'app',
    '{#LOG.TYPE}': 'weberror',
    '{#LOG.APP}': 'aether',
    '{#LOG.ENV}': 'nor',
    '{#LOG.CONTAINER}': 'web',
    '{#LOG.SOURCE}': 'file',
  });
  assert.equal(z.logDiscovery().data[1]?.['{#LOG.TYPE}'], '', 'unparsed names still appear');
  assert.deepEqual(z.probeDiscovery().data, [{ '{#PROBE.CONTAINER}': 'web', '{#PROBE.CONTAINER.ID}': WEB, '{#PROBE.TYPE}': 'http', '{#PROBE.TARGET}': '127.0.0.1:8080/health' }]);
  const agent = z.agentDocument();
  assert.deepEqual(agent.docker, { up: 1, state: 'connected', reconnects: 2 });
  assert.deepEqual(agent.containers, { running: 1, stopped: 0, removed: 1 });
  assert.deepEqual(agent.metrics, { lastSweepAgeSeconds: 3, staleSeconds: 3 });
  const logs = agent.logs as Record<string, unknown>;
  assert.equal(logs.stalled, 1);
  assert.equal(logs.stalledSeconds, 90);
  assert.equal(logs.lastAckAgeSeconds, 120);
  assert.equal(logs.sinceAckSeconds, 120);
  assert.equal(logs.maxLagBytes, 2048);
  assert.equal((agent.probes as Record<string, unknown>).failing, 1);
});

test('container output streams: a discovery of their own (file discovery keeps its rows), state and pending messages in the agent document', () => {
  const z = endpoints();
  assert.deepEqual(z.logContainerDiscovery().data, [
    { '{#LOG.SOURCE}': 'container', '{#LOG.CONTAINER}': 'web', '{#LOG.CONTAINER.ID}': WEB, '{#LOG.DATASET}': 'docker.container_logs' },
    { '{#LOG.SOURCE}': 'container', '{#LOG.CONTAINER}': 'batch', '{#LOG.CONTAINER.ID}': OOM, '{#LOG.DATASET}': 'docker.container_logs' },
  ]);
  assert.ok(z.logDiscovery().data.every((r) => r['{#LOG.SOURCE}'] === 'file' && r['{#LOG.PATH}'] !== ''), 'no container row among the files');
  const logs = z.agentDocument().logs as Record<string, unknown>;
  assert.deepEqual(logs.containers, [
    { name: 'web', id: WEB, state: 'streaming', pendingMessages: 12 },
    { name: 'batch', id: OOM, state: 'unreadable', pendingMessages: 0 },
  ]);
});

test('without log or probe capabilities: empty discovery, enabled 0', () => {
  const z = new ZabbixEndpoints(
    { exported: () => [], rates: () => undefined, lifecycle: () => undefined, inventory: new ContainerInventory(), docker: () => ({ state: 'disconnected', reconnects: 0 }), lastSweepAt: () => null, version: 'x', startedAt: NOW, now: () => NOW },
    [],
  );
  assert.deepEqual(z.logDiscovery(), { data: [] });
  assert.deepEqual(z.logContainerDiscovery(), { data: [] });
  assert.deepEqual(z.probeDiscovery(), { data: [] });
  const agent = z.agentDocument();
  assert.equal((agent.logs as Record<string, unknown>).enabled, 0);
  assert.equal((agent.docker as Record<string, unknown>).up, 0);
  assert.deepEqual(agent.metrics, { lastSweepAgeSeconds: -1, staleSeconds: 0 });
  assert.equal((agent.logs as Record<string, unknown>).sinceAckSeconds, 0);
  assert.deepEqual((agent.logs as Record<string, unknown>).containers, []);
});

// Findings of a real Zabbix 6.0 server linked to the agent (test/integration/zabbix.test.ts):

test('before the first sweep and the first ACK, the agent document still gives Zabbix numbers ≥ 0 that grow', () => {
  const agent = freshEndpoints().agentDocument();
  // -1 went into unsigned items: "Value -1 … not suitable for Numeric (unsigned)", not supported for good
  assert.deepEqual(agent.metrics, { lastSweepAgeSeconds: -1, staleSeconds: 30 }, 'stale since the agent started: "not collected" can fire before any sweep');
  const logs = agent.logs as Record<string, unknown>;
  assert.equal(logs.lastAckAgeSeconds, -1, 'kept as it was for existing readers');
  assert.equal(logs.sinceAckSeconds, 30, 'nothing acknowledged since the agent started');
});

test('a container OOM-killed before the first sweep: last seen is when it finished, not 0 (1970 in Zabbix)', () => {
  const doc = freshEndpoints().containerDocument('batch');
  assert.equal(doc.lastSeen, (NOW - 39_000) / 1000);
  assert.equal(doc.oomKilled, 1);
  assert.equal(endpoints().containerDocument('web').lastSeen, Math.floor((NOW - 1000) / 1000), 'a sampled container: the sampler\'s last sight');
});

test('a probe of a stopped container (after an agent restart) is named by its port, not an empty target', () => {
  assert.deepEqual(freshEndpoints().probeDiscovery().data, [{ '{#PROBE.CONTAINER}': 'web', '{#PROBE.CONTAINER.ID}': WEB, '{#PROBE.TYPE}': 'tcp', '{#PROBE.TARGET}': 'container port 8080' }]);
  const noPort = probeSnapshotsFromDocument({ probes: [{ containerName: 'x', type: 'http', target: null, status: 'stopped', spec: { port: null } }] });
  assert.equal(noPort[0]?.target, 'its published TCP port');
});

test('the log type of a conventional file name reaches {#LOG.TYPE} (the collector says logType)', () => {
  assert.equal(endpoints().logDiscovery().data[0]?.['{#LOG.TYPE}'], 'weberror');
});

function sources(over: Partial<ZabbixSources>, exported: (lingerMs?: number) => ExportedContainer[]): ZabbixSources {
  return { exported, rates: () => undefined, lifecycle: () => undefined, inventory: new ContainerInventory(), docker: () => ({ state: 'connected', reconnects: 0 }), lastSweepAt: () => NOW, version: 'x', startedAt: NOW, now: () => NOW, ...over };
}

test('an incomplete container list is a 503, never an empty discovery (which the template deletes at once)', () => {
  let complete = false;
  const z = new ZabbixEndpoints(sources({ complete: () => complete }, () => []), []);
  for (const discover of [() => z.containerDiscovery(), () => z.probeDiscovery()]) {
    assert.throws(discover, (e: unknown) => e instanceof DockhandError && e.code === 'UNAVAILABLE' && e.transient);
  }
  complete = true;
  assert.deepEqual(z.containerDiscovery(), { data: [] });
  assert.deepEqual(z.probeDiscovery(), { data: [] });
});

test('a discovery request completes the list first when it can (a sweep once Docker is reconciled), instead of a 503 until the next sweep', async () => {
  let complete = false;
  let sweeps = 0;
  const z = new ZabbixEndpoints(sources({ complete: () => complete, completeNow: () => { sweeps++; complete = true; return Promise.resolve(); } }, () => []), []);
  const discovery = z.routes().find((r) => r.pattern === '/v1/zabbix/containers');
  assert.ok(discovery);
  const answer = await discovery.handler({} as Parameters<typeof discovery.handler>[0]);
  assert.deepEqual('json' in answer ? answer.json : undefined, { data: [] });
  assert.equal(sweeps, 1);
});

test('past keep_stopped a container leaves discovery, but its document answers for LINGER_MS more (no 404s before Zabbix deletes its items)', () => {
  const asked: (number | undefined)[] = [];
  const z = new ZabbixEndpoints(sources({}, (lingerMs) => {
    asked.push(lingerMs);
    return lingerMs ? [{ lifecycle: { id: OOM, name: 'batch', image: 'i', labels: {}, cgroupPath: '', state: 'removed', startedAt: NOW - 9e6, finishedAt: NOW - 8e6, lastSeen: NOW - 8e6, exitCode: 137, oomKilled: true, restartCount: 0, health: 'none', oomEvents: 1, removedAt: NOW - 8e6 }, sample: undefined }] : [];
  }), []);
  assert.deepEqual(z.containerDiscovery(), { data: [] }, 'discovery: keep_stopped only');
  assert.equal(z.containerDocument('batch').exitCode, 137, 'the document: within keep_stopped + LINGER_MS');
  assert.deepEqual(asked, [undefined, LINGER_MS]);
});

test('the health monitor\'s probe document is adapted defensively', () => {
  const probes = probeSnapshotsFromDocument({
    probes: [
      { containerId: WEB, containerName: 'web', type: 'tcp', target: '172.17.0.2:80', status: 'healthy', consecutiveFailures: 0, last: { ok: true, latencyMs: 1.5 } },
      { containerId: OOM, containerName: 'bad', type: null, status: 'error', error: 'dockhand.probe.port: not a number' },
      { containerId: 'x', containerName: 'down', type: 'http', target: 'x', status: 'unhealthy' },
      'garbage',
    ],
  });
  assert.deepEqual(probes.map((p) => [p.containerName, p.ok, p.latencyMs]), [['web', true, 1.5], ['down', false, null]]);
  assert.deepEqual(probeSnapshotsFromDocument({}), []);
});

test('the log shipper\'s status document is adapted: ISO times to unix ms, missing fields to defaults', () => {
  const files = [{ path: '/data/application/logs/a.log', dataset: 'app', metadata: null, state: 'open', lagBytes: 5, container: null }];
  // a /v1/logs container view: only what the Zabbix documents use is kept
  const view = { id: WEB, name: 'web', image: 'repo/web', source: 'api', state: 'streaming', reason: null, pendingMessages: 3, messagesRead: 10 };
  const s = logSnapshotFrom({ stalledSince: '2026-11-22T03:59:00.000Z', lastAckAt: null, queuedEvents: 7, outputs: [] }, files, [view]);
  assert.deepEqual(s, { stalledSince: NOW - 60_000, lastAckAt: null, queuedEvents: 7, files, containers: [{ id: WEB, name: 'web', state: 'streaming', pendingMessages: 3 }] });
  assert.deepEqual(logSnapshotFrom({ stalledSince: 'garbage' }, [], []), { stalledSince: null, lastAckAt: null, queuedEvents: 0, files: [], containers: [] });
});
