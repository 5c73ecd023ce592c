/**
 * Host series with node_exporter's names where promtool accepts them (node_load1,
 * node_cpu_seconds_total, node_filesystem_avail_bytes, node_network_receive_bytes_total, …) and
 * the same labels (cpu/mode, device/fstype/mountpoint, device). node_exporter's memory names
 * (node_memory_MemTotal_bytes) are camelCase, which `promtool check metrics` rejects, so
 * memory uses snake_case (node_memory_total_bytes, node_memory_available_bytes, …).
 * Docker's own counts are dockhand_docker_*; the file systems holding the paths that matter
 * (Docker's data root, the log roots, the state directory) get dockhand_path_* series keyed by
 * path, so an alert can name "the log directory" rather than a mount point.
 */
import type { HostSample } from '../host/host-status.ts';
import type { ExpositionWriter } from './exposition.ts';
import { labelPair } from './exposition.ts';

export interface DockerEngineFacts {
  version: string;
  storageDriver: string;
  cgroupDriver: string;
  cgroupVersion: string;
  rootDir: string;
}

export function renderHost(w: ExpositionWriter, s: HostSample, engine: DockerEngineFacts | undefined): void {
  w.family('node_load1', 'gauge', '1m load average.');
  w.sample('', s.cpu.load[0]);
  w.family('node_load5', 'gauge', '5m load average.');
  w.sample('', s.cpu.load[1]);
  w.family('node_load15', 'gauge', '15m load average.');
  w.sample('', s.cpu.load[2]);

  w.family('node_cpu_seconds_total', 'counter', 'Seconds the CPUs spent in each mode.');
  s.cpu.times.forEach((t, i) => {
    for (const mode of ['user', 'nice', 'system', 'idle', 'irq'] as const) w.sample(`cpu="${i}",mode="${mode}"`, t[mode]);
  });

  const m = s.memory;
  const memory: [string, string, number][] = [
    ['node_memory_total_bytes', 'Memory information field MemTotal_bytes.', m.totalBytes],
    ['node_memory_free_bytes', 'Memory information field MemFree_bytes.', m.freeBytes],
    ['node_memory_available_bytes', 'Memory information field MemAvailable_bytes.', m.availableBytes],
    ['node_memory_buffers_bytes', 'Memory information field Buffers_bytes.', m.buffersBytes],
    ['node_memory_cached_bytes', 'Memory information field Cached_bytes.', m.cachedBytes],
    ['node_memory_swap_total_bytes', 'Memory information field SwapTotal_bytes.', m.swapTotalBytes],
    ['node_memory_swap_free_bytes', 'Memory information field SwapFree_bytes.', m.swapFreeBytes],
  ];
  for (const [name, help, value] of memory) {
    w.family(name, 'gauge', help);
    w.sample('', value);
  }

  const fsLabels = s.filesystems.map((f) => `${labelPair('device', f.device)},${labelPair('fstype', f.type)},${labelPair('mountpoint', f.mount)}`);
  const fs: [string, string, (i: number) => number][] = [
    ['node_filesystem_size_bytes', 'Filesystem size in bytes.', (i) => s.filesystems[i]?.sizeBytes ?? 0],
    ['node_filesystem_avail_bytes', 'Filesystem space available to non-root users in bytes.', (i) => s.filesystems[i]?.availableBytes ?? 0],
    ['node_filesystem_free_bytes', 'Filesystem free space in bytes.', (i) => Math.max(0, (s.filesystems[i]?.sizeBytes ?? 0) - (s.filesystems[i]?.usedBytes ?? 0))],
    ['node_filesystem_readonly', 'Filesystem read-only status.', (i) => (s.filesystems[i]?.readOnly ? 1 : 0)],
  ];
  for (const [name, help, value] of fs) {
    w.family(name, 'gauge', help);
    fsLabels.forEach((labels, i) => w.sample(labels, value(i)));
  }

  const paths = s.filesystems.flatMap((f) => f.holds.map((path) => ({ path, f })));
  w.family('dockhand_path_filesystem_avail_bytes', 'gauge', 'Space available to non-root users on the file system holding an important path (Docker root, log roots, state dir).');
  for (const { path, f } of paths) w.sample(`${labelPair('path', path)},${labelPair('mountpoint', f.mount)}`, f.availableBytes);
  w.family('dockhand_path_filesystem_size_bytes', 'gauge', 'Size of the file system holding an important path.');
  for (const { path, f } of paths) w.sample(`${labelPair('path', path)},${labelPair('mountpoint', f.mount)}`, f.sizeBytes);

  const net: [string, string, (n: HostSample['network'][number]) => number][] = [
    ['node_network_receive_bytes_total', 'Network device statistic receive_bytes.', (n) => n.rxBytes],
    ['node_network_receive_packets_total', 'Network device statistic receive_packets.', (n) => n.rxPackets],
    ['node_network_receive_errs_total', 'Network device statistic receive_errs.', (n) => n.rxErrors],
    ['node_network_receive_drop_total', 'Network device statistic receive_drop.', (n) => n.rxDropped],
    ['node_network_transmit_bytes_total', 'Network device statistic transmit_bytes.', (n) => n.txBytes],
    ['node_network_transmit_packets_total', 'Network device statistic transmit_packets.', (n) => n.txPackets],
    ['node_network_transmit_errs_total', 'Network device statistic transmit_errs.', (n) => n.txErrors],
    ['node_network_transmit_drop_total', 'Network device statistic transmit_drop.', (n) => n.txDropped],
  ];
  for (const [name, help, value] of net) {
    w.family(name, 'counter', help);
    for (const n of s.network) w.sample(labelPair('device', n.name), value(n));
  }

  w.family('node_boot_time_seconds', 'gauge', 'Node boot time, in unixtime.');
  w.sample('', s.bootTimeSeconds);
  w.family('node_uname_info', 'gauge', 'Labeled system information as provided by the uname system call.');
  w.sample(`${labelPair('machine', s.os.arch)},${labelPair('nodename', s.hostname)},${labelPair('release', s.os.kernel)},${labelPair('sysname', s.os.platform)}`, 1);

  if (s.docker) {
    w.family('dockhand_docker_containers', 'gauge', 'Containers Docker reports (docker info), by state.');
    w.sample('state="running"', s.docker.running);
    w.sample('state="paused"', s.docker.paused);
    w.sample('state="stopped"', s.docker.stopped);
    w.family('dockhand_docker_images', 'gauge', 'Images Docker reports (docker info).');
    w.sample('', s.docker.images);
  }
  if (engine) {
    w.family('dockhand_docker_info', 'gauge', 'Docker engine facts; always 1.');
    w.sample(
      `${labelPair('cgroup_driver', engine.cgroupDriver)},${labelPair('cgroup_version', engine.cgroupVersion)},${labelPair('root_dir', engine.rootDir)},${labelPair('storage_driver', engine.storageDriver)},${labelPair('version', engine.version)}`,
      1,
    );
  }
}
