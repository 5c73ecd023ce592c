import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../../src/configuration.ts';
import { ContainerExposition } from '../../../src/metrics/container-exposition.ts';
import type { ExportedContainer } from '../../../src/metrics/container-exposition.ts';
import { ExpositionWriter, escapeLabelValue, formatValue } from '../../../src/metrics/exposition.ts';
import { renderHost } from '../../../src/metrics/host-exposition.ts';
import { containerLabelName } from '../../../src/metrics/label-names.ts';
import type { ContainerLifecycle } from '../../../src/metrics/lifecycle.ts';
import type { ContainerSample } from '../../../src/metrics/types.ts';
import type { HostSample } from '../../../src/host/host-status.ts';

const ID = 'c'.repeat(64);

function lifecycle(over: Partial<ContainerLifecycle> = {}): ContainerLifecycle {
  return {
    id: ID, name: 'web', image: 'registry.example.net/web:8', labels: { 'com.example.team': 'core "blue"', app: 'web' }, cgroupPath: `/docker/${ID}`,
    state: 'running', startedAt: 1_700_000_000_000, finishedAt: null, lastSeen: 1_700_000_100_500, exitCode: null, oomKilled: false,
    restartCount: 1, health: 'healthy', oomEvents: 0, removedAt: null, ...over,
  };
}

const SAMPLE: ContainerSample = {
  id: ID, at: 1_700_000_100_500, source: 'cgroup',
  cpu: { usageSeconds: 12.5, userSeconds: 10, systemSeconds: 2.5, periods: null, throttledPeriods: null, throttledSeconds: null },
  memory: { usageBytes: 2048, workingSetBytes: 1024, rssBytes: 512, cacheBytes: 1536, mappedFileBytes: 0, limitBytes: 0, failcnt: 0, oomKills: 0 },
  network: [{ name: 'eth0', rxBytes: 10, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 20, txPackets: 2, txErrors: 0, txDropped: 0 }],
  blockIo: [{ major: 8, minor: 0, device: '/dev/sda', readBytes: 4096, writeBytes: 8192, reads: 1, writes: 2 }],
  pids: 3,
};

function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

test('escaping and values follow the text format', () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(formatValue(Number.NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(1.5e-7), '1.5e-7');
  const w = new ExpositionWriter();
  w.family('x_total', 'counter', 'help with \\ and\nnewline');
  w.sample('', 1);
  w.family('empty', 'gauge', 'no samples: no header either');
  w.sample('', null);
  assert.equal(w.text(), '# HELP x_total help with \\\\ and\\nnewline\n# TYPE x_total counter\nx_total 1\n');
  assert.throws(() => w.family('x_total', 'counter', 'again'), /twice/);
});

test('container label keys become Prometheus label names as cAdvisor makes them', () => {
  assert.equal(containerLabelName('com.example.team'), 'container_label_com_example_team');
  assert.equal(containerLabelName('a-b/c'), 'container_label_a_b_c');
});

test('allow-listed labels that collide after sanitising are a configuration error naming both', () => {
  const ctx = { problems: [] as { path: string; reason: string }[], envSources: new Map<string, string>(), files: [] };
  configSchema.decode({ metrics: { container_labels: ['app.team', 'app_team', ''] } }, '', ctx);
  assert.deepEqual(ctx.problems.map((p) => p.path).sort(), ['metrics.container_labels[1]', 'metrics.container_labels[2]']);
  assert.match(ctx.problems.find((p) => p.path.endsWith('[1]'))?.reason ?? '', /"app_team" and "app.team" both become the Prometheus label container_label_app_team/);
});

