/**
 * cAdvisor-compatible container series (names, types and label names of cAdvisor v0.49's
 * Prometheus handler, so existing dashboards and alerts keep working), plus lifecycle series
 * cAdvisor lacks. Every series carries:
 *
 * - `id`: the container's cgroup path, as cAdvisor's `id` (`/docker/<id>` with the cgroupfs
 *   driver, `/system.slice/docker-<id>.scope` with systemd), so queries written against
 *   cAdvisor such as `{id=~"/docker/.+"}` keep matching;
 * - `name` (Docker's name, no leading slash) and `image` (as the container was created);
 * - `container_label_<k>` for each label in `metrics.container_labels` ('' when the container
 *   lacks it: one label set per family).
 *
 * Deliberate differences from cAdvisor (all because `promtool check metrics` must pass):
 * container_memory_failcnt is a gauge (cAdvisor: a counter without the `_total` suffix, which
 * promtool rejects). Resource series exist only for containers with a current sample; the
 * lifecycle series also for stopped and removed containers within keep_stopped.
 */
import { escapeLabelValue, labelPair } from './exposition.ts';
import type { ExpositionWriter, MetricType } from './exposition.ts';
import { containerLabelName } from './label-names.ts';
import type { ContainerLifecycle } from './lifecycle.ts';
import type { BlockDeviceFigures, ContainerSample, NetworkInterfaceFigures } from './types.ts';

export interface ExportedContainer {
  lifecycle: ContainerLifecycle;
  /** Latest sample, only while the container runs. */
  sample: ContainerSample | undefined;
}

interface Family<T> {
  name: string;
  type: MetricType;
  help: string;
  value: (x: T) => number | null;
}

const sampleFamilies: Family<ContainerSample>[] = [
  { name: 'container_cpu_user_seconds_total', type: 'counter', help: 'Cumulative user CPU time consumed in seconds.', value: (s) => s.cpu.userSeconds },
  { name: 'container_cpu_system_seconds_total', type: 'counter', help: 'Cumulative system CPU time consumed in seconds.', value: (s) => s.cpu.systemSeconds },
  { name: 'container_cpu_cfs_periods_total', type: 'counter', help: 'Number of elapsed enforcement period intervals.', value: (s) => s.cpu.periods },
  { name: 'container_cpu_cfs_throttled_periods_total', type: 'counter', help: 'Number of throttled period intervals.', value: (s) => s.cpu.throttledPeriods },
  { name: 'container_cpu_cfs_throttled_seconds_total', type: 'counter', help: 'Total time duration the container has been throttled.', value: (s) => s.cpu.throttledSeconds },
  { name: 'container_memory_usage_bytes', type: 'gauge', help: 'Current memory usage in bytes, including all memory regardless of when it was accessed.', value: (s) => s.memory.usageBytes },
  { name: 'container_memory_working_set_bytes', type: 'gauge', help: 'Current working set in bytes (usage minus inactive page cache).', value: (s) => s.memory.workingSetBytes },
  { name: 'container_memory_rss', type: 'gauge', help: 'Size of RSS (anonymous memory) in bytes.', value: (s) => s.memory.rssBytes },
  { name: 'container_memory_cache', type: 'gauge', help: 'Number of bytes of page cache memory.', value: (s) => s.memory.cacheBytes },
  { name: 'container_memory_mapped_file', type: 'gauge', help: 'Size of memory mapped files in bytes.', value: (s) => s.memory.mappedFileBytes },
  { name: 'container_spec_memory_limit_bytes', type: 'gauge', help: 'Memory limit for the container (0 = no limit).', value: (s) => s.memory.limitBytes },
  { name: 'container_memory_failcnt', type: 'gauge', help: 'Number of times memory usage hit the limit (a counter; typed gauge so that promtool accepts the cAdvisor name).', value: (s) => s.memory.failcnt },
  { name: 'container_threads', type: 'gauge', help: 'Number of tasks (threads) in the container\'s cgroup (pids.current).', value: (s) => s.pids },
];

const networkFamilies: Family<NetworkInterfaceFigures>[] = [
  { name: 'container_network_receive_bytes_total', type: 'counter', help: 'Cumulative count of bytes received.', value: (n) => n.rxBytes },
  { name: 'container_network_receive_packets_total', type: 'counter', help: 'Cumulative count of packets received.', value: (n) => n.rxPackets },
  { name: 'container_network_receive_errors_total', type: 'counter', help: 'Cumulative count of errors encountered while receiving.', value: (n) => n.rxErrors },
  { name: 'container_network_receive_packets_dropped_total', type: 'counter', help: 'Cumulative count of packets dropped while receiving.', value: (n) => n.rxDropped },
  { name: 'container_network_transmit_bytes_total', type: 'counter', help: 'Cumulative count of bytes transmitted.', value: (n) => n.txBytes },
  { name: 'container_network_transmit_packets_total', type: 'counter', help: 'Cumulative count of packets transmitted.', value: (n) => n.txPackets },
  { name: 'container_network_transmit_errors_total', type: 'counter', help: 'Cumulative count of errors encountered while transmitting.', value: (n) => n.txErrors },
  { name: 'container_network_transmit_packets_dropped_total', type: 'counter', help: 'Cumulative count of packets dropped while transmitting.', value: (n) => n.txDropped },
];