test('container series: cAdvisor names, id = cgroup path, name, image, allow-listed labels (escaped, "" when absent)', () => {
  const exp = new ContainerExposition(['com.example.team', 'missing']);
  const w = new ExpositionWriter();
  exp.render(w, [{ lifecycle: lifecycle(), sample: SAMPLE }]);
  const text = w.text();
  const labels = `id="/docker/${ID}",image="registry.example.net/web:8",name="web",container_label_com_example_team="core \\"blue\\"",container_label_missing=""`;
  assert.deepEqual(lines(text, 'container_cpu_usage_seconds_total'), [`container_cpu_usage_seconds_total{cpu="total",${labels}} 12.5`]);
  assert.deepEqual(lines(text, 'container_memory_working_set_bytes'), [`container_memory_working_set_bytes{${labels}} 1024`]);
  assert.deepEqual(lines(text, 'container_network_receive_bytes_total'), [`container_network_receive_bytes_total{${labels},interface="eth0"} 10`]);
  assert.deepEqual(lines(text, 'container_fs_writes_bytes_total'), [`container_fs_writes_bytes_total{${labels},device="/dev/sda"} 8192`]);
  assert.deepEqual(lines(text, 'container_start_time_seconds'), [`container_start_time_seconds{${labels}} 1700000000`]);
  assert.deepEqual(lines(text, 'container_last_seen'), [`container_last_seen{${labels}} 1700000100`]);
  assert.deepEqual(lines(text, 'container_health_status'), ['starting', 'healthy', 'unhealthy'].map((s) => `container_health_status{${labels},status="${s}"} ${s === 'healthy' ? 1 : 0}`));
  assert.deepEqual(lines(text, 'container_cpu_cfs_throttled_periods_total'), [], 'unknown figures are left out, not zero');
  assert.deepEqual(lines(text, 'container_exit_code'), [], 'no exit code before the first exit');
  assert.match(text, /^# TYPE container_memory_failcnt gauge$/m);
  assert.match(text, /^# TYPE container_oom_events_total counter$/m);
  // every family is written whole, once, header first
  const types = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
  assert.equal(new Set(types).size, types.length);
});

test('a stopped and a removed container: lifecycle series only (exit code, OOM), no resource series', () => {
  const exp = new ContainerExposition([]);
  const w = new ExpositionWriter();
  const stopped: ExportedContainer = { lifecycle: lifecycle({ id: 'd'.repeat(64), name: 'oom', cgroupPath: '/docker/dd', state: 'removed', exitCode: 137, oomKilled: true, oomEvents: 1, health: 'none' }), sample: undefined };
  exp.render(w, [stopped]);
  const text = w.text();
  const labels = 'id="/docker/dd",image="registry.example.net/web:8",name="oom"';
  assert.deepEqual(lines(text, 'container_exit_code'), [`container_exit_code{${labels}} 137`]);
  assert.deepEqual(lines(text, 'container_oom_killed'), [`container_oom_killed{${labels}} 1`]);
  assert.deepEqual(lines(text, 'container_oom_events_total'), [`container_oom_events_total{${labels}} 1`]);
  assert.deepEqual(lines(text, 'container_running'), [`container_running{${labels}} 0`]);
  assert.deepEqual(lines(text, 'container_memory_usage_bytes'), []);
  assert.deepEqual(lines(text, 'container_health_status'), []);
  assert.doesNotMatch(text, /# TYPE container_cpu_usage_seconds_total/, 'empty families leave no header');
});

test('label sets are cached per container and rebuilt when the name changes (docker rename)', () => {
  const exp = new ContainerExposition([]);
  const w1 = new ExpositionWriter();
  exp.render(w1, [{ lifecycle: lifecycle(), sample: SAMPLE }]);
  const w2 = new ExpositionWriter();
  exp.render(w2, [{ lifecycle: lifecycle({ name: 'web-renamed' }), sample: SAMPLE }]);
  assert.match(w2.text(), /name="web-renamed"/);
  assert.doesNotMatch(w2.text(), /name="web"/);
});

test('host series: node_exporter names and labels; memory in snake_case; important paths; Docker facts', () => {
  const host: HostSample = {
    at: 0, hostname: 'node-1', ips: [], os: { platform: 'linux', distro: 'Debian', release: '12', kernel: '6.1.0', arch: 'x64' },
    cpu: { model: 'x', cores: 2, usagePercent: 5, load: [0.5, 0.25, 0.125], times: [{ user: 10, nice: 0, system: 5, idle: 100, irq: 0 }] },
    memory: { totalBytes: 1000, freeBytes: 100, availableBytes: 600, usedBytes: 400, buffersBytes: 10, cachedBytes: 300, swapTotalBytes: 0, swapFreeBytes: 0, swapUsedBytes: 0 },
    filesystems: [{ mount: '/', device: '/dev/vda', type: 'ext4', sizeBytes: 100, usedBytes: 40, availableBytes: 50, usePercent: 40, readOnly: false, holds: ['/var/lib/docker', '/data/application/logs'] }],
    network: [{ name: 'eth0', rxBytes: 1, rxPackets: 2, rxErrors: 3, rxDropped: 4, txBytes: 5, txPackets: 6, txErrors: 7, txDropped: 8, rxBytesPerSecond: null, txBytesPerSecond: null }],
    bootTimeSeconds: 1_700_000_000, uptimeSeconds: 10,
    docker: { containers: 3, running: 2, paused: 0, stopped: 1, images: 4 },
  };
  const w = new ExpositionWriter();
  renderHost(w, host, { version: '27.0.1', storageDriver: 'overlay2', cgroupDriver: 'systemd', cgroupVersion: '2', rootDir: '/var/lib/docker' });
  const text = w.text();
  assert.deepEqual(lines(text, 'node_load1'), ['node_load1 0.5']);
  assert.deepEqual(lines(text, 'node_cpu_seconds_total').slice(0, 2), ['node_cpu_seconds_total{cpu="0",mode="user"} 10', 'node_cpu_seconds_total{cpu="0",mode="nice"} 0']);
  assert.deepEqual(lines(text, 'node_memory_available_bytes'), ['node_memory_available_bytes 600']);
  assert.deepEqual(lines(text, 'node_filesystem_free_bytes'), ['node_filesystem_free_bytes{device="/dev/vda",fstype="ext4",mountpoint="/"} 60']);
  assert.deepEqual(lines(text, 'dockhand_path_filesystem_avail_bytes'), [
    'dockhand_path_filesystem_avail_bytes{path="/var/lib/docker",mountpoint="/"} 50',
    'dockhand_path_filesystem_avail_bytes{path="/data/application/logs",mountpoint="/"} 50',
  ]);
  assert.deepEqual(lines(text, 'node_network_transmit_drop_total'), ['node_network_transmit_drop_total{device="eth0"} 8']);
  assert.deepEqual(lines(text, 'dockhand_docker_containers'), ['dockhand_docker_containers{state="running"} 2', 'dockhand_docker_containers{state="paused"} 0', 'dockhand_docker_containers{state="stopped"} 1']);
  assert.match(text, /^dockhand_docker_info\{cgroup_driver="systemd",cgroup_version="2",root_dir="\/var\/lib\/docker",storage_driver="overlay2",version="27.0.1"\} 1$/m);
  assert.doesNotMatch(text, /^node_memory_\w*[A-Z]/m, 'no camelCase names (promtool rejects them)');
});