const blockFamilies: Family<BlockDeviceFigures>[] = [
  { name: 'container_fs_reads_bytes_total', type: 'counter', help: 'Cumulative count of bytes read.', value: (d) => d.readBytes },
  { name: 'container_fs_writes_bytes_total', type: 'counter', help: 'Cumulative count of bytes written.', value: (d) => d.writeBytes },
  { name: 'container_fs_reads_total', type: 'counter', help: 'Cumulative count of reads completed.', value: (d) => d.reads },
  { name: 'container_fs_writes_total', type: 'counter', help: 'Cumulative count of writes completed.', value: (d) => d.writes },
];

const RUNNING_STATES: ReadonlySet<string> = new Set(['running', 'paused', 'restarting']);

const lifecycleFamilies: Family<ContainerLifecycle>[] = [
  { name: 'container_start_time_seconds', type: 'gauge', help: 'Start time of the container since unix epoch in seconds.', value: (l) => (l.startedAt === null ? null : l.startedAt / 1000) },
  { name: 'container_last_seen', type: 'gauge', help: 'Last time the container was seen running by the agent, seconds since unix epoch.', value: (l) => (l.lastSeen === null ? null : Math.floor(l.lastSeen / 1000)) },
  { name: 'container_running', type: 'gauge', help: '1 while the container runs (running, paused, restarting), 0 once it stopped or was removed.', value: (l) => (RUNNING_STATES.has(l.state) ? 1 : 0) },
  { name: 'container_exit_code', type: 'gauge', help: 'Exit code of the container\'s last run (absent until it has exited once).', value: (l) => l.exitCode },
  { name: 'container_oom_killed', type: 'gauge', help: '1 when Docker reports the last run was ended by the OOM killer.', value: (l) => (l.oomKilled ? 1 : 0) },
  { name: 'container_oom_events_total', type: 'counter', help: 'Count of out of memory kills in the container (Docker oom events and the kernel\'s oom_kill counter).', value: (l) => l.oomEvents },
  { name: 'container_restarts', type: 'gauge', help: 'Restarts made by Docker\'s restart policy (RestartCount).', value: (l) => l.restartCount },
];

const HEALTH_STATES = ['starting', 'healthy', 'unhealthy'] as const;

/** Renders the container families; caches each container's label set between scrapes. */
export class ContainerExposition {
  readonly #labelKeys: readonly string[];
  readonly #labelNames: readonly string[];
  readonly #labelCache = new Map<string, { key: string; text: string }>();

  constructor(labelAllowList: readonly string[]) {
    this.#labelKeys = labelAllowList;
    this.#labelNames = labelAllowList.map(containerLabelName);
  }

  #labels(l: ContainerLifecycle): string {
    const extra = this.#labelKeys.map((k) => l.labels[k] ?? '');
    const key = `${l.cgroupPath}\0${l.name}\0${l.image}\0${extra.join('\0')}`;
    const cached = this.#labelCache.get(l.id);
    if (cached?.key === key) return cached.text;
    let text = `${labelPair('id', l.cgroupPath)},${labelPair('image', l.image)},${labelPair('name', l.name)}`;
    for (let i = 0; i < extra.length; i++) text += `,${this.#labelNames[i] ?? ''}="${escapeLabelValue(extra[i] ?? '')}"`;
    this.#labelCache.set(l.id, { key, text });
    return text;
  }

  render(w: ExpositionWriter, containers: readonly ExportedContainer[]): void {
    const live = new Set(containers.map((c) => c.lifecycle.id));
    for (const id of this.#labelCache.keys()) if (!live.has(id)) this.#labelCache.delete(id);
    const labels = containers.map((c) => this.#labels(c.lifecycle));
    const sampled = containers.flatMap((c, i) => (c.sample ? [{ sample: c.sample, labels: labels[i] ?? '' }] : []));

    w.family('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed in seconds.');
    for (const { sample, labels: l } of sampled) w.sample(`cpu="total",${l}`, sample.cpu.usageSeconds);
    for (const f of sampleFamilies) {
      w.family(f.name, f.type, f.help);
      for (const { sample, labels: l } of sampled) w.sample(l, f.value(sample));
    }
    for (const f of networkFamilies) {
      w.family(f.name, f.type, f.help);
      for (const { sample, labels: l } of sampled) for (const n of sample.network ?? []) w.sample(`${l},${labelPair('interface', n.name)}`, f.value(n));
    }
    for (const f of blockFamilies) {
      w.family(f.name, f.type, f.help);
      for (const { sample, labels: l } of sampled) for (const d of sample.blockIo ?? []) w.sample(`${l},${labelPair('device', d.device)}`, f.value(d));
    }
    for (const f of lifecycleFamilies) {
      w.family(f.name, f.type, f.help);
      for (let i = 0; i < containers.length; i++) w.sample(labels[i] ?? '', f.value((containers[i] as ExportedContainer).lifecycle));
    }
    w.family('container_health_status', 'gauge', 'Docker HEALTHCHECK status: 1 for the current status, 0 for the others (containers with a health check only).');
    for (let i = 0; i < containers.length; i++) {
      const l = (containers[i] as ExportedContainer).lifecycle;
      if (l.health === 'none') continue;
      for (const status of HEALTH_STATES) w.sample(`${labels[i] ?? ''},status="${status}"`, l.health === status ? 1 : 0);
    }
  }
}
